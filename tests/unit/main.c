/*
 * The unit test runner: every library module's suite in one binary.
 * UNIT_SUITE=name runs one suite.
 */
#include <stdlib.h>
#include <string.h>

#include "suites.h"

static const struct {
	const char	*name;
	Suite		*(*make)(void);
} suites[] = {
	{ "buf", suite_buf },
	{ "cfg", suite_cfg },
	{ "valid", suite_valid },
	{ "req", suite_req },
	{ "out", suite_out },
	{ "sha256", suite_sha256 },
	{ "crypto", suite_crypto },
	{ "pw", suite_pw },
	{ "store", suite_store },
	{ "user", suite_user },
	{ "sess", suite_sess },
	{ "opt", suite_opt },
	{ "xapi", suite_xapi },
	{ "oauth", suite_oauth },
	{ "channel", suite_channel },
	{ "post", suite_post },
	{ "audit", suite_audit },
	{ "tweetlen", suite_tweetlen },
};

int
main(void)
{
	SRunner		*sr = NULL;
	const char	*only = getenv("UNIT_SUITE");
	size_t		 i;
	int		 failed;

	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (only && strcmp(only, suites[i].name) != 0)
			continue;
		if (sr == NULL)
			sr = srunner_create(suites[i].make());
		else
			srunner_add_suite(sr, suites[i].make());
	}
	if (sr == NULL)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
