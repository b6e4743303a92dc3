#!/usr/bin/env bash
# Allocation failure, in the manner of jansson's test_chaos.c but for
# whole processes.  For a representative request of every CGI, and for
# `sosyabotctl publish-due` with a post due, a first run lists the
# allocation sites the program reaches (an allocation whose call stack
# was not seen before in that run); then, for each site, a run makes
# that allocation fail once, and another makes it and every later one
# fail.  Every run must end cleanly:
#   * a CGI: exit status 0 and a complete reply (a Status line first,
#     the end of the headers, a body as long as Content-Length says) with
#     a status of 2xx, 302/303, 4xx or 500/502/503, and a page with a 5xx;
#     publish-due: exit status 0, or 1 with its one line of error;
#   * no signal, nothing from glibc's heap checks (or valgrind) on stderr;
#   * `sosyabotctl verify` says ok about the store afterwards.
# A program that dies inside a library, in the same call from our code
# in which that library's own allocation failed, is that library's bug:
# it is listed, not failed (doc/reliability.md names the ones known).
#
# The failures come from tests/chaos/chaosmalloc.so (LD_PRELOAD; its
# comment says what it counts).  Every run starts from the same copy of
# the store, so a run repeats the counting run up to its failure.
#
# make check fails every site of a few requests and every 7th (or so,
# see the list at the end) of the others; LONG=1 fails every site of
# every request; STRIDE=N every Nth of every request.  ONLY=NAME runs the
# requests whose name contains NAME; COUNT_ONLY=1 only counts.  JOBS=N
# requests at a time (default: one per processor).  CHAOS_WRAP is put
# before the program in every run (tests/valgrind.sh: valgrind, to find
# leaks on the failure paths).
. "$(dirname "$0")/lib.sh"

SHIM=$top_builddir/tests/chaos/chaosmalloc.so
STRIDE=${STRIDE:-}
[ "${LONG:-0}" != 0 ] && STRIDE=1

skip_all() {
	t_skip() { :; }
	check "allocation failure (skipped: $1)" t_skip
	finish
	exit
}

[ -f "$SHIM" ] || skip_all "no $SHIM"
# ASan's runtime must come first in a process and refuses a preloaded
# allocator; tests/sanitize.sh runs everything else in that build.
if readelf -d "$CGI/login.cgi" 2>/dev/null | grep -q 'libasan'; then
	skip_all "a sanitizer build: LD_PRELOAD shims and ASan do not mix"
fi

# Thousands of runs each restore the store and commit to it: in memory
# when there is a tmpfs, where a commit's fsync costs nothing.
S=
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	S=$(mktemp -d /dev/shm/sosyabot-chaos-XXXXXX)
	trap 'rm -rf "$T" "$S"' EXIT
	export SOSYABOT_DATA_DIR=$S/data
fi

# Our programs: the shim counts in them only, not in a wrapper's shell.
PROGS=$(cd "$CGI" && ls *.cgi | tr '\n' ':')sosyabotctl

# chaos K PERSIST: the CGI_WRAP of a run failing allocation K (0: none,
# and the sites are listed).  The cgi helper clears the environment, so
# the shim's settings travel on the command line.
chaos() {
	: >"$T/count"
	: >"$T/trace"
	: >"$T/trace.crash"
	CGI_WRAP="env LD_PRELOAD=$SHIM CHAOS_FAIL_AT=$1 CHAOS_PERSIST=$2
	    CHAOS_ONLY=$PROGS CHAOS_COUNT_FILE=$T/count
	    CHAOS_TRACE_FILE=$T/trace"
	[ "$1" = 0 ] && CGI_WRAP="$CGI_WRAP CHAOS_SITES_FILE=$T/sites"
	# A wrapper's findings (valgrind's log) are judged with the run.
	rm -f "$T/wrap.log"
	[ -n "${CHAOS_WRAP:-}" ] && CGI_WRAP="$CGI_WRAP WRAP_LOG=$T/wrap.log"
	CGI_WRAP="$CGI_WRAP ${CHAOS_WRAP:-}"
}

