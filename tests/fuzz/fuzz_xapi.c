/*
 * fuzz_xapi: what Sosyabot makes of X's answers.
 *
 * The readers of X's answers are static in xapi.c and xweb.c and sit
 * behind a real HTTP exchange, so this harness runs a small HTTP server
 * on loopback, in a thread of its own, that answers every request with
 * the input, and calls xapi_token, xapi_me, xapi_tweet,
 * xapi_check_client, xapi_revoke, and the cookie-connect calls
 * xweb_post (GraphQL CreateTweet) and xweb_verify against it.  That also
 * puts xhttp's header reading (the rate-limit numbers) under test.  The
 * input is read as
 *
 *	status byte, call byte, [headers '\n' '\n'] body
 *
 * The status byte picks one of the statuses X gives (and a few it does
 * not) by its low 4 bits; of the call byte, bits 0-2 pick the call,
 * bit 3 sends a "100 Continue" first and bit 4 says that the input
 * goes on with header lines up to a blank line.  Only x-*
 * header lines are passed on: the framing (Content-Length, Connection)
 * is the server's, so that no input can make the client wait for bytes
 * that never come.
 *
 * Checked: the outcome agrees with the status; a result is filled on
 * XRES_OK only and then holds to the formats xapi.h promises; the
 * detail is a NUL-terminated line of printable ASCII (it ends up on a
 * page and in a log line) and says something whenever the call failed.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "fuzz.h"
#include "xapi.h"
#include "xweb.h"

#define REQ_MAX		(64 * 1024)	/* what the server reads of a request */

static const int statuses[16] = {
	200, 201, 400, 401, 403, 429, 500, 503,
	404, 204, 202, 302, 413, 418, 502, 299
};

enum call {
	C_TOKEN, C_ME, C_TWEET, C_CHECK, C_REVOKE, C_WEBPOST, C_WEBVERIFY,
	C__MAX
};

/* Shaped as xweb checks them: 40 hex, 32 hex, a token. */
static const struct xcookies cookies = {
	"0123456789abcdef0123456789abcdef01234567",
	"0123456789abcdef0123456789abcdef",
	"AAAAAAAAAAAAAAAAAAAAAPublicWebAppBearer"
};

static struct cfg	 cfg;
static int		 lfd = -1;
static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static const char	*reply;		/* the answer to the next request */
static size_t		 replylen;

static void
sendall(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		/* MSG_NOSIGNAL: a client that gave up is no SIGPIPE. */
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/*
 * Read one request: the head up to its blank line, then as many bytes
 * as its Content-Length says.  An answer sent before the body is read
 * could reach a client that is still sending, which then sees a reset.
 */
static void
read_request(int fd)
{
	char		 b[REQ_MAX + 1], *end, *cl;
	size_t		 have = 0, want = 0;
	ssize_t		 r;

	while (have < REQ_MAX) {
		if ((r = recv(fd, b + have, REQ_MAX - have, 0)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return;
		}
		have += (size_t)r;
		b[have] = '\0';
		if ((end = strstr(b, "\r\n\r\n")) == NULL)
			continue;
		if (want == 0) {
			for (cl = b; (cl = strchr(cl, '\n')) != NULL; cl++)
				if (strncasecmp(cl + 1, "content-length:",
				    15) == 0) {
					want = strtoul(cl + 16, NULL, 10);
					break;
				}
			want += (size_t)(end + 4 - b);
		}
		if (have >= want)
			return;
	}
}

static void *
serve(void *arg)
{
	struct timeval	 tv = { 5, 0 };
	struct linger	 lg = { 1, 0 };
	char		*copy, sink[512];
	size_t		 n;
	int		 fd;

	(void)arg;
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		read_request(fd);
		pthread_mutex_lock(&mu);
		n = replylen;
		if ((copy = malloc(n + 1)) != NULL && reply != NULL)
			memcpy(copy, reply, n);
		else
			n = 0;
		pthread_mutex_unlock(&mu);
		sendall(fd, copy, n);
		free(copy);
		/*
		 * The client closes first (Connection: close); a reset then
		 * leaves no TIME_WAIT on either side, so millions of
		 * connections do not run out of ports.
		 */
		while (recv(fd, sink, sizeof(sink), 0) > 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	return NULL;
}

static void
init(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	pthread_t		 t;
	char			 url[64], err[128];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 16) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) == -1) {
		perror("loopback server");
		abort();
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u",
	    (unsigned int)ntohs(sin.sin_port));
	setenv("X_API_BASE_URL", url, 1);
	setenv("X_WEB_BASE_URL", url, 1);
	setenv("BASE_URL", "https://sosyabot.example", 1);
	/* An answer that never comes must not stall the fuzzer for 30 s. */
	setenv("SOSYABOT_X_TIMEOUT", "5", 1);
	unsetenv("SOSYABOT_CA_BUNDLE");
	/* libcurl honours these; the loopback server is to be reached. */
	unsetenv("http_proxy");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	setenv("no_proxy", "*", 1);
	if (cfg_load(&cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "cfg_load: %s\n", err);
		abort();
	}
	if (pthread_create(&t, NULL, serve, NULL) != 0 ||
	    pthread_detach(t) != 0)
		abort();
}

