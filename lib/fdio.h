/* fdio: writing to a descriptor. */
#ifndef FDIO_H
#define FDIO_H

#include <stddef.h>

/* All n bytes of p to fd, through short writes and EINTR; 0 or -1. */
int	 fd_write_all(int fd, const void *p, size_t n);

#endif