"$CTL" init
echo 'ada password 1' | "$CTL" user add ada --workspace default --admin
"$CTL" options set x-twitter_client-id chaosclient123
"$CTL" options set x-twitter_client-secret chaos-secret-1
chaos 0 0
cgi login.cgi GET /login
CGI_WRAP=
[ -s "$T/count" ] || skip_all "the shim counts nothing on this system"

# --- the fixture --------------------------------------------------------------
# A cookie channel, connected through the fake X when python3 is there;
# afterwards X is unreachable (a closed port), so nothing waits.
PY=$(command -v python3 || true)
CHAN=
fake() {	# fake METHOD PATH JSON
	"$PY" - "$FAKE/_fake$2" "$1" "$3" <<'EOF'
import sys, urllib.request
r = urllib.request.Request(sys.argv[1], method=sys.argv[2],
    data=sys.argv[3].encode(), headers={"Content-Type": "application/json"})
urllib.request.urlopen(r, timeout=10).read()
EOF
}
sign_in ada 'ada+password+1' || skip_all "sign-in failed"
if [ -n "$PY" ]; then
	# The fake exits when this script closes fd 8, however it ends.
	exec 8> >("$PY" "$top_srcdir/tests/fakex/fakex.py" --port 0 \
	    --watch-stdin >"$T/fakex.out")
	for _ in $(seq 100); do
		FAKE=$(sed -n 's/^listening //p' "$T/fakex.out")
		[ -n "$FAKE" ] && break
		sleep 0.1
	done
	AUTH=$(printf '%040d' 7) CT0=$(printf '%032d' 7)
	fake POST /users '{"id":"7007","username":"chaos_cat","name":"Chaos"}'
	fake POST /cookies "{\"auth_token\":\"$AUTH\",\"ct0\":\"$CT0\",\"user_id\":\"7007\"}"
	X_WEB_BASE_URL=$FAKE X_API_BASE_URL=$FAKE cgi cookie.cgi POST \
	    /api/v1/auth/twitter/unofficial "csrf=$CSRF&auth_token=$AUTH&ct0=$CT0"
	exec 8>&-
	ACCEPT=application/json cgi channels.cgi GET /api/v1/channels
	CHAN=$(sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' "$T/body")
fi
export X_API_BASE_URL=http://127.0.0.1:9 X_WEB_BASE_URL=http://127.0.0.1:9
export X_AUTHORIZE_URL=http://127.0.0.1:9/i/oauth2/authorize
if [ -n "$CHAN" ]; then
	# History to show, and a post that falls due in two seconds.
	cgi publish.cgi POST /app/publishing \
	    "csrf=$CSRF&action=publish&text=first+post&channel=$CHAN"
	when=$(date -u -d @$(($(date +%s) + 2)) +%Y-%m-%dT%H:%M:%SZ)
	CTYPE=application/json CSRF_HEADER=$CSRF ACCEPT=application/json \
	    cgi publish.cgi POST /api/v1/posts \
	    "{\"text\":\"due post\",\"channels\":[\"$CHAN\"],\"scheduled_at\":\"$when\"}"
	[ "$STATUS" = 201 ] || echo "# scheduling the due post: $STATUS"
	sleep 3
fi
COOKIE= cgi login.cgi GET /login
LOGIN_TOK=$(header Set-Cookie | sed -n 's/^login=\([^;]*\).*/\1/p')
SNAP=${S:-$T}/snap
cp -a "$SOSYABOT_DATA_DIR" "$SNAP"

# The store as the fixture left it; files a run added are harmless.
restore() { cp -a "$SNAP/." "$SOSYABOT_DATA_DIR/"; }

# --- the requests ----------------------------------------------------------------
# Each runs one program, through $CGI_WRAP; KIND=ctl for sosyabotctl.
PAGE=/admin/api-integration/x-twitter
KIND=cgi
r_login_get() { COOKIE= cgi login.cgi GET /login; }
r_login_post() {
	COOKIE="login=$LOGIN_TOK" cgi login.cgi POST /login \
	    "csrf=$LOGIN_TOK&username=ada&password=ada+password+1"
}
r_logout() { cgi login.cgi POST /logout "csrf=$CSRF"; }
r_admin_get() { cgi admin.cgi GET $PAGE; }
r_admin_save() {
	cgi admin.cgi POST $PAGE "csrf=$CSRF&action=save&client_id=chaosclient456&client_secret=chaos-secret-2&status=enable"
}
r_admin_test() { cgi admin.cgi POST $PAGE "csrf=$CSRF&action=test"; }
r_channels_get() { cgi channels.cgi GET /app/channels; }
r_channels_api() { ACCEPT=application/json cgi channels.cgi GET /api/v1/channels; }
r_disconnect() { cgi channels.cgi POST "/app/channels/$CHAN/disconnect" "csrf=$CSRF"; }
r_publishing_get() { cgi publish.cgi GET /app/publishing; }
r_publish() {
	cgi publish.cgi POST /app/publishing \
	    "csrf=$CSRF&action=publish&text=hello+chaos&channel=$CHAN"
}
r_posts_api() {
	CTYPE=application/json CSRF_HEADER=$CSRF ACCEPT=application/json \
	    cgi publish.cgi POST /api/v1/posts \
	    "{\"text\":\"hello json\",\"channels\":[\"$CHAN\"]}"
}
r_oauth_start() { cgi callback.cgi GET /api/v1/auth/twitter; }
r_oauth_finish() {	# a fresh state each time: it is single use
	local wrap=$CGI_WRAP state
	CGI_WRAP= cgi callback.cgi GET /api/v1/auth/twitter
	state=$(header Location | sed -n 's/.*[?&]state=\([^&]*\).*/\1/p')
	CGI_WRAP=$wrap cgi callback.cgi GET \
	    "/api/v1/auth/twitter/callback?state=$state&code=chaoscode"
}
r_cookie_bad() {
	cgi cookie.cgi POST /api/v1/auth/twitter/unofficial \
	    "csrf=$CSRF&auth_token=nothex&ct0=00"
}
r_cookie_json_bad() {
	CTYPE=application/json CSRF_HEADER=$CSRF ACCEPT=application/json \
	    cgi cookie.cgi POST /api/v1/auth/twitter/unofficial \
	    '{"auth_token":["a"],"ct0":{}}'
}
r_cookie_unreachable() {
	cgi cookie.cgi POST /api/v1/auth/twitter/unofficial \
	    "csrf=$CSRF&auth_token=$(printf '%040d' 9)&ct0=$(printf '%032d' 9)&handle=chaos_dog"
}
r_publish_due() {
	KIND=ctl
	env -i PATH="$PATH" SOSYABOT_DATA_DIR="$SOSYABOT_DATA_DIR" \
	    X_API_BASE_URL="$X_API_BASE_URL" X_WEB_BASE_URL="$X_WEB_BASE_URL" \
	    $CGI_WRAP "$CTL" publish-due >"$T/out" 2>>"$T/stderr"
	CGI_RC=$?
}

# --- judging one run ----------------------------------------------------------------
# A frame of a trace (chaosmalloc.c) is "OBJECT SYMBOL+OFF ADDR".  Our
# functions are the ones our objects define: libdb and Jansson may be
# linked into the programs statically, so "in the program" is not "ours".
nm --defined-only "$top_builddir"/lib/libsosyabot.a \
    "$top_builddir"/cgi-bin/*.o "$top_builddir"/tools/*.o 2>/dev/null |
    awk '$2 ~ /^[Tt]$/ { print $3 }' | sort -u >"$T/ours"
OURS=$T/ours

# Each frame of a trace as "KIND OBJECT ADDR FUNCTION", KIND one of own
# (a function of ours), lib (of a library, shared or linked in), libc
# (which libraries call into as much as we do) and shim.
kinds() {
	local obj sym addr fn
	while read -r obj sym addr; do
		case $obj in
		/*/libc.so*) echo "libc $obj $addr ${sym%+*}" ;;
		*/chaosmalloc.so) echo "shim $obj $addr ?" ;;
		*.so|*.so.*|"?") echo "lib $obj $addr ${sym%+*}" ;;
		*)
			# A return address: the call is the instruction before.
			fn=$(addr2line -f -e "$obj" \
			    "$(printf '0x%x' $((addr - 1)))" 2>/dev/null | head -1)
			if grep -qx -- "${fn:-?}" "$OURS"; then
				echo "own $obj $addr $fn"
			else
				echo "lib $obj $addr ${fn:-?}"
			fi ;;
		esac
	done <"$1"
}

