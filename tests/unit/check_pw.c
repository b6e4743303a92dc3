/*
 * pw: the PBKDF2 known answer, the stored format, and refusal of
 * malformed or weakened hashes.  Each derivation at the real cost takes
 * a noticeable fraction of a second, so the tests that pay it are few.
 */
#include <stdlib.h>
#include <string.h>

#include "pw.h"
#include "pw_int.h"
#include "suites.h"

/* RFC 7914 §11: PBKDF2-HMAC-SHA256, P "passwd", S "salt", c 1, 64 bytes. */
START_TEST(test_pbkdf2_rfc7914)
{
	static const unsigned char want[64] = {
		0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f,
		0xec, 0x16, 0x91, 0xc2, 0x25, 0x44, 0xb6, 0x05,
		0xf9, 0x41, 0x85, 0x21, 0x6d, 0xde, 0x04, 0x65,
		0xe6, 0x8b, 0x9d, 0x57, 0xc2, 0x0d, 0xac, 0xbc,
		0x49, 0xca, 0x9c, 0xcc, 0xf1, 0x79, 0xb6, 0x45,
		0x99, 0x16, 0x64, 0xb3, 0x9d, 0x77, 0xef, 0x31,
		0x7c, 0x71, 0xb8, 0x45, 0xb1, 0xe3, 0x0b, 0xd5,
		0x09, 0x11, 0x20, 0x41, 0xd3, 0xa1, 0x97, 0x83,
	};
	unsigned char	 got[64];

	ck_assert_int_eq(pw_pbkdf2("passwd", 6, (const unsigned char *)"salt",
	    4, 1, got, sizeof(got)), 0);
	ck_assert_mem_eq(got, want, sizeof(want));
}
END_TEST

START_TEST(test_hash_verify)
{
	const char	*pw = "correct horse battery staple";
	char		*a, *b, *salt, *hash;

	ck_assert_ptr_nonnull(a = pw_hash(pw));
	ck_assert_ptr_nonnull(b = pw_hash(pw));
	ck_assert_int_eq(strncmp(a, "pbkdf2-sha256$600000$", 21), 0);
	/* 16 bytes of salt and 32 of hash, unpadded base64url. */
	ck_assert_ptr_nonnull(salt = strchr(a + 21, '$'));
	ck_assert_int_eq(salt - (a + 21), 22);
	hash = salt + 1;
	ck_assert_uint_eq(strlen(hash), 43);
	/* A fresh salt each time: equal passwords do not show. */
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(pw_verify(pw, a), 1);
	ck_assert_int_eq(pw_verify("correct horse battery stapler", b), 0);
	free(a);
	free(b);
}
END_TEST

/*
 * Made by another implementation (Python's hashlib.pbkdf2_hmac), with
 * more than the minimum iterations and a non-ASCII password.
 */
START_TEST(test_verify_known)
{
	ck_assert_int_eq(pw_verify("correct horse \xc3\xa7",
	    "pbkdf2-sha256$600001$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg"), 1);
}
END_TEST

/* Salt "EBESExQVFhcYGRobHB0eHw" is 16 bytes, hash "P9X1...Jmg" 32. */
static const char *const malformed[] = {
	"",
	"pbkdf2-sha256",
	"pbkdf2-sha256$",
	"pbkdf2-sha1$600000$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg",
	"PBKDF2-SHA256$600000$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg",
	/* iteration counts: too low, too high, odd spellings */
	"pbkdf2-sha256$599999$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg",
	"pbkdf2-sha256$1$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg",
	"pbkdf2-sha256$10000001$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg",
	"pbkdf2-sha256$99999999999999999999999$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg",
	"pbkdf2-sha256$0600000$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg",
	"pbkdf2-sha256$+600000$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg",
	"pbkdf2-sha256$ 600000$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg",
	"pbkdf2-sha256$600000x$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg",
	"pbkdf2-sha256$$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg",
	/* fields missing, extra, empty or badly encoded */
	"pbkdf2-sha256$600000",
	"pbkdf2-sha256$600000$EBESExQVFhcYGRobHB0eHw",
	"pbkdf2-sha256$600000$EBESExQVFhcYGRobHB0eHw$",
	"pbkdf2-sha256$600000$$P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg",
	"pbkdf2-sha256$600000$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg$",
	"pbkdf2-sha256$600000$EBESExQVFhcYGRobHB0eHw==$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg",
	"pbkdf2-sha256$600000$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM+id24Js6E1Jmg",
	/* salt of 8 bytes, hash of 16 */
	"pbkdf2-sha256$600000$EBESExQVFhc$"
	    "P9X1be3a9Qx7Xv6gGZJfS4a5G4e8yM-id24Js6E1Jmg",
	"pbkdf2-sha256$600000$EBESExQVFhcYGRobHB0eHw$"
	    "P9X1be3a9Qx7Xv6gGZJfSw",
};

START_TEST(test_verify_malformed)
{
	ck_assert_msg(pw_verify("x", malformed[_i]) == -1, "accepted \"%s\"",
	    malformed[_i]);
}
END_TEST

/* Nothing to observe but its cost; run for the memory checkers. */
START_TEST(test_dummy)
{
	pw_dummy("no such user's password");
}
END_TEST

Suite *
suite_pw(void)
{
	Suite	*s = suite_create("pw");
	TCase	*tc;

	tc = tcase_create("format");
	tcase_add_test(tc, test_pbkdf2_rfc7914);
	tcase_add_loop_test(tc, test_verify_malformed, 0,
	    sizeof(malformed) / sizeof(malformed[0]));
	suite_add_tcase(s, tc);

	/* Four derivations at full cost in one test: room for slow hosts. */
	tc = tcase_create("derive");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_hash_verify);
	tcase_add_test(tc, test_verify_known);
	tcase_add_test(tc, test_dummy);
	suite_add_tcase(s, tc);
	return s;
}
