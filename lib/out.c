#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

#define CSP "default-src 'self'; object-src 'none'; base-uri 'none'; " \
	"frame-ancestors 'none'"

void
out_init(struct out *o)
{
	memset(o, 0, sizeof(*o));
	o->status = 200;
	o->ctype = "text/html; charset=utf-8";
	o->referrer = "same-origin";
}

void
out_free(struct out *o)
{
	buf_free(&o->head);
	buf_free(&o->body);
}

void
out_status(struct out *o, int status)
{
	o->status = status;
}

int
out_header(struct out *o, const char *name, const char *value)
{
	if (strpbrk(name, "\r\n: ") || strpbrk(value, "\r\n")) {
		o->failed = 1;
		return -1;
	}
	buf_addf(&o->head, "%s: %s\r\n", name, value);
	return 0;
}

void
out_redirect(struct out *o, int status, const char *base, const char *path)
{
	struct buf	 loc = { 0 };

	buf_adds(&loc, base);
	buf_adds(&loc, path);
	o->status = status;
	buf_reset(&o->body);
	if (out_header(o, "Location", buf_str(&loc)) != 0)
		out_error(o, 400, "That address cannot be used.");
	buf_free(&loc);
}

void
out_text_escaped(struct buf *b, const char *s)
{
	const char	*run = s;

	for (; *s; s++) {
		const char *rep;

		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		buf_add(b, run, (size_t)(s - run));
		buf_adds(b, rep);
		run = s + 1;
	}
	buf_add(b, run, (size_t)(s - run));
}

void
out_urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c))
			buf_addc(b, (char)c);
		else {
			buf_addc(b, '%');
			buf_addc(b, hex[c >> 4]);
			buf_addc(b, hex[c & 15]);
		}
	}
}

void
out_html_(struct out *o, const char *fmt, ...)
{
	va_list		 ap;
	const char	*run = fmt, *s;
	struct buf	 tmp = { 0 };

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%')
			continue;
		buf_add(&o->body, run, (size_t)(fmt - run));
		fmt++;
		switch (*fmt) {
		case 's':
			s = va_arg(ap, const char *);
			out_text_escaped(&o->body, s ? s : "");
			break;
		case 'u':
			s = va_arg(ap, const char *);
			buf_reset(&tmp);
			out_urlenc(&tmp, s ? s : "");
			out_text_escaped(&o->body, buf_str(&tmp));
			break;
		case 'd':
			buf_addf(&o->body, "%d", va_arg(ap, int));
			break;
		case 'l':
			if (fmt[1] == 'l' && fmt[2] == 'd') {
				buf_addf(&o->body, "%lld", va_arg(ap, long long));
				fmt += 2;
			} else if (fmt[1] == 'd') {
				buf_addf(&o->body, "%ld", va_arg(ap, long));
				fmt++;
			} else
				abort();
			break;
		case 'z':
			if (fmt[1] != 'u')
				abort();
			buf_addf(&o->body, "%zu", va_arg(ap, size_t));
			fmt++;
			break;
		case '%':
			buf_addc(&o->body, '%');
			break;
		default:
			/* A bad verb is a programming error; fail loudly. */
			abort();
		}
		run = fmt + 1;
	}
	buf_add(&o->body, run, (size_t)(fmt - run));
	va_end(ap);
	buf_free(&tmp);
}

void
out_html_unescaped(struct out *o, const char *markup)
{
	buf_adds(&o->body, markup);
}

void
out_json(struct out *o, int status, json_t *j)
{
	char	*s;

	o->status = status;
	o->ctype = "application/json";
	buf_reset(&o->body);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (s == NULL) {
		o->status = 500;
		buf_adds(&o->body, "{\"error\":{\"status\":500,"
		    "\"message\":\"Out of memory.\"}}");
		return;
	}
	buf_adds(&o->body, s);
	buf_addc(&o->body, '\n');
	free(s);
}

const char *
out_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 302: return "Found";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

void
out_error(struct out *o, int status, const char *sentence)
{
	json_t	*j;

	o->status = status;
	buf_reset(&o->body);
	if (o->json_errors) {
		j = json_pack("{s:{s:i,s:s}}", "error", "status", status,
		    "message", sentence);
		out_json(o, status, j);
		return;
	}
	o->ctype = "text/html; charset=utf-8";
	out_html(o, "<!doctype html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\"><title>%d %s</title></head>\n<body>"
	    "<main class=\"error\"><h1>%d %s</h1>\n<p>%s</p></main>"
	    "</body></html>\n", status, out_reason(status), status,
	    out_reason(status), sentence);
}

/*
 * The answer when not even the plain error page fits in memory: static
 * text, so that a process out of memory still says so instead of ending
 * the connection without a reply.
 */
#define OOM_HTML "<!doctype html>\n<html lang=\"en\"><head><meta " \
	"charset=\"utf-8\"><title>500 Internal Server Error</title></head>\n" \
	"<body><main class=\"error\"><h1>500 Internal Server Error</h1>\n" \
	"<p>Out of memory.</p></main></body></html>\n"
#define OOM_JSON "{\"error\":{\"status\":500,\"message\":" \
	"\"Out of memory.\"}}\n"

int
out_send(struct out *o, FILE *f)
{
	const char	*body;
	size_t		 len;
	int		 json = o->json_errors;

	if (o->failed && o->status < 400)
		out_error(o, 500, "The response could not be built.");
	if (!buf_ok(&o->body) || !buf_ok(&o->head)) {
		buf_free(&o->head);
		buf_free(&o->body);
		o->json_errors = 0;
		out_error(o, 500, "Out of memory.");
	}
	if (buf_ok(&o->body)) {
		body = o->body.p ? o->body.p : "";
		len = o->body.len;
	} else {
		buf_free(&o->head);
		o->status = 500;
		o->ctype = json ? "application/json" :
		    "text/html; charset=utf-8";
		body = json ? OOM_JSON : OOM_HTML;
		len = strlen(body);
	}
	/*
	 * Straight to f, with no buffer of ours: stdio falls back to
	 * unbuffered writes when it cannot allocate its own, so even an
	 * allocation failing here costs no answer.
	 */
	fprintf(f, "Status: %d %s\r\n", o->status, out_reason(o->status));
	fprintf(f, "Content-Type: %s\r\n", o->ctype);
	fprintf(f, "Content-Length: %zu\r\n", len);
	fputs("Content-Security-Policy: " CSP "\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Frame-Options: DENY\r\n", f);
	fprintf(f, "Referrer-Policy: %s\r\n", o->referrer);
	fputs("Cache-Control: no-store\r\n", f);
	if (o->head.len)
		fwrite(o->head.p, 1, o->head.len, f);
	fputs("\r\n", f);
	if (!o->head_only && len)
		fwrite(body, 1, len, f);
	return fflush(f) != 0 || ferror(f) ? -1 : 0;
}
