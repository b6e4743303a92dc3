/*
 * xhttp and xapi against the fake X (tests/fakex/fakex.py), which each
 * test case starts on a free loopback port and stops at its end.  The
 * cases that need the fake are left out, with a note, when there is no
 * /usr/bin/python3 (and the TLS case when there is no openssl).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "cfg.h"
#include "xapi.h"
#include "xhttp.h"
#include "suites.h"
#include "tmpdir.h"

#define PYTHON		"/usr/bin/python3"
#define OPENSSL		"/usr/bin/openssl"
#define CALLBACK	"http://127.0.0.1:8080/api/v1/auth/twitter/callback"
/* RFC 7636 appendix B. */
#define VERIFIER	"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE	"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define USER_ID		"2244994945"

struct fake {
	pid_t	 pid;
	int	 in;		/* its stdin: it exits when this closes */
	int	 port;
	char	 base[64];	/* scheme://127.0.0.1:PORT */
};

static struct fake	 plain;		/* the fake over http */
static struct fake	 secure;	/* the fake over https */
static char		*certdir;	/* secure's CA and certificate */
static char		 ca_file[256];

/* Per test (in the forked child): the fake in use and the config. */
static struct fake	*cur;
static struct cfg	 cfg;
static struct cfg	 ctlcfg;	/* for the control API */

static const char *
fakex_path(char *p, size_t n)
{
	const char	*top = getenv("top_srcdir");

	snprintf(p, n, "%s/tests/fakex/fakex.py",
	    top != NULL && *top != '\0' ? top : ".");
	return p;
}

/*
 * Start fakex.py with extra arguments and wait for its "listening" line.
 * Its stdin is a pipe we hold, so it dies with this process even when
 * the teardown never runs.
 */
