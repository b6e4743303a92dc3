#!/usr/bin/env bash
# bench/run.sh [--smoke]: build the benchmark's programs (bench/*.c, built
# only on demand: they are not part of the product) and run bench/bench.py.
# ./service.sh bench runs this after installing and building what it needs;
# ./service.sh test runs it with --smoke so that the benchmark never rots.
# BENCH_SMOKE=1 is the same as --smoke.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
smoke=${BENCH_SMOKE:-0}
for a in "$@"; do
    case $a in
        --smoke) smoke=1 ;;
        *) echo "usage: bench/run.sh [--smoke]" >&2; exit 2 ;;
    esac
done
missing=()
for t in wrk valgrind curl setpriv; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if ((${#missing[@]})); then
    echo "bench: missing ${missing[*]} (./service.sh bench installs them as root)"
    echo "0 passed, 1 failed"
    exit 1
fi
# The lock service.sh's build takes: one build of the tree at a time.
if ! (exec 9<configure.ac && flock 9 &&
    make -s bench/floor.cgi bench/cgirun bench/loadposts); then
    echo "bench: building the benchmark's programs failed"
    echo "0 passed, 1 failed"
    exit 1
fi
py=python3
[[ -x /usr/bin/python3 ]] && py=/usr/bin/python3
if ((smoke)); then
    BENCH_SMOKE=1 exec "$py" bench/bench.py --smoke
fi
exec "$py" bench/bench.py
