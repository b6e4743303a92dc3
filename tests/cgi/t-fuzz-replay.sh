#!/usr/bin/env bash
# Every fuzz corpus, replayed through its harness (tests/fuzz/README.md).
# The replay programs are built by make check with the normal compiler,
# so inputs that once crashed a parser keep being tried everywhere, not
# only where clang and libFuzzer are.  A harness without its replay
# program is a failure: nothing may silently stop being replayed.
. "$(dirname "$0")/lib.sh"

FUZZ=$top_builddir/tests/fuzz
CORPUS=$top_srcdir/tests/fuzz/corpus

t_replay() {
	local bin=$FUZZ/replay_$1 dir=$CORPUS/$1
	[ -x "$bin" ] || { echo "$bin is missing: run make check"; return 1; }
	[ -n "$(ls -A "$dir")" ] || { echo "$dir is empty"; return 1; }
	"$bin" "$dir"
}

for dir in "$CORPUS"/*/; do
	h=$(basename "$dir")
	check "fuzz corpus $h replays without a crash" t_replay "$h"
done
# And the other way round: a harness whose corpus went missing.
for bin in "$FUZZ"/replay_*; do
	[ -x "$bin" ] || continue
	h=${bin##*/replay_}
	t_has_corpus() { [ -d "$CORPUS/$h" ] || { echo "no $CORPUS/$h"; return 1; }; }
	check "harness $h has a corpus" t_has_corpus
done
finish
