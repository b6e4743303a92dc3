/*
 * pw internals, exposed for the unit tests' known-answer vectors (which
 * use iteration counts that pw_verify rightly refuses).
 */
#ifndef SB_PW_INT_H
#define SB_PW_INT_H

#include <stddef.h>

/* PBKDF2-HMAC-SHA256 into out[outlen].  0 on success, -1 on failure. */
int	 pw_pbkdf2(const char *pw, size_t pwlen, const unsigned char *salt,
	    size_t saltlen, unsigned long iter, unsigned char *out,
	    size_t outlen);

#endif
