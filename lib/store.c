/*
 * store: the Berkeley DB transactional environment (see store.h).
 *
 * Every process opens the environment with DB_REGISTER|DB_RECOVER, so
 * the first opener after a crashed process runs recovery.  What
 * libdb 5.3 does not do for us is done here:
 *
 *  - opens are serialised by an exclusive flock on "<dir>/store.lock"
 *    and env closes take it shared, because DB_REGISTER otherwise
 *    mistakes a cleanly closing process for a dead one and recovers
 *    the environment under live processes;
 *  - recovery is forced (by removing the register file, which makes
 *    libdb treat the open as the first one) when the environment is
 *    panicked with no dead process to blame, and on the first open
 *    after a reboot, when the region files may hold a stale image;
 *  - transactions never sleep on a record lock: a conflict aborts and
 *    store_txn() runs fn again (see there why lock timeouts are not
 *    enough).
 *
 * A read-only store opens its databases with DB_RDONLY (a writable
 * open logs a few hundred bytes per process, which a page view should
 * not cost), and only when first used: the environment and the
 * databases the caller said it wants (STORE_WANT) under one flock, any
 * other database on its own first use.  A page that reads nothing
 * stored (the sign-in form) opens nothing.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "store.h"

/* Timeouts bound the lock waits that remain (database opens). */
#define LOCK_TIMEOUT_US	(2 * 1000000)	/* one lock wait */
#define TXN_TIMEOUT_US	(10 * 1000000)	/* one transaction */
/*
 * How long a process about to recover the environment waits (twice)
 * after marking it panicked, so that the commits under way in other
 * processes reach the log before recovery reads it (a record written
 * after that would land over the recovered log).  Only after a crash.
 */
#define REG_WAIT_US	(50 * 1000)
#define CACHE_BYTES	(1024 * 1024)	/* see small_tables() */
#define LOG_FILE_BYTES	(1024 * 1024)	/* small files: removed sooner */
#define CKP_KBYTE	256		/* store_checkpoint() */
#define CKP_MIN		1
#define CLOSE_CKP_KBYTE	512		/* opportunistic, at close */
/*
 * Retrying a lock conflict: 2 s was lost by 8 writers of one record on
 * a loaded 2-core machine; every watchdog (20 s and up) is well above.
 */
#define BUSY_MS		6000
#define OPEN_TRIES	4		/* database opens racing a create */

#define ENV_FLAGS	(DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | \
			 DB_INIT_LOG | DB_INIT_MPOOL | DB_REGISTER | DB_RECOVER)

struct store {
	DB_ENV		*env;
	DB		*db[STORE_NDB];	/* NULL: not opened (yet) */
	char		*dir;
	unsigned	 flags;
	unsigned	 want;	 /* STORE_WANT() bits, shifted down */
	int		 lockfd;
	u_int32_t	 commit_flags;	/* store_txn_nosync(): no waiting */
	int		 unsynced; /* such a commit awaits the disk */
	int		 busy;	 /* a call hit a lock conflict since reset */
	int		 panic;	 /* the environment needs recovery */
	int		 depth;	 /* store_txn() calls under way */
	FILE		*report; /* store_verify(): libdb's findings */
};

static const char *const names[STORE_NDB] = {
	"options", "users", "workspaces", "sessions",
	"states", "channels", "posts", "meta", "due", "audit",
};

/* One line on stderr, written with a single call so lines of
 * concurrent CGIs do not interleave in the server's error log. */
