#!/usr/bin/env bash
# make check in a build with AddressSanitizer and UBSan:
#
#	tests/sanitize.sh [--suite]
#
# --suite (what LONG=1 ./service.sh test adds) also runs the rest of the
# test suite in such a build: a clone of the repository's HEAD in
# SAN_BUILDDIR/tree, configured with --enable-sanitize and tested with
# SANITIZED_SUITE=1 ./service.sh test -- the HTTP tests on Apache and
# lighttpd (whose programs get ASAN_OPTIONS through service.sh) and the
# browser test.  Any report of a sanitizer fails it: UBSan ends the
# process at its first (-fno-sanitize-recover), which fails the request
# and so the test; ASan and LeakSanitizer write to a log per process.
#
# Configures a build of its own with --enable-sanitize, out of the source
# tree (SAN_BUILDDIR, default _san/ in the source tree), builds it and
# runs make check there: the unit tests, and the CGI tests with every
# CGI, sosyabotctl and test helper instrumented.  Every process reports
# to a log of its own (below), since a CGI's stderr is only a file the
# tests read and its exit status after the reply is written is not looked
# at: any report fails the run, leaks (LeakSanitizer) included.  The
# allocation-failure test (t-alloc-fail.sh) says it skips: its preloaded
# allocator and ASan's cannot share a process.
#
# Ends with one line "N passed, N failed"; exits non-zero on any failure.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
B=${SAN_BUILDDIR:-$src/_san}
mkdir -p "$B"
B=$(cd "$B" && pwd)
start=$SECONDS

fail() { echo "$*"; echo "0 passed, 1 failed"; exit 1; }

# Shows the first five of the report files named that hold a finding (a
# sanitizer's ERROR, or UBSan's runtime error) and sets REPORTS to their
# number: one failure per process that reported.
reports() {
	local l
	REPORTS=0
	for l in "$@"; do
		[ -f "$l" ] && grep -qE 'ERROR: |runtime error' "$l" || continue
		REPORTS=$((REPORTS + 1))
		if [ "$REPORTS" -le 5 ]; then
			echo "--- ${l##*/}:"
			head -40 "$l"
		fi
	done
	[ "$REPORTS" -eq 0 ] ||
	    echo "the sanitizers reported on $REPORTS process(es)"
}

suite() {
	local t=$B/tree logs p f line rc
	git -C "$src" rev-parse --verify -q HEAD >/dev/null ||
	    fail "--suite tests a clone of HEAD: $src is not a git repository"
	echo "# the suite in an ASan/UBSan build of HEAD ($(git -C "$src" \
	    rev-parse --short HEAD)), in $t"
	rm -rf "$t"
	git clone -q "$src" "$t" || fail "git clone failed"
	(cd "$t" && autoreconf -fi && ./configure -q --enable-sanitize &&
	    make -s -j"$(nproc)") >"$B/tree-build.log" 2>&1 ||
	    { tail -30 "$B/tree-build.log"; fail "the sanitizer build failed"; }
	# In the tree, so that the service user (service.sh grants it the
	# way to the tree) can write there.
	logs=$t/sanitizer-logs
	mkdir -m 1777 "$logs"
	ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1" \
	LSAN_OPTIONS="suppressions=$t/tests/lsan.supp:print_suppressions=0" \
	UBSAN_OPTIONS="print_stacktrace=1" SANITIZED_SUITE=1 LONG=0 \
	    bash "$t/service.sh" test >"$B/suite.log" 2>&1
	rc=$?
	grep -E '^(ok|not ok|PASS|FAIL|===|[0-9]+ passed)' "$B/suite.log" |
	    grep -v '^ok' | tail -60
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$B/suite.log" | tail -1)
	[ -n "$line" ] || { tail -30 "$B/suite.log"; fail "the suite ended without a count"; }
	p=${line%% passed*}
	f=$(echo "$line" | sed -E 's/.*passed, ([0-9]+) failed.*/\1/')
	reports "$logs"/asan.*
	f=$((f + REPORTS))
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	echo "the suite in the sanitizer build: $((SECONDS - start)) s"
	echo "$p passed, $f failed"
	[ "$f" -eq 0 ]
}

case ${1:-} in
--suite) suite; exit ;;
"") ;;
*) echo "usage: tests/sanitize.sh [--suite]" >&2; exit 2 ;;
esac

# automake builds a configured source tree in one place only, so a tree
# built in place is built from a copy of its distributed files (times
# kept: make rebuilds only what changed), as tests/fuzz/run.sh does.
s=$src
[ -x "$src/configure" ] || (cd "$src" && autoreconf -fi) ||
    fail "autoreconf failed"
if [ -f "$src/config.status" ]; then
	make -s -C "$src" distdir distdir="$B/src" >/dev/null ||
	    fail "make distdir failed"
	s=$B/src
fi
mkdir -p "$B/obj"
if ! grep -q -- '--enable-sanitize' "$B/obj/config.status" 2>/dev/null; then
	(cd "$B/obj" && "$s/configure" -q --enable-sanitize) ||
	    fail "configure --enable-sanitize failed"
fi
make -s -C "$B/obj" -j"$(nproc)" >"$B/build.log" 2>&1 ||
    { tail -30 "$B/build.log"; fail "the sanitizer build failed"; }

logs=$(mktemp -d "${TMPDIR:-/tmp}/sosyabot-san-XXXXXX")
trap 'rm -rf "$logs"' EXIT
# ASan and LeakSanitizer write to log_path, a file per process.
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# UBSan built in beside ASan writes to stderr whatever log_path says, and
# a CGI's stderr is only a file the tests read.  So every CGI runs
# through this (the cgi helper of tests/cgi/lib.sh puts CGI_WRAP in front
# of the program, in the environment it cleared): it keeps the stderr of
# a process that a sanitizer spoke on.  sosyabotctl and the unit tests
# fail their tests outright: UBSan ends a process at its first report.
cat >"$logs/wrap" <<EOF
#!/bin/sh
err="$logs/err.\$\$"
ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" "\$@" 2>"\$err"
rc=\$?
cat "\$err" >&2
if grep -q 'runtime error:' "\$err"; then
	mv "\$err" "$logs/ubsan.\$\$"
else
	rm -f "\$err"
fi
exit \$rc
EOF
chmod +x "$logs/wrap"
export CGI_WRAP=$logs/wrap

make -C "$B/obj" check VERBOSE=1 >"$B/check.log" 2>&1
rc=$?
sed 's/^# /  /' "$B/check.log" | grep -vE '^(make|  CC|  CCLD|  AR)'

# The counts of the unit tests and of the CGI tests, as tests/check.sh.
p=0 f=0
line=$(grep -E 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' \
    "$B/obj/tests/unit/unit.log" 2>/dev/null | tail -1)
if [ -n "$line" ]; then
	n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
	bad=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1+\2/')
	f=$((f + bad)); p=$((p + n - bad))
fi
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' \
    "$B/obj/tests/cgi/run.sh.log" 2>/dev/null | tail -1)
if [ -n "$line" ]; then
	p=$((p + ${line%% passed*}))
	f=$((f + $(echo "$line" | sed -E 's/.*passed, ([0-9]+) failed.*/\1/')))
fi
reports "$logs"/asan.* "$logs"/ubsan.*
f=$((f + REPORTS))
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
echo "sanitizer build and make check: $((SECONDS - start)) s"
echo "$p passed, $f failed"
[ "$rc" -eq 0 ] && [ "$f" -eq 0 ]
