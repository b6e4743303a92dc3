/*
 * msg: the two ways a library function reports in words, shared so that
 * every module says it alike.
 */
#ifndef MSG_H
#define MSG_H

#include <stddef.h>
#include <stdio.h>

/* printf into the caller's buffer err (nothing when err is NULL or 0). */
void	 msg_set(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* One line of progress on out, flushed at once (nothing when NULL). */
void	 msg_line(FILE *out, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Append s to the string in d (size n), printable ASCII only, anything
 * else as '?': what a remote party said may end up on a page and in a
 * log line, where a control character could forge a line.
 */
void	 msg_printable_cat(char *d, size_t n, const char *s);

#endif
