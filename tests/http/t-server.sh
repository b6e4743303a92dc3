#!/usr/bin/env bash
# The web server plumbing, on the real server named by SERVER (apache, the
# default, or lighttpd): service.sh starts an instance of its own on a free
# port in a temporary directory, and this checks what the programs cannot
# check themselves: routing, static files, the security headers on the
# server's own errors, the 1 MiB body limit, no duplicated headers, no
# secret in the rendered config or logs, status/stop/idempotent start, and
# an instance under a sub-path of BASE_URL.
#
# Ends with one line "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
. "$ROOT/tests/http/lib.sh"
SERVER=${SERVER:-apache}
export SERVER

CSP="default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

# The settings of the calling shell must not leak into the instance.
unset BASE_URL HOST SOSYABOT_DATA_DIR SOSYABOT_KEY_FILE TWITTER_CLIENT_ID TWITTER_CLIENT_SECRET

TMP=$(mktemp -d)
# The server's user must be able to reach the instance below it.
chmod 0711 "$TMP"
VAR=$TMP/var
PORT=$(free_port)
CANARY=canary-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
ENVF=$TMP/env
cat >"$ENVF" <<EOF
# test instance settings
TWITTER_CLIENT_ID=t-server-client-id
TWITTER_CLIENT_SECRET="$CANARY"
EOF
ADMIN_PW=t-server-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')

svc() { # the instance's service.sh, with any extra VAR=value first
    env SOSYABOT_VAR="$VAR" PORT="$PORT" HOST=127.0.0.1 SOSYABOT_ENV_FILE="$ENVF" \
        SOSYABOT_ADMIN_PASSWORD="$ADMIN_PW" "$@"
}