static void
fake_start(struct fake *f, const char *cert, const char *key)
{
	const char	*argv[12];
	char		 path[1024], line[256];
	int		 in[2], out[2];
	size_t		 n = 0, len = 0;
	ssize_t		 r;
	struct pollfd	 pfd;
	const char	*colon;

	memset(f, 0, sizeof(*f));
	argv[n++] = PYTHON;
	argv[n++] = fakex_path(path, sizeof(path));
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--watch-stdin";
	if (cert != NULL) {
		argv[n++] = "--tls-cert";
		argv[n++] = cert;
		argv[n++] = "--tls-key";
		argv[n++] = key;
	}
	argv[n] = NULL;
	/* Close-on-exec, or a later fake would hold this one's stdin open. */
	ck_assert(pipe(in) == 0 && pipe(out) == 0);
	ck_assert(fcntl(in[1], F_SETFD, FD_CLOEXEC) == 0 &&
	    fcntl(out[0], F_SETFD, FD_CLOEXEC) == 0);
	ck_assert((f->pid = fork()) != -1);
	if (f->pid == 0) {
		if (dup2(in[0], STDIN_FILENO) == -1 ||
		    dup2(out[1], STDOUT_FILENO) == -1)
			_exit(127);
		/* (A closed stdin makes pipe() hand out fd 0 itself.) */
		if (in[0] != STDIN_FILENO)
			close(in[0]);
		if (out[1] != STDOUT_FILENO)
			close(out[1]);
		execv(PYTHON, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	f->in = in[1];
	pfd.fd = out[0];
	pfd.events = POLLIN;
	while (len < sizeof(line) - 1 && memchr(line, '\n', len) == NULL) {
		ck_assert_msg(poll(&pfd, 1, 10000) == 1, "fakex did not start");
		r = read(out[0], line + len, sizeof(line) - 1 - len);
		ck_assert_msg(r > 0, "fakex exited");
		len += (size_t)r;
	}
	line[len] = '\0';
	close(out[0]);
	ck_assert_msg(sscanf(line, "listening %63s", f->base) == 1,
	    "fakex said: %s", line);
	ck_assert((colon = strrchr(f->base, ':')) != NULL);
	f->port = atoi(colon + 1);
}

static void
fake_stop(struct fake *f)
{
	if (f->pid <= 0)
		return;
	close(f->in);
	kill(f->pid, SIGTERM);
	waitpid(f->pid, NULL, 0);
	f->pid = 0;
}

static void
plain_up(void)
{
	fake_start(&plain, NULL, NULL);
}

static void
plain_down(void)
{
	fake_stop(&plain);
}

static void
secure_up(void)
{
	char	 arg[300], path[1024];
	pid_t	 pid;
	int	 st, devnull;
	char	 cert[300], key[300];

	ck_assert((certdir = tmpdir_new()) != NULL);
	snprintf(arg, sizeof(arg), "%s", certdir);
	ck_assert((pid = fork()) != -1);
	if (pid == 0) {
		devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDOUT_FILENO);
		execl(PYTHON, PYTHON, fakex_path(path, sizeof(path)),
		    "--make-ca", arg, (char *)NULL);
		_exit(127);
	}
	ck_assert(waitpid(pid, &st, 0) == pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "fakex.py --make-ca failed");
	snprintf(ca_file, sizeof(ca_file), "%s/ca.pem", certdir);
	snprintf(cert, sizeof(cert), "%s/server.pem", certdir);
	snprintf(key, sizeof(key), "%s/server.key", certdir);
	fake_start(&secure, cert, key);
}

static void
secure_down(void)
{
	fake_stop(&secure);
	tmpdir_rm(certdir);
	certdir = NULL;
}

/*
 * Call the fake's control API and return its JSON answer (the caller
 * decrefs).  body is stolen.  Any status but 2xx fails the test.
 */
static json_t *
ctl(const char *method, const char *path, json_t *body)
{
	static const char *const hdrs[] = {
		"Content-Type: application/json", NULL
	};
	struct buf		 url = { 0 };
	struct xhttp_req	 rq;
	struct xhttp_resp	 rs;
	char			*text = NULL;
	json_t			*j;

	if (body != NULL)
		ck_assert((text = json_dumps(body, JSON_COMPACT)) != NULL);
	json_decref(body);
	buf_addf(&url, "%s%s", cur->base, path);
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.url = buf_str(&url);
	rq.headers = hdrs;
	rq.body = text;
	rq.bodylen = text != NULL ? strlen(text) : 0;
	xhttp_do(&ctlcfg, &rq, &rs);
	ck_assert_msg(rs.fail == XHTTP_OK, "control %s: %s", path, rs.err);
	ck_assert_msg(rs.status / 100 == 2, "control %s: HTTP %ld %s", path,
	    rs.status, buf_str(&rs.body));
	j = json_loadb(buf_str(&rs.body), rs.body.len, 0, NULL);
	ck_assert(j != NULL);
	xhttp_free(&rs);
	buf_free(&url);
	free(text);
	return j;
}

static void
ctl_ok(const char *method, const char *path, json_t *body)
{
	json_decref(ctl(method, path, body));
}

static void
add_app(const char *id, const char *secret, const char *type)
{
	ctl_ok("POST", "/_fake/apps", json_pack("{s:s,s:s,s:s,s:s}",
	    "client_id", id, "client_secret", secret, "callback", CALLBACK,
	    "type", type));
}

static void
add_user(void)
{
	ctl_ok("POST", "/_fake/users", json_pack("{s:s,s:s,s:s}",
	    "id", USER_ID, "username", "XDevelopers", "name", "X Developers"));
}

/* Plant an access token for USER_ID, as if a connect had made it. */
static void
add_token(const char *token)
{
	add_user();
	ctl_ok("POST", "/_fake/tokens", json_pack("{s:s,s:s}",
	    "token", token, "user_id", USER_ID));
}

static void
fault(json_t *f)
{
	ctl_ok("POST", "/_fake/faults", f);
}

/* The requests the fake received on path, as a JSON array (decref). */
static json_t *
requests(const char *path)
{
	struct buf	 q = { 0 };
	json_t		*j, *a;

	buf_adds(&q, "/_fake/requests?path=");
	xhttp_urlenc(&q, path);
	j = ctl("GET", buf_str(&q), NULL);
	a = json_incref(json_object_get(j, "requests"));
	json_decref(j);
	buf_free(&q);
	ck_assert(json_is_array(a));
	return a;
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A loopback port nobody listens on. */
static int
closed_port(void)
{
	struct sockaddr_in	 sa;
	socklen_t		 len = sizeof(sa);
	int			 s;

	ck_assert((s = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	ck_assert(getsockname(s, (struct sockaddr *)&sa, &len) == 0);
	close(s);
	return ntohs(sa.sin_port);
}

/*
 * Open the consent page (the fake approves at once) with a raw socket,
 * because xhttp does not hand out response headers, and return the code
 * from the Location header.  The caller frees it.
 */
static char *
authorize(const char *client_id, const char *challenge)
{
	struct buf		 req = { 0 }, ans = { 0 };
	struct sockaddr_in	 sa;
	char			 chunk[4096];
	const char		*loc, *want;
	ssize_t			 r;
	size_t			 n;
	int			 s;

	buf_adds(&req, "GET /i/oauth2/authorize?response_type=code"
	    "&client_id=");
	xhttp_urlenc(&req, client_id);
	buf_adds(&req, "&redirect_uri=");
	xhttp_urlenc(&req, CALLBACK);
	buf_addf(&req, "&scope=tweet.read%%20tweet.write%%20users.read"
	    "&state=st4te&code_challenge=%s&code_challenge_method=S256"
	    " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", challenge);
	ck_assert(buf_ok(&req));

	ck_assert((s = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)plain.port);
	ck_assert(connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	ck_assert(write(s, req.p, req.len) == (ssize_t)req.len);
	while ((r = read(s, chunk, sizeof(chunk))) > 0)
		buf_add(&ans, chunk, (size_t)r);
	close(s);
	ck_assert(buf_ok(&ans));

	ck_assert_msg(strncmp(buf_str(&ans), "HTTP/1.1 302 ", 13) == 0,
	    "consent answered: %.200s", buf_str(&ans));
	ck_assert((loc = strstr(buf_str(&ans), "\r\nLocation: ")) != NULL);
	loc += 12;
	want = CALLBACK "?state=st4te&code=";
	ck_assert(strncmp(loc, want, strlen(want)) == 0);
	loc += strlen(want);
	n = strcspn(loc, "\r");
	buf_free(&req);
	req.p = strndup(loc, n);
	buf_free(&ans);
	ck_assert(req.p != NULL && n > 0);
	return req.p;
}

/* Register the app and user and go through consent: a fresh code. */
static char *
consent(const char *id, const char *secret)
{
	add_app(id, secret, "confidential");
	add_user();
	ctl_ok("POST", "/_fake/config", json_pack("{s:b,s:s}",
	    "auto_approve", 1, "consent_user", USER_ID));
	return authorize(id, CHALLENGE);
}

/* Per test: a config pointing at the fake, and a fake with no state. */
static void
setup_fake(struct fake *f)
{
	char	 err[128];

	cur = f;
	unsetenv("SOSYABOT_CA_BUNDLE");
	unsetenv("SOSYABOT_X_TIMEOUT");
	setenv("BASE_URL", "http://127.0.0.1:8080", 1);
	setenv("X_API_BASE_URL", f->base, 1);
	setenv("X_WEB_BASE_URL", f->base, 1);
	ck_assert_msg(cfg_load(&cfg, err, sizeof(err)) == 0, "%s", err);
	memset(&ctlcfg, 0, sizeof(ctlcfg));
	ctlcfg.x_api = ctlcfg.x_web = f->base;
	ctlcfg.ca_bundle = f == &secure ? ca_file : NULL;
	ctl_ok("POST", "/_fake/reset", NULL);
}

static void
setup_plain(void)
{
	setup_fake(&plain);
}

static void
setup_secure(void)
{
	setup_fake(&secure);
}

static void
teardown(void)
{
	cfg_free(&cfg);
}

/* --- xhttp_urlenc ---------------------------------------------------------- */

START_TEST(t_urlenc)
{
	static const struct {
		const char	*in, *out;
	} v[] = {
		{ "", "" },
		{ "AZaz09-._~", "AZaz09-._~" },
		{ " ", "%20" },
		{ "a+b&c=d/e?f#g", "a%2Bb%26c%3Dd%2Fe%3Ff%23g" },
		{ "id:secret", "id%3Asecret" },
		{ "%", "%25" },
		{ "\x01\x7f", "%01%7F" },
		{ "\xc3\xa9\xe2\x82\xac", "%C3%A9%E2%82%AC" },
		{ "http://127.0.0.1:8080/cb",
		  "http%3A%2F%2F127.0.0.1%3A8080%2Fcb" },
	};
	struct buf	 b = { 0 };
	size_t		 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		buf_reset(&b);
		xhttp_urlenc(&b, v[i].in);
		ck_assert_str_eq(buf_str(&b), v[i].out);
	}
	buf_free(&b);
}
END_TEST

/* --- the credential check -------------------------------------------------- */

START_TEST(t_check_accepted)
{
	/* Characters that RFC 6749 §2.3.1 makes us encode. */
	static const char	 id[] = "c1:d", secret[] = "s3cr:t/+ %&";
	char			 d[256];
	json_t			*a, *r;
	const char		*auth;

	add_app(id, secret, "confidential");
	ck_assert_int_eq(xapi_check_client(&cfg, id, secret, d, sizeof(d)),
	    XCHECK_ACCEPTED);
	ck_assert_str_eq(d, "X answered HTTP 400: Value passed for the "
	    "authorization code was invalid.");

	a = requests("/2/oauth2/token");
	ck_assert_int_eq(json_array_size(a), 1);
	r = json_array_get(a, 0);
	auth = json_string_value(json_object_get(json_object_get(r,
	    "headers"), "authorization"));
	ck_assert(auth != NULL && strncmp(auth, "Basic ", 6) == 0);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(
	    json_object_get(r, "form"), "redirect_uri"), 0)), CALLBACK);
	ck_assert_int_eq(strlen(json_string_value(json_array_get(
	    json_object_get(json_object_get(r, "form"), "code_verifier"),
	    0))), 43);
	ck_assert_ptr_null(json_object_get(json_object_get(r, "form"),
	    "client_id"));
	ck_assert(strncmp(json_string_value(json_object_get(json_object_get(
	    r, "headers"), "user-agent")), "Sosyabot/", 9) == 0);
	json_decref(a);
}
END_TEST

START_TEST(t_check_rejected)
{
	char	 d[256];

	add_app("cid", "right", "confidential");
	add_app("pub", "whatever", "public");
	ck_assert_int_eq(xapi_check_client(&cfg, "cid", "wrong", d,
	    sizeof(d)), XCHECK_REJECTED);
	ck_assert_str_eq(d, "X answered HTTP 401: Missing valid "
	    "authorization header");
	ck_assert_int_eq(xapi_check_client(&cfg, "nobody", "right", d,
	    sizeof(d)), XCHECK_REJECTED);
	/* A Public Client fails whatever it sends (the guide's warning). */
	ck_assert_int_eq(xapi_check_client(&cfg, "pub", "whatever", d,
	    sizeof(d)), XCHECK_REJECTED);
}
END_TEST

START_TEST(t_check_unreachable)
{
	char	 d[256], base[64];
	double	 t0;

	snprintf(base, sizeof(base), "http://127.0.0.1:%d", closed_port());
	cfg.x_api = base;
	t0 = now();
	ck_assert_int_eq(xapi_check_client(&cfg, "cid", "secret", d,
	    sizeof(d)), XCHECK_UNREACHABLE);
	ck_assert_msg(now() - t0 < 2.0, "took %.1f s", now() - t0);
	ck_assert_msg(strstr(d, "onnect") != NULL, "detail: %s", d);
}
END_TEST

START_TEST(t_check_unexpected)
{
	char	 d[256];

	add_app("cid", "secret", "confidential");
	fault(json_pack("{s:s,s:s,s:i}", "path", "/2/oauth2/token",
	    "mode", "status", "status", 503));
	ck_assert_int_eq(xapi_check_client(&cfg, "cid", "secret", d,
	    sizeof(d)), XCHECK_UNEXPECTED);
	ck_assert(strncmp(d, "X answered HTTP 503", 19) == 0);
	/* A 400 about something else than the code is not a pass. */
	fault(json_pack("{s:s,s:s,s:i,s:{s:s}}", "path", "/2/oauth2/token",
	    "mode", "status", "status", 400, "body", "error",
	    "unsupported_grant_type"));
	ck_assert_int_eq(xapi_check_client(&cfg, "cid", "secret", d,
	    sizeof(d)), XCHECK_UNEXPECTED);
	/* So is a 200 (no real code was sent). */
	fault(json_pack("{s:s,s:s,s:i}", "path", "/2/oauth2/token",
	    "mode", "status", "status", 200));
	ck_assert_int_eq(xapi_check_client(&cfg, "cid", "secret", d,
	    sizeof(d)), XCHECK_UNEXPECTED);
}
END_TEST

/* --- the OAuth connect calls ---------------------------------------------- */

START_TEST(t_oauth_flow)
{
	struct xtoken	 tok;
	struct xuser	 u;
	char		 d[256], *code;
	json_t		*j, *a;

	code = consent("cid-flow", "secret-flow");
	ctl_ok("POST", "/_fake/config", json_pack("{s:i}", "expires_in", 600));
	ck_assert_int_eq(xapi_token(&cfg, "cid-flow", "secret-flow", code,
	    VERIFIER, &tok, d, sizeof(d)), XRES_OK);
	ck_assert_int_eq(tok.expires_in, 600);
	ck_assert_str_eq(tok.scope, "tweet.write users.read tweet.read");
	ck_assert(tok.access_token != NULL && *tok.access_token != '\0');

	a = requests("/2/oauth2/token");
	j = json_object_get(json_array_get(a, 0), "form");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j,
	    "code"), 0)), code);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j,
	    "code_verifier"), 0)), VERIFIER);
	json_decref(a);

	ck_assert_int_eq(xapi_me(&cfg, tok.access_token, &u, d, sizeof(d)),
	    XRES_OK);
	ck_assert_str_eq(u.id, USER_ID);
	ck_assert_str_eq(u.username, "XDevelopers");
	ck_assert_str_eq(u.name, "X Developers");
	xapi_user_free(&u);

	ck_assert_int_eq(xapi_revoke(&cfg, "cid-flow", "secret-flow",
	    tok.access_token, d, sizeof(d)), XRES_OK);
	j = ctl("GET", "/_fake/revoked", NULL);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "revoked"), 0), "token")), tok.access_token);
	json_decref(j);
	ck_assert_int_eq(xapi_me(&cfg, tok.access_token, &u, d, sizeof(d)),
	    XRES_UNAUTHORIZED);
	ck_assert_ptr_null(u.id);
	xapi_token_free(&tok);
	free(code);
}
END_TEST

