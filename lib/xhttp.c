/*
 * xhttp: outbound HTTP to X through libcurl, opened at run time.
 *
 * libcurl and its dependency chain cost ~5 ms of dynamic loading per
 * process, and most of our CGIs never talk to X.  So this file does not
 * link against libcurl: it dlopen()s CURL_SONAME on the first request and
 * calls it through function pointers typed from <curl/curl.h>, which keeps
 * the prototypes checked.  The library is never closed again (OpenSSL
 * registers exit handlers that must stay mapped).
 *
 * Not thread-safe on the first call (curl_global_init); our programs are
 * single-threaded.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "xhttp.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION	"dev"	/* a hand build without config.h */
#endif

#define CONNECT_TIMEOUT	10L	/* seconds; DESIGN: calls to X */
#define TOTAL_TIMEOUT	30L
#define CA_DIR		"/etc/ssl/certs"

static struct {
	enum { CURL_UNTRIED, CURL_LOADED, CURL_BROKEN } state;
	char	 why[160];	/* why loading failed, for every later call */
	__typeof__(curl_global_init)	*global_init;
	__typeof__(curl_easy_init)	*easy_init;
	__typeof__(curl_easy_setopt)	*easy_setopt;
	__typeof__(curl_easy_perform)	*easy_perform;
	__typeof__(curl_easy_getinfo)	*easy_getinfo;
	__typeof__(curl_easy_strerror)	*easy_strerror;
	__typeof__(curl_easy_cleanup)	*easy_cleanup;
	__typeof__(curl_slist_append)	*slist_append;
	__typeof__(curl_slist_free_all)	*slist_free_all;
} lc;

/* Per-transfer state shared with the callbacks. */
struct xfer {
	struct xhttp_resp	*resp;
	int			 toolarge;
};

/*
 * Load libcurl once.  Returns 0, or -1 with the reason in err (and the
 * same reason for every later call: a missing library stays missing).
 */