# "function (file:line)" of a frame of the program.
where() {
	addr2line -f -s -e "$1" "$(printf '0x%x' $(($2 - 1)))" 2>/dev/null |
	    paste -sd' ' | sed 's/ \(.*\)/ (\1)/'
}

# After a death by signal: 0, and a description, if the program died in
# a library's code after an allocation that library made itself failed,
# within the same call from our code (the library does not survive its
# own allocation failure); 1 otherwise.
third_party() {
	local a c acall
	[ -s "$T/trace" ] && [ -s "$T/trace.crash" ] || return 1
	command -v addr2line >/dev/null 2>&1 && command -v nm >/dev/null 2>&1 &&
	    [ -s "$OURS" ] || return 1
	kinds "$T/trace" >"$T/trace.k"
	sed 1d "$T/trace.crash" >"$T/trace.crash1"
	kinds "$T/trace.crash1" >"$T/trace.crash.k"
	# The innermost frames outside libc and the shim: libraries' both.
	a=$(awk '$1 == "lib" || $1 == "own" { print; exit }' "$T/trace.k")
	c=$(awk '$1 == "lib" || $1 == "own" { print; exit }' "$T/trace.crash.k")
	[ "${a%% *}" = lib ] && [ "${c%% *}" = lib ] || return 1
	# The same call from our code in both.
	acall=$(awk '$1 == "own" { print $2, $3; exit }' "$T/trace.k")
	[ -n "$acall" ] &&
	    [ "$acall" = "$(awk '$1 == "own" { print $2, $3; exit }' "$T/trace.crash.k")" ] ||
	    return 1
	set -- $c
	echo "$(basename "$2") $4: $(head -1 "$T/trace.crash") after its own" \
	    "allocation failed ($(set -- $a; echo "$4")), in the call from" \
	    "$(where $acall)"
}

