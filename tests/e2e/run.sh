#!/usr/bin/env bash
# Browser tests: for each server, start the fake X and a whole instance,
# then drive Debian's Chromium through the guide's steps (smoke.js).
# Screenshots land in tests/e2e/artifacts/<server>/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
servers=${E2E_SERVERS:-apache lighttpd}
total_p=0 total_f=0 rc=0

[ -x /usr/bin/chromium ] || { echo "chromium is not installed"; echo "0 passed, 1 failed"; exit 1; }
if [ ! -d "$here/node_modules/playwright-core" ]; then
	(cd "$here" && npm ci --no-audit --no-fund --silent)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for server in $servers; do
	tmp=$(mktemp -d /tmp/sosyabot-e2e-XXXXXX)
	chmod 755 "$tmp"
	python3 "$root/tests/fakex/fakex.py" --port 0 > "$tmp/fakex.out" 2>&1 &
	fake_pid=$!
	trap 'kill $fake_pid 2>/dev/null || true' EXIT
	for _ in $(seq 100); do
		grep -qs '^listening ' "$tmp/fakex.out" && break
		sleep 0.1
	done
	fake_url=$(sed -n 's/^listening //p' "$tmp/fakex.out")
	port=$(free_port)
	password=e2e-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
	printf 'X_API_BASE_URL=%s\nX_AUTHORIZE_URL=%s/i/oauth2/authorize\nX_WEB_BASE_URL=%s\n' \
		"$fake_url" "$fake_url" "$fake_url" > "$tmp/env"
	export SOSYABOT_VAR=$tmp/var PORT=$port SERVER=$server \
		SOSYABOT_ENV_FILE=$tmp/env SOSYABOT_ADMIN_PASSWORD=$password
	if ! "$root/service.sh" start > "$tmp/start.log" 2>&1; then
		cat "$tmp/start.log"; rc=1; total_f=$((total_f + 1)); continue
	fi
	member_pw=member-$password
	printf '%s\n' "$member_pw" | "$root/service.sh" ctl user add mia \
		--workspace default > /dev/null
	out=$(E2E_BASE=http://127.0.0.1:$port E2E_PASSWORD=$password \
		E2E_MEMBER_PASSWORD=$member_pw \
		E2E_FAKEX=$fake_url E2E_SERVER=$server \
		E2E_ARTIFACTS=$here/artifacts/$server node "$here/smoke.js" 2>&1) || rc=1
	printf '%s\n' "$out"
	"$root/service.sh" stop > /dev/null 2>&1 || true
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
	if [ -z "$line" ]; then total_f=$((total_f + 1)); rc=1; else
		total_p=$((total_p + ${line%% passed*}))
		total_f=$((total_f + $(echo "$line" | sed 's/.*, \([0-9]*\) failed/\1/')))
	fi
	kill "$fake_pid" 2>/dev/null || true
	wait "$fake_pid" 2>/dev/null || true
	rm -rf "$tmp"
done
echo "$total_p passed, $total_f failed"
[ "$rc" -eq 0 ] && [ "$total_f" -eq 0 ]
