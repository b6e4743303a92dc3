#include <string.h>

#include "suites.h"
#include "valid.h"

#define OK(fn, s)	ck_assert_msg(fn(s, sizeof(s) - 1), #fn " %s", s)
#define NO(fn, s)	ck_assert_msg(!fn(s, sizeof(s) - 1), #fn " !%s", s)

START_TEST(utf8)
{
	OK(valid_utf8, "plain");
	OK(valid_utf8, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
	NO(valid_utf8, "\xc0\xaf");		/* overlong '/' */
	NO(valid_utf8, "\xe0\x80\xaf");		/* overlong */
	NO(valid_utf8, "\xed\xa0\x80");		/* surrogate */
	NO(valid_utf8, "\xf4\x90\x80\x80");	/* > U+10FFFF */
	NO(valid_utf8, "\xe6\x97");		/* truncated */
	NO(valid_utf8, "\x80");			/* lone continuation */
	NO(valid_utf8, "a\0b");
}
END_TEST

START_TEST(lines_and_text)
{
	OK(valid_line, "hello world");
	NO(valid_line, "two\nlines");
	NO(valid_line, "bell\a");
	NO(valid_line, "del\x7f");
	OK(valid_text, "two\r\nlines\tand tab");
	NO(valid_text, "esc\x1b[0m");
}
END_TEST

START_TEST(names_words_tokens)
{
	OK(valid_name, "alice");
	OK(valid_name, "a.b-c_d9");
	NO(valid_name, "");
	NO(valid_name, ".hidden");
	NO(valid_name, "a b");
	NO(valid_name, "a/b");
	NO(valid_name, "01234567890123456789012345678901234567890123456789012345678901234");
	OK(valid_word, "remove_secret");
	NO(valid_word, "Save");
	NO(valid_word, "");
	OK(valid_token, "abcdefghijklmnop-_AZ09");
	NO(valid_token, "short");
	NO(valid_token, "abcdefghijklmnop+/==");
	OK(valid_cred, "");
	OK(valid_cred, "Zm9vYmFy-._~!");
	NO(valid_cred, "has space");
	NO(valid_cred, "tab\there");
	NO(valid_cred, "caf\xc3\xa9");
	OK(valid_status, "enable");
	OK(valid_status, "disable");
	NO(valid_status, "Enable");
	NO(valid_status, "enabled");
	OK(valid_uint, "0");
	NO(valid_uint, "-1");
	NO(valid_uint, "12345678901234567890");
}
END_TEST

START_TEST(local_paths)
{
	OK(valid_local_path, "/");
	OK(valid_local_path, "/admin/api-integration/x-twitter");
	NO(valid_local_path, "//evil.example");
	NO(valid_local_path, "/\\evil.example");
	NO(valid_local_path, "https://evil.example");
	NO(valid_local_path, "/a\r\nSet-Cookie: x=y");
	NO(valid_local_path, "");
}
END_TEST

Suite *
suite_valid(void)
{
	Suite	*s = suite_create("valid");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, utf8);
	tcase_add_test(tc, lines_and_text);
	tcase_add_test(tc, names_words_tokens);
	tcase_add_test(tc, local_paths);
	suite_add_tcase(s, tc);
	return s;
}
