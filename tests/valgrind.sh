#!/usr/bin/env bash
# The CGI-level tests with every CGI run under valgrind's memcheck:
#
#	tests/valgrind.sh [TEST...]
#
# TESTs are scripts of tests/cgi (default: every t-*.sh that runs a CGI
# through the cgi helper of tests/cgi/lib.sh, whose CGI_WRAP puts
# valgrind in front of each program).  Each process writes its findings
# to a log of its own; any finding fails the run: invalid reads or
# writes, uses of uninitialised values, bad frees, and definite or
# indirect leaks.  Sign-ins (POST /login) run without valgrind: see why
# below.  tests/valgrind.supp holds what is not ours, each with
# its reason.  t-alloc-fail.sh runs with valgrind too, failing every
# VG_STRIDE-th allocation site (default 40), so that out-of-memory paths
# are checked for leaks as well.
#
# Uses the build in top_builddir (default: the source tree).  Ends with
# one line "N passed, N failed"; exits non-zero on any failure; 77 (skip)
# without valgrind.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export top_srcdir=${top_srcdir:-$(cd "$here/.." && pwd)}
export top_builddir=${top_builddir:-$top_srcdir}

if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind not found (Debian package valgrind): skipped"
	echo "0 passed, 0 failed"
	exit 77
fi
for p in "$top_builddir"/cgi-bin/login.cgi "$top_builddir"/tools/sosyabotctl; do
	[ -x "$p" ] || { echo "$p is not built: run make first"
	    echo "0 passed, 1 failed"; exit 1; }
done
# ASan and valgrind cannot both watch one process.
if readelf -d "$top_builddir/cgi-bin/login.cgi" | grep -q libasan; then
	echo "$top_builddir is a sanitizer build: valgrind needs a plain one"
	echo "0 passed, 1 failed"
	exit 1
fi

logs=$(mktemp -d "${TMPDIR:-/tmp}/sosyabot-valgrind-XXXXXX")
trap 'rm -rf "$logs"' EXIT
# The wrapper every CGI runs under (the cgi helper puts CGI_WRAP in front
# of the program, after its environment).
#  --errors-for-leak-kinds: what a library keeps until exit ("still
#    reachable") is no error; what nobody points to any more is.
#  --soname-synonyms=somalloc=nouserintercepts: valgrind takes over
#    malloc in libc only, so that t-alloc-fail.sh's preloaded allocator
#    still sees every call (and hands it on to valgrind's).
# A sign-in is not run under valgrind: PBKDF2's 600,000 rounds make 2.4
# million allocations in libcrypto, minutes under valgrind, and the
# CGI's watchdog stops it after 20 s.  GET /login, sign-out and every
# other page are.
cat >"$logs/wrap" <<EOF
#!/bin/sh
if [ "\$REQUEST_METHOD \$REQUEST_URI" = "POST /login" ]; then
	exec "\$@"
fi
exec valgrind -q --error-exitcode=99 --leak-check=full \\
    --show-leak-kinds=definite,indirect \\
    --errors-for-leak-kinds=definite,indirect \\
    --soname-synonyms=somalloc=nouserintercepts \\
    --track-origins=yes --num-callers=30 \\
    --suppressions="$top_srcdir/tests/valgrind.supp" \\
    --log-file="\${WRAP_LOG:-$logs/vg.%p}" "\$@"
EOF
chmod +x "$logs/wrap"
export CGI_WRAP=$logs/wrap
export CHAOS_WRAP=$logs/wrap
# t-alloc-fail.sh: a valgrind run of a CGI takes seconds, not
# milliseconds, so only every VG_STRIDE-th allocation site is failed.
export STRIDE=${VG_STRIDE:-40}
export LONG=0

if [ $# -eq 0 ]; then
	set --
	for t in "$top_srcdir"/tests/cgi/t-*.sh; do
		# Only the scripts that run a CGI through the helper.  Not
		# t-front.sh: a front is linked statically, so memcheck
		# cannot take over its malloc; what it serves is the full
		# program's code, which the other scripts run.
		case $t in */t-front.sh) continue ;; esac
		grep -qE '(^|[[:space:];({`])cgi [a-z]+\.cgi' "$t" && set -- "$@" "$t"
	done
fi

p=0 f=0 rc=0
for t in "$@"; do
	case $t in */*) ;; *) t=$top_srcdir/tests/cgi/$t ;; esac
	echo "== $(basename "$t") under valgrind"
	start=$SECONDS
	out=$(bash "$t" 2>&1) || rc=1
	printf '%s\n' "$out"
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
	if [ -z "$line" ]; then
		echo "$(basename "$t"): no result line"
		f=$((f + 1)); rc=1
	else
		p=$((p + ${line%% passed*}))
		f=$((f + $(echo "$line" | sed 's/.*passed, \([0-9]*\) failed.*/\1/')))
	fi
	# What valgrind found, one failure per process that found anything.
	n=0
	for l in "$logs"/vg.*; do
		[ -s "$l" ] || continue
		n=$((n + 1))
		if [ "$n" -le 5 ]; then
			echo "--- valgrind, ${l##*/}:"
			head -60 "$l"
		fi
	done
	[ "$n" -gt 0 ] && { echo "$(basename "$t"): valgrind reported on $n" \
	    "process(es)"; f=$((f + n)); rc=1; }
	echo "$(basename "$t"): $((SECONDS - start)) s"
	rm -f "$logs"/vg.*
done
echo "$p passed, $f failed"
[ "$rc" -eq 0 ] && [ "$f" -eq 0 ]
