/*
 * chaosmalloc: an LD_PRELOAD object that makes one allocation fail, to
 * prove that every out-of-memory path of a program ends in a clean answer
 * (jansson's test_chaos.c, for whole processes).
 *
 *	CHAOS_FAIL_AT=N		the Nth allocation returns NULL (ENOMEM)
 *	CHAOS_PERSIST=1		and so does every allocation after it
 *	CHAOS_COUNT_FILE=F	at exit, write "ALLOCATIONS FAILED\n" to F:
 *				how many allocations were counted, and how
 *				many of them were made to fail
 *	CHAOS_TRACE_FILE=F	at the first failure made, write the call
 *				stack of that allocation to F; if the program
 *				then dies of a signal, write "signal N" and
 *				the stack where it died to F.crash.  A frame a
 *				line: "OBJECT SYMBOL+0xOFF 0xADDR", SYMBOL "?"
 *				for a function that is not exported, ADDR the
 *				address within OBJECT (for addr2line).  Both
 *				are written at once, so a crash cannot lose
 *				them.
 *	CHAOS_ONLY=P[:P...]	count only in a program whose name (the last
 *				part of argv[0]) matches one of the fnmatch
 *				patterns P: not in the shell script or the
 *				launcher that a wrapper such as valgrind
 *				starts on the way (default: every program)
 *	CHAOS_SITES_FILE=F	write to F the ordinal of every allocation
 *				whose call stack was not seen before in this
 *				process, one a line: failing those is failing
 *				every allocation site of the run, without the
 *				millions of repeats of a loop (600,000 rounds
 *				of PBKDF2 allocate at a few sites 2.4 million
 *				times).  A site is the stack's return
 *				addresses, 24 frames deep.  Unwinding costs
 *				microseconds, too much for millions, so a
 *				caller that keeps allocating at known sites
 *				is taken to be a loop and sampled (site()).
 *
 * Only allocations made while main() runs are counted.  What the dynamic
 * loader and the libraries' initialisers allocate before main() is the
 * same for every program and no code of ours could handle its failure;
 * what atexit handlers and destructors allocate after main() returns
 * comes after the answer has been written.  The hook is
 * __libc_start_main, which every dynamically linked program on glibc
 * goes through with the address of its main().  Allocations that a
 * program makes through exit() from inside main() are still counted.
 *
 * Which functions: glibc's own strdup, strndup, asprintf, getline,
 * open_memstream, reallocarray, the stdio buffers and what dlopen()
 * allocates after start-up all call the public malloc, calloc and
 * realloc symbols, so interposing those (and the aligned ones) is enough
 * to see every allocation of libc, Jansson, libdb, libcurl and OpenSSL.
 * free() is not interposed: every block still comes from glibc's
 * allocator (through its __libc_* entry points), so glibc's free() owns
 * it.  An allocation of size 0 counts like any other.
 *
 * Nothing on the counting path calls a function that could allocate:
 * the counter must not count itself.  glibc only: elsewhere this builds
 * to nothing, writes no count, and the test says it skipped.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#ifdef __GLIBC__

extern void	*__libc_malloc(size_t);
extern void	*__libc_calloc(size_t, size_t);
extern void	*__libc_realloc(void *, size_t);
extern void	*__libc_memalign(size_t, size_t);

typedef int	(*main_fn)(int, char **, char **);
typedef int	(*start_fn)(main_fn, int, char **,
		    void (*)(void), void (*)(void), void (*)(void), void *);

int	 __libc_start_main(main_fn, int, char **, void (*)(void),
	    void (*)(void), void (*)(void), void *);

static int		 armed;		/* inside main() */
static unsigned long	 fail_at;	/* 0: never */
static int		 persist;
static unsigned long	 count, failed;
static const char	*count_file, *trace_file;
static char		 crash_file[4096];
static int		 sites_fd = -1;
static main_fn		 real_main;

#define MAX_FRAMES	64
#define SITE_FRAMES	24
#define SITE_SLOTS	(1 << 20)	/* a power of two, far above the sites */
#define LOOP_SLOTS	(1 << 16)
#ifndef LOOP_QUIET
#define LOOP_QUIET	1024	/* known stacks in a row: a loop */
#endif
#define LOOP_SAMPLE	4096	/* then unwind only one in this many */
static unsigned long	 seen[SITE_SLOTS];	/* stack hashes; 0 is free */
static struct {
	unsigned long	 key;		/* caller and stack depth; 0 is free */
	unsigned long	 quiet;		/* known stacks since the last new */
} loops[LOOP_SLOTS];

/* The hash of the stack of the allocation being made. */
static __attribute__((noinline)) unsigned long
stack_hash(void)
{
	void		*pc[SITE_FRAMES + 4];
	unsigned long	 h = 14695981039346656037UL;
	int		 n, f;

	n = backtrace(pc, SITE_FRAMES + 4);
	/* Frame 0 is here, 1 site(), 2 chaos(), 3 the interposed one. */
	for (f = 4; f < n; f++) {
		h ^= (unsigned long)pc[f];
		h *= 1099511628211UL;
	}
	return h ? h : 1;
}

