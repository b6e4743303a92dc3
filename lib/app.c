#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "audit.h"
#include "buf.h"
#include "front.h"

/* Segments matched by "*" in a route path. */
static int
seg_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* 1 when path matches pattern; *arg gets a copy of the "*" segment. */
static int
match(const char *pat, const char *path, char **arg)
{
	const char	*start;

	*arg = NULL;
	while (*pat && *path) {
		if (*pat == '*') {
			start = path;
			while (seg_char(*path))
				path++;
			if (path == start || path - start > 64)
				goto no;
			free(*arg);
			if ((*arg = strndup(start, (size_t)(path - start))) == NULL)
				goto no;
			pat++;
		} else if (*pat++ != *path++)
			goto no;
	}
	if (*pat == '\0' && *path == '\0')
		return 1;
no:
	free(*arg);
	*arg = NULL;
	return 0;
}

void
app_log(struct ctx *c, const char *fmt, ...)
{
	va_list	 ap;

	(void)c;
	fprintf(stderr, "sosyabot: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
app_audit(struct ctx *c, const char *who, const char *kind, const char *fmt,
    ...)
{
	struct buf	 what = { 0 };
	va_list		 ap;

	va_start(ap, fmt);
	buf_vaddf(&what, fmt, ap);
	va_end(ap);
	if (who == NULL && c->signed_in)
		who = c->user.name;
	fprintf(stderr, "sosyabot: %s: %s%s%s\n", kind, who ? who : "",
	    who ? ": " : "", buf_str(&what));
	if (c->store == NULL || audit_add(c->store, c->now, who,
	    c->signed_in ? c->user.workspace : NULL, c->req.remote_addr, kind,
	    buf_str(&what)) != STORE_OK)
		fprintf(stderr, "sosyabot: the audit record of that event could "
		    "not be stored\n");
	buf_free(&what);
}

void
app_store_error(struct ctx *c, int rc)
{
	if (rc == STORE_BUSY || rc == STORE_FAIL) {
		out_header(&c->out, "Retry-After", "2");
		out_error(&c->out, 503, "The service is busy or its data store "
		    "is unavailable. Please try again in a moment.");
	} else
		out_error(&c->out, 500, "Something went wrong on our side.");
}

void
app_redirect(struct ctx *c, const char *path)
{
	/* 303 after anything that wrote (Post/Redirect/Get, OAuth finish). */
	out_redirect(&c->out, c->req.method == M_POST ||
	    (c->route && (c->route->flags & R_WRITE)) ? 303 : 302,
	    c->cfg.base_url, path);
}

const struct crypto_key *
app_key(struct ctx *c)
{
	char	 err[256];

	if (c->key == NULL &&
	    crypto_key_load(c->cfg.key_file, &c->key, err, sizeof(err)) != 0) {
		app_log(c, "master key: %s", err);
		c->key = NULL;
	}
	return c->key;
}

/*
 * Same-origin rule of the contract: Origin equal to BASE_URL's origin, or
 * Origin null/absent and Sec-Fetch-Site same-origin or absent (scripts).
 */
static int
origin_ok(const struct ctx *c)
{
	const char	*o = c->req.origin, *site = c->req.fetch_site;

	if (site && strcmp(site, "cross-site") == 0)
		return 0;
	if (o && strcmp(o, "null") != 0)
		return strcmp(o, c->cfg.origin) == 0;
	return site == NULL || strcmp(site, "same-origin") == 0;
}

/* A presented CSRF token: the form field, else the header. */
static const char *
csrf_given(const struct ctx *c)
{
	size_t	 i;

	for (i = 0; i < c->req.nparams; i++)
		if (strcmp(c->req.params[i].name, "csrf") == 0)
			return c->req.params[i].val;
	return c->req.csrf_header;
}

/*
 * The session of the request's cookie, if it is a live one.  A store that
 * cannot be read is not a signed-out user (that would send them to the
 * sign-in page): its error is returned, for a 503.
 */
static int
load_session(struct ctx *c)
{
	const char	*id = req_cookie(&c->req, sess_cookie(&c->cfg));
	int		 rc;

	if (id == NULL || c->store == NULL)
		return STORE_OK;
	if ((rc = sess_load(c->store, id, c->now, &c->sess)) != STORE_OK)
		return rc == STORE_NOTFOUND ? STORE_OK : rc;
	if ((rc = user_get(c->store, c->sess.user, &c->user)) != STORE_OK) {
		sess_free(&c->sess);
		return rc == STORE_NOTFOUND ? STORE_OK : rc;
	}
	if ((c->sid = strdup(id)) == NULL) {
		user_free(&c->user);
		sess_free(&c->sess);
		return STORE_FAIL;
	}
	c->signed_in = 1;
	sess_csrf(id, c->csrf);
	return STORE_OK;
}

static void
to_login(struct ctx *c)
{
	struct buf	 b = { 0 };

	if (c->out.json_errors) {
		out_error(&c->out, 401, "Sign in first.");
		return;
	}
	buf_adds(&b, "/login");
	if (c->req.method != M_POST) {
		buf_adds(&b, "?next=");
		out_urlenc(&b, c->req.path);
	}
	out_redirect(&c->out, 302, c->cfg.base_url, buf_str(&b));
	buf_free(&b);
}

/* Everything between the parsed request and the handler, in order. */
static void
dispatch(struct ctx *c, const struct app *a)
{
	const struct route	*r = NULL;
	struct buf		 allow = { 0 };
	size_t			 i;
	unsigned		 fl;
	int			 rc, path_known = 0;

	if (c->req.method == M_OTHER) {
		out_header(&c->out, "Allow", "GET, HEAD, POST");
		out_error(&c->out, 405, "That method is not allowed here.");
		return;
	}
	for (i = 0; i < a->nroutes && r == NULL; i++) {
		char	*arg;

		if (!match(a->routes[i].path, c->req.path, &arg))
			continue;
		path_known = 1;
		if (a->routes[i].methods & (c->req.method == M_HEAD ? M_GET :
		    c->req.method)) {
			r = &a->routes[i];
			c->arg = arg;
		} else {
			buf_adds(&allow, allow.len ? ", " : "");
			buf_adds(&allow, a->routes[i].methods & M_GET ?
			    "GET, HEAD" : "POST");
			free(arg);
		}
	}
	if (r == NULL) {
		if (path_known) {
			out_header(&c->out, "Allow", buf_str(&allow));
			out_error(&c->out, 405, "That method is not allowed "
			    "here.");
		} else
			out_error(&c->out, 404, "There is nothing at this "
			    "address.");
		buf_free(&allow);
		return;
	}
	/* A route of the same path but another method came first. */
	buf_free(&allow);
	c->route = r;
	if (r->flags & R_JSON)
		c->out.json_errors = 1;

	/*
	 * Reading pages open the store read-only (no log write per view),
	 * and only once they read: with a session, its databases and the
	 * route's together.
	 */
	if (c->req.method == M_POST || (r->flags & R_WRITE))
		fl = 0;
	else {
		fl = STORE_RDONLY | (r->flags & STORE_WANT_ALL);
		if (req_cookie(&c->req, sess_cookie(&c->cfg)) != NULL)
			fl |= STORE_WANT(SDB_SESSIONS) | STORE_WANT(SDB_USERS);
	}
	rc = store_open(&c->store, c->cfg.data_dir, fl);
	if (rc != STORE_OK) {
		app_store_error(c, STORE_FAIL);
		return;
	}
	if ((rc = load_session(c)) != STORE_OK) {
		app_store_error(c, rc);
		return;
	}
	if ((r->flags & (R_LOGIN | R_ADMIN)) && !c->signed_in) {
		to_login(c);
		return;
	}
	if ((r->flags & R_ADMIN) && c->user.role != ROLE_ADMIN) {
		out_error(&c->out, 403, "This page is for administrators.");
		return;
	}
	if (c->req.method == M_POST) {
		if (!origin_ok(c)) {
			out_error(&c->out, 403, "This request did not come "
			    "from this site.");
			return;
		}
		if (!(r->flags & R_ANON_POST) && (!c->signed_in ||
		    !sess_csrf_ok(c->csrf, csrf_given(c)))) {
			out_error(&c->out, 403, "The form has expired or did "
			    "not come from this site. Reload the page and try "
			    "again.");
			return;
		}
	}
	r->fn(c);
}

/*
 * A busy user's "seen" is refreshed now and then; this needs the store
 * read-write, so a reading page reopens it for that one write.
 */
static void
touch_session(struct ctx *c)
{
	if (!c->signed_in || c->now - c->sess.seen < SESS_TOUCH ||
	    c->sess.key[0] == '\0')
		return;
	if (c->req.method != M_POST && !(c->route->flags & R_WRITE)) {
		store_close(c->store);
		c->store = NULL;
		if (store_open(&c->store, c->cfg.data_dir, 0) != STORE_OK)
			return;
	}
	sess_touch(c->store, c->sess.key, c->now);
}

static void
watchdog(int sig)
{
	static const char msg[] = "sosyabot: request took too long, "
	    "stopped by the watchdog\n";

	(void)sig;
	write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

/* A front serves GET and HEAD itself, and hands on the rest (front.c). */
static int
page_view(void)
{
	const char	*m = getenv("REQUEST_METHOD");

	return m != NULL && (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0);
}

int
app_run(const struct app *a)
{
	struct ctx	 c;
	char		 err[256];
	int		 rc, handoff;

	/* First, so that the full program starts as the server left us. */
	if ((handoff = FRONT && !page_view()))
		front_handoff();	/* returns only when it failed */

	/*
	 * A process stuck on a lock of a killed one must die so that the
	 * next opener recovers the environment.
	 */
	signal(SIGALRM, watchdog);
	alarm(a->watchdog ? a->watchdog : 20);
	signal(SIGPIPE, SIG_IGN);

	memset(&c, 0, sizeof(c));
	c.now = time(NULL);
	out_init(&c.out);
	if (handoff || cfg_load(&c.cfg, err, sizeof(err)) != 0) {
		if (!handoff)
			fprintf(stderr, "sosyabot: configuration: %s\n", err);
		out_error(&c.out, 500, "The service is not configured "
		    "correctly.");
		out_send(&c.out, stdout);
		out_free(&c.out);
		return 0;
	}
	rc = req_parse(&c.req, &c.cfg, a->fields, a->nfields, stdin);
	if (c.req.method == M_HEAD)
		c.out.head_only = 1;
	/* Until a route says otherwise, a JSON client gets JSON errors. */
	if (c.req.wants_json)
		c.out.json_errors = 1;
	if (rc == 413)
		out_error(&c.out, 413, "The request is too large.");
	else if (rc == 415)
		out_error(&c.out, 415, "Send a form or JSON.");
	else if (rc == 404)
		out_error(&c.out, 404, "There is nothing at this address.");
	else if (rc != 0)
		out_error(&c.out, rc, rc == 500 ? "Out of memory." :
		    "The request is malformed.");
	else
		dispatch(&c, a);

	if (c.store != NULL)
		touch_session(&c);
	/* Close before the last byte goes out: lighttpd's SIGTERM. */
	store_close(c.store);
	c.store = NULL;
	out_send(&c.out, stdout);

	crypto_key_free(c.key);
	free(c.arg);
	free(c.sid);
	sess_free(&c.sess);
	user_free(&c.user);
	req_free(&c.req);
	out_free(&c.out);
	cfg_free(&c.cfg);
	return 0;
}
