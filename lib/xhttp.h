/*
 * xhttp: outbound HTTPS to X through libcurl.
 *
 * libcurl is opened with dlopen() on the first call, so that a program
 * whose request never talks to X never loads it (and its dependency
 * chain, ~5 ms of dynamic loading per process).  Every call: TLS peer
 * and host verified (CURLOPT_CAPATH on the hashed system directory, or
 * SOSYABOT_CA_BUNDLE), only the scheme of the configured base URL
 * allowed, no redirects followed, connect timeout 10 s, total 30 s,
 * response body capped at XHTTP_MAX_BODY.
 */
#ifndef SB_XHTTP_H
#define SB_XHTTP_H

#include <stddef.h>

#include "buf.h"
#include "cfg.h"

#define XHTTP_MAX_BODY	(1024 * 1024)

struct xhttp_req {
	const char	 *method;	/* "GET" or "POST" */
	const char	 *url;
	const char	 *const *headers; /* "Name: value", NULL-terminated */
	const char	 *body;		/* NULL for none */
	size_t		  bodylen;
	const char	 *userpwd;	/* "id:secret" for Basic auth, or NULL */
};

enum xhttp_fail {
	XHTTP_OK = 0,		/* a response arrived (any status) */
	XHTTP_NOT_SENT,		/* failed before the request was sent:
				   DNS, refused, TLS verification */
	XHTTP_NO_ANSWER		/* sent (perhaps in part), no full answer:
				   timeout, reset, oversized, malformed */
};

struct xhttp_resp {
	enum xhttp_fail	 fail;
	long		 status;	/* HTTP status when fail == XHTTP_OK */
	struct buf	 body;
	long long	 rl_limit;	/* x-rate-limit-limit, -1 if absent */
	long long	 rl_remaining;	/* x-rate-limit-remaining, -1 */
	long long	 rl_reset;	/* x-rate-limit-reset (epoch), -1 */
	long long	 app_remaining;	/* x-app-limit-24hour-remaining, -1 */
	long long	 app_reset;	/* x-app-limit-24hour-reset, -1 */
	char		 err[256];	/* the reason when fail != XHTTP_OK */
};

/* Perform one request; resp is initialised here.  Free with xhttp_free. */
void	 xhttp_do(const struct cfg *, const struct xhttp_req *,
	    struct xhttp_resp *);
void	 xhttp_free(struct xhttp_resp *);

/* Percent-encode s for a URL query or form body (RFC 3986 unreserved). */
void	 xhttp_urlenc(struct buf *, const char *s);

#endif