# The stack of a trace file, our frames as function (file:line).
frames() {
	local obj sym addr
	while read -r obj sym addr; do
		case $obj in
		*.so|*.so.*|"?") echo "    $(basename "$obj") $sym" ;;
		*) echo "    $(where "$obj" "$addr")" ;;
		esac
	done <"$1" | head -"${2:-12}"
}

# Where the failed allocation was made: the function that made it (the
# innermost outside libc) and the call from our code it was made in.
where_failed() {
	local a o
	kinds "$T/trace" >"$T/trace.k"
	a=$(awk '$1 == "lib" || $1 == "own" { print $4; exit }' "$T/trace.k")
	o=$(awk '$1 == "own" { print $2, $3; exit }' "$T/trace.k")
	echo "in ${a:-?}, called from $([ -n "$o" ] && where $o)"
}

# The store verifies.  A failed allocation inside libdb can make it
# panic the environment, which the next opener recovers (that is what
# verify does first, as every program does): counted, not failed.
stored_ok() {
	"$CTL" verify >"$T/verify" 2>&1
	case $(<"$T/verify") in
	ok) ;;
	*"run recovery"*$'\n'ok) where_failed >>"$T/recovered" ;;
	*) echo "the store does not verify:"; head -5 "$T/verify"; return 1 ;;
	esac
}

# What a wrapper (valgrind) found in the last run: nothing, or only
# leaks from a run in which libdb panicked its environment -- a panicked
# environment refuses to be closed, so what libdb holds for it is never
# freed (the next opener recovers it).  Any other finding fails.
wrap_ok() {
	[ -s "$T/wrap.log" ] || return 0
	if grep -q 'PANIC' "$T/stderr" &&
	    ! grep -qE 'Invalid|uninitialised|Mismatched|Syscall param|[Oo]verlap|Conditional jump' "$T/wrap.log"; then
		return 0
	fi
	echo "valgrind reported:"
	grep -v '^==[0-9]*== *$' "$T/wrap.log" | head -40
	return 1
}

