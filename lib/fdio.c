#include <errno.h>
#include <unistd.h>

#include "fdio.h"

int
fd_write_all(int fd, const void *p, size_t n)
{
	const char	*b = p;
	ssize_t		 r;
	size_t		 off = 0;

	while (off < n) {
		r = write(fd, b + off, n - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		off += (size_t)r;
	}
	return 0;
}
