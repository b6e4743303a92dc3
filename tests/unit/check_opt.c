#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "suites.h"
#include "tmpdir.h"

static char		*dir;
static struct store	*st;
static struct crypto_key *key;
static struct cfg	 cfg;

static void
setup(void)
{
	char	 err[256], path[512];

	ck_assert_ptr_nonnull(dir = tmpdir_new());
	ck_assert_int_eq(store_open(&st, dir, 0), STORE_OK);
	snprintf(path, sizeof(path), "%s/master.key", dir);
	ck_assert_int_eq(crypto_key_create(path, err, sizeof(err)), 0);
	ck_assert_int_eq(crypto_key_load(path, &key, err, sizeof(err)), 0);
	unsetenv("TWITTER_CLIENT_ID");
	unsetenv("TWITTER_CLIENT_SECRET");
	ck_assert_int_eq(cfg_load(&cfg, err, sizeof(err)), 0);
}

static void
teardown(void)
{
	cfg_free(&cfg);
	crypto_key_free(key);
	store_close(st);
	tmpdir_rm(dir);
}

START_TEST(secret_sealed)
{
	char	*v, *s;

	ck_assert_int_eq(opt_set(st, key, OPT_X_CLIENT_SECRET, "s3cr3t-value"),
	    STORE_OK);
	ck_assert_int_eq(opt_get(st, NULL, OPT_X_CLIENT_SECRET, &v), STORE_OK);
	ck_assert(crypto_is_sealed(v));
	ck_assert_ptr_null(strstr(v, "s3cr3t"));
	free(v);
	{
		struct xcreds	 x;

		ck_assert_int_eq(opt_x_resolve(st, &cfg, &x), STORE_OK);
		ck_assert_int_eq(x.secret_src, SRC_PANEL);
		ck_assert_ptr_nonnull(s = opt_x_secret(st, &cfg, key, &x));
		ck_assert_str_eq(s, "s3cr3t-value");
		free(s);
		xcreds_free(&x);
	}
	ck_assert_int_eq(opt_verify(st, key), 0);
}
END_TEST

START_TEST(resolution_order)
{
	struct xcreds	 x;
	char		 err[64];

	ck_assert_int_eq(opt_x_resolve(st, &cfg, &x), STORE_OK);
	ck_assert_ptr_null(x.client_id);
	ck_assert_str_eq(opt_x_refusal(&x), "Twitter integration disabled: "
	    "client id/secret not configured");
	xcreds_free(&x);

	cfg_free(&cfg);
	setenv("TWITTER_CLIENT_ID", "env-id", 1);
	setenv("TWITTER_CLIENT_SECRET", "env-secret", 1);
	ck_assert_int_eq(cfg_load(&cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(opt_x_resolve(st, &cfg, &x), STORE_OK);
	ck_assert_str_eq(x.client_id, "env-id");
	ck_assert_int_eq(x.id_src, SRC_ENV);
	ck_assert_int_eq(x.secret_src, SRC_ENV);
	ck_assert_ptr_null(opt_x_refusal(&x));
	xcreds_free(&x);

	/* The panel wins per value. */
	ck_assert_int_eq(opt_set(st, key, OPT_X_CLIENT_ID, "panel-id"),
	    STORE_OK);
	ck_assert_int_eq(opt_x_resolve(st, &cfg, &x), STORE_OK);
	ck_assert_str_eq(x.client_id, "panel-id");
	ck_assert_int_eq(x.id_src, SRC_PANEL);
	ck_assert_int_eq(x.secret_src, SRC_ENV);
	xcreds_free(&x);

	ck_assert_int_eq(opt_set(st, key, OPT_X_STATUS, "disable"), STORE_OK);
	ck_assert_int_eq(opt_x_resolve(st, &cfg, &x), STORE_OK);
	ck_assert_str_eq(opt_x_refusal(&x),
	    "X (Twitter) integration disabled by admin");
	xcreds_free(&x);
	unsetenv("TWITTER_CLIENT_ID");
	unsetenv("TWITTER_CLIENT_SECRET");
}
END_TEST

START_TEST(apply_all_or_nothing)
{
	struct opt_change ch[] = {
		{ OPT_X_CLIENT_ID, "good-id" },
		{ OPT_X_STATUS, "maybe" },
	};
	char	*v;

	ck_assert_int_eq(opt_apply(st, key, ch, 2), STORE_ABORT);
	ck_assert_int_eq(opt_get(st, NULL, OPT_X_CLIENT_ID, &v),
	    STORE_NOTFOUND);
	ch[1].val = "enable";
	ck_assert_int_eq(opt_apply(st, key, ch, 2), STORE_OK);
	ck_assert_int_eq(opt_get(st, NULL, OPT_X_CLIENT_ID, &v), STORE_OK);
	ck_assert_str_eq(v, "good-id");
	free(v);
	/* An empty value removes the key. */
	ch[0].val = "";
	ck_assert_int_eq(opt_apply(st, key, ch, 1), STORE_OK);
	ck_assert_int_eq(opt_get(st, NULL, OPT_X_CLIENT_ID, &v),
	    STORE_NOTFOUND);
	ck_assert_int_eq(opt_set(st, key, "no-such-key", "x"), STORE_ABORT);
	ck_assert_int_eq(opt_set(st, key, OPT_X_CLIENT_ID, "has space"),
	    STORE_ABORT);
	ck_assert_int_eq(opt_unset(st, OPT_X_CLIENT_ID), STORE_OK);
}
END_TEST

Suite *
suite_opt(void)
{
	Suite	*s = suite_create("opt");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, secret_sealed);
	tcase_add_test(tc, resolution_order);
	tcase_add_test(tc, apply_all_or_nothing);
	suite_add_tcase(s, tc);
	return s;
}
