/*
 * What makes a CGI a front (lib/front.c): linked into cgi-bin/front/X.cgi
 * beside X's own main(), and nowhere else.
 */
#include <netdb.h>
#include <stdio.h>

#include "front.h"

/* Its address makes FRONT true (lib/front.h). */
const char front_marker = 1;

void	*__wrap_dlopen(const char *, int);
int	 __wrap_getaddrinfo(const char *, const char *,
	    const struct addrinfo *, struct addrinfo **);

/*
 * A front is linked with -Wl,--wrap=dlopen, so this stands for dlopen().
 * libcurl and libcrypto are the full program's: a front without a
 * dynamic loader that loaded one would bring a second C library into
 * the process.  No page view needs them; if one ever did, it fails here,
 * loudly, instead.
 */
void *
__wrap_dlopen(const char *file, int mode)
{
	(void)mode;
	fprintf(stderr, "sosyabot: front: refused to load %s: a page view "
	    "must not need it (see lib/front.c)\n", file ? file : "(self)");
	return NULL;
}

/*
 * And -Wl,--wrap=getaddrinfo: only libdb's replication manager, which we
 * never start, names it.  In a program without a loader the resolver
 * would load the NSS modules, and the linker warns about that.
 */
int
__wrap_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	(void)node;
	(void)service;
	(void)hints;
	*res = NULL;
	return EAI_FAIL;
}
