#!/usr/bin/env bash
# make check, with its result counted the way the other runners count:
# the unit suite's checks plus the CGI tests' cases, one closing line
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
make check VERBOSE=1 2>&1 | sed 's/^# /  /'
rc=${PIPESTATUS[0]}
p=0 f=0
if [ -f tests/unit/unit.log ]; then
	line=$(grep -E 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' tests/unit/unit.log | tail -1)
	if [ -n "$line" ]; then
		n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		bad=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1+\2/')
		f=$((f + bad)); p=$((p + n - bad))
	fi
fi
if [ -f tests/cgi/run.sh.log ]; then
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' tests/cgi/run.sh.log | tail -1)
	[ -n "$line" ] && p=$((p + ${line%% passed*})) &&
		f=$((f + $(echo "$line" | sed -E 's/.*passed, ([0-9]+) failed.*/\1/')))
fi
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
echo "$p passed, $f failed"
exit "$rc"