START_TEST(t_pkce_mismatch)
{
	struct xtoken	 tok;
	char		 d[256], *code;

	code = consent("cid", "secret");
	ck_assert_int_eq(xapi_token(&cfg, "cid", "secret", code,
	    "the-wrong-verifier-the-wrong-verifier-00000", &tok, d,
	    sizeof(d)), XRES_REFUSED);
	ck_assert_str_eq(d, "X answered HTTP 400: Value passed for the code "
	    "verifier did not match the code challenge.");
	ck_assert_ptr_null(tok.access_token);
	free(code);
}
END_TEST

START_TEST(t_code_expired_or_reused)
{
	struct xtoken	 tok;
	char		 d[256], *code;

	code = consent("cid", "secret");
	ctl_ok("POST", "/_fake/clock", json_pack("{s:i}", "advance", 31));
	ck_assert_int_eq(xapi_token(&cfg, "cid", "secret", code, VERIFIER,
	    &tok, d, sizeof(d)), XRES_REFUSED);
	ck_assert_str_eq(d, "X answered HTTP 400: Value passed for the "
	    "authorization code was invalid.");
	free(code);

	code = authorize("cid", CHALLENGE);
	ck_assert_int_eq(xapi_token(&cfg, "cid", "secret", code, VERIFIER,
	    &tok, d, sizeof(d)), XRES_OK);
	xapi_token_free(&tok);
	ck_assert_int_eq(xapi_token(&cfg, "cid", "secret", code, VERIFIER,
	    &tok, d, sizeof(d)), XRES_REFUSED);
	free(code);
}
END_TEST

