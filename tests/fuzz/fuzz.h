/*
 * fuzz: what every harness in this directory shares.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput.  Built with clang's
 * -fsanitize=fuzzer it runs under libFuzzer (configure --enable-fuzz,
 * then tests/fuzz/run.sh); linked with replay.c instead it replays a
 * corpus with any compiler, which is how make check keeps every input
 * that once found something.
 *
 * A harness calls FUZZ_CHECK for the properties it tests: a failure
 * aborts, which both libFuzzer and the replay driver report as a crash,
 * with the line that failed.
 */
#ifndef SB_FUZZ_H
#define SB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

#endif
