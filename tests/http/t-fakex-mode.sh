#!/usr/bin/env bash
# FAKE_X=1 ./service.sh start, on the real server named by SERVER (apache,
# the default, or lighttpd): service.sh starts an instance of its own on a
# free port in a temporary directory with the fake X beside it, and this
# checks what a newcomer relies on: the fake answers, the demo app and users
# are registered in it, the programs call it instead of X (an admin signs
# in, pastes the demo credentials and Test credentials says X accepted
# them), restart keeps it and its state, stop stops both, the demo secret
# is printed nowhere and kept only in its file, and a start without FAKE_X=1
# stops using the fake.
#
# Ends with one line "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
. "$ROOT/tests/http/lib.sh"
SERVER=${SERVER:-apache}
export SERVER


# The settings of the calling shell must not leak into the instance.
unset BASE_URL HOST SOSYABOT_DATA_DIR SOSYABOT_KEY_FILE TWITTER_CLIENT_ID TWITTER_CLIENT_SECRET \
    X_API_BASE_URL X_AUTHORIZE_URL X_WEB_BASE_URL FAKE_X FAKE_X_PORT

PY=$(command -v /usr/bin/python3 || command -v python3)

TMP=$(mktemp -d)
# The server's user must be able to reach the instance below it.
chmod 0711 "$TMP"
VAR=$TMP/var
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
ENVF=$TMP/env
# X's URLs in .env point at a closed port: the fake's must win over them.
cat >"$ENVF" <<'EOF'
X_API_BASE_URL=http://127.0.0.1:9
X_AUTHORIZE_URL=http://127.0.0.1:9/i/oauth2/authorize
X_WEB_BASE_URL=http://127.0.0.1:9
EOF
ADMIN_PW=t-fakex-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')
PAGE=/admin/api-integration/x-twitter

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

