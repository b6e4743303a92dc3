#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"

void
msg_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
msg_line(FILE *out, const char *fmt, ...)
{
	va_list	 ap;

	if (out == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}

void
msg_printable_cat(char *d, size_t n, const char *s)
{
	size_t	 len;

	if (d == NULL || n == 0)
		return;
	for (len = strlen(d); *s != '\0' && len + 1 < n; s++)
		d[len++] = *s >= 0x20 && *s < 0x7f ? *s : '?';
	d[len] = '\0';
}