START_TEST(t_token_unauthorized)
{
	struct xtoken	 tok;
	char		 d[256], *code;

	code = consent("cid", "secret");
	ck_assert_int_eq(xapi_token(&cfg, "cid", "not-the-secret", code,
	    VERIFIER, &tok, d, sizeof(d)), XRES_UNAUTHORIZED);
	ck_assert_str_eq(d, "X answered HTTP 401: Missing valid "
	    "authorization header");
	free(code);
	ck_assert_int_eq(xapi_revoke(&cfg, "cid", "not-the-secret", "tok",
	    d, sizeof(d)), XRES_UNAUTHORIZED);
}
END_TEST

/* --- faults ----------------------------------------------------------------- */

START_TEST(t_timeout)
{
	struct xuser	 u;
	char		 d[256];
	double		 t0, dt;

	add_token("tok-timeout");
	setenv("SOSYABOT_X_TIMEOUT", "1", 1);
	fault(json_pack("{s:s,s:s,s:i}", "path", "/2/users/me",
	    "mode", "delay", "seconds", 3));
	t0 = now();
	ck_assert_int_eq(xapi_me(&cfg, "tok-timeout", &u, d, sizeof(d)),
	    XRES_NO_ANSWER);
	dt = now() - t0;
	ck_assert_msg(dt > 0.9 && dt < 2.5, "took %.2f s", dt);
	ck_assert_msg(strstr(d, "imed out") != NULL, "detail: %s", d);
}
END_TEST

