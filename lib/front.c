/*
 * front: handing a request from a front to the full program.
 *
 * A front (cgi-bin/front/X.cgi) is the same program as X.cgi, linked
 * without a dynamic loader where the system allows (configure: static
 * PIE): a page view then costs about what a trivial C CGI costs, where
 * resolving libc's symbols at each start cost more than the page
 * (doc/performance.md).  It serves GET and HEAD (app.c).  What may need
 * libcurl or libcrypto, which a program without a loader cannot load,
 * goes to the full program X.cgi, one directory up, through execv():
 * the same process, with the environment and the body the server gave,
 * so it answers as if the server had started it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "front.h"

void
front_handoff(void)
{
	char	 path[PATH_MAX], *base, *up;
	ssize_t	 n;

	/* The front's own file, whatever name the server ran it by. */
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n <= 0) {
		fprintf(stderr, "sosyabot: front: /proc/self/exe: %s\n",
		    n == 0 ? "empty" : strerror(errno));
		return;
	}
	path[n] = '\0';
	/* ".../cgi-bin/front/X.cgi" -> ".../cgi-bin/X.cgi", in place. */
	up = NULL;
	if ((base = strrchr(path, '/')) != NULL) {
		*base = '\0';
		up = strrchr(path, '/');
		*base = '/';
	}
	if (up == NULL) {
		fprintf(stderr, "sosyabot: front: /proc/self/exe names no "
		    "directory above the front's\n");
		return;
	}
	memmove(up, base, strlen(base) + 1);
	execv(path, (char *[]){ path, NULL });
	fprintf(stderr, "sosyabot: front: cannot run the full program %s: "
	    "%s\n", path, strerror(errno));
}
