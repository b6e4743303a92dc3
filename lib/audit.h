/*
 * audit: who did what, when and from which address — credential saves
 * (never the values), status changes, connects, disconnects, publishes
 * and their outcomes, sign-ins and failed sign-ins, user changes.
 *
 * Records live in database "audit" under "<rev time>/<rev sequence>",
 * each 12 digits counted down from 999999999999, so a forward scan reads
 * the newest first and a page stops as soon as it is full.  The programs
 * only ever add records; retention (AUDIT_KEEP_DAYS) is applied by the
 * scheduler, once a day.
 */
#ifndef SB_AUDIT_H
#define SB_AUDIT_H

#include <time.h>

#include <jansson.h>

#include "store.h"

#define AUDIT_KEEP_DAYS	365

/* Add one record in its own transaction.  who, ws, addr may be NULL. */
int	 audit_add(struct store *, time_t now, const char *who, const char *ws,
	    const char *addr, const char *kind, const char *what);

struct audit_filter {
	const char	*who;
	const char	*ws;
	const char	*kind;	/* a kind, or a prefix ending in '.' */
	time_t		 from;	/* 0: from the start */
	time_t		 to;	/* 0: up to now */
};

/*
 * Call fn for each matching record, newest first, starting below the key
 * before (NULL: the newest), at most limit of them.  rec is
 * {"at","who","ws","addr","kind","what"} (at as RFC 3339); fn returns
 * non-zero to stop.  *last gets the key of the last record given to fn
 * (for "older" paging), malloc'd, or NULL.
 */
int	 audit_each(struct store *, const struct audit_filter *,
	    const char *before, size_t limit,
	    int (*fn)(json_t *rec, void *), void *arg, char **last);

/*
 * Delete records older than now - AUDIT_KEEP_DAYS, at most once a day
 * (the date of the last purge is kept); *n gets how many went.
 */
int	 audit_purge(struct store *, time_t now, size_t *n);

/* A filter value or a paging key as the page takes them. */
int	 audit_key_ok(const char *);

#endif
