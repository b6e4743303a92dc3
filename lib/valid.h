/*
 * valid: pure validators for request values (no I/O, no state), so that
 * they are trivial to test and fuzz.  Each gets the decoded value (NUL
 * terminated, len bytes) and returns 1 when it is acceptable.
 */
#ifndef SB_VALID_H
#define SB_VALID_H

#include <stddef.h>

typedef int (*valid_fn)(const char *, size_t);

int	 valid_utf8(const char *, size_t);	/* well-formed, no NUL */
int	 valid_line(const char *, size_t);	/* UTF-8, no controls, <= 1024 */
int	 valid_text(const char *, size_t);	/* UTF-8, controls only \t \n \r,
						   <= 16 KiB */
int	 valid_name(const char *, size_t);	/* [A-Za-z0-9._-]{1,64}, no
						   leading '.' */
int	 valid_password(const char *, size_t);	/* 1..1024, no controls */
int	 valid_word(const char *, size_t);	/* [a-z_]{1,32} */
int	 valid_token(const char *, size_t);	/* base64url, 16..256 */
int	 valid_cred(const char *, size_t);	/* visible ASCII, 0..256 */
int	 valid_status(const char *, size_t);	/* "enable" | "disable" */
int	 valid_uint(const char *, size_t);	/* [0-9]{1,19} */
int	 valid_local_path(const char *, size_t);/* "/..." not "//", no
						   controls, <= 512 */
int	 valid_any(const char *, size_t);	/* anything the parser let in */

#endif