static int
curl_load(char *err, size_t errlen)
{
	void	*h;

	if (lc.state == CURL_UNTRIED) {
		lc.state = CURL_BROKEN;
		if ((h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
			snprintf(lc.why, sizeof(lc.why),
			    "cannot load %s (install libcurl4)", CURL_SONAME);
			goto out;
		}
#define RESOLVE(fn) \
	((lc.fn = (__typeof__(lc.fn))dlsym(h, "curl_" #fn)) == NULL)
		if (RESOLVE(global_init) || RESOLVE(easy_init) ||
		    RESOLVE(easy_setopt) || RESOLVE(easy_perform) ||
		    RESOLVE(easy_getinfo) || RESOLVE(easy_strerror) ||
		    RESOLVE(easy_cleanup) || RESOLVE(slist_append) ||
		    RESOLVE(slist_free_all)) {
			snprintf(lc.why, sizeof(lc.why),
			    "%s lacks a function we need", CURL_SONAME);
			dlclose(h);
			goto out;
		}
#undef RESOLVE
		if (lc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(lc.why, sizeof(lc.why),
			    "libcurl failed to initialise");
			goto out;
		}
		lc.state = CURL_LOADED;
	}
out:
	if (lc.state == CURL_LOADED)
		return 0;
	snprintf(err, errlen, "%s", lc.why);
	return -1;
}

/* url begins with base, at a path boundary. */
static int
under(const char *url, const char *base)
{
	size_t	 n;

	if (base == NULL || (n = strlen(base)) == 0)
		return 0;
	while (n > 0 && base[n - 1] == '/')
		n--;
	return strncasecmp(url, base, n) == 0 &&
	    (url[n] == '\0' || url[n] == '/' || url[n] == '?');
}

/*
 * The one protocol curl may speak for url: https; or http, but only for
 * a URL under an X base URL that the operator configured as http (a
 * test double, a local relay), so that no other URL ever goes out in
 * clear.  NULL when the URL is not allowed at all.
 */
static const char *
url_protocol(const struct cfg *cfg, const char *url)
{
	if (strncasecmp(url, "https://", 8) == 0)
		return "https";
	if (strncasecmp(url, "http://", 7) == 0 &&
	    ((under(url, cfg->x_api) &&
	      strncasecmp(cfg->x_api, "http://", 7) == 0) ||
	     (under(url, cfg->x_web) &&
	      strncasecmp(cfg->x_web, "http://", 7) == 0)))
		return "http";
	return NULL;
}

/*
 * The total timeout: 30 s, or fewer when SOSYABOT_X_TIMEOUT says so
 * (tests of timeouts would otherwise wait 30 s).  It can only shorten.
 */
static long
total_timeout(void)
{
	const char	*s = getenv("SOSYABOT_X_TIMEOUT");
	char		*end;
	long		 v;

	if (s == NULL || *s == '\0')
		return TOTAL_TIMEOUT;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > TOTAL_TIMEOUT)
		return TOTAL_TIMEOUT;
	return v;
}

/*
 * If the header line p (len bytes, not NUL-terminated, CRLF included)
 * is "name: <digits>", store the number in *v.  Anything else in the
 * value leaves *v alone: a garbled header is the same as none.
 */
static void
header_number(const char *p, size_t len, const char *name, long long *v)
{
	size_t		 i, n = strlen(name);
	long long	 x = 0;
	int		 digits = 0;

	if (len <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
		return;
	for (i = n + 1; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		continue;
	for (; i < len && isdigit((unsigned char)p[i]); i++, digits++) {
		if (x > (LLONG_MAX - (p[i] - '0')) / 10)
			return;
		x = x * 10 + (p[i] - '0');
	}
	for (; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return;
	if (digits)
		*v = x;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer	*x = arg;
	size_t		 len = size * n;

	/* A new status line (after a 100 Continue) starts afresh. */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		x->resp->rl_limit = x->resp->rl_remaining = -1;
		x->resp->rl_reset = -1;
		x->resp->app_remaining = x->resp->app_reset = -1;
		return len;
	}
	header_number(p, len, "x-rate-limit-limit", &x->resp->rl_limit);
	header_number(p, len, "x-rate-limit-remaining",
	    &x->resp->rl_remaining);
	header_number(p, len, "x-rate-limit-reset", &x->resp->rl_reset);
	header_number(p, len, "x-app-limit-24hour-remaining",
	    &x->resp->app_remaining);
	header_number(p, len, "x-app-limit-24hour-reset", &x->resp->app_reset);
	return len;
}

/* Returning short of len aborts the transfer (CURLE_WRITE_ERROR). */
static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer	*x = arg;
	size_t		 len = size * n;

	if (len > XHTTP_MAX_BODY - x->resp->body.len) {
		x->toolarge = 1;
		return 0;
	}
	buf_add(&x->resp->body, p, len);
	return buf_ok(&x->resp->body) ? len : 0;
}

/*
 * Whether a failed transfer provably never sent the request.  The
 * request goes out only once the connection (and for https the TLS
 * handshake) is up, so a failure while they were not is NOT_SENT;
 * anything later may have reached X (a post may exist) and is
 * NO_ANSWER.
 */
static enum xhttp_fail
classify(CURL *h, CURLcode cc, int https)
{
	curl_off_t	 up = 0;

	switch (cc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return XHTTP_NOT_SENT;
	case CURLE_OPERATION_TIMEDOUT:
		if (lc.easy_getinfo(h, https ? CURLINFO_APPCONNECT_TIME_T :
		    CURLINFO_CONNECT_TIME_T, &up) == CURLE_OK && up == 0)
			return XHTTP_NOT_SENT;
		return XHTTP_NO_ANSWER;
	default:
		return XHTTP_NO_ANSWER;
	}
}

void
xhttp_do(const struct cfg *cfg, const struct xhttp_req *rq,
    struct xhttp_resp *rs)
{
	struct xfer		 x;
	struct curl_slist	*hl = NULL, *t;
	CURL			*h = NULL;
	CURLcode		 cc;
	const char		*proto;
	char			 ebuf[CURL_ERROR_SIZE];
	long			 total;
	size_t			 i;
	int			 post;

	memset(rs, 0, sizeof(*rs));
	rs->fail = XHTTP_NOT_SENT;
	rs->rl_limit = rs->rl_remaining = rs->rl_reset = -1;
	rs->app_remaining = rs->app_reset = -1;
	x.resp = rs;
	x.toolarge = 0;
	ebuf[0] = '\0';

	/* Every early return below is before anything was sent. */
	if ((proto = url_protocol(cfg, rq->url)) == NULL) {
		snprintf(rs->err, sizeof(rs->err),
		    "refusing a URL that is not https");
		return;
	}
	if (strcmp(rq->method, "POST") == 0)
		post = 1;
	else if (strcmp(rq->method, "GET") == 0)
		post = 0;
	else {
		snprintf(rs->err, sizeof(rs->err), "unsupported method");
		return;
	}
	if (curl_load(rs->err, sizeof(rs->err)) == -1)
		return;
	if ((h = lc.easy_init()) == NULL) {
		snprintf(rs->err, sizeof(rs->err), "curl_easy_init failed");
		return;
	}
	for (i = 0; rq->headers != NULL && rq->headers[i] != NULL; i++) {
		/* A line break would smuggle in a header of its own. */
		if (strpbrk(rq->headers[i], "\r\n") != NULL) {
			snprintf(rs->err, sizeof(rs->err),
			    "a request header contains a line break");
			goto out;
		}
		if ((t = lc.slist_append(hl, rq->headers[i])) == NULL) {
			snprintf(rs->err, sizeof(rs->err), "out of memory");
			goto out;
		}
		hl = t;
	}
	total = total_timeout();

#define SET(opt, val) do { \
	if ((cc = lc.easy_setopt(h, (opt), (val))) != CURLE_OK) \
		goto setopt_err; \
} while (0)
	SET(CURLOPT_URL, rq->url);
	SET(CURLOPT_PROTOCOLS_STR, proto);
	SET(CURLOPT_REDIR_PROTOCOLS_STR, proto);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/*
	 * The hashed directory loads only the certificates a chain needs;
	 * the bundle file costs ~25 ms per process to parse (DESIGN §6).
	 * A configured bundle replaces the system store entirely.
	 */
	if (cfg->ca_bundle != NULL) {
		SET(CURLOPT_CAINFO, cfg->ca_bundle);
		SET(CURLOPT_CAPATH, (char *)NULL);
	} else {
		SET(CURLOPT_CAINFO, (char *)NULL);
		SET(CURLOPT_CAPATH, CA_DIR);
	}
	SET(CURLOPT_CONNECTTIMEOUT, total < CONNECT_TIMEOUT ?
	    total : CONNECT_TIMEOUT);
	SET(CURLOPT_TIMEOUT, total);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_USERAGENT, "Sosyabot/" PACKAGE_VERSION);
	SET(CURLOPT_HTTPHEADER, hl);
	SET(CURLOPT_ERRORBUFFER, ebuf);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)XHTTP_MAX_BODY);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, &x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, &x);
	if (post) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(rq->body != NULL ? rq->bodylen : 0));
		SET(CURLOPT_POSTFIELDS, rq->body != NULL ? rq->body : "");
	} else
		SET(CURLOPT_HTTPGET, 1L);
	if (rq->userpwd != NULL) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERPWD, rq->userpwd);
	}