START_TEST(t_reset_and_refuse)
{
	static const char *const modes[] = { "reset_after_request", "refuse" };
	static const char *const hdrs[] = { "Authorization: Bearer t", NULL };
	struct xhttp_req	 rq;
	struct xhttp_resp	 rs;
	struct buf		 url = { 0 };
	char			 d[256];
	size_t			 i;

	add_app("cid", "secret", "confidential");
	buf_addf(&url, "%s/2/users/me", cur->base);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = buf_str(&url);
	rq.headers = hdrs;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		fault(json_pack("{s:s,s:s}", "path", "/2/users/me",
		    "mode", modes[i]));
		xhttp_do(&cfg, &rq, &rs);
		ck_assert_msg(rs.fail == XHTTP_NO_ANSWER, "%s: %d %s",
		    modes[i], rs.fail, rs.err);
		ck_assert(rs.err[0] != '\0');
		ck_assert_ptr_null(rs.body.p);
		xhttp_free(&rs);

		fault(json_pack("{s:s,s:s}", "path", "/2/oauth2/token",
		    "mode", modes[i]));
		ck_assert_int_eq(xapi_check_client(&cfg, "cid", "secret", d,
		    sizeof(d)), XCHECK_UNREACHABLE);
	}
	buf_free(&url);
}
END_TEST

