#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "suites.h"
#include "tmpdir.h"

static char		*dir;
static struct store	*st;

static void
setup(void)
{
	ck_assert_ptr_nonnull(dir = tmpdir_new());
	ck_assert_int_eq(store_open(&st, dir, 0), STORE_OK);
}

static void
teardown(void)
{
	store_close(st);
	tmpdir_rm(dir);
}

struct seen {
	char	 what[16][32];
	size_t	 n;
};

static int
collect(json_t *rec, void *arg)
{
	struct seen	*s = arg;

	snprintf(s->what[s->n++], 32, "%s",
	    json_string_value(json_object_get(rec, "what")));
	return 0;
}

START_TEST(newest_first_filtered_paged)
{
	struct audit_filter	 f;
	struct seen		 s;
	char			*last, *again;

	ck_assert_int_eq(audit_add(st, 1000, "mia", "acme", "10.0.0.1",
	    "signin.ok", "a"), STORE_OK);
	ck_assert_int_eq(audit_add(st, 1000, "olga", "other", NULL,
	    "signin.fail", "b"), STORE_OK);
	ck_assert_int_eq(audit_add(st, 2000, "mia", "acme", NULL,
	    "post.publish", "c"), STORE_OK);
	ck_assert_int_eq(audit_add(st, 3000, NULL, "acme", NULL,
	    "post.outcome", "d"), STORE_OK);
	memset(&f, 0, sizeof(f));
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(audit_each(st, &f, NULL, 10, collect, &s, &last),
	    STORE_OK);
	ck_assert_uint_eq(s.n, 4);
	/* Newest first; within a second, the later one first. */
	ck_assert_str_eq(s.what[0], "d");
	ck_assert_str_eq(s.what[2], "b");
	ck_assert_str_eq(s.what[3], "a");
	free(last);

	memset(&s, 0, sizeof(s));
	f.who = "mia";
	ck_assert_int_eq(audit_each(st, &f, NULL, 10, collect, &s, &last),
	    STORE_OK);
	ck_assert_uint_eq(s.n, 2);
	free(last);

	memset(&s, 0, sizeof(s));
	f.who = NULL;
	f.kind = "signin.";
	ck_assert_int_eq(audit_each(st, &f, NULL, 10, collect, &s, &last),
	    STORE_OK);
	ck_assert_uint_eq(s.n, 2);
	free(last);

	memset(&s, 0, sizeof(s));
	f.kind = NULL;
	f.from = 1500;
	f.to = 2500;
	ck_assert_int_eq(audit_each(st, &f, NULL, 10, collect, &s, &last),
	    STORE_OK);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.what[0], "c");
	free(last);

	/* Pages: two, then the rest after the last key given. */
	memset(&f, 0, sizeof(f));
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(audit_each(st, &f, NULL, 2, collect, &s, &last),
	    STORE_OK);
	ck_assert_uint_eq(s.n, 2);
	ck_assert(audit_key_ok(last));
	ck_assert_int_eq(audit_each(st, &f, last, 10, collect, &s, &again),
	    STORE_OK);
	ck_assert_uint_eq(s.n, 4);
	ck_assert_str_eq(s.what[2], "b");
	free(last);
	free(again);
}
END_TEST

START_TEST(retention)
{
	struct audit_filter	 f;
	struct seen		 s;
	time_t			 now = 400 * 86400;
	size_t			 n;
	char			*last;

	ck_assert_int_eq(audit_add(st, now - 366 * 86400, "a", NULL, NULL,
	    "k", "old"), STORE_OK);
	ck_assert_int_eq(audit_add(st, now - 364 * 86400, "a", NULL, NULL,
	    "k", "young"), STORE_OK);
	ck_assert_int_eq(audit_purge(st, now, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	/* Once a day is enough. */
	ck_assert_int_eq(audit_add(st, now - 999 * 86400, "a", NULL, NULL,
	    "k", "older still"), STORE_OK);
	ck_assert_int_eq(audit_purge(st, now + 10, &n), STORE_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(audit_purge(st, now + 86400, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	memset(&f, 0, sizeof(f));
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(audit_each(st, &f, NULL, 10, collect, &s, &last),
	    STORE_OK);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.what[0], "young");
	free(last);
}
END_TEST

Suite *
suite_audit(void)
{
	Suite	*s = suite_create("audit");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, newest_first_filtered_paged);
	tcase_add_test(tc, retention);
	suite_add_tcase(s, tc);
	return s;
}
