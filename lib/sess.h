/*
 * sess: sign-in sessions and CSRF tokens.
 *
 * A session id is 32 random bytes from the kernel (base64url in the
 * cookie); the store keeps only its SHA-256, so a copy of the data files
 * holds no usable session.  Sessions end after SESS_IDLE seconds without
 * use or SESS_MAX after sign-in; "seen" is written at most every
 * SESS_TOUCH seconds so that reading pages stays read-only.
 *
 * The CSRF token of a session is derived from its id (a hash, so it
 * reveals nothing about the id) and needs no storage.
 */
#ifndef SB_SESS_H
#define SB_SESS_H

#include <time.h>

#include "cfg.h"
#include "store.h"

#define SESS_IDLE	(12 * 3600)
#define SESS_MAX	(7 * 24 * 3600)
#define SESS_TOUCH	600
#define SESS_TOKEN_LEN	43		/* base64url of 32 bytes */

struct sess {
	char	 key[65];		/* hex SHA-256 of the id */
	char	*user;
	time_t	 created;
	time_t	 seen;
};

/* "__Host-sid" under https, "sid" otherwise; likewise for the login token. */
const char *sess_cookie(const struct cfg *);
const char *sess_login_cookie(const struct cfg *);

/* Look a session id up: STORE_OK, or STORE_NOTFOUND (unknown, expired). */
int	 sess_load(struct store *, const char *id, time_t now, struct sess *);
/* Create a session for user (purging expired ones); *id is malloc'd. */
int	 sess_create(struct store *, const char *user, time_t now, char **id,
	    struct sess *);
int	 sess_delete(struct store *, const char *key);
int	 sess_touch(struct store *, const char *key, time_t now);
void	 sess_free(struct sess *);

/* The CSRF token of session id (SESS_TOKEN_LEN chars + NUL). */
void	 sess_csrf(const char *id, char out[SESS_TOKEN_LEN + 1]);
/* Constant-time check of a presented token against the expected one. */
int	 sess_csrf_ok(const char *expected, const char *given);

/*
 * A Set-Cookie value: HttpOnly, SameSite=Lax, Path=/, Secure under https;
 * max_age < 0 for a session cookie, 0 to delete.  malloc'd.
 */
char	*sess_cookie_value(const struct cfg *, const char *name,
	    const char *value, long max_age);

#endif
