/*
 * The C counter for tests/unit/tweetlen-agree.js: each line of standard
 * input is one JSON string, and each line of output is
 * "WEIGHTED VALID PERMILLAGE" for it, so that the script can hold the
 * server's count against the browser's.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "tweetlen.h"

int
main(void)
{
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	json_t		*j;
	json_error_t	 e;
	struct tweetlen	 t;
	int		 rc = EXIT_SUCCESS, lineno = 0;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		lineno++;
		j = json_loadb(line, (size_t)n, JSON_DECODE_ANY | JSON_ALLOW_NUL,
		    &e);
		if (!json_is_string(j)) {
			fprintf(stderr, "line %d is not a JSON string\n", lineno);
			json_decref(j);
			rc = EXIT_FAILURE;
			break;
		}
		tweetlen_count(json_string_value(j), json_string_length(j), &t);
		printf("%d %d %d\n", t.weighted, t.valid, t.permillage);
		json_decref(j);
	}
	free(line);
	return rc;
}
