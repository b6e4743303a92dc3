/*
 * replay: run a fuzz harness over saved inputs, without libFuzzer.
 *
 *	replay_NAME DIR|FILE ...
 *
 * Links with one fuzz_*.c and the ordinary library, built by any
 * compiler, so that make check replays every corpus on every machine:
 * an input that once crashed a parser keeps proving it no longer does.
 * Exits 0 when every input ran, 1 when one could not be read; a crash
 * or a failed property kills the process, after naming the input.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static const int	 fatal[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
#define NFATAL		 (sizeof(fatal) / sizeof(fatal[0]))
static struct sigaction	 before[NFATAL];	/* a sanitizer's, or the default */
static char		 crashmsg[4200];	/* names the input being run */

/*
 * Name the input, then give the signal back to whoever had it before
 * (a sanitizer prints its report then): a fault happens again when the
 * handler returns, and abort() raises again by itself.  Only
 * async-signal-safe calls: the process may be in any state.
 */
static void
crashed(int sig)
{
	ssize_t	 r;
	size_t	 i;

	r = write(STDERR_FILENO, crashmsg, strlen(crashmsg));
	(void)r;
	for (i = 0; i < NFATAL; i++)
		if (fatal[i] == sig)
			sigaction(sig, &before[i], NULL);
}

/* Run one file.  Returns 0, or -1 if it could not be read. */
static int
one(const char *path)
{
	struct stat	 st;
	uint8_t		*d;
	size_t		 got = 0;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	/* Exactly the input's size, so that a read past it is caught. */
	if ((d = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL) {
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size &&
	    (r = read(fd, d + got, (size_t)st.st_size - got)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			fprintf(stderr, "replay: %s: %s\n", path,
			    strerror(errno));
			free(d);
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	snprintf(crashmsg, sizeof(crashmsg), "replay: crashed on %s\n", path);
	LLVMFuzzerTestOneInput(d, got);
	free(d);
	return 0;
}

/* Skip hidden files: editors and libFuzzer's lock files live there. */
static int
visible(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

int
main(int argc, char *argv[])
{
	struct dirent	**list;
	struct sigaction  sa;
	struct stat	  st;
	size_t		  f;
	char		  path[4096];
	int		  i, k, n, bad = 0;
	unsigned long	  runs = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = crashed;
	sigemptyset(&sa.sa_mask);
	for (f = 0; f < NFATAL; f++)
		sigaction(fatal[f], &sa, &before[f]);
	if (argc < 2) {
		fprintf(stderr, "usage: %s dir|file ...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			bad = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (one(argv[i]) == -1)
				bad = 1;
			else
				runs++;
			continue;
		}
		/* Sorted, so that a run is the same run everywhere. */
		if ((n = scandir(argv[i], &list, visible, alphasort)) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			bad = 1;
			continue;
		}
		for (k = 0; k < n; k++) {
			snprintf(path, sizeof(path), "%s/%s", argv[i],
			    list[k]->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				if (one(path) == -1)
					bad = 1;
				else
					runs++;
			}
			free(list[k]);
		}
		free(list);
	}
	printf("%s: %lu inputs replayed\n", argv[0], runs);
	return bad;
}
