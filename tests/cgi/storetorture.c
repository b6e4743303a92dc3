/*
 * storetorture: commit records, and check them after crashes.
 *
 *   storetorture DIR writer ID N
 *	Commit the records "w<ID>-<i>" (value: the key) for i from 0 to
 *	N-1, one per transaction, and print "ack <key>" on stdout after
 *	each commit returns.  A failed transaction (the environment was
 *	recovered under us, or contention) reopens the store and tries
 *	the same record again; a watchdog kills a writer stuck for
 *	WATCHDOG seconds, as it does a CGI.
 *
 *   storetorture DIR check FILE
 *	Every key acknowledged in FILE ("ack <key>" lines) must be in
 *	the store with its value; print "missing <key>" for each one that
 *	is not.  Then verify the store (problems on stdout).
 *
 * Exit 0 when all is well, 1 when a check failed, 2 on other errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

#define WATCHDOG	10	/* seconds for one record */
#define REOPENS		50	/* failures in a row before giving up */

static int
put_fn(struct store *s, DB_TXN *txn, void *arg)
{
	const char	*key = arg;

	return store_put(s, txn, SDB_POSTS, key, key, strlen(key));
}

static int
writer(const char *dir, const char *id, const char *count)
{
	struct store	*s = NULL;
	char		 key[128], *end;
	unsigned long	 n, i;
	int		 rc, fails = 0;

	errno = 0;
	n = strtoul(count, &end, 10);
	if (*count == '\0' || *end != '\0' || errno != 0) {
		fprintf(stderr, "storetorture: bad count: %s\n", count);
		return 2;
	}
	for (i = 0; i < n; ) {
		alarm(WATCHDOG);
		snprintf(key, sizeof(key), "w%s-%lu", id, i);
		if (s == NULL && store_open(&s, dir, 0) != STORE_OK)
			rc = STORE_FAIL;
		else
			rc = store_txn(s, put_fn, key);
		if (rc == STORE_OK) {
			printf("ack %s\n", key);
			if (fflush(stdout) == EOF)
				return 2;
			fails = 0;
			i++;
			continue;
		}
		/* Recovered under us, most likely: start afresh. */
		store_close(s);
		s = NULL;
		if (++fails == REOPENS) {
			fprintf(stderr, "storetorture: writer %s gave up\n",
			    id);
			return 2;
		}
		usleep(10000);
	}
	store_close(s);
	return 0;
}

static int
check(const char *dir, const char *file)
{
	struct store	*s;
	FILE		*f;
	char		 line[256], *key, *val;
	size_t		 len;
	unsigned long	 acked = 0, missing = 0;
	int		 rc, bad = 0;

	if ((f = fopen(file, "r")) == NULL) {
		perror(file);
		return 2;
	}
	if (store_open(&s, dir, STORE_RDONLY) != STORE_OK) {
		fclose(f);
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "ack ", 4) != 0)
			continue;
		key = line + 4;
		acked++;
		rc = store_get(s, NULL, SDB_POSTS, key, &val, &len);
		if (rc == STORE_OK && strcmp(val, key) == 0) {
			free(val);
			continue;
		}
		if (rc == STORE_OK)
			printf("wrong %s\n", key);
		else if (rc == STORE_NOTFOUND)
			printf("missing %s\n", key);
		else {
			printf("unreadable %s\n", key);
			bad = 2;
		}
		free(val);
		missing++;
	}
	fclose(f);
	/* One environment handle per process: close before verifying. */
	store_close(s);
	fprintf(stderr, "storetorture: %lu acknowledged, %lu missing\n",
	    acked, missing);
	if (missing > 0 && bad == 0)
		bad = 1;
	if (store_verify(dir, stdout) != STORE_OK && bad == 0)
		bad = 1;
	return bad;
}

int
main(int argc, char *argv[])
{
	if (argc == 5 && strcmp(argv[2], "writer") == 0)
		return writer(argv[1], argv[3], argv[4]);
	if (argc == 4 && strcmp(argv[2], "check") == 0)
		return check(argv[1], argv[3]);
	fprintf(stderr, "usage: storetorture DIR writer ID N\n"
	    "       storetorture DIR check FILE\n");
	return 2;
}