START_TEST(t_oversized)
{
	static const char *const hdrs[] = { "Authorization: Bearer t", NULL };
	struct xhttp_req	 rq;
	struct xhttp_resp	 rs;
	struct xuser		 u;
	struct buf		 url = { 0 };
	char			 d[256];

	add_token("tok-big");
	buf_addf(&url, "%s/2/users/me", cur->base);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = buf_str(&url);
	rq.headers = hdrs;
	fault(json_pack("{s:s,s:s,s:i}", "path", "/2/users/me",
	    "mode", "oversized", "count", 2));
	xhttp_do(&cfg, &rq, &rs);
	ck_assert_int_eq(rs.fail, XHTTP_NO_ANSWER);
	ck_assert_str_eq(rs.err, "response too large");
	ck_assert_ptr_null(rs.body.p);
	xhttp_free(&rs);
	ck_assert_int_eq(xapi_me(&cfg, "tok-big", &u, d, sizeof(d)),
	    XRES_NO_ANSWER);
	buf_free(&url);

	/* Just under the cap is an answer (which xapi cannot read). */
	fault(json_pack("{s:s,s:s,s:i}", "path", "/2/users/me",
	    "mode", "oversized", "bytes", XHTTP_MAX_BODY - 11));
	ck_assert_int_eq(xapi_me(&cfg, "tok-big", &u, d, sizeof(d)),
	    XRES_UNEXPECTED);
}
END_TEST

START_TEST(t_bad_answers)
{
	static const char *const bodies[] = {
		"{\"data\":{\"id\":2244994945,\"username\":\"a\",\"name\":\"b\"}}",
		"{\"data\":{\"id\":\"1\",\"username\":\"a b\",\"name\":\"b\"}}",
		"{\"data\":{\"id\":\"1x\",\"username\":\"a\",\"name\":\"b\"}}",
		"{\"data\":{\"id\":\"1\",\"username\":\"a\",\"name\":null}}",
		"{\"data\":[]}",
		"[]",
		"",
	};
	struct xtoken	 tok;
	struct xuser	 u;
	char		 d[256], *code;
	size_t		 i;

	add_token("tok-bad");
	fault(json_pack("{s:s,s:s}", "path", "/2/users/me",
	    "mode", "malformed_json"));
	ck_assert_int_eq(xapi_me(&cfg, "tok-bad", &u, d, sizeof(d)),
	    XRES_UNEXPECTED);
	fault(json_pack("{s:s,s:s}", "path", "/2/users/me",
	    "mode", "errors_200"));
	ck_assert_int_eq(xapi_me(&cfg, "tok-bad", &u, d, sizeof(d)),
	    XRES_UNEXPECTED);
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		fault(json_pack("{s:s,s:s,s:i,s:s}", "path", "/2/users/me",
		    "mode", "status", "status", 200, "body", bodies[i]));
		ck_assert_msg(xapi_me(&cfg, "tok-bad", &u, d, sizeof(d)) ==
		    XRES_UNEXPECTED, "%s", bodies[i]);
		ck_assert_ptr_null(u.id);
	}
	/* A token that would break the request header is not sent. */
	ck_assert_int_eq(xapi_me(&cfg, "tok\r\nX-Evil: 1", &u, d, sizeof(d)),
	    XRES_UNEXPECTED);

	code = consent("cid", "secret");
	fault(json_pack("{s:s,s:s,s:i,s:s}", "path", "/2/oauth2/token",
	    "mode", "status", "status", 200, "body",
	    "{\"access_token\":12,\"expires_in\":7200}"));
	ck_assert_int_eq(xapi_token(&cfg, "cid", "secret", code, VERIFIER,
	    &tok, d, sizeof(d)), XRES_UNEXPECTED);
	ck_assert_ptr_null(tok.access_token);
	fault(json_pack("{s:s,s:s,s:i,s:s}", "path", "/2/oauth2/token",
	    "mode", "status", "status", 200, "body",
	    "{\"access_token\":\"abc\",\"expires_in\":\"7200\"}"));
	ck_assert_int_eq(xapi_token(&cfg, "cid", "secret", code, VERIFIER,
	    &tok, d, sizeof(d)), XRES_UNEXPECTED);
	ck_assert_ptr_null(tok.access_token);
	ck_assert_ptr_null(tok.scope);
	fault(json_pack("{s:s,s:s}", "path", "/2/oauth2/token",
	    "mode", "malformed_json"));
	ck_assert_int_eq(xapi_token(&cfg, "cid", "secret", code, VERIFIER,
	    &tok, d, sizeof(d)), XRES_UNEXPECTED);
	free(code);
}
END_TEST