# Says why the last run was not clean and returns 1; returns 2 when it
# died inside a library on that library's own failure (what a wrapper
# saw of that death is that library's too).
judge() {
	local rc=$CGI_RC all head len LC_ALL=C
	if [ "$rc" -gt 128 ] && third_party; then
		stored_ok || return 1
		return 2
	fi
	wrap_ok || return 1
	# valgrind's --error-exitcode, for the leaks wrap_ok excused.
	[ -s "$T/wrap.log" ] && [ "$rc" = 99 ] && rc=0
	if [ -s "$T/trace.crash" ]; then
		echo "died of $(head -1 "$T/trace.crash") at:"
		sed 1d "$T/trace.crash" >"$T/trace.crash1"
		frames "$T/trace.crash1" 8
		return 1
	fi
	if [ -s "$T/stderr" ] && grep -qE 'AddressSanitizer|runtime error|double free|corrupted|(malloc|free|realloc)\(\)|Segmentation|Aborted|stack smashing|^==[0-9]+==' "$T/stderr"; then
		echo "the heap, a sanitizer or valgrind complained:"
		head -40 "$T/stderr"
		return 1
	fi
	if [ "$KIND" = ctl ]; then
		case $rc in
		0) ;;
		1) grep -q '^sosyabotctl: ' "$T/stderr" ||
		    { echo "exit 1 without a message"; return 1; } ;;
		*) echo "exit status $rc"; head -5 "$T/stderr"; return 1 ;;
		esac
		stored_ok
		return
	fi
	[ "$rc" = 0 ] || { echo "exit status $rc"; head -5 "$T/stderr"
	    return 1; }
	[ -s "$T/out" ] || { echo "empty output"; return 1; }
	# In bytes (LC_ALL=C), with no program to start: thousands of runs.
	IFS= read -r -d '' all <"$T/out"
	case $all in
	"Status: "[0-9][0-9][0-9]" "[A-Z]*) ;;
	*) echo "no Status line first: ${all:0:80}"; return 1 ;;
	esac
	case $all in
	*$'\r\n\r\n'*) ;;
	*) echo "no end of the headers: ${all:0:300}"; return 1 ;;
	esac
	case $STATUS in
	20[01]|30[23]|4[0-9][0-9]|500|502|503) ;;
	*) echo "status $STATUS"; return 1 ;;
	esac
	head=${all%%$'\r\n\r\n'*}
	len=$(( ${#all} - ${#head} - 4 ))
	case $head in
	*$'\r\n'"Content-Length: $len"$'\r\n'*) ;;
	*) echo "Content-Length is not the body's $len bytes:"
	    echo "$head"; return 1 ;;
	esac
	[ "$STATUS" -lt 500 ] || [ "$len" -gt 0 ] ||
	    { echo "a $STATUS without a page"; return 1; }
	stored_ok
}

