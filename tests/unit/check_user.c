#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tmpdir.h"
#include "user.h"

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

static void
count(const struct user *u, void *arg)
{
	(void)u;
	(*(int *)arg)++;
}

START_TEST(add_get_del)
{
	struct user	 u;
	int		 n = 0;

	ck_assert_int_eq(user_add(st, "alice", "acme", ROLE_ADMIN,
	    "correct horse"), STORE_OK);
	ck_assert_int_eq(user_add(st, "alice", "other", ROLE_MEMBER,
	    "another one"), STORE_EXISTS);
	ck_assert_int_eq(user_add(st, "bad name", "acme", ROLE_MEMBER,
	    "long enough"), STORE_ABORT);
	ck_assert_int_eq(user_add(st, "bob", "acme", ROLE_MEMBER, "short"),
	    STORE_ABORT);
	ck_assert_int_eq(user_get(st, "alice", &u), STORE_OK);
	ck_assert_str_eq(u.workspace, "acme");
	ck_assert_int_eq(u.role, ROLE_ADMIN);
	user_free(&u);
	ck_assert_int_eq(user_each(st, count, &n), STORE_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(user_del(st, "alice"), STORE_OK);
	ck_assert_int_eq(user_get(st, "alice", &u), STORE_NOTFOUND);
	ck_assert_int_eq(user_del(st, "alice"), STORE_NOTFOUND);
}
END_TEST

START_TEST(auth_and_backoff)
{
	struct user	 u;
	long		 retry;
	time_t		 t = 1000000;
	int		 i;

	ck_assert_int_eq(user_add(st, "carol", "acme", ROLE_MEMBER,
	    "right password"), STORE_OK);
	ck_assert_int_eq(user_auth(st, "carol", "right password", t, &u,
	    &retry), AUTH_OK);
	ck_assert_str_eq(u.name, "carol");
	user_free(&u);
	ck_assert_int_eq(user_auth(st, "nobody", "x", t, &u, &retry), AUTH_BAD);
	for (i = 1; i < USER_LOCK_AFTER; i++)
		ck_assert_int_eq(user_auth(st, "carol", "wrong", t, &u, &retry),
		    AUTH_BAD);
	/* The fifth failure locks; while locked even the right one waits. */
	ck_assert_int_eq(user_auth(st, "carol", "wrong", t, &u, &retry),
	    AUTH_LOCKED);
	ck_assert_int_eq(retry, USER_LOCK_BASE);
	ck_assert_int_eq(user_auth(st, "carol", "right password", t + 1, &u,
	    &retry), AUTH_LOCKED);
	ck_assert_int_eq(retry, USER_LOCK_BASE - 1);
	/* Failing on after the lock doubles it. */
	ck_assert_int_eq(user_auth(st, "carol", "wrong", t + USER_LOCK_BASE,
	    &u, &retry), AUTH_LOCKED);
	ck_assert_int_eq(retry, 2 * USER_LOCK_BASE);
	ck_assert_int_eq(user_auth(st, "carol", "wrong",
	    t + 3 * USER_LOCK_BASE, &u, &retry), AUTH_LOCKED);
	ck_assert_int_eq(retry, 4 * USER_LOCK_BASE);
	/* A success after the lock resets the count. */
	ck_assert_int_eq(user_auth(st, "carol", "right password",
	    t + 7 * USER_LOCK_BASE, &u, &retry), AUTH_OK);
	user_free(&u);
	ck_assert_int_eq(user_auth(st, "carol", "wrong",
	    t + 7 * USER_LOCK_BASE, &u, &retry), AUTH_BAD);
	/* A new password clears the lock too. */
	ck_assert_int_eq(user_passwd(st, "carol", "new password"), STORE_OK);
	ck_assert_int_eq(user_auth(st, "carol", "new password",
	    t + 7 * USER_LOCK_BASE, &u, &retry), AUTH_OK);
	user_free(&u);
}
END_TEST

static void
ws_count(const char *name, void *arg)
{
	(void)name;
	(*(int *)arg)++;
}

START_TEST(workspaces)
{
	int	 n = 0;

	ck_assert_int_eq(workspace_add(st, "acme"), STORE_OK);
	ck_assert_int_eq(workspace_add(st, "acme"), STORE_OK);
	ck_assert_int_eq(workspace_add(st, "../x"), STORE_ABORT);
	ck_assert_int_eq(user_add(st, "dan", "beta", ROLE_MEMBER,
	    "dan's password"), STORE_OK);
	ck_assert_int_eq(workspace_each(st, ws_count, &n), STORE_OK);
	ck_assert_int_eq(n, 2);
}
END_TEST

Suite *
suite_user(void)
{
	Suite	*s = suite_create("user");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, add_get_del);
	tcase_add_test(tc, auth_and_backoff);
	tcase_add_test(tc, workspaces);
	suite_add_tcase(s, tc);
	return s;
}
