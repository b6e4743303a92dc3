#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static int
grow(struct buf *b, size_t more)
{
	size_t	 need, cap;
	char	*p;

	if (b->oom)
		return 0;
	if (more > (size_t)-1 / 2 - b->len) {
		b->oom = 1;
		return 0;
	}
	need = b->len + more + 1;
	if (need <= b->cap)
		return 1;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->oom = 1;
		return 0;
	}
	b->p = p;
	b->cap = cap;
	return 1;
}

void
buf_add(struct buf *b, const void *d, size_t n)
{
	if (!grow(b, n))
		return;
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	 aq;
	int	 n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0 || !grow(b, (size_t)n)) {
		b->oom = 1;
		return;
	}
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

int
buf_ok(const struct buf *b)
{
	return !b->oom;
}

const char *
buf_str(const struct buf *b)
{
	return b->p && !b->oom ? b->p : "";
}

char *
buf_detach(struct buf *b)
{
	char	*p;

	if (b->oom) {
		buf_free(b);
		return NULL;
	}
	p = b->p ? b->p : strdup("");
	memset(b, 0, sizeof(*b));
	return p;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->oom = 0;
	if (b->p)
		b->p[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int
buf_path(struct buf *b, const char *dir, const char *name)
{
	buf_reset(b);
	buf_addf(b, "%s/%s", dir, name);
	return buf_ok(b);
}
