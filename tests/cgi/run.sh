#!/usr/bin/env bash
# Runs every tests/cgi/t-*.sh and adds up their "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
export top_builddir=${top_builddir:-$(cd "$here/../.." && pwd)}
export top_srcdir=${top_srcdir:-$top_builddir}
export STORETORTURE=${STORETORTURE:-$top_builddir/tests/cgi/storetorture}
p=0 f=0 rc=0
for t in "$here"/t-*.sh; do
	echo "== $(basename "$t")"
	out=$(bash "$t" 2>&1) || rc=1
	printf '%s\n' "$out"
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
	if [ -z "$line" ]; then
		echo "$(basename "$t"): no result line"
		f=$((f + 1)); rc=1; continue
	fi
	p=$((p + ${line%% passed*}))
	f=$((f + $(echo "$line" | sed 's/.*passed, \([0-9]*\) failed.*/\1/')))
done
echo "$p passed, $f failed"
[ "$rc" -eq 0 ] && [ "$f" -eq 0 ]
