/*
 * out: the one way a response leaves a program.
 *
 * The reply is buffered; headers, Content-Length and the security headers
 * are written by out_send() at the end, so a late error can still replace
 * the page with a clean error page.
 *
 * Escaping is the default: out_html() takes a string-literal format whose
 * verbs escape what they insert:
 *	%s	HTML-escaped text
 *	%u	URL-component-encoded, then HTML-escaped (for href query values)
 *	%d %ld %lld %zu	integers
 *	%%	a percent sign
 * Anything else in the format is trusted markup, which is why the macro
 * refuses a format that is not a string literal.  Raw markup from a
 * variable needs out_html_unescaped(), a name meant to be seen in review.
 * Header values are refused when they contain CR, LF or NUL.
 */
#ifndef SB_OUT_H
#define SB_OUT_H

#include <stdio.h>

#include <jansson.h>

#include "buf.h"

struct out {
	int		 status;
	const char	*ctype;		/* default text/html; charset=utf-8 */
	const char	*referrer;	/* Referrer-Policy, default same-origin */
	struct buf	 head;		/* extra header lines */
	struct buf	 body;
	int		 head_only;	/* HEAD: no body */
	int		 json_errors;	/* errors as {"error":{...}} */
	int		 failed;	/* a header was refused */
};

void	 out_init(struct out *);
void	 out_free(struct out *);
void	 out_status(struct out *, int);

/* Add "Name: value"; -1 (and nothing added) if value has CR/LF/NUL. */
int	 out_header(struct out *, const char *name, const char *value);
/* A redirect (302/303) to a local path; base is BASE_URL's origin+path. */
void	 out_redirect(struct out *, int status, const char *base,
	    const char *path);

#define out_html(o, fmt, ...)	out_html_((o), "" fmt, ##__VA_ARGS__)
void	 out_html_(struct out *, const char *, ...);
void	 out_html_unescaped(struct out *, const char *);
void	 out_text_escaped(struct buf *, const char *);	/* HTML-escape */
void	 out_urlenc(struct buf *, const char *);	/* component */

/* Replace the body with a JSON document (steals the reference). */
void	 out_json(struct out *, int status, json_t *);

/*
 * Replace whatever was produced with a plain error page (or JSON error
 * when json_errors): the status and one human sentence, never a secret.
 */
void	 out_error(struct out *, int status, const char *sentence);

/* Write status, headers and body to f.  Returns 0, -1 on write error. */
int	 out_send(struct out *, FILE *f);

const char *out_reason(int status);

#endif