static void	 say(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	char	 line[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sosyabot: store: %s\n", line);
}

/*
 * libdb's own messages.  They name files and operations, never record
 * contents.  Once the environment is known to need recovery, libdb
 * repeats that on every call and lists every open file at close: one
 * line from map() says it instead.  app_private is the store.
 */
static void
errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	const struct store	*s = env->app_private;
	char			 line[512];
	size_t			 i;

	(void)pfx;
	if (s != NULL && s->panic)
		return;
	snprintf(line, sizeof(line), "%s", msg);
	for (i = 0; line[i] != '\0'; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (s != NULL && s->report != NULL)
		fprintf(s->report, "%s\n", line);
	else
		fprintf(stderr, "sosyabot: store: %s\n", line);
}

const char *
store_db_name(enum store_db d)
{
	return (unsigned)d < STORE_NDB ? names[d] : "?";
}

/*
 * Map a libdb return to a store_rc.  Lock conflicts mark the store busy
 * so that store_txn() retries even when fn turned STORE_BUSY into some
 * other code.
 */
static int
map(struct store *s, const char *what, const char *op, int ret)
{
	switch (ret) {
	case 0:
		return STORE_OK;
	case DB_NOTFOUND:
	case DB_KEYEMPTY:
		return STORE_NOTFOUND;
	case DB_KEYEXIST:
		return STORE_EXISTS;
	case DB_LOCK_DEADLOCK:
	case DB_LOCK_NOTGRANTED:
		s->busy = 1;
		return STORE_BUSY;
	case DB_RUNRECOVERY:
		if (!s->panic)
			say("%s: %s: the environment needs recovery; the next "
			    "open will run it", what, op);
		s->panic = 1;
		return STORE_FAIL;
	default:
		say("%s: %s: %s", what, op, db_strerror(ret));
		return STORE_FAIL;
	}
}

/*
 * A small pseudo-random source for backoff; quality does not matter,
 * only that processes colliding on a lock pick different pauses, so it
 * is seeded again in a forked child.
 */
static unsigned
jitter(void)
{
	static unsigned	 x;
	static pid_t	 seeded;
	struct timespec	 ts;
	pid_t		 pid = getpid();

	if (seeded != pid) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = ((unsigned)pid << 16) ^ (unsigned)ts.tv_nsec;
		x |= 1;
		seeded = pid;
	}
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

/* Sleep 1 ms to 2^(try+1) ms, at most 32: short, random, growing. */
static void
backoff(int try)
{
	struct timespec	 ts;
	unsigned	 ms;

	ms = 1 + jitter() % (2U << (try < 4 ? try : 4));
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

static int
lockfile(int fd, int op)
{
	while (flock(fd, op) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

/*
 * Whether the register file was last written before this boot.  Every
 * open and close writes it, so if it is older than the boot no process
 * of this boot uses the environment, and the region files (ordinary
 * mapped files) may hold whatever the crash left of them: recovery must
 * run, though no dead process is registered.
 */
static int
stale_since_boot(const char *reg)
{
	struct stat	 st;
	struct timespec	 now, up;

	if (stat(reg, &st) == -1 ||
	    clock_gettime(CLOCK_REALTIME, &now) == -1 ||
	    clock_gettime(CLOCK_BOOTTIME, &up) == -1)
		return 0;
	/* A second of slack for the rounding of the two clocks. */
	return st.st_mtime + 1 < now.tv_sec - up.tv_sec;
}

/* Make the next DB_REGISTER open run recovery. */
static int
force_recovery(const char *reg)
{
	if (unlink(reg) == -1 && errno != ENOENT) {
		say("%s: %s", reg, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Create and open the environment handle; the caller holds the
 * exclusive flock.  A DB_RUNRECOVERY answer means the region is
 * panicked while no registered process is dead, so DB_RECOVER alone
 * would not recover it: force recovery and try once more.
 */
/*
 * libdb sizes its lock and cache hash tables for thousands of objects
 * and one lock partition per CPU ten times over; a page view here
 * touches a handful of records, and every page of those tables it
 * touches is a page fault in a process that lives a millisecond.  Small
 * tables took a GET page from 138 to 120 faults and 10% of its time
 * (bench/).  The cache is small for the same reason: once full (a store
 * of 100,000 posts fills 4 MiB), the buffers a page view touches are
 * spread over all of it; at 1 MiB the history page of such a store took
 * 175 faults instead of 221, and at most 32 processes at once pin a few
 * pages each.  All of it applies when the region files are made (a new
 * store, or recovery after a crash or a reboot).
 */
static int
small_tables(DB_ENV *env)
{
	int	 ret;

	if ((ret = env->set_lk_partitions(env, 1)) != 0 ||
	    (ret = env->set_lk_tablesize(env, 64)) != 0 ||
	    (ret = env->set_mp_tablesize(env, 64)) != 0)
		return ret;
	return env->set_mp_mtxcount(env, 16);
}

static int
env_open(struct store *s)
{
	struct buf	 reg = { 0 };
	DB_ENV		*env;
	int		 try, ret = 0;

	if (!buf_path(&reg, s->dir, "__db.register")) {
		say("out of memory");
		return STORE_FAIL;
	}
	if (stale_since_boot(buf_str(&reg)) &&
	    force_recovery(buf_str(&reg)) == -1)
		goto err;
	for (try = 0; try < 2; try++) {
		if (try > 0 && force_recovery(buf_str(&reg)) == -1)
			goto err;
		if ((ret = db_env_create(&env, 0)) != 0)
			break;
		env->app_private = s;
		env->set_errcall(env, errcall);
		if ((ret = env->set_cachesize(env, 0, CACHE_BYTES, 1)) != 0 ||
		    (ret = env->set_lg_max(env, LOG_FILE_BYTES)) != 0 ||
		    (ret = env->set_lg_filemode(env, 0600)) != 0 ||
		    (ret = env->log_set_config(env,
		    DB_LOG_AUTO_REMOVE, 1)) != 0 ||
		    (ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
		    (ret = small_tables(env)) != 0 ||
		    (ret = env->set_timeout(env, LOCK_TIMEOUT_US,
		    DB_SET_LOCK_TIMEOUT)) != 0 ||
		    (ret = env->set_timeout(env, TXN_TIMEOUT_US,
		    DB_SET_TXN_TIMEOUT)) != 0 ||
		    (ret = env->set_timeout(env, REG_WAIT_US,
		    DB_SET_REG_TIMEOUT)) != 0 ||
		    (ret = env->open(env, s->dir, ENV_FLAGS, 0600)) != 0) {
			(void)env->close(env, 0);
			if (ret == DB_RUNRECOVERY)
				continue;
			break;
		}
		s->env = env;
		buf_free(&reg);
		return STORE_OK;
	}
	say("%s: cannot open the environment: %s%s", s->dir, db_strerror(ret),
	    ret == EACCES ? " (its files must belong to the user the server "
	    "runs as)" : "");
err:
	buf_free(&reg);
	return STORE_FAIL;
}

/*
 * Open database d.  Writable stores create it; read-only ones report a
 * file that does not exist yet as STORE_NOTFOUND (nothing stored),
 * checked with stat() first so that libdb does not log an error.
 */
static int
db_open(struct store *s, enum store_db d)
{
	char		 file[32];
	struct buf	 full = { 0 };
	struct stat	 st;
	DB		*db;
	u_int32_t	 fl;
	int		 try, ret, rc, missing;

	snprintf(file, sizeof(file), "%s.db", names[d]);
	if (s->flags & STORE_RDONLY) {
		if (!buf_path(&full, s->dir, file)) {
			say("out of memory");
			return STORE_FAIL;
		}
		missing = stat(buf_str(&full), &st) == -1 && errno == ENOENT;
		buf_free(&full);
		if (missing)
			return STORE_NOTFOUND;
		fl = DB_RDONLY | DB_AUTO_COMMIT;
	} else
		fl = DB_CREATE | DB_AUTO_COMMIT;

	/* Processes creating the same file at once may deadlock. */
	for (try = 0; ; try++) {
		if ((ret = db_create(&db, s->env, 0)) != 0)
			return map(s, store_db_name(d), "create", ret);
		if ((ret = db->open(db, NULL, file, NULL, DB_BTREE,
		    fl, 0600)) == 0) {
			s->db[d] = db;
			return STORE_OK;
		}
		(void)db->close(db, DB_NOSYNC);
		rc = map(s, store_db_name(d), "open", ret);
		if (rc != STORE_BUSY || try + 1 == OPEN_TRIES)
			return rc;
		backoff(try);
	}
}

/*
 * Database opens take libdb's environment lock, and a process killed
 * while it holds it leaves every later open of that environment asleep
 * for good: recovery (run by the next process to open the environment)
 * starts a new one and nobody wakes the sleepers of the old one.  So
 * opens happen only under the exclusive flock, which also covers the
 * recovery, and the opener writes its pid at the start of store.lock
 * for as long as it opens.  A pid left there is an opener that died: a
 * store that opened its environment before that must open it again
 * (which recovers it) before it may open a database in it.
 */
#define MARK_LEN	12

static void
mark(struct store *s, int on)
{
	char	 b[MARK_LEN + 1];

	if (on)
		snprintf(b, sizeof(b), "%-*ld\n", MARK_LEN - 1, (long)getpid());
	else
		memset(b, ' ', MARK_LEN);
	(void)!pwrite(s->lockfd, b, MARK_LEN, 0);
}

/* An opener died while it held the flock (see mark()). */
static int
opener_died(struct store *s)
{
	char	 b[MARK_LEN + 1];
	ssize_t	 n;
	long	 pid;

	if ((n = pread(s->lockfd, b, MARK_LEN, 0)) <= 0)
		return 0;
	b[n] = '\0';
	pid = strtol(b, NULL, 10);
	return pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) == -1 &&
	    errno == ESRCH;
}

/*
 * A process that waits in libdb on a mutex a killed process held, while
 * it holds store.lock, keeps every other opener waiting until its own
 * watchdog ends it (20 to 45 s).  So libdb's work under the flock --
 * database opens and environment closes, never the environment open,
 * which may be a recovery -- is bounded: past STALL_S the process ends
 * at once, which releases the flock, and the next opener finds it dead
 * and recovers.  Above the longest legitimate open (four tries, each up
 * to LOCK_TIMEOUT_US), below every watchdog but the pages' own.
 */
#define STALL_S		15

struct stall {
	struct sigaction old;
	unsigned	 left;	/* the caller's alarm, in seconds */
	time_t		 t0;
};

static void
stalled(int sig)
{
	static const char msg[] = "sosyabot: store: stuck on a lock of a "
	    "process that died; ending, so that the next request recovers "
	    "the store\n";

	(void)sig;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

static void
stall_on(struct stall *g)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stalled;
	sigemptyset(&sa.sa_mask);
	g->t0 = time(NULL);
	g->left = alarm(0);
	(void)sigaction(SIGALRM, &sa, &g->old);
	alarm(g->left != 0 && g->left < STALL_S ? g->left : STALL_S);
}

/* The caller's SIGALRM handler again, and what was left of its alarm. */
static void
stall_off(struct stall *g)
{
	time_t	 spent;

	alarm(0);
	(void)sigaction(SIGALRM, &g->old, NULL);
	if (g->left != 0) {
		spent = time(NULL) - g->t0;
		alarm(spent < (time_t)g->left ? g->left - (unsigned)spent : 1);
	}
}

/* Open database d of a read-only store on first use (see mark()). */
static int
lazy_open(struct store *s, enum store_db d)
{
	struct stall	 g;
	int		 rc;

	if (lockfile(s->lockfd, LOCK_EX) == -1) {
		say("store.lock: flock: %s", strerror(errno));
		return STORE_FAIL;
	}
	if (opener_died(s)) {
		/* store_txn() opens the environment again and retries. */
		s->panic = 1;
		(void)lockfile(s->lockfd, LOCK_UN);
		return STORE_FAIL;
	}
	mark(s, 1);
	stall_on(&g);
	rc = db_open(s, d);
	stall_off(&g);
	mark(s, 0);
	(void)lockfile(s->lockfd, LOCK_UN);
	return rc;
}

/* Writes need a writable store and a transaction from store_txn(). */
static int
writable(const struct store *s, const DB_TXN *txn, enum store_db d)
{
	if (s == NULL)
		return STORE_FAIL;
	if (s->flags & STORE_RDONLY) {
		say("%s: write refused: the store is open read-only",
		    store_db_name(d));
		return STORE_FAIL;
	}
	if (txn == NULL) {
		say("%s: write outside a transaction", store_db_name(d));
		return STORE_FAIL;
	}
	return STORE_OK;
}

static void
keydbt(DBT *k, const char *key)
{
	memset(k, 0, sizeof(*k));
	k->data = (void *)key;
	k->size = (u_int32_t)strlen(key);
}

/*
 * Open the environment and the databases -- every one for a writable
 * store, the wanted ones for a read-only store -- all under the
 * exclusive flock (see mark()).
 */
static int
attach(struct store *s)
{
	struct stall	 g;
	int		 i, rc;

	if (lockfile(s->lockfd, LOCK_EX) == -1) {
		say("store.lock: flock: %s", strerror(errno));
		return STORE_FAIL;
	}
	mark(s, 1);
	rc = env_open(s);
	if (rc == STORE_OK) {
		stall_on(&g);
		for (i = 0; i < STORE_NDB && rc == STORE_OK; i++) {
			if ((s->flags & STORE_RDONLY) && !(s->want >> i & 1))
				continue;
			/* Not made yet: nothing stored there (db_open()). */
			if ((rc = db_open(s, i)) == STORE_NOTFOUND)
				rc = STORE_OK;
		}
		stall_off(&g);
	}
	/* Whatever a dead opener left is recovered now (or we failed). */
	mark(s, 0);
	(void)lockfile(s->lockfd, LOCK_UN);
	return rc;
}

/* The environment, attached if it is not (a read-only store's first use). */
static int
ready(struct store *s)
{
	mode_t	 omask;
	int	 rc;

	if (s->env != NULL)
		return STORE_OK;
	omask = umask(077);
	rc = attach(s);
	umask(omask);
	return rc;
}

/* The handle of database d, opened on first use in a read-only store. */
static int
handle(struct store *s, enum store_db d, DB **dbp)
{
	int	 rc;

	*dbp = NULL;
	if (s == NULL || (unsigned)d >= STORE_NDB)
		return STORE_FAIL;
	if (s->env == NULL) {
		s->want |= 1U << d;
		if ((rc = ready(s)) != STORE_OK)
			return rc;
	}
	if (s->db[d] == NULL && (rc = lazy_open(s, d)) != STORE_OK)
		return rc;
	*dbp = s->db[d];
	return STORE_OK;
}

/* Shared: no opener may scan the register meanwhile (see stall_on()). */
static void
env_close(struct store *s)
{
	struct stall	 g;

	(void)lockfile(s->lockfd, LOCK_SH);
	stall_on(&g);
	(void)s->env->close(s->env, 0);
	stall_off(&g);
	(void)lockfile(s->lockfd, LOCK_UN);
}

/*
 * Close a panicked environment and open it afresh (recovering it if a
 * process died).  A process that opened the environment before another
 * one ran recovery -- the first opener after a crash does -- finds it
 * panicked, though nothing is wrong with the data.
 */
static int
reopen(struct store *s)
{
	int	 i, rc;

	for (i = 0; i < STORE_NDB; i++)
		if (s->db[i] != NULL) {
			(void)s->db[i]->close(s->db[i], DB_NOSYNC);
			s->db[i] = NULL;
		}
	if (s->env != NULL) {
		env_close(s);
		s->env = NULL;
	}
	s->panic = 0;
	if ((rc = ready(s)) == STORE_OK)
		say("reopened the environment after a recovery");
	return rc;
}

int
store_open(struct store **sp, const char *dir, unsigned flags)
{
	struct store	*s;
	struct buf	 lock = { 0 };
	mode_t		 omask;
	int		 rc = STORE_FAIL;

	*sp = NULL;
	if ((flags & ~(STORE_RDONLY | STORE_WANT_ALL)) != 0) {
		say("store_open: unknown flags");
		return STORE_FAIL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->dir = strdup(dir)) == NULL) {
		say("out of memory");
		free(s);
		return STORE_FAIL;
	}
	s->flags = flags;
	s->want = flags / STORE_WANT(0);
	s->lockfd = -1;

	/*
	 * libdb creates some files with fixed modes (the register file
	 * 0660): the umask keeps everything it creates private.
	 */
	omask = umask(077);

	/* Cleanup rule: from here, failures go to err, which undoes
	 * whatever part of s is set (store_close() copes with that). */
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		say("%s: %s", dir, strerror(errno));
		goto err;
	}
	if (!buf_path(&lock, dir, "store.lock")) {
		say("out of memory");
		goto err;
	}
	if ((s->lockfd = open(buf_str(&lock),
	    O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		say("%s: %s%s", buf_str(&lock), strerror(errno),
		    errno == EACCES ? " (the data directory must belong to "
		    "the user the server runs as)" : "");
		goto err;
	}
	if (!(flags & STORE_RDONLY) && (rc = attach(s)) != STORE_OK)
		goto err;
	umask(omask);
	buf_free(&lock);
	*sp = s;
	return STORE_OK;
err:
	umask(omask);
	buf_free(&lock);
	store_close(s);
	return rc == STORE_OK ? STORE_FAIL : rc;
}

void
store_close(struct store *s)
{
	int	 i;

	if (s == NULL)
		return;
	if (s->env != NULL) {
		/*
		 * Checkpoint only when enough log has piled up: callers
		 * need not remember, and most closes stay cheap.
		 */
		if (!(s->flags & STORE_RDONLY))
			(void)s->env->txn_checkpoint(s->env,
			    CLOSE_CKP_KBYTE, 0, 0);
		/* The commits store_txn_nosync() did not wait for. */
		if (s->unsynced)
			(void)s->env->log_flush(s->env, NULL);
		for (i = 0; i < STORE_NDB; i++)
			if (s->db[i] != NULL)
				(void)s->db[i]->close(s->db[i], DB_NOSYNC);
		env_close(s);
	}
	if (s->lockfd != -1)
		close(s->lockfd);
	free(s->dir);
	free(s);
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * A process that recovers the environment (the first opener after a
 * crash) marks it panicked, waits REG_WAIT_US, and reads the log.  The
 * mark stops the calls that start after it, not a commit under way,
 * which returns 0 even if its record reached the log file after
 * recovery read it: lost.  So a commit counts only if the mark was not
 * there once it returned; then its record was in the file before
 * recovery began.  (The crash torture counted 4 such records missing
 * in 70,000 acknowledged.)  Otherwise it may or may not have been kept,
 * and the caller is told it failed, as for a commit that failed.
 */
static int
recovered_meanwhile(struct store *s)
{
	u_int32_t	 fl = 0;

	if (s->env->get_flags(s->env, &fl) == 0 &&
	    !(fl & DB_PANIC_ENVIRONMENT))
		return 0;
	say("commit: another process began recovering the environment "
	    "meanwhile: the transaction may not have been kept");
	s->panic = 1;
	return 1;
}

/*
 * Transactions never sleep on a lock (DB_TXN_NOWAIT): libdb 5.3 wakes
 * a sleeping waiter only when the holder lets go or another waiter
 * runs deadlock detection, so a waiter alone behind a killed process,
 * or behind one in an environment since recovered, would sleep until
 * the watchdog kills it, whatever the lock timeout.  A conflict
 * aborts instead, and the transaction is run again after a short
 * random pause, for up to BUSY_MS.
 */
int
store_txn(struct store *s, store_fn fn, void *arg)
{
	struct timespec	 t0;
	DB_TXN		*txn;
	int		 try, ret, rc, outer, committing, reopened = 0;

	if (s == NULL || fn == NULL)
		return STORE_FAIL;
	if ((rc = ready(s)) != STORE_OK)
		return rc;
	/* A nested call (a NULL-txn read inside fn) keeps fn's flag. */
	outer = s->busy;
	s->depth++;
again:
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (try = 0; ; try++) {
		s->busy = 0;
		committing = 0;
		if ((ret = s->env->txn_begin(s->env, NULL, &txn,
		    DB_TXN_NOWAIT)) != 0) {
			rc = map(s, "environment", "txn_begin", ret);
			break;
		}
		rc = fn(s, txn, arg);
		/* A transaction that hit a lock conflict cannot commit. */
		if (rc == STORE_OK && !s->busy) {
			committing = 1;
			if ((ret = txn->commit(txn, s->commit_flags)) == 0 &&
			    !recovered_meanwhile(s)) {
				/* A synced commit flushes the log before it. */
				s->unsynced = s->commit_flags != 0;
				break;
			}
			rc = ret == 0 ? STORE_FAIL :
			    map(s, "environment", "commit", ret);
		} else if ((ret = txn->abort(txn)) != 0) {
			rc = map(s, "environment", "abort", ret);
			break;
		}
		if (!s->busy) {
			if (rc == STORE_OK)
				rc = STORE_FAIL;
			break;
		}
		if (elapsed_ms(&t0) >= BUSY_MS) {
			say("transaction gave up after %d tries: "
			    "lock contention", try + 1);
			rc = STORE_BUSY;
			break;
		}
		backoff(try);
	}
	/*
	 * Another process recovered the environment under this one (the
	 * first opener after a crash does): a transaction that did not
	 * reach its commit left nothing behind, so run it once more in the
	 * environment opened afresh.  Not after a failed commit (it may be
	 * durable), and only from the outermost call (an outer transaction
	 * still holds the old environment).
	 */
	if (rc != STORE_OK && s->panic && !committing && !reopened &&
	    s->depth == 1) {
		reopened = 1;
		if (reopen(s) == STORE_OK)
			goto again;
		rc = STORE_FAIL;
	}
	s->depth--;
	s->busy = outer;
	return rc;
}

/*
 * The commit goes to the log file without waiting for the disk: it
 * survives the process at once, and a crash of the machine once the
 * next synced commit (of any process) or store_close() has flushed the
 * log.  A request that writes a record and its audit entry waits for
 * the disk once, not twice (bench/: the publish path).
 */
int
store_txn_nosync(struct store *s, store_fn fn, void *arg)
{
	u_int32_t	 old;
	int		 rc;

	if (s == NULL)
		return STORE_FAIL;
	old = s->commit_flags;
	s->commit_flags = DB_TXN_WRITE_NOSYNC;
	rc = store_txn(s, fn, arg);
	s->commit_flags = old;
	return rc;
}

/* Read key into a malloc'd NUL-terminated copy; flags for DB->get. */
static int
get(struct store *s, DB_TXN *txn, enum store_db d, const char *key,
    u_int32_t flags, char **val, size_t *len)
{
	DB	*db;
	DBT	 k, v;
	char	*p;
	int	 rc, ret;

	*val = NULL;
	if (len != NULL)
		*len = 0;
	if (key == NULL)
		return STORE_FAIL;
	if ((rc = handle(s, d, &db)) != STORE_OK)
		return rc;
	keydbt(&k, key);
	memset(&v, 0, sizeof(v));
	v.flags = DB_DBT_MALLOC;
	if ((ret = db->get(db, txn, &k, &v, flags)) != 0)
		return map(s, store_db_name(d), "get", ret);
	if ((p = realloc(v.data, (size_t)v.size + 1)) == NULL) {
		free(v.data);
		say("out of memory");
		return STORE_FAIL;
	}
	p[v.size] = '\0';
	*val = p;
	if (len != NULL)
		*len = v.size;
	return STORE_OK;
}

struct getarg {
	enum store_db	 d;
	const char	*key;
	char		*val;
	size_t		 len;
};

static int
get_fn(struct store *s, DB_TXN *txn, void *arg)
{
	struct getarg	*g = arg;

	return get(s, txn, g->d, g->key, 0, &g->val, &g->len);
}

/*
 * Without a txn, the read runs in a transaction of its own so that it
 * never sleeps on a lock either (see store_txn).  A read-only
 * transaction writes no log.
 */
int
store_get(struct store *s, DB_TXN *txn, enum store_db d, const char *key,
    char **val, size_t *len)
{
	struct getarg	 g;
	int		 rc;

	if (txn != NULL)
		return get(s, txn, d, key, 0, val, len);
	memset(&g, 0, sizeof(g));
	g.d = d;
	g.key = key;
	rc = store_txn(s, get_fn, &g);
	*val = g.val;
	if (len != NULL)
		*len = g.len;
	return rc;
}

int
store_get_json(struct store *s, DB_TXN *txn, enum store_db d,
    const char *key, json_t **val)
{
	json_error_t	 e;
	char		*p;
	size_t		 len;
	int		 rc;

	*val = NULL;
	if ((rc = store_get(s, txn, d, key, &p, &len)) != STORE_OK)
		return rc;
	*val = json_loadb(p, len, JSON_DECODE_ANY, &e);
	free(p);
	if (*val == NULL) {
		/* The position only: the text may hold secrets. */
		say("%s: a record is not valid JSON (at byte %d)",
		    store_db_name(d), e.position);
		return STORE_FAIL;
	}
	return STORE_OK;
}

static int
put(struct store *s, DB_TXN *txn, enum store_db d, const char *key,
    const void *val, size_t len, u_int32_t flags)
{
	DB	*db;
	DBT	 k, v;
	int	 rc;

	if (key == NULL || (val == NULL && len > 0) || len > UINT32_MAX)
		return STORE_FAIL;
	if ((rc = writable(s, txn, d)) != STORE_OK ||
	    (rc = handle(s, d, &db)) != STORE_OK)
		return rc;
	keydbt(&k, key);
	memset(&v, 0, sizeof(v));
	v.data = (void *)val;
	v.size = (u_int32_t)len;
	return map(s, store_db_name(d), "put", db->put(db, txn, &k, &v, flags));
}

int
store_put(struct store *s, DB_TXN *txn, enum store_db d, const char *key,
    const void *val, size_t len)
{
	return put(s, txn, d, key, val, len, 0);
}

int
store_put_new(struct store *s, DB_TXN *txn, enum store_db d,
    const char *key, const void *val, size_t len)
{
	return put(s, txn, d, key, val, len, DB_NOOVERWRITE);
}

int
store_put_json(struct store *s, DB_TXN *txn, enum store_db d,
    const char *key, const json_t *val)
{
	char	*p;
	int	 rc;

	if (val == NULL ||
	    (p = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
		say("%s: cannot encode a record as JSON", store_db_name(d));
		return STORE_FAIL;
	}
	rc = store_put(s, txn, d, key, p, strlen(p));
	free(p);
	return rc;
}

int
store_del(struct store *s, DB_TXN *txn, enum store_db d, const char *key)
{
	DB	*db;
	DBT	 k;
	int	 rc;

	if (key == NULL)
		return STORE_FAIL;
	if ((rc = writable(s, txn, d)) != STORE_OK ||
	    (rc = handle(s, d, &db)) != STORE_OK)
		return rc;
	keydbt(&k, key);
	return map(s, store_db_name(d), "del", db->del(db, txn, &k, 0));
}

/*
 * Walk the records of d whose key starts with prefix, from the first
 * key at or after from (just after it when after is set), in txn,
 * calling fn with NUL-terminated copies (kept by fn only until it
 * returns).
 */
static int
walk(struct store *s, DB_TXN *txn, enum store_db d, const char *prefix,
    const char *from, int after, store_each_fn fn, void *arg)
{
	struct buf	 kb = { 0 }, vb = { 0 };
	DB		*db;
	DBC		*c;
	DBT		 k, v;
	size_t		 plen = strlen(prefix), flen;
	u_int32_t	 op;
	int		 ret, rc;

	if ((rc = handle(s, d, &db)) != STORE_OK)
		return rc == STORE_NOTFOUND ? STORE_OK : rc;
	if ((ret = db->cursor(db, txn, &c, 0)) != 0)
		return map(s, store_db_name(d), "cursor", ret);

	/* Cleanup rule: from here, leave through out (closes c). */
	keydbt(&k, from);
	flen = k.size;
	memset(&v, 0, sizeof(v));
	op = flen > 0 ? DB_SET_RANGE : DB_FIRST;
	while ((ret = c->get(c, &k, &v, op)) == 0) {
		if (op != DB_NEXT && after && k.size == flen &&
		    memcmp(k.data, from, flen) == 0) {
			op = DB_NEXT;
			continue;
		}
		op = DB_NEXT;
		if (k.size < plen || memcmp(k.data, prefix, plen) != 0)
			break;
		buf_reset(&kb);
		buf_add(&kb, k.data, k.size);
		buf_reset(&vb);
		buf_add(&vb, v.data, v.size);
		if (!buf_ok(&kb) || !buf_ok(&vb)) {
			say("out of memory");
			rc = STORE_FAIL;
			goto out;
		}
		if (fn(buf_str(&kb), buf_str(&vb), vb.len, arg) != 0)
			break;
	}
	rc = ret == 0 || ret == DB_NOTFOUND ? STORE_OK :
	    map(s, store_db_name(d), "scan", ret);
out:
	if ((ret = c->close(c)) != 0 && rc == STORE_OK)
		rc = map(s, store_db_name(d), "cursor close", ret);
	buf_free(&kb);
	buf_free(&vb);
	return rc;
}

/*
 * A scan outside a transaction reads in chunks: each chunk's records
 * are copied, as (size_t klen, key, NUL, size_t vlen, val, NUL)
 * entries, in a read-only transaction of its own, and fn is called for
 * them after it ended, with no lock held.  So fn may use the store
 * freely; a conflict only restarts the copy of one chunk, never calls
 * fn twice for a record; and a scan that fn stops early stops reading.
 * The first chunk is small, for lists that want a page; later ones grow
 * so that a long scan takes few transactions, but never many locks at
 * once: a transaction keeps a read lock on every page it read until it
 * ends, and 100,000 posts read in one ran libdb's lock table out.
 */
#define SCAN_FIRST	32		/* records in the first chunk */
#define SCAN_MOST	1024		/* records in any chunk */
#define SCAN_BYTES	(256 * 1024)	/* a chunk ends once past this */

struct copyarg {
	enum store_db	 d;
	const char	*prefix;
	const char	*from;		/* the chunk starts here */
	int		 after;		/* just after from: it was seen */
	size_t		 max;		/* records this chunk may take */
	size_t		 n;		/* records it took */
	int		 full;		/* it stopped at max or SCAN_BYTES */
	struct buf	 out;
};

static void
copy_add(struct buf *b, const char *p, size_t len)
{
	buf_add(b, &len, sizeof(len));
	buf_add(b, p, len);
	buf_addc(b, '\0');
}

static int
copy_each(const char *key, const char *val, size_t len, void *arg)
{
	struct copyarg	*c = arg;

	copy_add(&c->out, key, strlen(key));
	copy_add(&c->out, val, len);
	if (!buf_ok(&c->out))
		return 1;
	c->full = ++c->n >= c->max || c->out.len >= SCAN_BYTES;
	return c->full;
}

static int
copy_fn(struct store *s, DB_TXN *txn, void *arg)
{
	struct copyarg	*c = arg;
	int		 rc;

	buf_reset(&c->out);
	c->n = 0;
	c->full = 0;
	rc = walk(s, txn, c->d, c->prefix, c->from, c->after, copy_each, c);
	if (rc == STORE_OK && !buf_ok(&c->out)) {
		say("out of memory");
		rc = STORE_FAIL;
	}
	return rc;
}

/* The next field of a copy at *p: its length in *len; advances *p. */
static const char *
copy_next(const char **p, size_t *len)
{
	const char	*field;

	memcpy(len, *p, sizeof(*len));
	field = *p + sizeof(*len);
	*p = field + *len + 1;
	return field;
}

int
store_scan_from(struct store *s, DB_TXN *txn, enum store_db d,
    const char *prefix, const char *from, store_each_fn fn, void *arg)
{
	struct copyarg	 c;
	struct buf	 last = { 0 };
	const char	*p, *end, *key = NULL, *val;
	size_t		 klen = 0, vlen;
	int		 rc, stop = 0;

	if (prefix == NULL || fn == NULL)
		return STORE_FAIL;
	/* Keys before the prefix are not in the range at all. */
	if (from == NULL || strcmp(from, prefix) < 0)
		from = prefix;
	if (txn != NULL)
		return walk(s, txn, d, prefix, from, 0, fn, arg);
	memset(&c, 0, sizeof(c));
	c.d = d;
	c.prefix = prefix;
	c.from = from;
	c.max = SCAN_FIRST;
	while ((rc = store_txn(s, copy_fn, &c)) == STORE_OK && c.n > 0) {
		p = c.out.p;
		end = p + c.out.len;
		while (p < end && !stop) {
			key = copy_next(&p, &klen);
			val = copy_next(&p, &vlen);
			stop = fn(key, val, vlen, arg) != 0;
		}
		if (stop || !c.full)
			break;
		/* The next chunk starts just after the last key seen. */
		buf_reset(&last);
		buf_add(&last, key, klen);
		if (!buf_ok(&last)) {
			say("out of memory");
			rc = STORE_FAIL;
			break;
		}
		c.from = buf_str(&last);
		c.after = 1;
		c.max = c.max * 2 > SCAN_MOST ? SCAN_MOST : c.max * 2;
	}
	buf_free(&c.out);
	buf_free(&last);
	return rc;
}

int
store_scan(struct store *s, DB_TXN *txn, enum store_db d,
    const char *prefix, store_each_fn fn, void *arg)
{
	return store_scan_from(s, txn, d, prefix, prefix, fn, arg);
}

int
store_next_id(struct store *s, DB_TXN *txn, const char *name,
    unsigned long long *id)
{
	struct buf		 key = { 0 };
	char			*val, *end, num[24];
	unsigned long long	 cur = 0;
	int			 rc;

	*id = 0;
	if (name == NULL)
		return STORE_FAIL;
	buf_addf(&key, "seq:%s", name);
	if (!buf_ok(&key)) {
		say("out of memory");
		return STORE_FAIL;
	}
	/* Cleanup rule: from here, leave through out (frees key). */
	if ((rc = writable(s, txn, SDB_META)) != STORE_OK)
		goto out;
	/*
	 * DB_RMW takes the write lock at the read: two increments then
	 * queue instead of both reading and deadlocking on the upgrade.
	 */
	rc = get(s, txn, SDB_META, buf_str(&key), DB_RMW, &val, NULL);
	if (rc == STORE_OK) {
		errno = 0;
		cur = strtoull(val, &end, 10);
		if (val[0] < '0' || val[0] > '9' || *end != '\0' ||
		    errno != 0 || cur == ULLONG_MAX) {
			say("meta: counter %s is damaged", name);
			rc = STORE_FAIL;
		}
		free(val);
	} else if (rc == STORE_NOTFOUND)
		rc = STORE_OK;
	if (rc != STORE_OK)
		goto out;
	snprintf(num, sizeof(num), "%llu", cur + 1);
	if ((rc = store_put(s, txn, SDB_META, buf_str(&key), num,
	    strlen(num))) == STORE_OK)
		*id = cur + 1;
out:
	buf_free(&key);
	return rc;
}

int
store_checkpoint(struct store *s)
{
	int	 ret;

	if (s == NULL || s->env == NULL)
		return STORE_FAIL;
	if ((ret = s->env->txn_checkpoint(s->env, CKP_KBYTE, CKP_MIN, 0)) != 0)
		return map(s, "environment", "checkpoint", ret);
	/* Normally done by DB_LOG_AUTO_REMOVE; also when that was off. */
	if ((ret = s->env->log_archive(s->env, NULL, DB_ARCH_REMOVE)) != 0)
		return map(s, "environment", "log_archive", ret);
	return STORE_OK;
}

DB_ENV *
store_env(struct store *s)
{
	return s != NULL && ready(s) == STORE_OK ? s->env : NULL;
}

int
store_verify(const char *dir, FILE *out)
{
	struct store	*s;
	struct stat	 st;
	struct buf	 full = { 0 };
	char		 file[32];
	DB		*db;
	int		 i, ret, rc;

	if (stat(dir, &st) == -1) {
		fprintf(out, "%s: %s\n", dir, strerror(errno));
		return STORE_FAIL;
	}
	/* Opening runs recovery if a process died. */
	if ((rc = store_open(&s, dir, STORE_RDONLY)) == STORE_OK &&
	    (rc = ready(s)) != STORE_OK)
		store_close(s);
	if (rc != STORE_OK) {
		fprintf(out, "%s: cannot open the store\n", dir);
		return rc;
	}
	/* The verifier reads the files: flush the cache to them first. */
	if ((ret = s->env->txn_checkpoint(s->env, 0, 0, DB_FORCE)) != 0) {
		fprintf(out, "checkpoint: %s\n", db_strerror(ret));
		rc = STORE_FAIL;
	}
	s->report = out;
	for (i = 0; i < STORE_NDB; i++) {
		snprintf(file, sizeof(file), "%s.db", names[i]);
		if (!buf_path(&full, dir, file)) {
			fprintf(out, "out of memory\n");
			rc = STORE_FAIL;
			break;
		}
		if (stat(buf_str(&full), &st) == -1 && errno == ENOENT)
			continue;
		if ((ret = db_create(&db, s->env, 0)) == 0)
			/* verify frees db whatever it returns */
			ret = db->verify(db, file, NULL, NULL, 0);
		if (ret != 0) {
			fprintf(out, "%s: %s\n", file, ret == DB_VERIFY_BAD ?
			    "damaged" : db_strerror(ret));
			rc = STORE_FAIL;
		}
	}
	s->report = NULL;
	buf_free(&full);
	store_close(s);
	return rc;
}

struct delete_if {
	int		(*dead)(const char *, size_t, void *);
	void		*arg;
	struct buf	 keys;	/* NUL-separated keys to delete */
};

static int
collect_dead(const char *key, const char *val, size_t len, void *arg)
{
	struct delete_if	*d = arg;

	if (d->dead(val, len, d->arg))
		buf_add(&d->keys, key, strlen(key) + 1);
	return 0;
}

int
store_delete_if(struct store *s, DB_TXN *txn, enum store_db db,
    int (*dead)(const char *, size_t, void *), void *arg)
{
	struct delete_if	 d = { dead, arg, { 0 } };
	size_t			 off;
	int			 rc;

	/* Collected first: deleting under the scan's cursor would skip. */
	if ((rc = store_scan(s, txn, db, "", collect_dead, &d)) != STORE_OK)
		goto out;
	if (!buf_ok(&d.keys)) {
		rc = STORE_FAIL;
		goto out;
	}
	for (off = 0; off < d.keys.len; off += strlen(d.keys.p + off) + 1)
		if ((rc = store_del(s, txn, db, d.keys.p + off)) != STORE_OK &&
		    rc != STORE_NOTFOUND)
			goto out;
	rc = STORE_OK;
out:
	buf_free(&d.keys);
	return rc;
}
