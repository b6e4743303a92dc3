#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "suites.h"

/* Send o into a string (caller frees). */
static char *
sent(struct out *o)
{
	char	*s = NULL;
	size_t	 n = 0;
	FILE	*f = open_memstream(&s, &n);

	ck_assert_int_eq(out_send(o, f), 0);
	fclose(f);
	return s;
}

START_TEST(escapes_by_default)
{
	struct out	 o;

	out_init(&o);
	out_html(&o, "<p title=\"%s\">%s</p><a href=\"/x?q=%u\">%d%%</a>",
	    "\"><script>", "<b>&'", "a b&c=d/é", 42);
	ck_assert_str_eq(buf_str(&o.body), "<p title=\"&quot;&gt;&lt;script"
	    "&gt;\">&lt;b&gt;&amp;&#39;</p><a href=\"/x?q=a%20b%26c%3Dd%2F%C3"
	    "%A9\">42%</a>");
	out_free(&o);
}
END_TEST

START_TEST(headers_refuse_crlf)
{
	struct out	 o;
	char		*s;

	out_init(&o);
	ck_assert_int_eq(out_header(&o, "X-A", "fine"), 0);
	ck_assert_int_eq(out_header(&o, "Location", "/x\r\nSet-Cookie: a=b"),
	    -1);
	ck_assert_int_eq(out_header(&o, "Bad\r\nName", "v"), -1);
	s = sent(&o);
	/* A refused header turns the whole reply into an error. */
	ck_assert_ptr_nonnull(strstr(s, "Status: 500"));
	ck_assert_ptr_null(strstr(s, "Set-Cookie"));
	free(s);
	out_free(&o);
}
END_TEST

START_TEST(security_headers_and_length)
{
	struct out	 o;
	char		*s;

	out_init(&o);
	out_html(&o, "hello");
	s = sent(&o);
	ck_assert(strncmp(s, "Status: 200 OK\r\n", 16) == 0);
	ck_assert_ptr_nonnull(strstr(s, "Content-Length: 5\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "Content-Security-Policy: default-src "
	    "'self'; object-src 'none'; base-uri 'none'; frame-ancestors "
	    "'none'\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "X-Content-Type-Options: nosniff\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "Referrer-Policy: same-origin\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "Cache-Control: no-store\r\n"));
	ck_assert(strcmp(s + strlen(s) - 9, "\r\n\r\nhello") == 0);
	free(s);
	out_free(&o);
}
END_TEST

START_TEST(errors_replace_body)
{
	struct out	 o;
	char		*s;

	out_init(&o);
	out_html(&o, "half a page");
	out_error(&o, 503, "Try <again>.");
	s = sent(&o);
	ck_assert_ptr_null(strstr(s, "half a page"));
	ck_assert_ptr_nonnull(strstr(s, "Status: 503 Service Unavailable"));
	ck_assert_ptr_nonnull(strstr(s, "Try &lt;again&gt;."));
	free(s);
	out_free(&o);

	out_init(&o);
	o.json_errors = 1;
	out_error(&o, 404, "Not \"here\".");
	s = sent(&o);
	ck_assert_ptr_nonnull(strstr(s, "Content-Type: application/json"));
	ck_assert_ptr_nonnull(strstr(s, "{\"error\":{\"status\":404,"
	    "\"message\":\"Not \\\"here\\\".\"}}"));
	free(s);
	out_free(&o);
}
END_TEST

START_TEST(head_has_no_body)
{
	struct out	 o;
	char		*s;

	out_init(&o);
	o.head_only = 1;
	out_html(&o, "body");
	s = sent(&o);
	ck_assert_ptr_nonnull(strstr(s, "Content-Length: 4"));
	ck_assert_ptr_null(strstr(s, "\r\n\r\nbody"));
	free(s);
	out_free(&o);
}
END_TEST

Suite *
suite_out(void)
{
	Suite	*s = suite_create("out");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, escapes_by_default);
	tcase_add_test(tc, headers_refuse_crlf);
	tcase_add_test(tc, security_headers_and_length);
	tcase_add_test(tc, errors_replace_body);
	tcase_add_test(tc, head_has_no_body);
	suite_add_tcase(s, tc);
	return s;
}
