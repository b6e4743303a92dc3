# Helpers for tests that run the CGI binaries directly, with a CGI
# environment and a body on stdin (in the manner of cgit's tests).
# Each test file sources this, calls `check NAME COMMAND...` and ends with
# `finish`, which prints "N passed, N failed".

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$top_builddir}
CGI=$top_builddir/cgi-bin
CTL=$top_builddir/tools/sosyabotctl
passed=0
failed=0

T=$(mktemp -d /tmp/sosyabot-cgi-XXXXXX)
trap 'rm -rf "$T"' EXIT
export SOSYABOT_DATA_DIR=$T/data
export BASE_URL=http://127.0.0.1:8080
unset TWITTER_CLIENT_ID TWITTER_CLIENT_SECRET SOSYABOT_KEY_FILE

check() {
	local name=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then
		passed=$((passed + 1))
		echo "ok - $name"
	else
		failed=$((failed + 1))
		echo "not ok - $name"
		sed 's/^/#   /' "$T/check.out" | head -20
	fi
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# cgi PROGRAM METHOD URI [BODY] — runs it; the reply lands in $T/out,
# its headers in $T/head, its body in $T/body, the status in $STATUS.
# Extra environment: COOKIE, ORIGIN, FETCH_SITE, CTYPE, CSRF_HEADER, ACCEPT.
# CGI_WRAP is put before the program (valgrind, a preloaded allocator);
# its exit status lands in $CGI_RC.
cgi() {
	local prog=$1 method=$2 uri=$3 body=${4-}
	printf '%s' "$body" | env -i PATH="$PATH" \
		SOSYABOT_DATA_DIR="$SOSYABOT_DATA_DIR" BASE_URL="$BASE_URL" \
		${TWITTER_CLIENT_ID:+TWITTER_CLIENT_ID="$TWITTER_CLIENT_ID"} \
		${TWITTER_CLIENT_SECRET:+TWITTER_CLIENT_SECRET="$TWITTER_CLIENT_SECRET"} \
		${X_API_BASE_URL:+X_API_BASE_URL="$X_API_BASE_URL"} \
		${X_WEB_BASE_URL:+X_WEB_BASE_URL="$X_WEB_BASE_URL"} \
		${X_AUTHORIZE_URL:+X_AUTHORIZE_URL="$X_AUTHORIZE_URL"} \
		GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
		REQUEST_METHOD="$method" REQUEST_URI="$uri" \
		REMOTE_ADDR=127.0.0.1 \
		CONTENT_LENGTH="${#body}" \
		CONTENT_TYPE="${CTYPE:-application/x-www-form-urlencoded}" \
		${COOKIE:+HTTP_COOKIE="$COOKIE"} \
		${ORIGIN:+HTTP_ORIGIN="$ORIGIN"} \
		${FETCH_SITE:+HTTP_SEC_FETCH_SITE="$FETCH_SITE"} \
		${CSRF_HEADER:+HTTP_X_CSRF_TOKEN="$CSRF_HEADER"} \
		${ACCEPT:+HTTP_ACCEPT="$ACCEPT"} \
		${CGI_WRAP:-} "$CGI/$prog" >"$T/out" 2>>"$T/stderr"
	CGI_RC=$?	# the program's exit status; 128+N when signal N killed it
	sed -n '1,/^\r$/p' "$T/out" | tr -d '\r' >"$T/head"
	sed '1,/^\r$/d' "$T/out" >"$T/body"
	STATUS=$(sed -n 's/^Status: \([0-9]*\).*/\1/p' "$T/head")
}

header() {	# header NAME: its value in the last reply
	sed -n "s/^$1: //Ip" "$T/head" | head -1
}

expect_status() {
	[ "$STATUS" = "$1" ] || { echo "status $STATUS, wanted $1"; cat "$T/head"; head -c 600 "$T/body"; return 1; }
}

expect_body() {
	grep -qF -- "$1" "$T/body" || { echo "body lacks: $1"; head -c 2000 "$T/body"; return 1; }
}

expect_no_body() {
	! grep -qF -- "$1" "$T/body" || { echo "body has: $1"; return 1; }
}

# A session for USER (password PW): exports COOKIE and CSRF.
sign_in() {
	local user=$1 pw=$2 tok
	COOKIE= cgi login.cgi GET /login
	tok=$(header Set-Cookie | sed -n 's/^login=\([^;]*\).*/\1/p')
	COOKIE="login=$tok" cgi login.cgi POST /login \
		"csrf=$tok&username=$user&password=$pw"
	[ "$STATUS" = 303 ] || { echo "sign-in of $user: $STATUS"; return 1; }
	COOKIE="sid=$(header Set-Cookie | sed -n 's/^sid=\([^;]*\).*/\1/p')"
	export COOKIE
	cgi login.cgi GET /api/v1/session
	CSRF=$(sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p' "$T/body")
	[ -n "$CSRF" ] || { echo "no CSRF token for $user"; return 1; }
	export CSRF
}