# sweep NAME FUNCTION STRIDE: count the sites of FUNCTION's request, then
# fail every STRIDE-th of them, once and from then on.
sweep() {
	local name=$1 fn=$2 stride=$3 n nsites k i mode runs=0 bad=0 known=0
	local start=$SECONDS rc
	restore
	: >"$T/stderr"
	: >"$T/known"
	: >"$T/recovered"
	KIND=cgi
	chaos 0 0
	$fn
	read -r n _ <"$T/count" || n=0
	nsites=$(grep -c . "$T/sites")
	judge >"$T/why" || { echo "# $name: the request itself is not clean:"
	    sed 's/^/#   /' "$T/why"; return 1; }
	if [ -n "${COUNT_ONLY:-}" ]; then
		echo "# $name: $nsites sites ($n allocations), answer:" \
		    "$([ "$KIND" = ctl ] && echo "exit $CGI_RC" || header Status)"
		return 0
	fi
	for mode in 0 1; do
		i=0
		while read -r k; do
			i=$((i + 1))
			[ $(((i - 1) % stride)) = 0 ] || continue
			restore
			: >"$T/stderr"
			KIND=cgi
			chaos "$k" "$mode"
			# bash's note of a death by signal: judge() tells.
			$fn 2>/dev/null
			runs=$((runs + 1))
			judge >"$T/why"
			rc=$?
			if [ "$rc" = 2 ]; then
				known=$((known + 1))
				cat "$T/why" >>"$T/known"
			elif [ "$rc" != 0 ]; then
				bad=$((bad + 1))
				echo "# $name: allocation $k failing$([ $mode = 1 ] &&
				    echo ', and all after it'):"
				sed 's/^/#   /' "$T/why"
				echo "#   the allocation that failed:"
				frames "$T/trace" | sed 's/^/#   /'
				[ "$bad" -ge 5 ] && break 2
			fi
		done <"$T/sites"
	done
	echo "# $name: $nsites sites of $n allocations; $(((nsites + stride - 1) /
	    stride)) of them (1 in $stride) failed once, and from then on:" \
	    "$runs runs in $((SECONDS - start)) s"
	if [ -s "$T/recovered" ]; then
		echo "#   $(grep -c . "$T/recovered") run(s) left the store's" \
		    "environment to be recovered by the next program, the" \
		    "allocation failing:"
		sort "$T/recovered" | uniq -c | sed 's/^ */#     /'
	fi
	if [ "$known" -gt 0 ]; then
		echo "#   $known run(s) died inside a library on its own" \
		    "allocation failure (not ours):"
		sort "$T/known" | uniq -c | sed 's/^ */#     /'
	fi
	[ "$bad" -eq 0 ]
}

# NAME FUNCTION STRIDE: the short form's stride.  Every site of three
# cheap requests; every 7th of the other pages; every 13th of those that
# load libcrypto or libcurl (a thousand sites, mostly the libraries'
# start-up, the same in each); every 35th of a sign-in, whose every run
# pays for 600,000 rounds of PBKDF2.
requests="
login-get r_login_get 1
login-post r_login_post 35
logout r_logout 7
admin-get r_admin_get 7
admin-save r_admin_save 13
admin-test r_admin_test 13
channels-get r_channels_get 1
channels-api r_channels_api 7
oauth-start r_oauth_start 7
oauth-finish r_oauth_finish 13
cookie-bad r_cookie_bad 1
cookie-json-bad r_cookie_json_bad 7
cookie-unreachable r_cookie_unreachable 13
"
[ -n "$CHAN" ] && requests="$requests
publishing-get r_publishing_get 7
publish r_publish 13
posts-api r_posts_api 13
disconnect r_disconnect 7
publish-due r_publish_due 13
"
[ -n "$CHAN" ] || echo "# no python3 for the fake X: no channel, so" \
    "publishing and publish-due are not tried"

# The requests run JOBS at a time (default: one per processor), each in
# a subshell with files and a store of its own; their results are shown
# in order once all are done.
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 1)}
R=$T
run_one() {	# NAME FUNCTION STRIDE
	T=$R/job-$1
	mkdir -p "$T"
	SOSYABOT_DATA_DIR=${S:-$R}/job-$1
	cp -a "$SNAP" "$SOSYABOT_DATA_DIR"
	sweep "$@" >"$T/result" 2>&1
	echo $? >"$T/done"
}
names=
running=0
while read -r name fn s; do
	[ -n "$name" ] || continue
	case $name in *"${ONLY:-}"*) ;; *) continue ;; esac
	# LONG=1: every site; STRIDE (or a wrapper's, as slow as valgrind):
	# that stride for every request.
	[ -n "$STRIDE" ] && s=$STRIDE
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$name" "$fn" "$s" &
	running=$((running + 1))
	names="$names $name"
done <<EOF
$requests
EOF
wait
job_result() { cat "$R/job-$1/result"; return "$(cat "$R/job-$1/done" 2>/dev/null || echo 1)"; }
for name in $names; do
	check "$name: every allocation failure answered cleanly" job_result "$name"
	# The figures, whether it passed or not.
	sed -n '/ sites/,$p' "$R/job-$name/result" | grep '^#' || true
done
T=$R
finish
