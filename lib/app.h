/*
 * app: the front controller every CGI's main() hands over to.
 *
 * A program declares a table of routes with flags; app_run() checks the
 * flags in one fixed order, so handlers never re-check them:
 *	method 405 -> route 404 -> store 503 -> session 302/401/403 ->
 *	origin and CSRF 403 -> handler
 * then closes the store *before* writing the response (lighttpd sends
 * SIGTERM once a CGI's output ends) and writes it.
 *
 * One struct ctx owns everything of the request; app_run frees it once.
 */
#ifndef SB_APP_H
#define SB_APP_H

#include <time.h>

#include "cfg.h"
#include "crypto.h"
#include "out.h"
#include "req.h"
#include "sess.h"
#include "store.h"
#include "user.h"

#define R_LOGIN		0x01	/* signed-in users only */
#define R_ADMIN		0x02	/* admins only (implies R_LOGIN) */
#define R_JSON		0x04	/* a JSON API route: errors as JSON */
#define R_ANON_POST	0x08	/* POST checked by the handler's own token
				   (sign-in), not the session's CSRF token */
#define R_WRITE		0x10	/* a GET that writes (OAuth bookkeeping):
				   the store is opened read-write */
/*
 * The databases a reading route reads, besides the session's: they are
 * opened with the environment, under one lock, instead of one by one on
 * first use (bench/: a lock and a dozen calls each).  A database left
 * out still opens on first use.
 */
#define R_READS(d)	STORE_WANT(d)
_Static_assert((R_LOGIN | R_ADMIN | R_JSON | R_ANON_POST | R_WRITE) <
    STORE_WANT(0), "route flags overlap the R_READS bits");

struct ctx;

struct route {
	unsigned	 methods;	/* M_GET | M_POST (HEAD goes with GET) */
	const char	*path;		/* "*" matches one [A-Za-z0-9_-] segment */
	unsigned	 flags;
	void		(*fn)(struct ctx *);
};

struct app {
	const struct route	*routes;
	size_t			 nroutes;
	const struct field	*fields;
	size_t			 nfields;
	unsigned		 watchdog;	/* seconds before SIGALRM */
};

struct ctx {
	struct cfg		 cfg;
	struct req		 req;
	struct out		 out;
	struct store		*store;
	int			 signed_in;
	struct user		 user;
	struct sess		 sess;
	char			*sid;		/* the session cookie's value */
	char			 csrf[SESS_TOKEN_LEN + 1];
	struct crypto_key	*key;		/* loaded on first app_key() */
	const struct route	*route;
	char			*arg;		/* what "*" matched, or NULL */
	time_t			 now;
};

/* Run the program; returns main()'s exit code. */
int	 app_run(const struct app *);

/* The master key, loaded on first use; NULL (logged) if unusable. */
const struct crypto_key *app_key(struct ctx *);

/* The store became unusable mid-request: answer 503 (or 500 for oom). */
void	 app_store_error(struct ctx *, int rc);

/* "/path" under BASE_URL's path, as a redirect (303 after a POST). */
void	 app_redirect(struct ctx *, const char *path);

/*
 * An event for the audit log (and one line of the server's log): kind
 * is e.g. "signin.ok"; who defaults to the signed-in user; what is a
 * sentence — never a secret, token, code, cookie or password.
 */
void	 app_audit(struct ctx *, const char *who, const char *kind,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Log one line to stderr (the server's error log): never a secret. */
void	 app_log(struct ctx *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