START_TEST(t_rate_limits)
{
	static const char *const hdrs[] = {
		"Authorization: Bearer tok-rl", NULL
	};
	struct xhttp_req	 rq;
	struct xhttp_resp	 rs;
	struct xuser		 u;
	struct buf		 url = { 0 };
	char			 d[256];

	add_token("tok-rl");
	buf_addf(&url, "%s/2/users/me", cur->base);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = buf_str(&url);
	rq.headers = hdrs;
	xhttp_do(&cfg, &rq, &rs);
	ck_assert_int_eq(rs.fail, XHTTP_OK);
	ck_assert_int_eq(rs.status, 200);
	ck_assert_int_eq(rs.rl_limit, 75);
	ck_assert_int_eq(rs.rl_remaining, 74);
	ck_assert(rs.rl_reset > (long long)time(NULL));
	xhttp_free(&rs);

	fault(json_pack("{s:s,s:s,s:b,s:i}", "path", "/2/users/me",
	    "mode", "rate_limit", "reset", 0, "count", 2));
	xhttp_do(&cfg, &rq, &rs);
	ck_assert_int_eq(rs.status, 429);
	ck_assert_int_eq(rs.rl_remaining, 0);
	ck_assert_int_eq(rs.rl_reset, -1);
	xhttp_free(&rs);
	ck_assert_int_eq(xapi_me(&cfg, "tok-rl", &u, d, sizeof(d)),
	    XRES_RATE_LIMITED);

	/* Garbled values count as absent. */
	fault(json_pack("{s:s,s:s,s:i,s:{s:s,s:s,s:s}}", "path",
	    "/2/users/me", "mode", "status", "status", 200, "headers",
	    "x-rate-limit-limit", "12x", "x-rate-limit-remaining", "-1",
	    "x-rate-limit-reset", "99999999999999999999999"));
	xhttp_do(&cfg, &rq, &rs);
	ck_assert_int_eq(rs.rl_limit, -1);
	ck_assert_int_eq(rs.rl_remaining, -1);
	ck_assert_int_eq(rs.rl_reset, -1);
	xhttp_free(&rs);
	buf_free(&url);
}
END_TEST

/*
 * A server that accepts connections (the kernel does, into the backlog)
 * and never says a word.  Over https the handshake never completes, so
 * nothing can have been sent; over http the request was sent.
 */
START_TEST(t_silent_server)
{
	struct sockaddr_in	 sa;
	socklen_t		 len = sizeof(sa);
	struct xhttp_req	 rq;
	struct xhttp_resp	 rs;
	char			 url[80], base[64];
	int			 s;

	ck_assert((s = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	ck_assert(listen(s, 4) == 0);
	ck_assert(getsockname(s, (struct sockaddr *)&sa, &len) == 0);
	setenv("SOSYABOT_X_TIMEOUT", "1", 1);
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.url = url;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d/2/tweets",
	    ntohs(sa.sin_port));
	xhttp_do(&cfg, &rq, &rs);
	ck_assert_msg(rs.fail == XHTTP_NOT_SENT, "%d %s", rs.fail, rs.err);
	xhttp_free(&rs);

	snprintf(base, sizeof(base), "http://127.0.0.1:%d", ntohs(sa.sin_port));
	snprintf(url, sizeof(url), "%s/2/tweets", base);
	cfg.x_api = base;
	xhttp_do(&cfg, &rq, &rs);
	ck_assert_msg(rs.fail == XHTTP_NO_ANSWER, "%d %s", rs.fail, rs.err);
	xhttp_free(&rs);
	close(s);
}
END_TEST

/* --- the outbound policy --------------------------------------------------- */

START_TEST(t_scheme_policy)
{
	struct xhttp_req	 rq;
	struct xhttp_resp	 rs;
	struct buf		 url = { 0 };
	char			 d[256], base[80];
	json_t			*a;

	add_app("cid", "secret", "confidential");
	/* https to a plain http server: the handshake fails, nothing sent */
	snprintf(base, sizeof(base), "https://127.0.0.1:%d", cur->port);
	cfg.x_api = base;
	ck_assert_int_eq(xapi_check_client(&cfg, "cid", "secret", d,
	    sizeof(d)), XCHECK_UNREACHABLE);

	/* http is refused unless a configured X base URL is http */
	buf_addf(&url, "http://localhost:%d/2/oauth2/token", cur->port);
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.url = buf_str(&url);
	xhttp_do(&cfg, &rq, &rs);
	ck_assert_int_eq(rs.fail, XHTTP_NOT_SENT);
	xhttp_free(&rs);
	a = requests("/2/oauth2/token");
	ck_assert_int_eq(json_array_size(a), 0);
	json_decref(a);
	buf_free(&url);
}
END_TEST

START_TEST(t_no_redirects)
{
	static const char *const hdrs[] = { "User-Agent: Other/1", NULL };
	static const char *const evil[] = { "X-A: 1\r\nX-B: 2", NULL };
	struct xhttp_req	 rq;
	struct xhttp_resp	 rs;
	struct buf		 url = { 0 };
	json_t			*a;

	fault(json_pack("{s:s,s:s,s:i,s:{s:s}}", "path", "/2/users/me",
	    "mode", "status", "status", 302, "headers", "Location",
	    "/2/tweets"));
	buf_addf(&url, "%s/2/users/me", cur->base);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = buf_str(&url);
	rq.headers = hdrs;
	xhttp_do(&cfg, &rq, &rs);
	ck_assert_int_eq(rs.fail, XHTTP_OK);
	ck_assert_int_eq(rs.status, 302);
	xhttp_free(&rs);
	a = requests("/2/*");
	ck_assert_int_eq(json_array_size(a), 1);
	/* A caller's User-Agent replaces ours. */
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_array_get(a, 0), "headers"), "user-agent")), "Other/1");
	json_decref(a);

	/* A header with a line break is refused before anything is sent. */
	rq.headers = evil;
	xhttp_do(&cfg, &rq, &rs);
	ck_assert_int_eq(rs.fail, XHTTP_NOT_SENT);
	xhttp_free(&rs);
	a = requests("/2/*");
	ck_assert_int_eq(json_array_size(a), 1);
	json_decref(a);
	buf_free(&url);
}
END_TEST

