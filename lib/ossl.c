/*
 * ossl: libcrypto through dlopen; see ossl.h for why.
 *
 * The library is never closed once initialised: libcurl's own
 * initialisation, when it comes first, registers exit handlers that must
 * stay mapped.  Ours asks for none: OPENSSL_cleanup() at exit cost a
 * million instructions (bench/) to free what the exit frees anyway.
 * Not thread-safe on the first call; our programs have one thread.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <stdio.h>

#include "ossl.h"

#ifndef CRYPTO_SONAME
/* A hand build without config.h. */
#define CRYPTO_SONAME	"libcrypto.so.3"
#endif

static struct ossl	 o;
static enum {
	OSSL_UNTRIED,
	OSSL_LOADED,
	OSSL_BROKEN
} state;

/*
 * A missing or unusable libcrypto is the operator's to fix, so it is
 * said where the operator looks (the server's error log), once.
 */
static void
broken(const char *why)
{
	state = OSSL_BROKEN;
	fprintf(stderr, "sosyabot: cannot load libcrypto: %s\n",
	    why != NULL ? why : "unknown error");
}

/*
 * Returns the table, loading it on the first call: every function is
 * resolved before any is called.  The configuration file is skipped, as
 * reading and parsing it in every process buys nothing: the default
 * provider is all we use.
 */
const struct ossl *
ossl(void)
{
	void	*h;

	if (state != OSSL_UNTRIED)
		return state == OSSL_LOADED ? &o : NULL;
	if ((h = dlopen(CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		broken(dlerror());
		return NULL;
	}
#define OSSL_RESOLVE(fn)						\
	if ((o.fn = (__typeof__(o.fn))dlsym(h, #fn)) == NULL) {		\
		broken(dlerror());					\
		dlclose(h);						\
		return NULL;						\
	}
	OSSL_FUNCS(OSSL_RESOLVE)
#undef OSSL_RESOLVE
	if (o.OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG |
	    OPENSSL_INIT_NO_ATEXIT, NULL) != 1) {
		broken("OPENSSL_init_crypto failed");
		return NULL;
	}
	state = OSSL_LOADED;
	return &o;
}

/*
 * A fetched cipher is kept for the process's lifetime: the fetch costs
 * millions of instructions and a process seals or opens several values.
 * Fetched here, not in ossl(), because password hashing does not need it.
 */
const EVP_CIPHER *
ossl_aes256gcm(void)
{
	static EVP_CIPHER	*c;
	static int		 failed;

	if (c != NULL || failed || ossl() == NULL)
		return c;
	if ((c = o.EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL) {
		failed = 1;
		fprintf(stderr, "sosyabot: libcrypto has no AES-256-GCM\n");
	}
	return c;
}
