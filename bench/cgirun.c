/*
 * cgirun: run programs the way a web server runs CGIs (a fresh process,
 * environment given whole, body on a pipe, answer read from a pipe),
 * in alternating rounds, and print one line per run:
 *
 *	name <TAB> run <TAB> wall ns <TAB> peak RSS KiB <TAB> ok <TAB> minor faults
 *
 * so that a noisy machine slows every case alike.  A tiny C parent on
 * purpose: a child's peak RSS counts the parent's at the fork, and a
 * bigger parent would also make every spawn slower.
 *
 *	cgirun [-n rounds] [-w warm-up rounds] [-u user] [-s tag] CASE...
 *
 * A CASE file holds one directive a line, the rest of the line taken
 * verbatim: "name N", "arg A" (the first is the program), "env K=V",
 * "stdin BODY", "expect TEXT" (the run is ok when the program exits 0
 * and its answer contains TEXT).  "@N@" in args and body becomes
 * "<tag>.<run>" so that every post has a text of its own.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"	/* _GNU_SOURCE: pipe2, memmem */
#endif

#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXV	64		/* args or env entries of a case */
#define OUTMAX	(64 * 1024)	/* answer bytes kept for "expect" */

struct runcase {
	char	*name;
	char	*argv[MAXV + 1];
	size_t	 argc;
	char	*envp[MAXV + 2];	/* + CONTENT_LENGTH */
	size_t	 envc;
	char	*body;			/* NULL: empty stdin */
	char	*expect;
};

static char	 outbuf[OUTMAX + 1];

static void
usage(void)
{
	fprintf(stderr, "usage: cgirun [-n rounds] [-w warmup] [-u user] "
	    "[-s tag] case...\n");
	exit(2);
}

static void
load(struct runcase *c, const char *file)
{
	FILE	*f;
	char	*line = NULL, *val;
	size_t	 cap = 0;
	ssize_t	 n;

	if ((f = fopen(file, "r")) == NULL)
		err(2, "%s", file);
	memset(c, 0, sizeof(*c));
	while ((n = getline(&line, &cap, f)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if ((val = strchr(line, ' ')) == NULL)
			continue;
		*val++ = '\0';
		if ((val = strdup(val)) == NULL)
			err(2, NULL);
		if (strcmp(line, "name") == 0)
			c->name = val;
		else if (strcmp(line, "arg") == 0 && c->argc < MAXV)
			c->argv[c->argc++] = val;
		else if (strcmp(line, "env") == 0 && c->envc < MAXV)
			c->envp[c->envc++] = val;
		else if (strcmp(line, "stdin") == 0)
			c->body = val;
		else if (strcmp(line, "expect") == 0)
			c->expect = val;
		else
			errx(2, "%s: unknown or one too many: %s", file, line);
	}
	free(line);
	fclose(f);
	if (c->name == NULL || c->argc == 0)
		errx(2, "%s: needs a name and an arg", file);
}

/* s with every "@N@" replaced by tag.run; malloc'd. */
static char *
subst(const char *s, const char *tag, unsigned run)
{
	char		 num[64];
	const char	*p;
	char		*out, *o;
	size_t		 n = 0, k;

	snprintf(num, sizeof(num), "%s.%u", tag, run);
	k = strlen(num);
	for (p = s; (p = strstr(p, "@N@")) != NULL; p += 3)
		n++;
	if ((out = malloc(strlen(s) + n * k + 1)) == NULL)
		err(2, NULL);
	for (o = out; *s != '\0'; ) {
		if (strncmp(s, "@N@", 3) == 0) {
			memcpy(o, num, k);
			o += k;
			s += 3;
		} else
			*o++ = *s++;
	}
	*o = '\0';
	return out;
}

static long long
ns_since(const struct timespec *t0)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)(t.tv_sec - t0->tv_sec) * 1000000000LL +
	    (t.tv_nsec - t0->tv_nsec);
}

