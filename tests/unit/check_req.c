#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req.h"
#include "suites.h"

enum { F_NAME, F_TEXT, F_CHANNEL, F__MAX };

static const struct field defs[F__MAX] = {
	[F_NAME] = { "name", valid_name },
	[F_TEXT] = { "text", valid_text },
	[F_CHANNEL] = { "channel", valid_uint },
};

static struct cfg	 cfg;

static void
setup(void)
{
	char	 err[64];

	unsetenv("BASE_URL");
	cfg_load(&cfg, err, sizeof(err));
	unsetenv("CONTENT_TYPE");
	unsetenv("CONTENT_LENGTH");
	unsetenv("HTTP_COOKIE");
	unsetenv("HTTP_ACCEPT");
}

static void
teardown(void)
{
	cfg_free(&cfg);
}

/* Parse a request with the given method, URI and body. */
static int
parse(struct req *r, const char *method, const char *uri, const char *ctype,
    const char *body)
{
	char	 len[32];
	FILE	*in;
	int	 rc;

	setenv("REQUEST_METHOD", method, 1);
	setenv("REQUEST_URI", uri, 1);
	if (ctype)
		setenv("CONTENT_TYPE", ctype, 1);
	else
		unsetenv("CONTENT_TYPE");
	snprintf(len, sizeof(len), "%zu", body ? strlen(body) : 0);
	setenv("CONTENT_LENGTH", len, 1);
	in = fmemopen((void *)(body ? body : ""), body && *body ?
	    strlen(body) : 1, "r");
	rc = req_parse(r, &cfg, defs, F__MAX, in);
	fclose(in);
	return rc;
}

START_TEST(query_fields)
{
	struct req	 r;

	ck_assert_int_eq(parse(&r, "GET", "/p?name=al%69ce&text=a+b%0Ac"
	    "&bad%20name=x&&channel=12", NULL, NULL), 0);
	ck_assert_str_eq(r.path, "/p");
	ck_assert_str_eq(req_get(&r, F_NAME), "alice");
	ck_assert_str_eq(req_get(&r, F_TEXT), "a b\nc");
	ck_assert_str_eq(req_get(&r, F_CHANNEL), "12");
	ck_assert_int_eq(r.nparams, 3);	/* "bad name" dropped */
	req_free(&r);
}
END_TEST

START_TEST(invalid_is_absent)
{
	struct req	 r;

	ck_assert_int_eq(parse(&r, "GET", "/?name=a%2Fb&name=second", NULL,
	    NULL), 0);
	/* The first valid value wins; an invalid one is simply absent. */
	ck_assert_str_eq(req_get(&r, F_NAME), "second");
	ck_assert(req_present(&r, F_NAME));
	ck_assert(!req_present(&r, F_TEXT));
	req_free(&r);
}
END_TEST

START_TEST(malformed_encoding)
{
	static const char *bad[] = { "/?name=%", "/?name=%4", "/?name=%zz",
	    "/?name=a%00b", "/?%=x" };
	struct req	 r;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(&r, "GET", bad[i], NULL, NULL) == 400, "%s",
		    bad[i]);
		req_free(&r);
	}
}
END_TEST

START_TEST(post_body_only)
{
	struct req	 r;

	ck_assert_int_eq(parse(&r, "POST", "/p?name=fromquery",
	    "application/x-www-form-urlencoded; charset=UTF-8",
	    "text=hello&channel=1&channel=2"), 0);
	ck_assert_ptr_null(req_get(&r, F_NAME));
	ck_assert_str_eq(req_get(&r, F_TEXT), "hello");
	{
		const char	*v[4];

		ck_assert_int_eq(req_getall(&r, F_CHANNEL, v, 4), 2);
		ck_assert_str_eq(v[1], "2");
		ck_assert_int_eq(req_getall(&r, F_CHANNEL, v, 1), -1);
	}
	req_free(&r);
}
END_TEST

