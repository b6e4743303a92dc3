/* A fresh data directory for a test, removed with everything in it. */
#ifndef TMPDIR_H
#define TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline char *
tmpdir_new(void)
{
	char	*d = strdup("/tmp/sosyabot-unit-XXXXXX");

	return d && mkdtemp(d) ? d : NULL;
}

static inline void
tmpdir_rm(char *d)
{
	char	 cmd[256];

	if (d && strncmp(d, "/tmp/sosyabot-unit-", 19) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", d);
	}
	free(d);
}

#endif
