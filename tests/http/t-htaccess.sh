#!/usr/bin/env bash
# The shared-hosting layout of doc/install.md, on a real Apache: the
# programs in one web directory, their fronts in front/ below it, the
# static files in static/, and apache/htaccess as its .htaccess with
# its three settings edited -- nothing else of ours in the server's
# config.  Apache only (.htaccess is Apache's); run the same under
# SERVER=lighttpd.
#
# Ends with one line "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
. "$ROOT/tests/http/lib.sh"

APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
MODS=/usr/lib/apache2/modules
if [[ ! -x $APACHE || ! -f $MODS/mod_cgid.so ]]; then
    not_ok "Apache (apache2) is installed"
    finish
    exit 1
fi

TMP=$(mktemp -d)
chmod 0711 "$TMP"
WEB=$TMP/www/sosyabot
DATA=$TMP/data
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT/sosyabot
cleanup() {
    [[ -f $TMP/httpd.pid ]] && kill "$(cat "$TMP/httpd.pid")" 2>/dev/null
    sleep 0.3
    if ((FAIL > 0)); then echo "--- error log"; tail -n 30 "$TMP/error.log" 2>/dev/null; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# As root, Apache runs the programs as www-data, which owns the data.
user=()
as_user=()
if [[ $(id -u) == 0 ]]; then
    user=("User www-data" "Group www-data")
    as_user=(runuser -u www-data --)
fi

# doc/install.md, shared hosting, steps 3 to 5.
mkdir -p "$WEB/front" "$WEB/static" "$DATA"
chmod 0755 "$TMP/www" "$WEB" "$WEB/front" "$WEB/static"
cp "$ROOT"/cgi-bin/*.cgi "$WEB/"
cp "$ROOT"/cgi-bin/front/*.cgi "$WEB/front/"
cp "$ROOT"/htdocs/static/* "$WEB/static/"
sed -e "s#^SetEnv BASE_URL .*#SetEnv BASE_URL $BASE#" \
    -e "s#^SetEnv SOSYABOT_DATA_DIR .*#SetEnv SOSYABOT_DATA_DIR $DATA#" \
    -e "s#^RewriteBase .*#RewriteBase /sosyabot/#" \
    "$ROOT/apache/htaccess" >"$WEB/.htaccess"
chmod 0644 "$WEB/.htaccess"
chmod 0700 "$DATA"
[[ $(id -u) == 0 ]] && chown www-data:www-data "$DATA"
ctl() { "${as_user[@]}" env SOSYABOT_DATA_DIR="$DATA" "$ROOT/tools/sosyabotctl" "$@"; }
ctl init >/dev/null
echo 'htaccess password 1' | ctl user add admin --workspace default --admin >/dev/null

{
    echo "ServerRoot $TMP"
    echo "Listen 127.0.0.1:$PORT"
    echo "ServerName 127.0.0.1"
    echo "PidFile $TMP/httpd.pid"
    echo "ErrorLog $TMP/error.log"
    printf '%s\n' "${user[@]}"
    for m in mpm_event authz_core mime dir alias rewrite headers env cgid; do
        echo "LoadModule ${m}_module $MODS/mod_$m.so"
    done
    echo "ScriptSock $TMP/cgid.sock"
    echo "TypesConfig /etc/mime.types"
    echo "DocumentRoot $TMP/www"
    echo "<Directory />"
    echo "    AllowOverride None"
    echo "    Require all denied"
    echo "</Directory>"
    echo "<Directory $TMP/www>"
    echo "    AllowOverride FileInfo Options Limit"
    echo "    Require all granted"
    echo "</Directory>"
} >"$TMP/httpd.conf"
if ! "$APACHE" -f "$TMP/httpd.conf" -k start; then
    not_ok "Apache starts with the shared-hosting layout"
    finish
    exit 1
fi
for _ in $(seq 50); do
    curl -s -o /dev/null "$BASE/login" && break
    sleep 0.1
done

JAR=$TMP/jar
t_form() {
    local h
    h=$(curl -s -c "$JAR" -D - -o "$TMP/body" "$BASE/login") &&
    grep -q '^HTTP/1.1 200' <<<"$h" &&
    grep -qi "^Content-Security-Policy: default-src 'self'" <<<"$h" &&
    grep -q 'name="csrf"' "$TMP/body"
}
check "GET /login: the form, from the front, with the .htaccess headers" t_form

t_signin() {
    # PBKDF2 needs libcrypto, which a front refuses to load: a sign-in
    # that works went through the front to the full program.
    local tok h
    tok=$(awk '$6 == "login" { print $7 }' "$JAR")
    h=$(curl -s -b "$JAR" -c "$JAR" -D - -o /dev/null \
        -H "Origin: http://127.0.0.1:$PORT" -H "Sec-Fetch-Site: same-origin" \
        --data "csrf=$tok&username=admin&password=htaccess+password+1" \
        "$BASE/login") &&
    grep -q '^HTTP/1.1 303' <<<"$h" &&
    grep -qi "^Location: $BASE/app/channels" <<<"$h" &&
    grep -q 'sid' "$JAR"
}
check "POST /login: the front hands the sign-in to login.cgi" t_signin

t_pages() {
    local p
    for p in /app/channels /app/publishing /admin/api-integration/x-twitter; do
        [[ $(curl -s -b "$JAR" -o /dev/null -w '%{http_code}' "$BASE$p") == 200 ]] ||
            { echo "$p did not answer 200"; return 1; }
    done
}
check "the signed-in pages answer 200" t_pages

t_names() {
    local p
    for p in /login.cgi /front/login.cgi /publish.cgi /front/publish.cgi; do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE$p") == 404 ]] ||
            { echo "$p is reachable by its file name"; return 1; }
    done
}
check "no program answers under its file name, fronts included" t_names

t_root() {
    # The directory itself: the programs' root route, not a listing.
    local h
    h=$(curl -s -D - -o /dev/null "$BASE/") &&
    grep -q '^HTTP/1.1 302' <<<"$h" && grep -qi "^Location: $BASE/login" <<<"$h"
}
check "the directory's own URL is the root route (302 to /login)" t_root

t_static() {
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/static/app.css") == 200 ]]
}
check "static files are served" t_static

t_big() {
    [[ $(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-binary @<(head -c 1100000 /dev/zero | tr '\0' a) "$BASE/login") == 413 ]]
}
check "a body over 1 MiB is 413" t_big

finish
