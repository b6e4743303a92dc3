#include <stdlib.h>
#include <string.h>

#include "sess.h"
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

START_TEST(create_load_delete)
{
	struct sess	 s, l;
	char		*id, *v;
	size_t		 n;
	time_t		 t = 2000000;

	ck_assert_int_eq(sess_create(st, "alice", t, &id, &s), STORE_OK);
	ck_assert_uint_eq(strlen(id), SESS_TOKEN_LEN);
	/* Only the hash is stored: the id itself is in no record. */
	ck_assert_int_eq(store_get(st, NULL, SDB_SESSIONS, id, &v, &n),
	    STORE_NOTFOUND);
	ck_assert_int_eq(sess_load(st, id, t + 10, &l), STORE_OK);
	ck_assert_str_eq(l.user, "alice");
	ck_assert_str_eq(l.key, s.key);
	sess_free(&l);
	ck_assert_int_eq(sess_load(st, "x", t, &l), STORE_NOTFOUND);
	ck_assert_int_eq(sess_delete(st, s.key), STORE_OK);
	ck_assert_int_eq(sess_load(st, id, t + 10, &l), STORE_NOTFOUND);
	sess_free(&s);
	free(id);
}
END_TEST

START_TEST(expiry)
{
	struct sess	 s, l;
	char		*id;
	time_t		 t = time(NULL);

	ck_assert_int_eq(sess_create(st, "bob", t, &id, &s), STORE_OK);
	ck_assert_int_eq(sess_load(st, id, t + SESS_IDLE + 1, &l),
	    STORE_NOTFOUND);
	ck_assert_int_eq(sess_touch(st, s.key, t + SESS_IDLE), STORE_OK);
	ck_assert_int_eq(sess_load(st, id, t + SESS_IDLE + 1, &l), STORE_OK);
	sess_free(&l);
	ck_assert_int_eq(sess_load(st, id, t + SESS_MAX + 1, &l),
	    STORE_NOTFOUND);
	sess_free(&s);
	free(id);
}
END_TEST

START_TEST(csrf)
{
	char	 a[SESS_TOKEN_LEN + 1], b[SESS_TOKEN_LEN + 1];

	sess_csrf("one-session-id-of-enough-length-xxxxxxxxxxx", a);
	sess_csrf("two-session-id-of-enough-length-xxxxxxxxxxx", b);
	ck_assert_uint_eq(strlen(a), SESS_TOKEN_LEN);
	ck_assert_str_ne(a, b);
	ck_assert(sess_csrf_ok(a, a));
	ck_assert(!sess_csrf_ok(a, b));
	ck_assert(!sess_csrf_ok(a, NULL));
	ck_assert(!sess_csrf_ok(a, ""));
	ck_assert(!sess_csrf_ok("", ""));
}
END_TEST

START_TEST(cookie_flags)
{
	struct cfg	 c;
	char		 err[64], *v;

	setenv("BASE_URL", "https://example.org", 1);
	ck_assert_int_eq(cfg_load(&c, err, sizeof(err)), 0);
	ck_assert_str_eq(sess_cookie(&c), "__Host-sid");
	v = sess_cookie_value(&c, sess_cookie(&c), "abc", -1);
	ck_assert_str_eq(v, "__Host-sid=abc; Path=/; HttpOnly; SameSite=Lax; "
	    "Secure");
	free(v);
	cfg_free(&c);
	unsetenv("BASE_URL");
	ck_assert_int_eq(cfg_load(&c, err, sizeof(err)), 0);
	v = sess_cookie_value(&c, sess_cookie(&c), "", 0);
	ck_assert_str_eq(v, "sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
	free(v);
	cfg_free(&c);
}
END_TEST

Suite *
suite_sess(void)
{
	Suite	*s = suite_create("sess");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_load_delete);
	tcase_add_test(tc, expiry);
	tcase_add_test(tc, csrf);
	tcase_add_test(tc, cookie_flags);
	suite_add_tcase(s, tc);
	return s;
}
