#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "suites.h"

START_TEST(grows_and_formats)
{
	struct buf	 b = { 0 };
	int		 i;

	ck_assert_str_eq(buf_str(&b), "");
	for (i = 0; i < 1000; i++)
		buf_addf(&b, "%d,", i);
	ck_assert(buf_ok(&b));
	ck_assert_uint_eq(strlen(buf_str(&b)), b.len);
	ck_assert(strncmp(b.p, "0,1,2,", 6) == 0);
	buf_reset(&b);
	ck_assert_str_eq(buf_str(&b), "");
	buf_addc(&b, 'x');
	buf_adds(&b, "yz");
	ck_assert_str_eq(buf_str(&b), "xyz");
	buf_free(&b);
}
END_TEST

START_TEST(detach_owns)
{
	struct buf	 b = { 0 };
	char		*s;

	s = buf_detach(&b);
	ck_assert_str_eq(s, "");
	free(s);
	buf_add(&b, "a\0b", 3);
	ck_assert_uint_eq(b.len, 3);
	s = buf_detach(&b);
	ck_assert(memcmp(s, "a\0b", 4) == 0);
	ck_assert_ptr_null(b.p);
	free(s);
}
END_TEST

Suite *
suite_buf(void)
{
	Suite	*s = suite_create("buf");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, grows_and_formats);
	tcase_add_test(tc, detach_owns);
	suite_add_tcase(s, tc);
	return s;
}