cleanup() {
    local rc=$?
    svc "$ROOT/service.sh" stop >/dev/null 2>&1 || true
    if ((FAIL > 0 || rc != 0)); then
        local f
        for f in "$VAR"/log/*.log; do
            [[ -s $f ]] || continue
            echo "--- last lines of $f"
            tail -n 30 "$f"
        done
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

echo "# SERVER=$SERVER port=$PORT instance=$VAR"
URL=http://127.0.0.1:$PORT

# --- start ---------------------------------------------------------------------
# The data directory is the service user's: a link it planted where the
# first start writes the admin password must not make root write through
# it (into a file of root's, here).
mkdir -p "$VAR"
printf 'keep\n' >"$TMP/victim"
ln -s "$TMP/victim" "$VAR/initial-admin-password"
OUT=$TMP/start.out
if svc "$ROOT/service.sh" start >"$OUT" 2>&1; then
    ok "service.sh start exits 0"
else
    not_ok "service.sh start exits 0"
    cat "$OUT"
    finish
    exit 1
fi
sed 's/^/#   /' "$OUT"
check "start prints the URL" grep -qF "$URL" "$OUT"
check "first start prints the admin user and password" \
    bash -c 'grep -q "admin" "$1" && grep -qF -- "$2" "$1"' _ "$OUT" "$ADMIN_PW"
check "initial-admin-password is kept with mode 0600" \
    bash -c '[[ -f $1 && $(stat -c %a "$1") == 600 ]]' _ "$VAR/initial-admin-password"
check "the first start writes no password through a link planted in the data directory" \
    bash -c '[[ ! -L $1 && $(cat "$2") == keep ]]' _ "$VAR/initial-admin-password" "$TMP/victim"
if [[ $(id -u) == 0 ]]; then
    check "the data directory belongs to ${SOSYABOT_USER:-www-data}" \
        bash -c '[[ $(stat -c %U "$1") == "$2" ]]' _ "$VAR" "${SOSYABOT_USER:-www-data}"
fi

# --- requests ------------------------------------------------------------------
# fetch NAME [curl args...]: headers in $TMP/NAME.h (CR stripped), status in $CODE
fetch() {
    local name=$1
    shift
    CODE=$(curl -s -m 20 -o "$TMP/$name.body" -D "$TMP/$name.h.raw" -w '%{http_code}' "$@" || true)
    tr -d '\r' <"$TMP/$name.h.raw" >"$TMP/$name.h"
}
# header NAME FIELD: the value of FIELD in the final response's headers
header() {
    awk -v f="$(tr 'A-Z' 'a-z' <<<"$2")" '
        /^HTTP\// { delete seen; v = "" }
        { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == f) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v) } }
        END { print v }' "$TMP/$1.h"
}
# The headers that appear more than once in the final response.
dup_headers() {
    awk '/^HTTP\// { delete n; next } { i = index($0, ":"); if (i) n[tolower(substr($0, 1, i - 1))]++ }
         END { for (k in n) if (n[k] > 1 && k != "set-cookie") print k }' "$TMP/$1.h"
}
security_headers() { # security_headers NAME [referrer-policy]
    local rp=${2:-same-origin}
    [[ $(header "$1" Content-Security-Policy) == "$CSP" ]] &&
        [[ $(header "$1" X-Content-Type-Options) == nosniff ]] &&
        [[ $(header "$1" X-Frame-Options) == DENY ]] &&
        [[ $(header "$1" Referrer-Policy) == "$rp" ]]
}
no_dups() { [[ -z $(dup_headers "$1") ]]; }
report_headers() { # on failure, show what was received
    sed 's/^/#   /' "$TMP/$1.h"
}
expect() { # expect NAME CODE DESCRIPTION [referrer-policy]
    local name=$1 want=$2 what=$3 rp=${4:-same-origin}
    if [[ $CODE == "$want" ]]; then ok "$what answers $want"; else not_ok "$what answers $want (got $CODE)"; fi
    if security_headers "$name" "$rp"; then ok "$what carries the security headers"; else
        not_ok "$what carries the security headers"
        report_headers "$name"
    fi
    if no_dups "$name"; then ok "$what has no header twice"; else
        not_ok "$what has no header twice: $(dup_headers "$name" | tr '\n' ' ')"
    fi
}

if [[ -x $ROOT/cgi-bin/login.cgi ]]; then
    fetch login "$URL/login"
    expect login 200 "GET /login"
    fetch root "$URL/"
    if [[ $CODE != 404 && $CODE != 000 ]]; then ok "GET / reaches login.cgi ($CODE)"; else not_ok "GET / reaches login.cgi (got $CODE)"; fi
else
    skip "GET /login: cgi-bin/login.cgi is not built yet"
fi

if [[ -x $ROOT/cgi-bin/callback.cgi ]]; then
    fetch cb "$URL/api/v1/auth/twitter/callback?code=x&state=y"
    if security_headers cb no-referrer; then ok "the OAuth callback keeps Referrer-Policy: no-referrer"; else
        not_ok "the OAuth callback keeps Referrer-Policy: no-referrer"
        report_headers cb
    fi
    check "the OAuth callback has no header twice" no_dups cb
else
    skip "OAuth callback headers: cgi-bin/callback.cgi is not built yet"
fi

fetch css "$URL/static/app.css"
expect css 200 "GET /static/app.css"
check "app.css is served as text/css" bash -c '[[ $1 == text/css* ]]' _ "$(header css Content-Type)"
check "app.css is the file in htdocs/static" cmp -s "$TMP/css.body" "$ROOT/htdocs/static/app.css"

fetch nf "$URL/no-such-page-$RANDOM"
expect nf 404 "an unknown path"
fetch nf2 "$URL/static/no-such-file.css"
expect nf2 404 "an unknown static file"

head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$TMP/big"
BIG_PATH=/static/app.css
[[ -x $ROOT/cgi-bin/login.cgi ]] && BIG_PATH=/login
fetch big -X POST -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "@$TMP/big" "$URL$BIG_PATH"
expect big 413 "a 2 MiB POST to $BIG_PATH"
fetch bigc -X POST -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary "@$TMP/big" "$URL$BIG_PATH"
expect bigc 413 "a 2 MiB chunked POST to $BIG_PATH"

check "the Server header names no version" bash -c '! grep -qiE "^server:.*[0-9]" "$1"' _ "$TMP/css.h"

# --- the programs' messages --------------------------------------------------------
# What a program says on stderr is in var/log/error.log, on either server:
# here a store the service user cannot read (root only: chmod means
# nothing to a root-run server).
if [[ $(id -u) == 0 && -x $ROOT/cgi-bin/login.cgi && -f $VAR/users.db ]]; then
    chmod 000 "$VAR/users.db"
    fetch unreadable -X POST -d 'username=a&password=b' "$URL/login"
    chmod 0600 "$VAR/users.db"
    expect unreadable 503 "a sign-in when the store cannot be read"
    sleep 0.5
    check "a program's message on stderr reaches var/log/error.log" \
        grep -q 'sosyabot: store: users: open: Permission denied' "$VAR/log/error.log"
else
    skip "a program's message on stderr reaches var/log/error.log (root only)"
fi

# --- no secret on disk -----------------------------------------------------------
check "the rendered config, logs and data hold no TWITTER_CLIENT_SECRET value" \
    bash -c '! grep -rqF -- "$1" "$2"' _ "$CANARY" "$VAR"
if [[ $SERVER == apache ]]; then
    check "the Apache config passes the secret by name" grep -q 'PassEnv.*TWITTER_CLIENT_SECRET' "$VAR/run/httpd.conf"
else
    check "the lighttpd config passes the secret by name" grep -qF 'env.TWITTER_CLIENT_SECRET' "$VAR/run/lighttpd.conf"
fi

# --- status, idempotent start, stop ------------------------------------------------
STATUS=$(svc "$ROOT/service.sh" status 2>&1) && rc=0 || rc=$?
check "status says running (exit 0)" bash -c '[[ $1 == 0 && $2 == *"is running"* ]]' _ "$rc" "$STATUS"
check "status names the server" bash -c '[[ $1 == *"$2"* ]]' _ "$STATUS" "$SERVER"

OUT2=$(svc "$ROOT/service.sh" start 2>&1) && rc=0 || rc=$?
check "a second start exits 0" test "$rc" = 0
check "a second start says it is running" bash -c '[[ $1 == *"already running"* ]]' _ "$OUT2"
check "a second start does not print the password again" bash -c '[[ $1 != *"$2"* ]]' _ "$OUT2" "$ADMIN_PW"
fetch again "$URL/static/app.css"
check "the server still answers after the second start" test "$CODE" = 200

OUT3=$(svc "$ROOT/service.sh" stop 2>&1) && rc=0 || rc=$?
check "stop exits 0" test "$rc" = 0
check "stop says what it stopped" bash -c '[[ $1 == *Stopped* ]]' _ "$OUT3"
check "stop frees the port" bash -c '! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null' _ "$PORT"
STATUS=$(svc "$ROOT/service.sh" status 2>&1) && rc=0 || rc=$?
check "status after stop says not running (exit 3)" bash -c '[[ $1 == 3 && $2 == *"not running"* ]]' _ "$rc" "$STATUS"
OUT4=$(svc "$ROOT/service.sh" stop 2>&1) && rc=0 || rc=$?
check "stop when stopped exits 0 and says so" bash -c '[[ $1 == 0 && $2 == *"not running"* ]]' _ "$rc" "$OUT4"

# --- BASE_URL with a path ------------------------------------------------------------
SUB=$URL/sub
OUT5=$TMP/start-sub.out
if svc BASE_URL="$SUB" "$ROOT/service.sh" start >"$OUT5" 2>&1; then
    ok "start with BASE_URL=$SUB"
    fetch subcss "$SUB/static/app.css"
    expect subcss 200 "GET /sub/static/app.css"
    fetch rootcss "$URL/static/app.css"
    expect rootcss 404 "GET /static/app.css outside the sub-path"
    fetch subroot "$URL/"
    expect subroot 404 "GET / outside the sub-path"
    if [[ -x $ROOT/cgi-bin/login.cgi ]]; then
        fetch sublogin "$SUB/login"
        expect sublogin 200 "GET /sub/login"
    else
        skip "GET /sub/login: cgi-bin/login.cgi is not built yet"
    fi
    check "first-start output is not repeated on a later start" bash -c '! grep -qF -- "$2" "$1"' _ "$OUT5" "$ADMIN_PW"
    svc "$ROOT/service.sh" stop >/dev/null 2>&1 || true
else
    not_ok "start with BASE_URL=$SUB"
    cat "$OUT5"
fi

finish
