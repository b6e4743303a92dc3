#!/usr/bin/env bash
# Fuzz one harness for a while, and keep what it found:
#
#	tests/fuzz/run.sh HARNESS MINUTES [libFuzzer options...]
#
# HARNESS is a name of tests/fuzz/fuzz_HARNESS.c (urlencoded, cookies,
# request, validators, unseal, xapi, tweetlen).  Builds the libFuzzer
# binaries with clang in a build directory of their own (FUZZ_BUILDDIR,
# default build-fuzz/ in the source tree), configured once with
# CC=clang --enable-fuzz; runs the harness for MINUTES with the
# dictionary, starting from its corpus; merges the inputs that reached
# new code into tests/fuzz/corpus/HARNESS.  A crash stops the run, is
# saved under FUZZ_BUILDDIR/crashes/ and makes this exit non-zero.
set -eu

usage() { echo "usage: $0 HARNESS MINUTES [libFuzzer options...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
h=$1 minutes=$2
shift 2
# libFuzzer takes a total time of 0 as no limit at all.
case $minutes in ''|*[!0-9]*|0) usage ;; esac

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
[ -f "$here/fuzz_$h.c" ] || { echo "$0: no harness $here/fuzz_$h.c" >&2; exit 2; }
B=${FUZZ_BUILDDIR:-$src/build-fuzz}
mkdir -p "$B"
B=$(cd "$B" && pwd)
corpus=$here/corpus/$h

build() {
	local s=$src
	[ -x "$src/configure" ] || (cd "$src" && autoreconf -fi)
	# automake builds a configured source tree in one place only, so a
	# tree built in place is fuzzed from a copy of its distributed files
	# (copied with their times kept: make rebuilds only what changed).
	if [ -f "$src/config.status" ]; then
		make -s -C "$src" distdir distdir="$B/src" >/dev/null
		s=$B/src
	fi
	mkdir -p "$B/obj"
	if ! grep -q -- '--enable-fuzz' "$B/obj/config.status" 2>/dev/null; then
		(cd "$B/obj" && "$s/configure" -q CC=clang --enable-fuzz)
	fi
	make -s -C "$B/obj" -j"$(nproc)" "tests/fuzz/fuzz_$h"
}

# One build at a time: runs of different harnesses may share $B.
exec 9>"$B/.lock"
flock 9
build
flock -u 9

mkdir -p "$corpus" "$B/crashes"
new=$(mktemp -d "$B/new-$h.XXXXXX")
trap 'rm -rf "$new"' EXIT
bin=$B/obj/tests/fuzz/fuzz_$h
echo "fuzzing $h for $minutes minute(s); crashes go to $B/crashes/"
rc=0
# New inputs land in the first directory; the corpus is only read.
"$bin" -max_total_time=$((minutes * 60)) -dict="$here/sosyabot.dict" \
	-artifact_prefix="$B/crashes/$h-" -print_final_stats=1 "$@" \
	"$new" "$corpus" || rc=$?
# Keep only what adds coverage to what the corpus already has.
before=$(ls "$corpus" | wc -l)
"$bin" -merge=1 "$corpus" "$new" >/dev/null 2>&1 || true
echo "corpus $corpus: $before -> $(ls "$corpus" | wc -l) inputs"
if [ "$rc" -ne 0 ]; then
	echo "$h crashed: see $B/crashes/; minimise with" >&2
	echo "  $bin -minimize_crash=1 -max_total_time=60 FILE" >&2
fi
exit "$rc"
