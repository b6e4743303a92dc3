#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "suites.h"

START_TEST(defaults)
{
	struct cfg	 c;
	char		 err[128];

	unsetenv("BASE_URL");
	unsetenv("SOSYABOT_KEY_FILE");
	setenv("SOSYABOT_DATA_DIR", "/d", 1);
	ck_assert_int_eq(cfg_load(&c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.base_url, "http://127.0.0.1:8080");
	ck_assert_str_eq(c.origin, "http://127.0.0.1:8080");
	ck_assert_str_eq(c.base_path, "");
	ck_assert_str_eq(c.callback_url,
	    "http://127.0.0.1:8080/api/v1/auth/twitter/callback");
	ck_assert_str_eq(c.key_file, "/d/master.key");
	ck_assert_str_eq(c.x_api, "https://api.x.com");
	ck_assert_int_eq(c.https, 0);
	cfg_free(&c);
}
END_TEST

START_TEST(sub_path_and_https)
{
	struct cfg	 c;
	char		 err[128];

	setenv("BASE_URL", "https://example.org/tools/sosyabot/", 1);
	ck_assert_int_eq(cfg_load(&c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.base_url, "https://example.org/tools/sosyabot");
	ck_assert_str_eq(c.origin, "https://example.org");
	ck_assert_str_eq(c.base_path, "/tools/sosyabot");
	ck_assert_str_eq(c.callback_url, "https://example.org/tools/sosyabot"
	    "/api/v1/auth/twitter/callback");
	ck_assert_int_eq(c.https, 1);
	cfg_free(&c);
	unsetenv("BASE_URL");
}
END_TEST

START_TEST(rejects_bad_base_url)
{
	static const char *bad[] = { "ftp://x", "example.org", "http://",
	    "http://a b", "http://x/\"><script>", "https:///path" };
	struct cfg	 c;
	char		 err[128];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("BASE_URL", bad[i], 1);
		ck_assert_msg(cfg_load(&c, err, sizeof(err)) == -1, "%s", bad[i]);
	}
	unsetenv("BASE_URL");
}
END_TEST

Suite *
suite_cfg(void)
{
	Suite	*s = suite_create("cfg");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, sub_path_and_https);
	tcase_add_test(tc, rejects_bad_base_url);
	suite_add_tcase(s, tc);
	return s;
}
