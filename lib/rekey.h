/*
 * rekey: the sealed values in the store, and moving them all to a new
 * master key (sosyabotctl rekey).
 *
 * The sealed values are the secret options (associated data
 * "options/<key>", opt.c) and each channel's token or cookies (field
 * "secret" of its record, "channels/<workspace>/<id>/secret",
 * channel.c).  A new kind of sealed value must be added to rekey_each()
 * as well: otherwise a rotation retires the key that opens it, and
 * verify, backup and restore do not see it.
 *
 * A rotation runs in steps that each leave every value readable by every
 * process, so it may be interrupted at any point and run again:
 *
 *  1. a new key is appended to the key file (which then holds both; the
 *     new one seals from now on);
 *  2. it waits until no process that started before step 1 still has the
 *     store open: those may hold only the old key, and must neither meet
 *     a value re-sealed under the new one nor seal another under the old
 *     one after step 3 has passed it;
 *  3. every value not yet under the new key is re-sealed, one record per
 *     transaction (a value already under it is left alone);
 *  4. a last pass checks that no value needs the old key any more;
 *  5. the key file is rewritten with the new key alone.
 *
 * A run that finds a key file with several keys resumes at step 2 with
 * the newest as the new key.
 */
#ifndef SB_REKEY_H
#define SB_REKEY_H

#include <stdio.h>

#include "crypto.h"
#include "store.h"

struct rekey_value {
	enum store_db	 db;
	const char	*key;		/* the record's key */
	const char	*ad;		/* associated data */
	const char	*sealed;
	const char	*what;		/* for messages: "channel acme/3" */
};

/*
 * Call fn for every sealed value, outside any transaction (fn may use
 * the store); fn returns non-zero to stop.
 */
int	 rekey_each(struct store *,
	    int (*fn)(const struct rekey_value *, void *), void *);

struct rekey_census {
	size_t		 n;		/* sealed values */
	size_t		 by_id[256];	/* of them, under each key id */
	size_t		 bad;		/* malformed, or not opening with k */
};

/*
 * Count the sealed values by key id.  With k, also try to open each one
 * and count (and name on out, when not NULL) those that do not.
 */
int	 rekey_census(struct store *, const struct crypto_key *k,
	    struct rekey_census *, FILE *out);

/* The ids with values in c, as "1, 2" in buf. */
void	 rekey_ids(const struct rekey_census *c, char *buf, size_t len);

struct rekey_opts {
	const char	*data_dir;
	const char	*key_file;
	unsigned int	 wait;		/* seconds to wait in step 2 */
	long		 stop_after;	/* stop after re-sealing this many
					   values (tests); -1: never */
	FILE		*out;		/* progress; NULL: none */
};

#define REKEY_DONE	0
#define REKEY_FAIL	1	/* err says why; run it again later */
#define REKEY_STOPPED	3	/* stop_after reached */

int	 rekey_run(const struct rekey_opts *, char *err, size_t errlen);

#endif
