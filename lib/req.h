/*
 * req: the one request parser.
 *
 * A program declares its fields once, as a table of {name, validator};
 * req_parse() fills req->fields[i] with the first value of field i that
 * passed its validator (NULL when absent or invalid).  GET fields come
 * from the query string, POST fields from the body only (a form, or a
 * JSON object whose top-level string members are treated as fields).
 * Malformed encoding is 400, an oversized body 413, an unknown content
 * type 415.  Parameter names outside [A-Za-z0-9_.-] are dropped.
 *
 * The struct owns everything it points to; req_free() releases it all.
 */
#ifndef SB_REQ_H
#define SB_REQ_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "cfg.h"
#include "valid.h"

#define REQ_MAX_BODY	(64 * 1024)
#define REQ_MAX_PARAMS	256
#define REQ_MAX_COOKIES	64

struct field {
	const char	*name;
	valid_fn	 valid;
};

enum req_method { M_GET = 1, M_HEAD = 2, M_POST = 4, M_OTHER = 8 };

struct param {
	char	*name;
	char	*val;
	size_t	 len;
};

struct req {
	enum req_method	 method;
	char		*path;		/* after the BASE_URL path; "/" at least */
	struct param	*params;	/* decoded, in order */
	size_t		 nparams;
	struct param	*cookies;
	size_t		 ncookies;
	json_t		*json;		/* a JSON object body, or NULL */
	const struct field *defs;
	size_t		 ndefs;
	const char	**fields;	/* ndefs entries, pointers into params */
	const char	*origin;	/* HTTP_ORIGIN */
	const char	*fetch_site;	/* HTTP_SEC_FETCH_SITE */
	const char	*csrf_header;	/* HTTP_X_CSRF_TOKEN */
	const char	*remote_addr;
	int		 wants_json;	/* Accept or body says JSON */
};

/*
 * Parse the CGI request from the environment and in.  Returns 0, or the
 * HTTP status to answer with (400, 404 outside BASE_URL's path, 413, 415,
 * 500 out of memory).  req is always safe to req_free() afterwards.
 */
int	 req_parse(struct req *, const struct cfg *, const struct field *,
	    size_t ndefs, FILE *in);
void	 req_free(struct req *);

/* The validated value of declared field i, or NULL. */
const char *req_get(const struct req *, size_t i);
/*
 * Every valid value of field i (repeated form fields, or the strings of
 * a JSON array member) into vals; returns how many, -1 when one of them
 * failed validation or there were more than max.
 */
int	 req_getall(const struct req *, size_t i, const char **vals, size_t max);
/* 1 when field i was sent at all (valid or not). */
int	 req_present(const struct req *, size_t i);
/* A cookie's value, or NULL. */
const char *req_cookie(const struct req *, const char *name);

/* Decode application/x-www-form-urlencoded data (exposed for tests). */
int	 req_parse_urlencoded(struct req *, const char *, size_t);
int	 req_parse_cookies(struct req *, const char *);

#endif