/* Header lines that may pass: "x-name: value", no CR, LF or NUL. */
static int
header_ok(const char *p, size_t n)
{
	size_t	 i;

	if (n < 3 || strncasecmp(p, "x-", 2) != 0)
		return 0;
	for (i = 2; i < n && p[i] != ':'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", p[i]) == NULL ||
		    p[i] == '\0')
			return 0;
	if (i == n)
		return 0;
	for (; i < n; i++)
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
			return 0;
	return 1;
}

/* The whole HTTP answer for this input, into b. */
static void
answer(struct buf *b, int status, int cont, const char *p, size_t n,
    int has_headers)
{
	const char	*end = p + n, *blank, *nl, *line;
	size_t		 len;

	if (cont)
		buf_adds(b, "HTTP/1.1 100 Continue\r\n\r\n");
	buf_addf(b, "HTTP/1.1 %d Fuzz\r\n", status);
	buf_adds(b, "Content-Type: application/json\r\n");
	buf_adds(b, "Connection: close\r\n");
	if (has_headers) {
		if ((blank = memmem(p, n, "\n\n", 2)) == NULL)
			blank = end;
		for (line = p; line < blank; line = nl + 1) {
			if ((nl = memchr(line, '\n',
			    (size_t)(blank - line))) == NULL)
				nl = blank;
			len = (size_t)(nl - line);
			if (len > 0 && line[len - 1] == '\r')
				len--;
			if (header_ok(line, len)) {
				buf_add(b, line, len);
				buf_adds(b, "\r\n");
			}
		}
		p = blank < end ? blank + 2 : end;
		n = (size_t)(end - p);
	}
	buf_addf(b, "Content-Length: %zu\r\n\r\n", n);
	buf_add(b, p, n);
}

