/*
 * store: the Berkeley DB transactional environment that holds everything.
 *
 * One environment per data directory, opened by every process with
 * DB_REGISTER|DB_RECOVER under an exclusive flock on "<dir>/store.lock"
 * (a shared flock around the close): libdb 5.3's DB_REGISTER otherwise
 * mistakes cleanly exiting processes for dead ones and runs recovery
 * under live ones.  Lock and transaction timeouts are set so that no
 * process waits forever on locks left by a killed one.
 *
 * Records are byte strings under string keys, one database file per
 * kind of record (enum store_db).  Most callers keep JSON text in them
 * (store_get_json / store_put_json).
 *
 * Every function returns an enum store_rc.  STORE_FAIL means the store
 * could not be used (answer 503); nothing half-written is ever left,
 * because every write happens inside store_txn().
 */
#ifndef SB_STORE_H
#define SB_STORE_H

#include <stddef.h>
#include <stdio.h>

#include <db.h>
#include <jansson.h>

enum store_db {
	SDB_OPTIONS,	/* option key -> value (secrets sealed) */
	SDB_USERS,	/* user name -> {"ws","role","pw","fails","lock_until"} */
	SDB_WORKSPACES,	/* workspace name -> {"created"} */
	SDB_SESSIONS,	/* hex sha256(session id) -> {"user","created","seen"} */
	SDB_STATES,	/* OAuth state -> {"sess","verifier","expires"} */
	SDB_CHANNELS,	/* channel id -> channel record */
	SDB_POSTS,	/* post id -> post record */
	SDB_META,	/* counters and bookkeeping */
	SDB_DUE,	/* "<epoch>/<workspace>/<post id>" -> "": what is due */
	SDB_AUDIT,	/* "<epoch>/<seq>" -> {"who","ws","addr","kind","what"} */
	STORE_NDB
};

enum store_rc {
	STORE_OK = 0,
	STORE_NOTFOUND,	/* no such key */
	STORE_EXISTS,	/* store_put_new: key already there */
	STORE_ABORT,	/* a store_txn callback asked to roll back */
	STORE_BUSY,	/* lock contention outlived the retries */
	STORE_FAIL	/* environment unusable, I/O error, out of memory */
};

#define STORE_RDONLY	0x01	/* read-only request: databases DB_RDONLY */
/* Read-only: the databases to open with the environment, on first use. */
#define STORE_WANT(d)	(0x100U << (d))
#define STORE_WANT_ALL	(STORE_WANT(STORE_NDB) - STORE_WANT(0))

struct store;

/*
 * Open the environment in dir (created if missing, mode 0700 for the
 * directory and 0600 for files).  *sp is NULL on failure.  A read-only
 * store attaches on first use (a call that reads, or store_env()), and
 * then opens the STORE_WANT databases with the environment.
 */
int	 store_open(struct store **sp, const char *dir, unsigned flags);

/* Close everything (databases with DB_NOSYNC); NULL is fine. */
void	 store_close(struct store *);

/*
 * Run fn(s, txn, arg) in a transaction: committed (durably) when fn
 * returns STORE_OK, aborted otherwise and fn's code returned.  On
 * deadlock or lock timeout the transaction is aborted and fn called
 * again (a few times, with a short random pause), so fn must have no
 * effect outside the transaction except on state it resets itself.
 */
typedef int (*store_fn)(struct store *, DB_TXN *, void *);
int	 store_txn(struct store *, store_fn fn, void *arg);
/*
 * The same, but the commit does not wait for the disk: it survives the
 * process at once, and the machine once a later synced commit or
 * store_close() flushes the log.  For records (audit entries, counts)
 * whose loss in a crash of the machine in that window costs nothing that
 * matters.
 */
int	 store_txn_nosync(struct store *, store_fn fn, void *arg);

/*
 * Reads.  txn may be NULL for a read outside a transaction.
 * store_get: *val is malloc'd, NUL-terminated (len excludes the NUL).
 */
int	 store_get(struct store *, DB_TXN *, enum store_db, const char *key,
	    char **val, size_t *len);
int	 store_get_json(struct store *, DB_TXN *, enum store_db,
	    const char *key, json_t **val);

/* Writes: txn must be a transaction from store_txn(). */
int	 store_put(struct store *, DB_TXN *, enum store_db, const char *key,
	    const void *val, size_t len);
int	 store_put_new(struct store *, DB_TXN *, enum store_db,
	    const char *key, const void *val, size_t len);
int	 store_put_json(struct store *, DB_TXN *, enum store_db,
	    const char *key, const json_t *val);
int	 store_del(struct store *, DB_TXN *, enum store_db, const char *key);

/*
 * Call fn for each record whose key starts with prefix ("" for all), in
 * key order; fn returns non-zero to stop early.  With a txn the reads
 * take part in it.  Without one, fn runs with no lock held (it may use
 * the store, store_txn included) and the records are read a chunk at a
 * time, each chunk in a transaction of its own: stopping early saves
 * the rest, and the scan is not one snapshot (a record written
 * meanwhile may or may not be seen; none is seen twice).
 */
typedef int (*store_each_fn)(const char *key, const char *val, size_t len,
	    void *arg);
int	 store_scan(struct store *, DB_TXN *, enum store_db,
	    const char *prefix, store_each_fn fn, void *arg);
/* The same, from the first key at or after from (a page of a list). */
int	 store_scan_from(struct store *, DB_TXN *, enum store_db,
	    const char *prefix, const char *from, store_each_fn fn, void *arg);

/*
 * Delete, inside txn, every record of db for which dead(val, len, arg)
 * returns non-zero (expired sessions, states).
 */
int	 store_delete_if(struct store *, DB_TXN *, enum store_db,
	    int (*dead)(const char *val, size_t len, void *arg), void *arg);

/*
 * Next value of a named counter in SDB_META ("seq:<name>"), inside txn.
 */
int	 store_next_id(struct store *, DB_TXN *, const char *name,
	    unsigned long long *id);

/* Checkpoint and remove log files no longer needed. */
int	 store_checkpoint(struct store *);

/*
 * The environment handle, for what this interface does not wrap:
 * operations on the whole environment such as a hot backup (backup.c).
 */
DB_ENV	*store_env(struct store *);

/*
 * Verify every database file in dir (DB->verify); report problems on
 * out.  Returns STORE_OK when all are sound.  Opens the environment.
 */
int	 store_verify(const char *dir, FILE *out);

/* The name of a database, e.g. for messages ("options"). */
const char *store_db_name(enum store_db);

#endif