/* 1 if h was not in seen[]; it is from now on. */
static int
first_seen(unsigned long h)
{
	unsigned long	 i, probes = 0;

	for (i = h & (SITE_SLOTS - 1); seen[i] != 0; i = (i + 1) &
	    (SITE_SLOTS - 1))
		if (seen[i] == h || ++probes == SITE_SLOTS)
			return 0;
	seen[i] = h;
	return 1;
}

/*
 * Write the ordinal count to the sites file if this allocation's stack
 * is new.  pc and sp (the interposed function's return address and
 * frame) make a key that costs no unwinding: a key whose last
 * LOOP_QUIET stacks were all known is taken for a loop, and from then on
 * only one of its allocations in LOOP_SAMPLE is unwound, until one shows
 * a new stack again.
 */
static __attribute__((noinline)) void
site(const void *pc, const void *sp)
{
	unsigned long	 k, i, probes = 0;
	char		 line[24];
	int		 len, slot;

	k = ((unsigned long)pc * 31) ^ (unsigned long)sp;
	k = k ? k : 1;
	for (i = (k ^ (k >> 16)) & (LOOP_SLOTS - 1); loops[i].key != 0 &&
	    loops[i].key != k; i = (i + 1) & (LOOP_SLOTS - 1))
		if (++probes == LOOP_SLOTS)
			break;
	slot = probes < LOOP_SLOTS;	/* a full table: unwind every time */
	if (slot) {
		loops[i].key = k;
		if (++loops[i].quiet > LOOP_QUIET &&
		    loops[i].quiet % LOOP_SAMPLE != 0)
			return;
	}
	if (!first_seen(stack_hash()))
		return;
	if (slot)
		loops[i].quiet = 0;
	len = snprintf(line, sizeof(line), "%lu\n", count);
	if (len > 0)
		(void)write(sites_fd, line, (size_t)len);
}

/*
 * Write frames pc[from..n) to fd.  backtrace() and dladdr() do not
 * allocate once libgcc's unwinder is loaded (chaos_main loads it before
 * arming), and snprintf with these verbs does not either.
 */
static void
put_frames(int fd, void **pc, int from, int n)
{
	char	 line[512];
	Dl_info	 di;
	int	 i, len;

	for (i = from; i < n; i++) {
		memset(&di, 0, sizeof(di));
		if (dladdr(pc[i], &di) == 0 || di.dli_fname == NULL)
			len = snprintf(line, sizeof(line), "? ? %p\n", pc[i]);
		else
			len = snprintf(line, sizeof(line), "%s %s+0x%lx 0x%lx\n",
			    di.dli_fname, di.dli_sname ? di.dli_sname : "?",
			    (unsigned long)((char *)pc[i] - (char *)(di.dli_saddr ?
			    di.dli_saddr : di.dli_fbase)),
			    (unsigned long)((char *)pc[i] - (char *)di.dli_fbase));
		if (len > 0)
			(void)write(fd, line, (size_t)len < sizeof(line) ?
			    (size_t)len : sizeof(line) - 1);
	}
}