#undef SET

	if ((cc = lc.easy_perform(h)) == CURLE_OK) {
		rs->fail = XHTTP_OK;
		if (lc.easy_getinfo(h, CURLINFO_RESPONSE_CODE,
		    &rs->status) != CURLE_OK)
			rs->status = 0;
		goto out;
	}
	rs->fail = classify(h, cc, strcmp(proto, "https") == 0);
	if (x.toolarge || cc == CURLE_FILESIZE_EXCEEDED)
		snprintf(rs->err, sizeof(rs->err), "response too large");
	else if (!buf_ok(&rs->body))
		snprintf(rs->err, sizeof(rs->err), "out of memory");
	else
		snprintf(rs->err, sizeof(rs->err), "%s",
		    ebuf[0] != '\0' ? ebuf : lc.easy_strerror(cc));
	/* A partial body is no answer: nobody may act on it. */
	buf_free(&rs->body);
	goto out;

setopt_err:
	/* Our libcurl lacks an option we rely on (older than 7.85). */
	snprintf(rs->err, sizeof(rs->err), "libcurl refused an option: %s",
	    lc.easy_strerror(cc));
out:
	lc.easy_cleanup(h);
	lc.slist_free_all(hl);
}

void
xhttp_free(struct xhttp_resp *rs)
{
	buf_free(&rs->body);
}

void
xhttp_urlenc(struct buf *b, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		/* Spelled out: isalnum() would follow the locale. */
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			buf_addc(b, (char)c);
		else {
			buf_addc(b, '%');
			buf_addc(b, hex[c >> 4]);
			buf_addc(b, hex[c & 0xf]);
		}
	}
}