/* --- TLS ---------------------------------------------------------------------- */

START_TEST(t_tls_verified)
{
	char	 d[256];

	add_app("cid", "secret", "confidential");
	cfg.ca_bundle = ca_file;
	ck_assert_int_eq(xapi_check_client(&cfg, "cid", "secret", d,
	    sizeof(d)), XCHECK_ACCEPTED);
}
END_TEST

START_TEST(t_tls_untrusted)
{
	struct xhttp_req	 rq;
	struct xhttp_resp	 rs;
	struct buf		 url = { 0 };

	/* The system store does not know the test CA. */
	buf_addf(&url, "%s/2/users/me", cur->base);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = buf_str(&url);
	xhttp_do(&cfg, &rq, &rs);
	ck_assert_int_eq(rs.fail, XHTTP_NOT_SENT);
	ck_assert_msg(strstr(rs.err, "certificate") != NULL, "%s", rs.err);
	xhttp_free(&rs);
	buf_free(&url);
}
END_TEST

START_TEST(t_tls_wrong_host)
{
	struct xhttp_req	 rq;
	struct xhttp_resp	 rs;
	struct buf		 url = { 0 };
	json_t			*a;

	/* Trusted CA, but the certificate names 127.0.0.1 only. */
	cfg.ca_bundle = ca_file;
	buf_addf(&url, "https://localhost:%d/2/users/me", cur->port);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = buf_str(&url);
	xhttp_do(&cfg, &rq, &rs);
	ck_assert_int_eq(rs.fail, XHTTP_NOT_SENT);
	xhttp_free(&rs);
	a = requests("/2/users/me");
	ck_assert_int_eq(json_array_size(a), 0);
	json_decref(a);
	buf_free(&url);
}
END_TEST

Suite *
suite_xapi(void)
{
	Suite	*s = suite_create("xapi");
	TCase	*tc;

	tc = tcase_create("urlenc");
	tcase_add_test(tc, t_urlenc);
	suite_add_tcase(s, tc);

	if (access(PYTHON, X_OK) != 0) {
		fprintf(stderr, "xapi: no %s, skipping the fake X tests\n",
		    PYTHON);
		return s;
	}
	tc = tcase_create("fake");
	tcase_set_timeout(tc, 30);
	tcase_add_unchecked_fixture(tc, plain_up, plain_down);
	tcase_add_checked_fixture(tc, setup_plain, teardown);
	tcase_add_test(tc, t_check_accepted);
	tcase_add_test(tc, t_check_rejected);
	tcase_add_test(tc, t_check_unreachable);
	tcase_add_test(tc, t_check_unexpected);
	tcase_add_test(tc, t_oauth_flow);
	tcase_add_test(tc, t_pkce_mismatch);
	tcase_add_test(tc, t_code_expired_or_reused);
	tcase_add_test(tc, t_token_unauthorized);
	tcase_add_test(tc, t_timeout);
	tcase_add_test(tc, t_reset_and_refuse);
	tcase_add_test(tc, t_oversized);
	tcase_add_test(tc, t_bad_answers);
	tcase_add_test(tc, t_rate_limits);
	tcase_add_test(tc, t_silent_server);
	tcase_add_test(tc, t_scheme_policy);
	tcase_add_test(tc, t_no_redirects);
	suite_add_tcase(s, tc);

	if (access(OPENSSL, X_OK) != 0) {
		fprintf(stderr, "xapi: no %s, skipping the TLS tests\n",
		    OPENSSL);
		return s;
	}
	tc = tcase_create("tls");
	tcase_set_timeout(tc, 30);
	tcase_add_unchecked_fixture(tc, secure_up, secure_down);
	tcase_add_checked_fixture(tc, setup_secure, teardown);
	tcase_add_test(tc, t_tls_verified);
	tcase_add_test(tc, t_tls_untrusted);
	tcase_add_test(tc, t_tls_wrong_host);
	suite_add_tcase(s, tc);
	return s;
}