/* The stack of the allocation being failed. */
static __attribute__((noinline)) void
trace(void)
{
	void	*pc[MAX_FRAMES];
	int	 fd, n;

	if ((fd = open(trace_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return;
	n = backtrace(pc, MAX_FRAMES);
	/* Frame 0 is here, 1 chaos(), 2 the interposed function. */
	put_frames(fd, pc, 3, n);
	close(fd);
}

/*
 * The program died after a failure was made: where?  The stack starts
 * at this handler; the frames from the one that faulted are written.
 */
static void
crashed(int sig, siginfo_t *si, void *ctx)
{
	void		*pc[MAX_FRAMES], *at = NULL;
	ucontext_t	*uc = ctx;
	char		 line[32];
	int		 fd, n, from = 0, i, len;

	(void)si;
	armed = 0;
#if defined(__x86_64__)
	at = (void *)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	at = (void *)uc->uc_mcontext.pc;
#else
	(void)uc;
#endif
	if ((fd = open(crash_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) != -1) {
		n = backtrace(pc, MAX_FRAMES);
		for (i = 0; at != NULL && i < n; i++)
			if (pc[i] == at)
				from = i;
		len = snprintf(line, sizeof(line), "signal %d\n", sig);
		if (len > 0)
			(void)write(fd, line, (size_t)len);
		put_frames(fd, pc, from, n);
		close(fd);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * 1 when this allocation must fail; counts it either way.  pc and sp
 * are the interposed function's return address and frame.
 */
static __attribute__((noinline)) int
chaos(const void *pc, const void *sp)
{
	if (!armed)
		return 0;
	count++;
	if (sites_fd != -1) {
		armed = 0;
		site(pc, sp);
		armed = 1;
	}
	if (fail_at == 0 || count < fail_at || (!persist && count > fail_at))
		return 0;
	if (failed++ == 0 && trace_file != NULL) {
		armed = 0;	/* nothing below is an allocation of the program */
		trace();
		armed = 1;
	}
	errno = ENOMEM;
	return 1;
}

#define CHAOS()	chaos(__builtin_return_address(0), __builtin_frame_address(0))

void *
malloc(size_t n)
{
	return CHAOS() ? NULL : __libc_malloc(n);
}

void *
calloc(size_t n, size_t m)
{
	return CHAOS() ? NULL : __libc_calloc(n, m);
}

void *
realloc(void *p, size_t n)
{
	/* realloc(p, 0) frees p: nothing is allocated, nothing can fail. */
	if (p != NULL && n == 0)
		return __libc_realloc(p, n);
	return CHAOS() ? NULL : __libc_realloc(p, n);
}

void *
memalign(size_t align, size_t n)
{
	return CHAOS() ? NULL : __libc_memalign(align, n);
}

void *
aligned_alloc(size_t align, size_t n)
{
	return CHAOS() ? NULL : __libc_memalign(align, n);
}

int
posix_memalign(void **p, size_t align, size_t n)
{
	void	*q;

	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	if (CHAOS())
		return ENOMEM;
	if ((q = __libc_memalign(align, n)) == NULL)
		return ENOMEM;
	*p = q;
	return 0;
}

/* Decimal digits of s, or 0 for anything else. */
static unsigned long
number(const char *s)
{
	unsigned long	 n = 0;

	if (s == NULL)
		return 0;
	for (; *s >= '0' && *s <= '9'; s++)
		n = n * 10 + (unsigned long)(*s - '0');
	return *s == '\0' ? n : 0;
}

/* A destructor, so that exit() from inside main() is reported too. */
__attribute__((destructor)) static void
report(void)
{
	char	 line[64];
	int	 fd, len;

	armed = 0;
	if (count_file == NULL || real_main == NULL)
		return;
	if ((fd = open(count_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return;
	len = snprintf(line, sizeof(line), "%lu %lu\n", count, failed);
	if (len > 0)
		(void)write(fd, line, (size_t)len);
	close(fd);
}

/* 1 if the program called name matches a pattern of the list only. */
static int
wanted(const char *only, const char *name)
{
	char		 pat[256];
	const char	*p, *end;
	size_t		 len;

	if (only == NULL)
		return 1;
	if (name == NULL)
		return 0;
	if ((p = strrchr(name, '/')) != NULL)
		name = p + 1;
	for (p = only; *p != '\0'; p = *end ? end + 1 : end) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		if ((len = (size_t)(end - p)) >= sizeof(pat))
			continue;
		memcpy(pat, p, len);
		pat[len] = '\0';
		if (fnmatch(pat, name, 0) == 0)
			return 1;
	}
	return 0;
}

static int
chaos_main(int argc, char **argv, char **envp)
{
	struct sigaction	 sa;
	static const int	 sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE,
				    SIGILL };
	const char		*sites;
	size_t			 i;
	int			 rc;

	if (!wanted(getenv("CHAOS_ONLY"), argc > 0 ? argv[0] : NULL))
		return real_main(argc, argv, envp);
	fail_at = number(getenv("CHAOS_FAIL_AT"));
	persist = number(getenv("CHAOS_PERSIST")) != 0;
	count_file = getenv("CHAOS_COUNT_FILE");
	trace_file = getenv("CHAOS_TRACE_FILE");
	if (trace_file != NULL && fail_at != 0 &&
	    (size_t)snprintf(crash_file, sizeof(crash_file), "%s.crash",
	    trace_file) < sizeof(crash_file)) {
		void	*pc[1];

		/* The first call loads the unwinder, which allocates. */
		(void)backtrace(pc, 1);
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = crashed;
		sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
		sigemptyset(&sa.sa_mask);
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			sigaction(sigs[i], &sa, NULL);
	} else
		trace_file = NULL;
	if ((sites = getenv("CHAOS_SITES_FILE")) != NULL &&
	    (sites_fd = open(sites, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) != -1) {
		void	*pc[1];

		(void)backtrace(pc, 1);
	}
	armed = 1;
	rc = real_main(argc, argv, envp);
	armed = 0;
	return rc;
}

int
__libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
    void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
	start_fn	 next;

	/* dlsym may allocate: fine, nothing is armed yet. */
	if ((next = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main")) == NULL)
		_exit(127);
	real_main = main;
	return next(chaos_main, argc, argv, init, fini, rtld_fini, stack_end);
}

#endif /* __GLIBC__ */
