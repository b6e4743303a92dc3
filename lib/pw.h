/*
 * pw: password hashing at OWASP's minimums (PBKDF2-HMAC-SHA256, 600,000
 * iterations, 16-byte salt), parameters kept with the hash:
 *
 *	"pbkdf2-sha256$600000$<b64url salt>$<b64url hash>"
 */
#ifndef SB_PW_H
#define SB_PW_H

char	*pw_hash(const char *password);		/* malloc'd; NULL on error */
/* 1 when password matches stored, 0 when not, -1 on a malformed hash. */
int	 pw_verify(const char *password, const char *stored);
/* Burn the time of one verification (for unknown user names). */
void	 pw_dummy(const char *password);

#endif