START_TEST(json_body)
{
	struct req	 r;
	const char	*v[4];

	ck_assert_int_eq(parse(&r, "POST", "/api/v1/posts", "application/json",
	    "{\"text\":\"hi\",\"channel\":[\"3\",\"4\"],\"n\":1}"), 0);
	ck_assert_str_eq(req_get(&r, F_TEXT), "hi");
	ck_assert_int_eq(req_getall(&r, F_CHANNEL, v, 4), 2);
	ck_assert_str_eq(v[0], "3");
	req_free(&r);
	ck_assert_int_eq(parse(&r, "POST", "/", "application/json",
	    "{\"channel\":[\"x\"]}"), 0);
	ck_assert_int_eq(req_getall(&r, F_CHANNEL, v, 4), -1);
	req_free(&r);
	ck_assert_int_eq(parse(&r, "POST", "/", "application/json", "[1]"), 400);
	req_free(&r);
	ck_assert_int_eq(parse(&r, "POST", "/", "application/json",
	    "{\"a\":1,\"a\":2}"), 400);
	req_free(&r);
	ck_assert_int_eq(parse(&r, "POST", "/", "application/json",
	    "{\"text\":\"a\\u0000b\"}"), 400);
	req_free(&r);
	ck_assert_int_eq(parse(&r, "POST", "/", "application/json", "{"), 400);
	req_free(&r);
}
END_TEST

START_TEST(limits_and_types)
{
	struct req	 r;
	FILE		*in;

	setenv("REQUEST_METHOD", "POST", 1);
	setenv("REQUEST_URI", "/", 1);
	setenv("CONTENT_TYPE", "application/x-www-form-urlencoded", 1);
	setenv("CONTENT_LENGTH", "70000", 1);
	in = fmemopen((void *)"x", 1, "r");
	ck_assert_int_eq(req_parse(&r, &cfg, defs, F__MAX, in), 413);
	req_free(&r);
	/* A body shorter than announced is malformed. */
	setenv("CONTENT_LENGTH", "10", 1);
	rewind(in);
	ck_assert_int_eq(req_parse(&r, &cfg, defs, F__MAX, in), 400);
	req_free(&r);
	setenv("CONTENT_LENGTH", "-1", 1);
	rewind(in);
	ck_assert_int_eq(req_parse(&r, &cfg, defs, F__MAX, in), 400);
	req_free(&r);
	fclose(in);
	ck_assert_int_eq(parse(&r, "POST", "/", "multipart/form-data; b=x",
	    "x"), 415);
	req_free(&r);
}
END_TEST

START_TEST(cookies)
{
	struct req	 r;

	setenv("HTTP_COOKIE", "sid=abc; other=\"q\";sid=second; bad name=x;"
	    " empty=", 1);
	ck_assert_int_eq(parse(&r, "GET", "/", NULL, NULL), 0);
	ck_assert_str_eq(req_cookie(&r, "sid"), "abc");
	ck_assert_str_eq(req_cookie(&r, "other"), "q");
	ck_assert_str_eq(req_cookie(&r, "empty"), "");
	ck_assert_ptr_null(req_cookie(&r, "missing"));
	req_free(&r);
	unsetenv("HTTP_COOKIE");
}
END_TEST

START_TEST(base_path)
{
	struct req	 r;
	char		 err[64];

	cfg_free(&cfg);
	setenv("BASE_URL", "http://h/sub", 1);
	cfg_load(&cfg, err, sizeof(err));
	ck_assert_int_eq(parse(&r, "GET", "/sub/login?x=1", NULL, NULL), 0);
	ck_assert_str_eq(r.path, "/login");
	req_free(&r);
	ck_assert_int_eq(parse(&r, "GET", "/sub", NULL, NULL), 0);
	ck_assert_str_eq(r.path, "/");
	req_free(&r);
	ck_assert_int_eq(parse(&r, "GET", "/subway/login", NULL, NULL), 404);
	req_free(&r);
	ck_assert_int_eq(parse(&r, "GET", "/login", NULL, NULL), 404);
	req_free(&r);
	unsetenv("BASE_URL");
}
END_TEST

Suite *
suite_req(void)
{
	Suite	*s = suite_create("req");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, query_fields);
	tcase_add_test(tc, invalid_is_absent);
	tcase_add_test(tc, malformed_encoding);
	tcase_add_test(tc, post_body_only);
	tcase_add_test(tc, json_body);
	tcase_add_test(tc, limits_and_types);
	tcase_add_test(tc, cookies);
	tcase_add_test(tc, base_path);
	suite_add_tcase(s, tc);
	return s;
}
