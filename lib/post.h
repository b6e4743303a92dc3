/*
 * post: posts and their deliveries (one per channel): the outbox.
 *
 * A delivery is written as "sending" before its request to X leaves,
 * then moves to posted, failed, rate_limited or unknown (DESIGN §5).
 * A post with a delivery that is "scheduled", "rate_limited" (with a
 * retry time) or "sending" (which becomes "unknown" if it is still
 * sending POST_STALE_SENDING later) has one entry in the due index
 * ("<epoch>/<workspace>/<post id>") at the earliest such time, so the
 * scheduler reads only what is due.  Claiming (moving to "sending") is one
 * transaction, so two schedulers never send the same delivery.
 *
 * Posts are kept under "<workspace>/<19-digit reversed id>": a
 * workspace's posts are one key range, newest first.
 */
#ifndef SB_POST_H
#define SB_POST_H

#include <time.h>

#include <jansson.h>

#include "store.h"

/*
 * A "sending" delivery older than this was orphaned by a killed process
 * (every program's watchdog fires long before).
 */
#define POST_STALE_SENDING	300

struct delivery {
	char	*channel;	/* channel id */
	char	*handle;	/* the handle when it was queued */
	char	*state;		/* scheduled sending posted failed
				   rate_limited unknown */
	char	*x_id;		/* the post's id at X, once posted */
	char	*reason;	/* why not posted, in plain words */
	time_t	 retry_at;	/* rate_limited: when it goes again */
	time_t	 updated_at;
};

struct post {
	char		*id;
	char		*ws;
	char		*text;
	char		*by;
	time_t		 created_at;
	time_t		 scheduled_at;	/* 0: published at once */
	struct delivery	*d;
	size_t		 nd;
};

struct post_target {
	const char	*channel;
	const char	*handle;
};

/*
 * Store a new post with one delivery per target: "sending" when
 * scheduled_at is 0, else "scheduled" (and due then).  *id malloc'd.
 */
int	 post_create(struct store *, const char *ws, const char *by,
	    const char *text, const struct post_target *, size_t n,
	    time_t scheduled_at, time_t now, char **id);

int	 post_get(struct store *, DB_TXN *, const char *ws, const char *id,
	    struct post *);
/* Up to limit posts of ws, newest first, older than before (NULL: all). */
int	 post_list(struct store *, const char *ws, const char *before,
	    size_t limit, struct post **, size_t *n);
void	 post_free(struct post *);
void	 post_list_free(struct post *, size_t);

/* What a delivery became. */
struct outcome {
	const char	*state;
	const char	*x_id;		/* posted */
	const char	*reason;	/* failed, rate_limited, unknown */
	time_t		 retry_at;	/* rate_limited */
};

/* Record the outcome of a "sending" delivery (and its due entry). */
int	 post_settle(struct store *, const char *ws, const char *id,
	    const char *channel, const struct outcome *, time_t now);

/*
 * Move a delivery to "sending" if its state is one of from (a
 * space-separated list).  STORE_OK when claimed, STORE_ABORT when it
 * was in another state (someone else has it), STORE_NOTFOUND when there
 * is no such post or delivery.
 */
int	 post_claim(struct store *, const char *ws, const char *id,
	    const char *channel, const char *from, time_t now);

/*
 * The scheduler's step for one due post, in one transaction: deliveries
 * left "sending" for POST_STALE_SENDING become "unknown"; scheduled and
 * rate_limited ones that are due become "sending" and are returned in
 * *claimed (channel ids, malloc'd array of malloc'd strings) for the
 * caller to send.  STORE_FAIL with nothing in *claimed when memory ran
 * out after the claim: those deliveries become "unknown" once stale.
 */
int	 post_take_due(struct store *, const char *ws, const char *id,
	    time_t now, char ***claimed, size_t *n);

/* Call fn(ws, id) for each post with something due at or before now. */
int	 post_each_due(struct store *, time_t now, size_t max,
	    int (*fn)(const char *ws, const char *id, void *), void *arg);

/* The API's view: {"id","text","scheduled_at","deliveries":[...]}. */
json_t	*post_json(const struct post *);

int	 post_id_ok(const char *);

#endif