# A live process (a zombie nobody reaped is gone).
pid_alive() {
    [[ $1 =~ ^[0-9]+$ && -r /proc/$1/stat ]] || return 1
    [[ $(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) != [ZX] ]]
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
not() { ! "$@"; }

# fake PATH: the fake's answer to a GET
fake() { curl -s -m 10 "$FAKE$1"; }
# json EXPR [ARG...]: a Python expression on the JSON document on stdin (d),
# with the ARGs in sys.argv[2:]
json() { "$PY" -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$@"; }

echo "# SERVER=$SERVER port=$PORT instance=$VAR"

# --- start -----------------------------------------------------------------------
OUT=$TMP/start.out
if svc FAKE_X=1 "$ROOT/service.sh" start >"$OUT" 2>&1; then
    ok "FAKE_X=1 service.sh start exits 0"
else
    not_ok "FAKE_X=1 service.sh start exits 0"
    cat "$OUT"
    finish
    exit 1
fi
sed 's/^/#   /' "$OUT"
FAKE_PORT=$(sed -nE 's|^Fake X at http://127\.0\.0\.1:([0-9]+).*|\1|p' "$OUT" | head -n1)
FAKE=http://127.0.0.1:$FAKE_PORT
check "start prints where the fake X is" test -n "$FAKE_PORT"
check "start names the demo app and the file of its secret" \
    bash -c 'grep -qF "client id sosyabot-demo" "$1" && grep -qF "$2/fakex-demo-secret" "$1" && grep -qF "$3" "$1"' \
    _ "$OUT" "$VAR" "$PAGE"
check "run/fakex.port holds the fake's port" test "$(cat "$VAR/run/fakex.port" 2>/dev/null)" = "$FAKE_PORT"
FAKE_PID=$(cat "$VAR/run/fakex.pid" 2>/dev/null || true)
check "run/fakex.pid holds the fake's live pid" pid_alive "$FAKE_PID"
check "run/ records the FAKE_X mode" test -f "$VAR/run/fakex.mode"
check "the fake X answers" bash -c '[[ $(curl -s -m 10 -o /dev/null -w "%{http_code}" "$1/_fake/config") == 200 ]]' _ "$FAKE"

SECRET_F=$VAR/fakex-demo-secret
SECRET=$(head -n1 "$SECRET_F" 2>/dev/null || true)
check "the demo secret is kept in fakex-demo-secret, mode 0600" \
    bash -c '[[ $(stat -c %a "$1") == 600 && $2 =~ ^[A-Za-z0-9]{40,}$ ]]' _ "$SECRET_F" "$SECRET"
check "start does not print the demo secret" bash -c '! grep -qF -- "$2" "$1"' _ "$OUT" "$SECRET"

STATE=$(fake /_fake/state)
check "the demo app is registered: confidential, with the secret of the file" \
    test "$(json 'd["apps"]["sosyabot-demo"]["type"] + " " + d["apps"]["sosyabot-demo"]["client_secret"]' <<<"$STATE")" = "confidential $SECRET"
check "the demo app's callback is BASE_URL + /api/v1/auth/twitter/callback" \
    test "$(json 'd["apps"]["sosyabot-demo"]["callbacks"]' <<<"$STATE")" = "['$URL/api/v1/auth/twitter/callback']"
check "the demo users are registered" \
    test "$(json 'd["users"]["1001"]["username"] + " " + d["users"]["1002"]["username"]' <<<"$STATE")" = "demo_alice demo_bob"

# --- the admin pastes the demo credentials --------------------------------------
JAR=$TMP/cookies
# post PATH FIELD=VALUE...: a same-origin form POST with the session; the
# page in $TMP/page, the status in $CODE
post() {
    local path=$1 a args=()
    shift
    for a in "$@"; do args+=(--data-urlencode "$a"); done
    CODE=$(curl -s -m 40 -o "$TMP/page" -w '%{http_code}' -b "$JAR" -c "$JAR" \
        -H "Origin: $URL" "${args[@]}" "$URL$path" || true)
}
csrf() {
    curl -s -m 20 -b "$JAR" -c "$JAR" -H 'Accept: application/json' "$URL/api/v1/session" |
        json 'd["session"]["csrf"]'
}
test_credentials() { # Test credentials; the answer in $TMP/page
    post "$PAGE" "csrf=$(csrf)" action=test
}

if [[ -x $ROOT/cgi-bin/login.cgi && -x $ROOT/cgi-bin/admin.cgi ]]; then
    LOGIN_CSRF=$(curl -s -m 20 -b "$JAR" -c "$JAR" "$URL/login" |
        sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n1)
    post /login "csrf=$LOGIN_CSRF" username=admin "password=$ADMIN_PW"
    check "the admin signs in with the password" test "$CODE" = 303
    # The secret goes to curl on its standard input, like a paste.
    CODE=$(printf '%s' "$SECRET" | curl -s -m 40 -o "$TMP/page" -w '%{http_code}' -b "$JAR" -c "$JAR" \
        -H "Origin: $URL" --data-urlencode "csrf=$(csrf)" --data-urlencode action=save \
        --data-urlencode client_id=sosyabot-demo --data-urlencode client_secret@- \
        --data-urlencode status=enable "$URL$PAGE" || true)
    check "the demo credentials are saved (303)" test "$CODE" = 303
    test_credentials
    if grep -qF "X accepted these credentials" "$TMP/page"; then
        ok "Test credentials: X accepted these credentials"
    else
        not_ok "Test credentials: X accepted these credentials (got $CODE)"
        sed -n 's/<[^>]*>//g; /X \|reach/p' "$TMP/page" | head -n 5 | sed 's/^/#   /'
    fi
    check "the check went to the fake X's token endpoint" \
        test "$(fake '/_fake/requests?path=/2/oauth2/token' | json 'len(d["requests"])')" -ge 1
    ADMIN=1
else
    skip "signing in and Test credentials: login.cgi or admin.cgi is not built yet"
    ADMIN=0
fi

# --- Channels -> Connect -> pick a demo user -> Approve -----------------------------
api_channels() {
    curl -s -m 20 -b "$JAR" -c "$JAR" -H 'Accept: application/json' "$URL/api/v1/channels"
}
CONNECTED=0
if [[ -x $ROOT/cgi-bin/callback.cgi && -x $ROOT/cgi-bin/channels.cgi && $ADMIN == 1 ]]; then
    LOC=$(curl -s -m 20 -o /dev/null -w '%{redirect_url}' -b "$JAR" -c "$JAR" "$URL/api/v1/auth/twitter" || true)
    check "Connect sends the browser to the fake X's consent page" \
        bash -c '[[ $1 == "$2/i/oauth2/authorize?"* ]]' _ "$LOC" "$FAKE"
    curl -s -m 20 -o "$TMP/consent" "$LOC" || true
    check "the consent page offers the demo users" \
        bash -c 'grep -qF "@demo_alice" "$1" && grep -qF "@demo_bob" "$1"' _ "$TMP/consent"
    # Approve as @demo_alice: the page's form, with its hidden fields.
    "$PY" - "$TMP/consent" >"$TMP/decide" <<'EOF'
import html, re, sys, urllib.parse
page = open(sys.argv[1], encoding="utf-8").read()
form = {k: html.unescape(v) for k, v in re.findall(
    r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}
form.update(user_id="1001", decision="approve")
sys.stdout.write(urllib.parse.urlencode(form))
EOF
    BACK=$(curl -s -m 20 -o /dev/null -w '%{redirect_url}' --data-binary "@$TMP/decide" \
        -H 'Content-Type: application/x-www-form-urlencoded' "$FAKE/i/oauth2/authorize/decide" || true)
    check "Approve sends the browser back to the callback with a code" \
        bash -c '[[ $1 == "$2/api/v1/auth/twitter/callback?"*code=* ]]' _ "$BACK" "$URL"
    CODE=$(curl -s -m 40 -o "$TMP/page" -w '%{http_code}' -b "$JAR" -c "$JAR" "$BACK" || true)
    check "the callback connects the channel (303, got $CODE)" test "$CODE" = 303
    check "the channel of @demo_alice is active" \
        test "$(api_channels | json '[c["status"] for c in d["channels"] if c["handle"] == "demo_alice"]')" = "['active']"
    check "the fake X gave @demo_alice's token to the demo app" \
        test "$(fake /_fake/state | json 'any(t["user_id"] == "1001" and t["client_id"] == "sosyabot-demo" for t in d["tokens"].values())')" = True
    CONNECTED=1
else
    skip "Connect: callback.cgi or channels.cgi is not built yet"
fi

# --- Publishing ----------------------------------------------------------------------
if [[ -x $ROOT/cgi-bin/publish.cgi && $CONNECTED == 1 ]]; then
    TEXT="Hello from the fake X mode test $RANDOM$RANDOM"
    CHAN=$(api_channels | json '[c["id"] for c in d["channels"] if c["handle"] == "demo_alice"][0]')
    "$PY" -c 'import json, sys; print(json.dumps({"text": sys.argv[1], "channels": [sys.argv[2]]}))' \
        "$TEXT" "$CHAN" >"$TMP/post.json"
    curl -s -m 40 -o "$TMP/page" -b "$JAR" -c "$JAR" -H "Origin: $URL" -H "X-CSRF-Token: $(csrf)" \
        -H 'Content-Type: application/json' -H 'Accept: application/json' \
        --data-binary "@$TMP/post.json" "$URL/api/v1/posts" || true
    check "a post published now reaches @demo_alice's timeline at the fake X" \
        test "$(fake '/_fake/timeline?user=1001' | json 'any(p["text"] == sys.argv[2] for p in d["data"])' "$TEXT")" = True
else
    skip "Publishing: publish.cgi is not built yet (or no channel)"
fi

# The fake keeps its state in the instance: a user added now outlives the
# restart.
curl -s -m 10 -o /dev/null -H 'Content-Type: application/json' \
    -d '{"id":"1003","username":"t_fakex_extra"}' "$FAKE/_fake/users"

STATUS=$(svc "$ROOT/service.sh" status 2>&1) && rc=0 || rc=$?
check "status says running and names the fake X" \
    bash -c '[[ $1 == 0 && $2 == *"is running"* && $2 == *"Fake X at $3"* ]]' _ "$rc" "$STATUS" "$FAKE"

OUT2=$(svc "$ROOT/service.sh" start 2>&1) && rc=0 || rc=$?
check "a second start exits 0 and says it is running" bash -c '[[ $1 == 0 && $2 == *"already running"* ]]' _ "$rc" "$OUT2"
check "a second start does not print the demo secret" bash -c '[[ $1 != *"$2"* ]]' _ "$OUT2" "$SECRET"

# --- restart ---------------------------------------------------------------------
OUT3=$TMP/restart.out
if svc "$ROOT/service.sh" restart >"$OUT3" 2>&1; then ok "restart (without FAKE_X) exits 0"; else
    not_ok "restart (without FAKE_X) exits 0"
    cat "$OUT3"
fi
check "restart stopped the old fake X" not pid_alive "$FAKE_PID"
NEW_PID=$(cat "$VAR/run/fakex.pid" 2>/dev/null || true)
check "restart keeps the fake X mode: a new fake runs" pid_alive "$NEW_PID"
check "restart keeps the fake X on its port" test "$(cat "$VAR/run/fakex.port" 2>/dev/null)" = "$FAKE_PORT"
check "restart does not print the demo secret" bash -c '! grep -qF -- "$2" "$1"' _ "$OUT3" "$SECRET"
check "the demo secret did not change" test "$(head -n1 "$SECRET_F")" = "$SECRET"
STATE=$(fake /_fake/state)
check "the fake's state survived the restart" test "$(json '"1003" in d["users"]' <<<"$STATE")" = True
check "registering again is idempotent: one app, same secret, same users" \
    test "$(json 'sorted(d["apps"]) == ["sosyabot-demo"] and d["apps"]["sosyabot-demo"]["client_secret"] == sys.argv[2] and sorted(d["users"]) == ["1001", "1002", "1003"]' "$SECRET" <<<"$STATE")" = True
if ((ADMIN)); then
    test_credentials
    check "after the restart, Test credentials still reaches the fake" grep -qF "X accepted these credentials" "$TMP/page"
fi
if ((CONNECTED)); then
    check "after the restart, the channel of @demo_alice is still active" \
        test "$(api_channels | json '[c["status"] for c in d["channels"] if c["handle"] == "demo_alice"]')" = "['active']"
fi

# --- the secret stays in its file ------------------------------------------------
# Only fakex-demo-secret holds it, and the fake's own state file (the fake
# keeps its apps there; what it writes is its business, mode 0600).
LEAKS=$(grep -rlF -- "$SECRET" "$VAR" | grep -vxF -e "$SECRET_F" -e "$VAR/fakex-state.json" || true)
check "no other file under the instance holds the demo secret" test -z "$LEAKS"
[[ -z $LEAKS ]] || sed 's/^/#   found in /' <<<"$LEAKS"
if [[ $SERVER == apache ]]; then CONF=$VAR/run/httpd.conf; else CONF=$VAR/run/lighttpd.conf; fi
check "the rendered config passes X_API_BASE_URL by name" grep -q 'X_API_BASE_URL' "$CONF"

# --- stop --------------------------------------------------------------------------
OUT4=$(svc "$ROOT/service.sh" stop 2>&1) && rc=0 || rc=$?
check "stop exits 0 and says it stopped the fake X" bash -c '[[ $1 == 0 && $2 == *"Stopped the fake X"* ]]' _ "$rc" "$OUT4"
check "stop frees the server's port" not port_open "$PORT"
check "stop stops the fake X" not pid_alive "$NEW_PID"
check "stop frees the fake X's port" not port_open "$FAKE_PORT"
STATUS=$(svc "$ROOT/service.sh" status 2>&1) && rc=0 || rc=$?
check "status after stop says not running (exit 3)" bash -c '[[ $1 == 3 && $2 == *"not running"* ]]' _ "$rc" "$STATUS"

# --- a start without FAKE_X=1 ------------------------------------------------------
OUT5=$TMP/start-plain.out
if svc "$ROOT/service.sh" start >"$OUT5" 2>&1; then ok "start without FAKE_X exits 0"; else
    not_ok "start without FAKE_X exits 0"
    cat "$OUT5"
fi
check "start without FAKE_X says it no longer uses the fake" grep -qF "Not using the fake X" "$OUT5"
check "start without FAKE_X warns that the demo credentials are still saved" \
    bash -c '((!$2)) || grep -qF "still holds the demo app" "$1"' _ "$OUT5" "$ADMIN"
check "start without FAKE_X forgets the mode and starts no fake" \
    bash -c '[[ ! -e $1/run/fakex.mode && ! -e $1/run/fakex.pid ]]' _ "$VAR"
check "nothing listens on the fake X's port" not port_open "$FAKE_PORT"
STATUS=$(svc "$ROOT/service.sh" status 2>&1) || true
check "status no longer names a fake X" bash -c '[[ $1 != *"Fake X"* ]]' _ "$STATUS"
if ((ADMIN)); then
    test_credentials
    check "the programs are back on .env's X URLs (Could not reach X)" grep -qF "Could not reach X" "$TMP/page"
fi
svc "$ROOT/service.sh" stop >/dev/null 2>&1 || true

finish
