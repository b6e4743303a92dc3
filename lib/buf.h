/*
 * buf: a growable byte buffer, always NUL-terminated.
 * The owner frees it with buf_free(); a zeroed struct is an empty buffer.
 * On allocation failure the buffer is marked failed (oom=1), further
 * appends are ignored, and the caller checks buf_ok() once at the end.
 */
#ifndef SB_BUF_H
#define SB_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*p;	/* NULL until the first append */
	size_t	 len;
	size_t	 cap;
	int	 oom;
};

void	 buf_add(struct buf *, const void *, size_t);
void	 buf_adds(struct buf *, const char *);
void	 buf_addc(struct buf *, char);
void	 buf_addf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_vaddf(struct buf *, const char *, va_list);
int	 buf_ok(const struct buf *);
const char *buf_str(const struct buf *);	/* "" when empty */
char	*buf_detach(struct buf *);		/* caller frees; NULL on oom */
void	 buf_reset(struct buf *);
void	 buf_free(struct buf *);
/* "<dir>/<name>" in b, reset first; 0 when out of memory. */
int	 buf_path(struct buf *, const char *dir, const char *name);

#endif
