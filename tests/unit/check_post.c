#include <stdlib.h>
#include <string.h>

#include "post.h"
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

static const struct post_target two[] = { { "1", "one" }, { "2", "two" } };

static int
collect(const char *ws, const char *id, void *arg)
{
	char	*s = arg;

	strcat(s, ws);
	strcat(s, ":");
	strcat(s, id);
	strcat(s, " ");
	return 0;
}

START_TEST(create_now_is_sending)
{
	struct post	 p;
	char		*id;

	ck_assert_int_eq(post_create(st, "acme", "mia", "hello", two, 2, 0, 1000,
	    &id), STORE_OK);
	ck_assert_int_eq(post_get(st, NULL, "acme", id, &p), STORE_OK);
	ck_assert_uint_eq(p.nd, 2);
	ck_assert_str_eq(p.d[0].state, "sending");
	ck_assert_str_eq(p.text, "hello");
	post_free(&p);
	ck_assert_int_eq(post_get(st, NULL, "other", id, &p), STORE_NOTFOUND);
	free(id);
}
END_TEST

START_TEST(settle_and_claim)
{
	struct outcome	 posted = { "posted", "123", NULL, 0 };
	struct outcome	 unknown = { "unknown", NULL, "timeout", 0 };
	struct post	 p;
	char		*id;

	ck_assert_int_eq(post_create(st, "acme", "mia", "t", two, 2, 0, 1000,
	    &id), STORE_OK);
	ck_assert_int_eq(post_settle(st, "acme", id, "1", &posted, 1001),
	    STORE_OK);
	ck_assert_int_eq(post_settle(st, "acme", id, "2", &unknown, 1001),
	    STORE_OK);
	/* Only an unknown (or failed) delivery can be taken again, once. */
	ck_assert_int_eq(post_claim(st, "acme", id, "1", "unknown failed",
	    1002), STORE_ABORT);
	ck_assert_int_eq(post_claim(st, "acme", id, "2", "unknown failed",
	    1002), STORE_OK);
	ck_assert_int_eq(post_claim(st, "acme", id, "2", "unknown failed",
	    1002), STORE_ABORT);
	ck_assert_int_eq(post_claim(st, "acme", id, "9", "unknown", 1002),
	    STORE_NOTFOUND);
	ck_assert_int_eq(post_get(st, NULL, "acme", id, &p), STORE_OK);
	ck_assert_str_eq(p.d[0].x_id, "123");
	ck_assert_str_eq(p.d[1].state, "sending");
	ck_assert_ptr_null(p.d[1].reason);
	post_free(&p);
	free(id);
}
END_TEST

START_TEST(scheduled_become_due)
{
	char	 seen[256] = "", **claimed;
	char	*id;
	size_t	 n;

	ck_assert_int_eq(post_create(st, "acme", "mia", "later", two, 2, 5000,
	    1000, &id), STORE_OK);
	ck_assert_int_eq(post_each_due(st, 4999, 10, collect, seen), STORE_OK);
	ck_assert_str_eq(seen, "");
	ck_assert_int_eq(post_each_due(st, 5000, 10, collect, seen), STORE_OK);
	ck_assert_ptr_nonnull(strstr(seen, "acme:"));
	ck_assert_int_eq(post_take_due(st, "acme", id, 5000, &claimed, &n),
	    STORE_OK);
	ck_assert_uint_eq(n, 2);
	free(claimed[0]);
	free(claimed[1]);
	free(claimed);
	/* Taken: a second scheduler finds nothing to claim. */
	ck_assert_int_eq(post_take_due(st, "acme", id, 5000, &claimed, &n),
	    STORE_OK);
	ck_assert_uint_eq(n, 0);
	free(claimed);
	free(id);
}
END_TEST

START_TEST(orphaned_sending_becomes_unknown)
{
	struct post	 p;
	char		 seen[256] = "", **claimed;
	char		*id;
	size_t		 n;

	ck_assert_int_eq(post_create(st, "acme", "mia", "x", two, 1, 0, 1000,
	    &id), STORE_OK);
	/* A killed sender leaves "sending": due for a look once stale. */
	ck_assert_int_eq(post_each_due(st, 1000 + POST_STALE_SENDING - 1, 10,
	    collect, seen), STORE_OK);
	ck_assert_str_eq(seen, "");
	ck_assert_int_eq(post_each_due(st, 1000 + POST_STALE_SENDING, 10,
	    collect, seen), STORE_OK);
	ck_assert_str_ne(seen, "");
	ck_assert_int_eq(post_take_due(st, "acme", id, 1000 +
	    POST_STALE_SENDING, &claimed, &n), STORE_OK);
	/* Never claimed for sending again: unknown, for the user to decide. */
	ck_assert_uint_eq(n, 0);
	free(claimed);
	ck_assert_int_eq(post_get(st, NULL, "acme", id, &p), STORE_OK);
	ck_assert_str_eq(p.d[0].state, "unknown");
	ck_assert_ptr_nonnull(strstr(p.d[0].reason, "may or may not"));
	post_free(&p);
	seen[0] = '\0';
	ck_assert_int_eq(post_each_due(st, 99999, 10, collect, seen), STORE_OK);
	ck_assert_str_eq(seen, "");
	free(id);
}
END_TEST

START_TEST(rate_limited_retry)
{
	struct outcome	 lim = { "rate_limited", NULL, "spent", 3000 };
	char		 seen[256] = "", **claimed;
	char		*id;
	size_t		 n;

	ck_assert_int_eq(post_create(st, "acme", "mia", "x", two, 1, 0, 1000,
	    &id), STORE_OK);
	ck_assert_int_eq(post_settle(st, "acme", id, "1", &lim, 1001), STORE_OK);
	ck_assert_int_eq(post_each_due(st, 2999, 10, collect, seen), STORE_OK);
	ck_assert_str_eq(seen, "");
	ck_assert_int_eq(post_take_due(st, "acme", id, 3000, &claimed, &n),
	    STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(claimed[0], "1");
	free(claimed[0]);
	free(claimed);
	free(id);
}
END_TEST

START_TEST(list_newest_first_and_paged)
{
	struct post	*list;
	char		*ids[5];
	size_t		 n, i;

	for (i = 0; i < 5; i++)
		ck_assert_int_eq(post_create(st, "acme", "mia", "p", two, 1, 0,
		    1000, &ids[i]), STORE_OK);
	ck_assert_int_eq(post_list(st, "acme", NULL, 2, &list, &n), STORE_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0].id, ids[4]);
	ck_assert_str_eq(list[1].id, ids[3]);
	post_list_free(list, n);
	ck_assert_int_eq(post_list(st, "acme", ids[3], 10, &list, &n), STORE_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(list[0].id, ids[2]);
	post_list_free(list, n);
	ck_assert_int_eq(post_list(st, "other", NULL, 10, &list, &n), STORE_OK);
	ck_assert_uint_eq(n, 0);
	post_list_free(list, n);
	for (i = 0; i < 5; i++)
		free(ids[i]);
}
END_TEST

Suite *
suite_post(void)
{
	Suite	*s = suite_create("post");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_now_is_sending);
	tcase_add_test(tc, settle_and_claim);
	tcase_add_test(tc, scheduled_become_due);
	tcase_add_test(tc, orphaned_sending_becomes_unknown);
	tcase_add_test(tc, rate_limited_retry);
	tcase_add_test(tc, list_newest_first_and_paged);
	suite_add_tcase(s, tc);
	return s;
}
