# Helpers of the bash runners in tests/http (t-*.sh): each sources this,
# calls `check NAME COMMAND...` (or ok/not_ok/skip) and ends with
# `finish`, which prints "N passed, N failed" and fails on any failure.
# Not a runner itself: service.sh runs only t-*.sh.

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); printf 'ok - %s\n' "$*"; }
not_ok() { FAIL=$((FAIL + 1)); printf 'not ok - %s\n' "$*"; }
skip() { printf 'skip - %s\n' "$*"; }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}
finish() {
    echo "$PASS passed, $FAIL failed"
    ((FAIL == 0))
}

# A TCP port on 127.0.0.1 that nothing listens on (python3 when there is
# one, else a probe of random ports).
free_port() {
    local py p
    py=$(command -v /usr/bin/python3 || command -v python3 || true)
    if [[ -n $py ]]; then
        "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
    return 1
}
