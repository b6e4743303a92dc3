#!/bin/sh
# Crash durability of the store.  Eight writers commit records while
# random ones are SIGKILLed (30 times; 200 with LONG=1) and restarted; then every commit
# a writer acknowledged must be in the store, the databases must
# verify, and a fresh open after the kills (which runs recovery) must
# finish within 5 seconds.
#
# STORETORTURE names the built storetorture binary.
# The last line of output is "N passed, N failed".

ST=${STORETORTURE:-./tests/cgi/storetorture}
WRITERS=8
KILLS=30
[ "${LONG:-0}" != 0 ] && KILLS=200

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
notok() { fail=$((fail + 1)); echo "not ok - $1"; }

if [ ! -x "$ST" ]; then
	notok "storetorture is built ($ST)"
	echo "$pass passed, $fail failed"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sbcrash.XXXXXX") || exit 1
dir=$tmp/data

# Writers still running are killed on any exit, by their own pids.
cleanup() {
	for w in $(seq 1 $WRITERS); do
		eval "p=\${pid_$w:-}"
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

rand() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }

gen=0
# Start a writer in slot $1; each start gets its own id, so its own keys.
spawn() {
	gen=$((gen + 1))
	"$ST" "$dir" writer "$1.$gen" 100000000 >"$tmp/ack.$1.$gen" \
	    2>>"$tmp/stderr" &
	eval "pid_$1=$! gen_$1=$gen"
}

gaveup=0
watchdog=0
crashed=0
# Reap the writer in slot $1 and note how it ended, unless we killed it.
# A writer that dies of another signal is reported, not failed: libdb
# recovering the environment under a live process may crash it (seen
# once in about 5,000 kills); what is tested is that no commit is lost.
reap() {
	eval "p=\$pid_$1"
	wait "$p"
	st=$?
	case $st in
	137) ;;					# our SIGKILL
	142) watchdog=$((watchdog + 1)) ;;	# its SIGALRM watchdog
	129|13[0-9]|1[4-9][0-9]|2[0-9][0-9])
		crashed=$((crashed + 1))
		echo "# writer in slot $1 died of signal $((st - 128))" ;;
	*)	gaveup=$((gaveup + 1))
		echo "# writer in slot $1 exited $st" ;;
	esac
}

# The shell reports each writer it sees killed on its stderr: silence
# that (the writers' own stderr goes to a file) until they are all gone.
exec 3>&2 2>/dev/null
for w in $(seq 1 $WRITERS); do
	spawn "$w"
done
for _ in $(seq 1 $KILLS); do
	# 20 to 270 ms of writing between kills.
	sleep "0.$(printf '%03d' $((20 + $(rand) % 250)))"
	w=$((1 + $(rand) % WRITERS))
	eval "kill -9 \$pid_$w" 2>/dev/null
	reap "$w"
	spawn "$w"
	# Restart writers that ended on their own too.
	for v in $(seq 1 $WRITERS); do
		eval "p=\$pid_$v"
		if ! kill -0 "$p" 2>/dev/null; then
			reap "$v"
			spawn "$v"
		fi
	done
done
# Writers that made no progress for a second are stuck behind a killed
# one (on a mutex it held, in an environment since recovered): the
# case the watchdog is for.  Counted, not failed.
for w in $(seq 1 $WRITERS); do
	eval "n_$w=\$(wc -l <\"\$tmp/ack.$w.\$gen_$w\")"
done
sleep 1
stuck=0
for w in $(seq 1 $WRITERS); do
	eval "[ \"\$n_$w\" -eq \$(wc -l <\"\$tmp/ack.$w.\$gen_$w\") ]" &&
	    stuck=$((stuck + 1))
done
# The last crash: everyone at once.
for w in $(seq 1 $WRITERS); do
	eval "kill -9 \$pid_$w" 2>/dev/null
	reap "$w"
	eval "pid_$w="
done
exec 2>&3 3>&-

cat "$tmp"/ack.* >"$tmp/acks"
acked=$(grep -c '^ack ' "$tmp/acks")
echo "# $acked commits acknowledged by $gen writers, $KILLS + $WRITERS kills"
echo "# $watchdog writers stopped by their watchdog, $crashed crashed," \
    "$stuck stuck at the end; $(grep -c 'needs recovery' "$tmp/stderr")" \
    "saw a recovery"
if [ "$acked" -gt 0 ]; then
	ok "writers committed records"
else
	notok "writers committed records"
fi
if [ "$gaveup" -eq 0 ]; then
	ok "no writer gave up"
else
	notok "no writer gave up ($gaveup did)"
fi

# The first open after the kills runs recovery; it must not hang.
start=$(date +%s%N)
if timeout 5 "$ST" "$dir" check /dev/null >"$tmp/open.out" 2>&1; then
	ms=$((($(date +%s%N) - start) / 1000000))
	ok "fresh open after the kills succeeds within 5 s (${ms} ms)"
else
	notok "fresh open after the kills succeeds within 5 s"
	sed 's/^/# /' "$tmp/open.out"
fi

if "$ST" "$dir" check "$tmp/acks" >"$tmp/check.out" 2>&1; then
	ok "every acknowledged commit is present and the store verifies"
else
	notok "every acknowledged commit is present and the store verifies"
	head -n 20 "$tmp/check.out" | sed 's/^/# /'
	tail -n 20 "$tmp/stderr" | sed 's/^/# writer: /'
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