/* One run of c; prints its line unless warm-up. */
static void
runone(struct runcase *c, const char *tag, unsigned run, int print)
{
	posix_spawn_file_actions_t	 fa;
	struct timespec			 t0;
	struct rusage			 ru;
	char				*argv[MAXV + 1], *body = NULL;
	char				 cl[40];
	size_t				 i, got = 0, blen = 0;
	ssize_t				 n;
	pid_t				 pid;
	int				 in[2], out[2], status, ok;
	long long			 ns;

	for (i = 0; i < c->argc; i++)
		argv[i] = subst(c->argv[i], tag, run);
	argv[i] = NULL;
	c->envp[c->envc] = NULL;
	if (c->body != NULL) {
		body = subst(c->body, tag, run);
		blen = strlen(body);
		snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%zu", blen);
		c->envp[c->envc] = cl;
		c->envp[c->envc + 1] = NULL;
	}
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		err(2, "pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((errno = posix_spawn(&pid, argv[0], &fa, NULL, argv,
	    c->envp)) != 0)
		err(2, "%s", argv[0]);
	close(in[0]);
	close(out[1]);
	/* Bodies are small: the pipe holds them whole. */
	if (blen > 0 && write(in[1], body, blen) != (ssize_t)blen)
		warn("%s: writing the body", c->name);
	close(in[1]);
	while ((n = read(out[0], outbuf + got, got < OUTMAX ?
	    OUTMAX - got : 0)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		got += (size_t)n;
		if (got == OUTMAX) {	/* keep the head, drain the rest */
			char	 sink[8192];

			while ((n = read(out[0], sink, sizeof(sink))) > 0 ||
			    (n == -1 && errno == EINTR))
				;
			break;
		}
	}
	outbuf[got] = '\0';
	while (wait4(pid, &status, 0, &ru) == -1)
		if (errno != EINTR)
			err(2, "wait4");
	ns = ns_since(&t0);
	close(out[0]);
	posix_spawn_file_actions_destroy(&fa);

	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    (c->expect == NULL || memmem(outbuf, got, c->expect,
	    strlen(c->expect)) != NULL);
	if (print) {
		printf("%s\t%u\t%lld\t%ld\t%d\t%ld\n", c->name, run, ns,
		    ru.ru_maxrss, ok, ru.ru_minflt);
		if (!ok)
			fprintf(stderr, "cgirun: %s run %u not ok: %.300s\n",
			    c->name, run, outbuf);
	}
	for (i = 0; i < c->argc; i++)
		free(argv[i]);
	free(body);
}

static void
drop_to(const char *user)
{
	struct passwd	*pw;

	if ((pw = getpwnam(user)) == NULL)
		errx(2, "no user %s", user);
	if (initgroups(user, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1)
		err(2, "becoming %s", user);
}

int
main(int argc, char **argv)
{
	struct runcase	*cases;
	const char	*tag = "r", *user = NULL;
	long		 rounds = 200, warm = 5;
	unsigned	 run = 0;
	long		 r;
	int		 ch, i, n;

	while ((ch = getopt(argc, argv, "n:s:u:w:")) != -1)
		switch (ch) {
		case 'n':
			rounds = strtol(optarg, NULL, 10);
			break;
		case 's':
			tag = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'w':
			warm = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	argc -= optind;
	argv += optind;
	if (argc == 0 || rounds < 1 || warm < 0)
		usage();
	if ((cases = calloc((size_t)argc, sizeof(*cases))) == NULL)
		err(2, NULL);
	for (i = 0; i < argc; i++)
		load(&cases[i], argv[i]);
	if (user != NULL)
		drop_to(user);
	n = argc;
	/* Round-robin, so drift and noise fall on every case alike. */
	for (r = 0; r < warm + rounds; r++) {
		for (i = 0; i < n; i++)
			runone(&cases[i], tag, run, r >= warm);
		run++;
		fflush(stdout);
	}
	free(cases);
	return 0;
}
