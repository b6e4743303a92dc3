#!/usr/bin/env bash
# The browser's post length (htdocs/static/tweetlen.js) against the
# server's (lib/tweetlen.c) and twitter-text's conformance cases, by
# tests/unit/tweetlen-agree.js.  Without node it passes with a note.
. "$(dirname "$0")/lib.sh"

if ! command -v node >/dev/null 2>&1; then
	t_skipped() { echo "node not found"; }
	check "tweetlen.js agrees with lib/tweetlen.c (skipped: no node)" \
	    t_skipped
	finish
	exit
fi
t_agree() {
	node "$top_srcdir/tests/unit/tweetlen-agree.js" \
	    "$top_builddir/tests/unit/tweetlen_cli"
}
check "tweetlen.js, lib/tweetlen.c and twitter-text agree" t_agree
echo "# tweetlen: $(tail -n1 "$T/check.out")"
finish