/* The detail: terminated, printable ASCII, and given on failure. */
static void
check_detail(const char *d, size_t len, int failed)
{
	const char	*nul, *p;

	FUZZ_CHECK((nul = memchr(d, '\0', len)) != NULL);
	for (p = d; p < nul; p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
	if (failed)
		FUZZ_CHECK(nul > d);
}

/* Digits only, 1 to 20 of them: X's ids. */
static int
is_id(const char *s)
{
	return s != NULL && *s != '\0' && strlen(s) <= 20 &&
	    s[strspn(s, "0123456789")] == '\0';
}

/* The outcome a status must give, when an answer arrived. */
static void
check_outcome(enum xres rc, int status, int tweet)
{
	if (rc == XRES_NOT_SENT || rc == XRES_NO_ANSWER)
		return;
	switch (status) {
	case 401:
		FUZZ_CHECK(rc == XRES_UNAUTHORIZED);
		break;
	case 400:
	case 403:
		FUZZ_CHECK(rc == XRES_REFUSED);
		break;
	case 429:
		FUZZ_CHECK(rc == XRES_RATE_LIMITED);
		break;
	default:
		if (status >= 200 && status < 300)
			FUZZ_CHECK(rc == XRES_OK || rc == XRES_UNEXPECTED ||
			    (tweet && rc == XRES_REFUSED));
		else
			FUZZ_CHECK(rc == XRES_UNEXPECTED);
	}
}

static void
run(enum call c, int status)
{
	struct xtoken	 tok;
	struct xuser	 u;
	struct xpost	 p;
	struct xweb_post wp;
	enum xres	 rc;
	enum xcheck	 ck;
	enum xweb_verify vr;
	char		 d[256], *handle, *id;

	d[0] = '\0';
	switch (c) {
	case C_TOKEN:
		rc = xapi_token(&cfg, "client-id", "client-secret", "code",
		    "verifier-verifier-verifier-verifier-verifie", &tok, d,
		    sizeof(d));
		check_outcome(rc, status, 0);
		if (rc == XRES_OK) {
			FUZZ_CHECK(tok.access_token != NULL &&
			    tok.access_token[0] != '\0');
			FUZZ_CHECK(strpbrk(tok.access_token, " \r\n") == NULL);
			FUZZ_CHECK(tok.expires_in == -1 || tok.expires_in > 0);
		} else
			FUZZ_CHECK(tok.access_token == NULL &&
			    tok.scope == NULL);
		xapi_token_free(&tok);
		break;
	case C_ME:
		rc = xapi_me(&cfg, "AAAAtoken", &u, d, sizeof(d));
		check_outcome(rc, status, 0);
		if (rc == XRES_OK) {
			FUZZ_CHECK(is_id(u.id));
			FUZZ_CHECK(u.username != NULL && *u.username != '\0' &&
			    strlen(u.username) <= 50);
			FUZZ_CHECK(u.name != NULL);
		} else
			FUZZ_CHECK(u.id == NULL && u.username == NULL &&
			    u.name == NULL);
		xapi_user_free(&u);
		break;
	case C_TWEET:
		rc = xapi_tweet(&cfg, "AAAAtoken", "Hello from the fuzzer", &p,
		    d, sizeof(d));
		check_outcome(rc, status, 1);
		if (rc == XRES_OK)
			FUZZ_CHECK(is_id(p.id));
		else
			FUZZ_CHECK(p.id == NULL);
		if (p.duplicate)
			FUZZ_CHECK(rc == XRES_REFUSED);
		FUZZ_CHECK(p.rl_remaining >= -1 && p.rl_reset >= -1 &&
		    p.app_remaining >= -1 && p.app_reset >= -1);
		xapi_post_free(&p);
		break;
	case C_CHECK:
		ck = xapi_check_client(&cfg, "client-id", "client-secret", d,
		    sizeof(d));
		FUZZ_CHECK(ck != XCHECK_REJECTED || status == 401);
		FUZZ_CHECK(ck != XCHECK_ACCEPTED || status == 400);
		rc = ck == XCHECK_ACCEPTED ? XRES_OK : XRES_UNEXPECTED;
		break;
	case C_REVOKE:
		rc = xapi_revoke(&cfg, "client-id", "client-secret",
		    "AAAAtoken", d, sizeof(d));
		check_outcome(rc, status, 0);
		break;
	case C_WEBPOST:
		rc = xweb_post(&cfg, &cookies, "SiM_cAu83R0wnrpmKQQSEw",
		    "Hello from the fuzzer", &wp, d, sizeof(d));
		if (rc == XRES_OK) {
			FUZZ_CHECK(is_id(wp.id) && wp.code == 0);
			FUZZ_CHECK(status >= 200 && status < 300);
		} else
			FUZZ_CHECK(wp.id == NULL);
		if (rc == XRES_RATE_LIMITED)
			FUZZ_CHECK(status == 429);
		if (status == 401 && rc != XRES_NO_ANSWER &&
		    rc != XRES_NOT_SENT)
			FUZZ_CHECK(rc == XRES_UNAUTHORIZED);
		FUZZ_CHECK(wp.rl_reset >= -1);
		/* A code X gave is in its answer as such. */
		if (wp.code != 0) {
			char	 num[24];

			snprintf(num, sizeof(num), "%d", wp.code);
			FUZZ_CHECK(wp.code > 0 && strstr(reply, num) != NULL);
		}
		xweb_post_free(&wp);
		break;
	default:
		vr = xweb_verify(&cfg, &cookies, &handle, &id, d, sizeof(d));
		if (vr == XWEB_VERIFIED) {
			FUZZ_CHECK(xweb_handle_ok(handle));
			FUZZ_CHECK(id == NULL || is_id(id));
		} else
			FUZZ_CHECK(handle == NULL && id == NULL);
		if (vr == XWEB_UNVERIFIED)
			FUZZ_CHECK(status == 404);
		if (status == 401 && vr != XWEB_UNREACHABLE)
			FUZZ_CHECK(vr == XWEB_REFUSED);
		rc = vr == XWEB_VERIFIED ? XRES_OK : XRES_UNEXPECTED;
		free(handle);
		free(id);
		break;
	}
	check_detail(d, sizeof(d), rc != XRES_OK);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	 b = { 0 };
	int		 status;

	if (lfd == -1)
		init();
	if (size < 2)
		return 0;
	status = statuses[data[0] & 15];
	answer(&b, status, data[1] & 8, (const char *)data + 2, size - 2,
	    data[1] & 16);
	if (!buf_ok(&b))
		goto out;
	pthread_mutex_lock(&mu);
	reply = buf_str(&b);
	replylen = b.len;
	pthread_mutex_unlock(&mu);

	run((enum call)((data[1] & 7) % C__MAX), status);

	pthread_mutex_lock(&mu);
	reply = NULL;
	replylen = 0;
	pthread_mutex_unlock(&mu);
out:
	buf_free(&b);
	return 0;
}
