/*
 * loadposts: fill a data directory with posts for the benchmark.
 *
 *	loadposts -d DIR -w WS -b USER -c CHANNEL -h HANDLE -n N
 *	    [-s posted|due] [-m batch|create] [-B posts per transaction]
 *
 * -s posted (the default) makes history: every delivery posted, with an
 * id at X.  -s due makes posts scheduled a minute ago, so that the next
 * publish-due sends them all.
 *
 * -m create goes through post_create() (and post_settle() for posted
 * ones), one durable transaction each, as the product writes posts.
 * That is bound by the disk's sync rate, so -m batch (the default)
 * writes the same records and due entries as lib/post.c does, many to
 * a transaction.  It prints the posts written and the time per post.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "post.h"
#include "store.h"

#define MAX_ID	9999999999999999999ULL	/* lib/post.c: newest first */

struct load {
	const char	*ws, *by, *channel, *handle;
	int		 due;
	time_t		 now;
	long		 todo;		/* posts of this transaction */
};

static void
usage(void)
{
	fprintf(stderr, "usage: loadposts -d dir -w ws -b user -c channel "
	    "-h handle -n count [-s posted|due] [-m batch|create] "
	    "[-B batch]\n");
	exit(2);
}

/* One post record, the way lib/post.c's put_post() writes it. */
static int
put_one(struct store *st, DB_TXN *txn, const struct load *l)
{
	unsigned long long	 id;
	char			 ids[24], key[160], due[200], xid[24];
	json_t			*d, *j;
	time_t			 when = l->now - 60;
	int			 rc;

	if ((rc = store_next_id(st, txn, "post", &id)) != STORE_OK)
		return rc;
	snprintf(ids, sizeof(ids), "%llu", id);
	snprintf(xid, sizeof(xid), "%llu", 1800000000000000000ULL + id);
	if (l->due)
		d = json_pack("{s:s,s:s,s:s,s:I}", "channel", l->channel,
		    "handle", l->handle, "state", "scheduled",
		    "updated_at", (json_int_t)l->now);
	else
		d = json_pack("{s:s,s:s,s:s,s:I,s:s,s:I}", "channel",
		    l->channel, "handle", l->handle, "state", "posted",
		    "updated_at", (json_int_t)l->now, "x_id", xid,
		    "retry_at", (json_int_t)0);
	if (d == NULL)
		return STORE_FAIL;
	j = json_pack("{s:s+,s:s,s:I,s:I,s:[o]}", "text", "Benchmark post ",
	    ids, "by", l->by, "created_at", (json_int_t)l->now,
	    "scheduled_at", (json_int_t)(l->due ? when : 0), "deliveries", d);
	if (j == NULL)
		return STORE_FAIL;
	rc = STORE_OK;
	if (l->due) {
		snprintf(due, sizeof(due), "%012lld/%s/%s", (long long)when,
		    l->ws, ids);
		if (json_object_set_new(j, "due", json_string(due)) != 0)
			rc = STORE_FAIL;
		else
			rc = store_put(st, txn, SDB_DUE, due, "", 0);
	}
	snprintf(key, sizeof(key), "%s/%019llu", l->ws, MAX_ID - id);
	if (rc == STORE_OK)
		rc = store_put_json(st, txn, SDB_POSTS, key, j);
	json_decref(j);
	return rc;
}

static int
batch_txn(struct store *st, DB_TXN *txn, void *arg)
{
	const struct load	*l = arg;
	long			 i;
	int			 rc;

	for (i = 0; i < l->todo; i++)
		if ((rc = put_one(st, txn, l)) != STORE_OK)
			return rc;
	return STORE_OK;
}

/* One post the product's way: created, then (history) settled. */
static int
create_one(struct store *st, const struct load *l, long n)
{
	struct post_target	 t = { l->channel, l->handle };
	struct outcome		 o = { "posted", NULL, NULL, 0 };
	char			 text[64], xid[24], *id;
	int			 rc;

	snprintf(text, sizeof(text), "Benchmark post %ld.%ld", (long)l->now, n);
	if ((rc = post_create(st, l->ws, l->by, text, &t, 1,
	    l->due ? l->now - 60 : 0, l->now, &id)) != STORE_OK)
		return rc;
	if (!l->due) {
		snprintf(xid, sizeof(xid), "%llu",
		    1800000000000000000ULL + strtoull(id, NULL, 10));
		o.x_id = xid;
		rc = post_settle(st, l->ws, id, l->channel, &o, l->now);
	}
	free(id);
	return rc;
}

int
main(int argc, char **argv)
{
	struct load	 l;
	struct store	*st;
	struct timespec	 t0, t1;
	const char	*dir = NULL, *mode = "batch";
	long		 n = -1, batch = 1000, done;
	double		 s;
	int		 ch, rc = STORE_OK;

	memset(&l, 0, sizeof(l));
	while ((ch = getopt(argc, argv, "B:b:c:d:h:m:n:s:w:")) != -1)
		switch (ch) {
		case 'B':
			batch = strtol(optarg, NULL, 10);
			break;
		case 'b':
			l.by = optarg;
			break;
		case 'c':
			l.channel = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			l.handle = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		case 's':
			if (strcmp(optarg, "due") == 0)
				l.due = 1;
			else if (strcmp(optarg, "posted") != 0)
				usage();
			break;
		case 'w':
			l.ws = optarg;
			break;
		default:
			usage();
		}
	if (dir == NULL || l.ws == NULL || l.by == NULL || l.channel == NULL ||
	    l.handle == NULL || n < 0 || batch < 1 ||
	    (strcmp(mode, "batch") != 0 && strcmp(mode, "create") != 0))
		usage();
	if (store_open(&st, dir, 0) != STORE_OK)
		errx(1, "cannot open the store in %s", dir);
	l.now = time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (done = 0; done < n && rc == STORE_OK; ) {
		if (strcmp(mode, "create") == 0) {
			rc = create_one(st, &l, done);
			done += rc == STORE_OK;
			continue;
		}
		l.todo = n - done < batch ? n - done : batch;
		if ((rc = store_txn(st, batch_txn, &l)) == STORE_OK)
			done += l.todo;
		/* The log of a big load would otherwise pile up. */
		(void)store_checkpoint(st);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	store_close(st);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%ld posts in %.3f s, %.1f us a post (%s)\n", done, s,
	    done ? s * 1e6 / (double)done : 0.0, mode);
	if (rc != STORE_OK)
		errx(1, "stopped after %ld posts: store error %d", done, rc);
	return 0;
}
