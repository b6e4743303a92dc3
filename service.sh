#!/usr/bin/env bash
# service.sh: build, run and test Sosyabot for X on this machine.
#
#   ./service.sh start            install what is missing, build, start
#   FAKE_X=1 ./service.sh start   the same, with a fake X beside it
#   ./service.sh stop | status | restart [api] | ctl ARGS... | test | bench
#
# Everything an instance writes lives in one directory ($SOSYABOT_VAR,
# default var/ in the project): the data files at its top, the rendered
# server config and pid files in run/, the server's logs in log/. Several
# instances can run at once with different SOSYABOT_VAR and PORT.
# See doc/install.md for the details, doc/try-without-x.md for FAKE_X.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
PROG=${0##*/}

# The programs the route map knows; a missing one is simply not routed.
CGI_NAMES=(login admin channels callback cookie publish)
BUILD_PKGS=(autoconf automake libtool pkg-config gcc make libdb5.3-dev
            libjansson-dev libcurl4-openssl-dev libssl-dev check libunistring-dev)
# apache2-bin, not apache2: the rendered config needs only the binary and
# its modules, and apache2 would also install and start a system site on
# port 80 that nobody asked for.
APACHE_PKGS=(apache2-bin)
LIGHTTPD_PKGS=(lighttpd)
TOOL_PKGS=(curl python3)
TEST_PKGS=(valgrind)
# The benchmark (bench/): wrk drives the servers, valgrind counts.
BENCH_PKGS=(wrk valgrind)
# What the CGIs get besides the ones with a SOSYABOT_ or X_ prefix.
# The sanitizers' settings are passed on for tests/sanitize.sh --suite.
PASS_NAMES=(BASE_URL SOSYABOT_DATA_DIR SOSYABOT_KEY_FILE TWITTER_CLIENT_ID
            TWITTER_CLIENT_SECRET X_API_BASE_URL X_AUTHORIZE_URL X_WEB_BASE_URL
            SOSYABOT_CA_BUNDLE ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS)
# service.sh's own settings: never passed to the programs.
OWN_NAMES=(SOSYABOT_VAR SOSYABOT_USER SOSYABOT_ENV_FILE SOSYABOT_ADMIN_PASSWORD
           SOSYABOT_WORKER_INTERVAL)
APACHE_MODDIR=/usr/lib/apache2/modules
# FAKE_X=1: the demo app and users registered in the fake X.
FAKEX_CLIENT_ID=sosyabot-demo
FAKEX_USERS=('1001 demo_alice Demo Alice' '1002 demo_bob Demo Bob')

usage() {
    cat <<EOF
Usage: ./$PROG COMMAND

Commands:
  start          install missing packages (as root), build when needed,
                 create the data directory and the first admin, render the
                 server config and start the server. Does nothing if the
                 instance is already running.
  stop           stop the server of this instance (and its fake X)
  restart [api]  stop, then start (re-reads .env; keeps FAKE_X=1 mode)
  status         say whether the instance runs, with its URL, pid and server
  ctl ARGS...    run tools/sosyabotctl as the service user, with the
                 instance's data directory and environment
  test           build and run every test (unit, CGI, HTTP on Apache and
                 lighttpd, browser); exits non-zero on any failure
  bench [--smoke]  the benchmark: the stack with the fake X on Apache and
                 lighttpd, every page beside a trivial CGI; writes
                 bench/RESULTS.md (--smoke: a few runs, one server)

Environment (also read from .env in the project root, or SOSYABOT_ENV_FILE;
the real environment wins over .env):
  SERVER=apache|lighttpd   web server (default apache)
  HOST, PORT               listen address (default 127.0.0.1:8080)
  BASE_URL                 public URL (default http://HOST:PORT); its path,
                           if any, prefixes every route
  SOSYABOT_VAR             instance directory (default <project>/var)
  SOSYABOT_USER            user the server and tools run as when started by
                           root (default www-data)
  SOSYABOT_ADMIN_PASSWORD  password of the first admin instead of a random one
  FAKE_X=1                 run a fake X beside the server and point the
                           programs at it, to try everything without an X
                           developer account (doc/try-without-x.md);
                           FAKE_X=0 leaves it on a restart
  FAKE_X_PORT              port of the fake X (default: a free one)
  TWITTER_CLIENT_ID, TWITTER_CLIENT_SECRET, X_*, SOSYABOT_*   passed to the
                           programs (see doc/env.md)
EOF
}

say()  { printf '%s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die()  { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
is_root() { [[ $(id -u) == 0 ]]; }

# --- .env ---------------------------------------------------------------------

# KEY=VALUE lines; '#' comments; optional "export "; values may be quoted
# with '' or "" (taken literally, no escapes). Nothing is evaluated by the
# shell. Only names the product uses are accepted, so a stray PATH= or
# LD_PRELOAD= in .env cannot change how this script or the server runs.
# A variable already in the environment keeps its value.
env_name_allowed() {
    case $1 in
        SOSYABOT_* | X_* | TWITTER_* | BASE_URL | HOST | PORT | SERVER | FAKE_X | FAKE_X_PORT) return 0 ;;
    esac
    return 1
}

trim() {
    local s=$1
    s=${s#"${s%%[![:space:]]*}"}
    s=${s%"${s##*[![:space:]]}"}
    printf '%s' "$s"
}

load_env_file() {
    local file=$1 line key val n=0
    [[ -e $file ]] || return 0
    [[ -r $file ]] || die "cannot read $file"
    while IFS= read -r line || [[ -n $line ]]; do
        n=$((n + 1))
        line=$(trim "${line%$'\r'}")
        [[ -z $line || $line == \#* ]] && continue
        if [[ $line =~ ^export[[:space:]]+(.*)$ ]]; then line=${BASH_REMATCH[1]}; fi
        if [[ ! $line =~ ^([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=(.*)$ ]]; then
            warn "$file:$n: not KEY=VALUE, ignored"
            continue
        fi
        key=${BASH_REMATCH[1]}
        val=$(trim "${BASH_REMATCH[2]}")
        if [[ $val =~ ^\"([^\"]*)\"([[:space:]]+#.*)?$ || $val =~ ^\'([^\']*)\'([[:space:]]+#.*)?$ ]]; then
            val=${BASH_REMATCH[1]}
        else
            # Unquoted: " #" starts a comment (quote a value that needs it).
            val=$(trim "${val%%[[:space:]]#*}")
        fi
        if ! env_name_allowed "$key"; then
            warn "$file:$n: $key is not a Sosyabot setting, ignored"
            continue
        fi
        if [[ -z ${!key+set} ]]; then
            export "$key=$val"
        fi
    done <"$file"
}

# --- settings -----------------------------------------------------------------

# Everything derived from the environment, in one place.
setup() {
    SERVER=${SERVER:-apache}
    case $SERVER in apache | lighttpd) ;; *) die "SERVER must be apache or lighttpd, not '$SERVER'" ;; esac
    HOST=${HOST:-127.0.0.1}
    PORT=${PORT:-8080}
    [[ $PORT =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT < 65536)) || die "PORT must be a port number, not '$PORT'"
    [[ $HOST =~ ^[A-Za-z0-9.:_-]+$ ]] || die "HOST must be an address or host name, not '$HOST'"

    VAR=${SOSYABOT_VAR:-$ROOT/var}
    [[ $VAR == /* ]] || VAR=$PWD/$VAR
    VAR=${VAR%/}
    RUN=$VAR/run
    LOG=$VAR/log


    # Where to reach the server from this machine, and how it listens.
    local h=$HOST
    case $h in 0.0.0.0) h=127.0.0.1 ;; ::) h=::1 ;; esac
    if [[ $HOST == *:* ]]; then LISTEN="[$HOST]:$PORT"; else LISTEN="$HOST:$PORT"; fi
    if [[ $h == *:* ]]; then LOCAL_HOST="[$h]"; else LOCAL_HOST=$h; fi

    BASE_URL=${BASE_URL:-http://$LOCAL_HOST:$PORT}
    BASE_URL=${BASE_URL%/}
    [[ $BASE_URL =~ ^https?://[^/?#]+(/[^?#]*)?$ ]] || die "BASE_URL must look like http(s)://host[:port][/path], not '$BASE_URL'"
    PREFIX=${BASH_REMATCH[1]}
    # The prefix goes into regular expressions and config strings.
    [[ -z $PREFIX || $PREFIX =~ ^(/[A-Za-z0-9._~-]+)+$ ]] ||
        die "the path of BASE_URL may only hold letters, digits and . _ ~ - between slashes: '$PREFIX'"
    PREFIX_RE=${PREFIX//./\\.}
    export BASE_URL

    SVC_USER=$(id -un)
    SVC_GROUP=$(id -gn)
    PRIVSEP=0
    if is_root; then
        SVC_USER=${SOSYABOT_USER:-www-data}
        [[ $SVC_USER != root ]] || die "SOSYABOT_USER=root: the server must not run its programs as root"
        id "$SVC_USER" >/dev/null 2>&1 || die "user $SVC_USER does not exist (set SOSYABOT_USER)"
        SVC_GROUP=$(id -gn "$SVC_USER")
        PRIVSEP=1
    fi

    FAKE_X=${FAKE_X:-}
    case $FAKE_X in "" | 0 | 1) ;; *) die "FAKE_X must be 1 (use the fake X) or 0, not '$FAKE_X'" ;; esac
    FAKE_X_PORT=${FAKE_X_PORT:-}
    if [[ -n $FAKE_X_PORT ]]; then
        [[ $FAKE_X_PORT =~ ^[0-9]+$ ]] && ((FAKE_X_PORT > 0 && FAKE_X_PORT < 65536)) ||
            die "FAKE_X_PORT must be a port number, not '$FAKE_X_PORT'"
        [[ $FAKE_X_PORT != "$PORT" ]] || die "FAKE_X_PORT and PORT must differ ($PORT)"
    fi
    FAKEX_PY=$ROOT/tests/fakex/fakex.py
}

# --- packages -----------------------------------------------------------------

pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# Installs the named Debian packages that are missing, when we are root and
# apt is there; otherwise only says what is missing.
ensure_packages() {
    command -v dpkg-query >/dev/null 2>&1 || return 0
    local p missing=()
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    ((${#missing[@]})) || return 0
    if ! is_root || ! command -v apt-get >/dev/null 2>&1; then
        warn "missing packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})"
        return 0
    fi
    say "Installing missing packages: ${missing[*]}"
    # Packages such as lighttpd start a system-wide daemon from their
    # postinst; this instance runs its own, so keep them from starting one
    # (the standard policy-rc.d mechanism, only if none is in place).
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null || rc=$?
    ((made_policy)) && rm -f "$policy"
    ((rc == 0)) || die "apt-get install ${missing[*]} failed"
}

server_packages() {
    case $SERVER in
        apache) printf '%s\n' "${APACHE_PKGS[@]}" ;;
        lighttpd) printf '%s\n' "${LIGHTTPD_PKGS[@]}" ;;
    esac
}

# --- build --------------------------------------------------------------------

newer_than() { # newer_than FILE REF...: FILE exists and is newer than a REF
    local f=$1 r
    shift
    for r in "$@"; do [[ -e $r && $r -nt $f ]] && return 0; done
    return 1
}

# autoreconf when configure is missing or older than its inputs, configure
# when there is no Makefile, then make (a no-op when everything is current).
# A lock on configure.ac keeps instances started at the same time from
# building the same tree twice at once.
build() {
    (
        cd "$ROOT"
        # Each step checks its own result: build may run where set -e is off.
        exec 9<configure.ac || die "configure.ac not found in $ROOT"
        flock 9 || die "could not lock configure.ac"
        if [[ ! -x configure ]] || newer_than configure configure.ac Makefile.am; then
            say "Running autoreconf -fi"
            autoreconf -fi || die "autoreconf -fi failed"
            # An existing build is re-configured with its own options here,
            # quietly, rather than by make's verbose rerun of configure.
            if [[ -x config.status ]]; then
                { ./config.status --recheck && ./config.status; } >/dev/null ||
                    die "re-running configure failed (see config.log)"
            fi
        fi
        if [[ ! -f Makefile ]]; then
            say "Running ./configure"
            ./configure -q || die "./configure failed (see config.log)"
        fi
        make -s -j2 || die "the build failed (make)"
    )
}

# The programs built, as the configs name them below cgi-bin: "login",
# and "front/login" for its front (lib/front.c).
built_cgis() {
    local n
    for n in "${CGI_NAMES[@]}"; do
        [[ -x $ROOT/cgi-bin/$n.cgi ]] && printf '%s\n' "$n"
        [[ -x $ROOT/cgi-bin/front/$n.cgi ]] && printf '%s\n' "front/$n"
    done
    return 0
}

# --- permissions --------------------------------------------------------------

# Runs "test FLAG PATH" as the service user.
svc_can() { runuser -u "$SVC_USER" -- test "$1" "$2" 2>/dev/null; }

# Gives the service user PERM (x for directories on the way, rx for what it
# must run or read) on PATH, saying what was changed.
grant() {
    local perm=$1 path=$2
    if command -v setfacl >/dev/null 2>&1; then
        setfacl -m "u:$SVC_USER:$perm" "$path"
        say "Granted $SVC_USER '$perm' on $path (setfacl -m u:$SVC_USER:$perm)"
    else
        chmod "o+$perm" "$path"
        say "Granted others '$perm' on $path (chmod o+$perm) so that $SVC_USER can reach it"
    fi
}

# The server and the tools run as the service user, so it must be able to
# reach the programs and static files even when the project sits in a
# private directory (/root, a mktemp -d dir). Only missing search or read
# bits are added, on exactly the directories and files that need them.
ensure_access() {
    ((PRIVSEP)) || return 0
    local d p part parts
    for d in "$ROOT" "$(dirname "$VAR")"; do
        IFS=/ read -r -a parts <<<"${d#/}"
        p=
        for part in "${parts[@]}"; do
            [[ -n $part ]] || continue
            p=$p/$part
            svc_can -x "$p" || grant x "$p"
        done
    done
    local needs=("$ROOT/cgi-bin" "$ROOT/cgi-bin/front" "$ROOT/tools" "$ROOT/htdocs" "$ROOT/htdocs/static")
    for p in "${needs[@]}"; do
        [[ -d $p ]] || continue
        if ! svc_can -x "$p" || ! svc_can -r "$p"; then grant rx "$p"; fi
    done
    for p in "$ROOT"/cgi-bin/*.cgi "$ROOT"/cgi-bin/front/*.cgi "$ROOT/tools/sosyabotctl"; do
        [[ -f $p ]] || continue
        svc_can -x "$p" || grant rx "$p"
    done
    # FAKE_X=1: the fake X runs as the service user too.
    if [[ $FAKE_X == 1 && -f $FAKEX_PY ]]; then
        for p in "$ROOT/tests" "$ROOT/tests/fakex"; do
            svc_can -x "$p" || grant x "$p"
        done
        svc_can -r "$FAKEX_PY" || grant r "$FAKEX_PY"
    fi
    # Static files: ask as the user what it cannot read, grant, repeat (a
    # directory opened up may reveal more below it).
    [[ -d $ROOT/htdocs/static ]] || return 0
    local blocked
    local _round
    for _round in 1 2 3 4 5 6 7 8; do
        blocked=$(runuser -u "$SVC_USER" -- find "$ROOT/htdocs/static" \( -type d \( ! -readable -o ! -executable \) -prune -print \) -o \( -type f ! -readable -print \) 2>/dev/null || true)
        [[ -n $blocked ]] || break
        while IFS= read -r p; do
            if [[ -d $p ]]; then grant rx "$p"; else grant r "$p"; fi
        done <<<"$blocked"
    done
}

# --- instance directories -----------------------------------------------------

# The data directory belongs to the service user: Berkeley DB region files
# take the owner of whoever creates them, and every program opens them.
# run/ and log/ stay root's when root starts the server: root reads the
# config from run/ and Apache opens its logs as root, so the service user
# must not be able to swap what is there. They are re-checked every start.
prepare_dirs() {
    local fresh=0
    [[ -d $VAR ]] || fresh=1
    mkdir -p "$VAR"
    VAR=$(cd "$VAR" && pwd -P)
    RUN=$VAR/run
    LOG=$VAR/log
    if ((PRIVSEP)); then
        chown "$SVC_USER:$SVC_GROUP" "$VAR"
        ((fresh)) && chmod 0750 "$VAR"
        local d
        for d in "$RUN" "$LOG"; do
            if [[ -L $d ]] || { [[ -e $d ]] && [[ $(stat -c %u "$d") != 0 ]]; }; then
                warn "$d was not root's own directory; recreating it"
                rm -rf "$d"
            fi
            mkdir -p "$d"
            chown root:root "$d"
            chmod 0755 "$d"
        done
        rm -rf "$RUN/tmp"
        mkdir -m 0700 "$RUN/tmp"
        chown "$SVC_USER:$SVC_GROUP" "$RUN/tmp"
        local f
        for f in "$LOG/error.log" "$LOG/access.log"; do
            [[ -L $f ]] && rm -f "$f"
            touch "$f"
            # lighttpd opens its logs after dropping to the service user.
            if [[ $SERVER == lighttpd ]]; then chown "$SVC_USER:$SVC_GROUP" "$f"; else chown root:root "$f"; fi
            chmod 0640 "$f"
        done
    else
        mkdir -p "$RUN" "$LOG"
        mkdir -p "$RUN/tmp" && chmod 0700 "$RUN/tmp"
    fi
    # Explicit modes: the server's user reads these whatever our umask is.
    mkdir -p "$RUN/docroot"
    chmod 0755 "$RUN/docroot"
    # lighttpd serves the errors it makes itself through this page (see
    # lighttpd.conf.in); the status line carries the code.
    cat >"$RUN/docroot/sosyabot-error.html" <<'EOF'
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Request not served</title></head>
<body><h1>Request not served</h1>
<p>The server did not serve this request: the page does not exist, or the request was refused (for example a body over 1 MiB).</p></body></html>
EOF
    chmod 0644 "$RUN/docroot/sosyabot-error.html"
}

# --- the programs' environment ------------------------------------------------

# Names of the variables the programs get: the fixed list plus every
# SOSYABOT_* and X_* variable, each only when it is set.
pass_names() {
    local n names=("${PASS_NAMES[@]}")
    while IFS= read -r n; do names+=("$n"); done < <(compgen -e | grep -E '^(SOSYABOT|X)_' || true)
    local seen=" " own=" ${OWN_NAMES[*]} "
    for n in "${names[@]}"; do
        [[ $seen == *" $n "* || $own == *" $n "* ]] && continue
        seen+="$n "
        [[ -n ${!n+set} ]] && printf '%s\n' "$n"
    done
    return 0
}

export_program_env() {
    export SOSYABOT_DATA_DIR=$VAR
    export BASE_URL
}

# The whole environment of the server and of the tools: a plain PATH and
# the programs' variables, nothing else from the shell that started us.
program_env() {
    export_program_env
    PROGRAM_ENV=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
    local n
    while IFS= read -r n; do PROGRAM_ENV+=("$n=${!n}"); done < <(pass_names)
}

# Runs tools/sosyabotctl as the service user with the programs' environment,
# from a directory that user can enter.
run_ctl() {
    local tool=$ROOT/tools/sosyabotctl
    [[ -x $tool ]] || die "tools/sosyabotctl is not built"
    program_env
    if ((PRIVSEP)); then
        (cd "$VAR" && exec runuser -u "$SVC_USER" -- env -i "${PROGRAM_ENV[@]}" "$tool" "$@")
    else
        (cd "$VAR" && exec env -i "${PROGRAM_ENV[@]}" HOME="${HOME:-/}" "$tool" "$@")
    fi
}

# --- the server ---------------------------------------------------------------

pid_file() {
    case $1 in apache) echo "$RUN/httpd.pid" ;; lighttpd) echo "$RUN/lighttpd.pid" ;; esac
}

# A pid that is alive (zombies do not count: in a container nobody may reap
# them) and whose command line matches the pattern.
alive_as() {
    local pid=$1 pattern=$2 state
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/stat ]] || return 1
    state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ $state != Z && $state != X ]] || return 1
    grep -qaE "$pattern" "/proc/$pid/cmdline" 2>/dev/null
}

alive() { alive_as "$1" 'apache2|httpd|lighttpd'; }

# Sets RUNNING_SERVER and RUNNING_PID when this instance runs.
find_running() {
    RUNNING_SERVER="" RUNNING_PID=""
    local s pid
    for s in apache lighttpd; do
        [[ -f $(pid_file "$s") ]] || continue
        pid=$(head -n1 "$(pid_file "$s")" 2>/dev/null || true)
        if alive "$pid"; then
            RUNNING_SERVER=$s RUNNING_PID=$pid
            return 0
        fi
    done
    return 1
}

instance_info() { # instance_info KEY: what the running instance was started with
    [[ -f $RUN/instance ]] && sed -n "s/^$1=//p" "$RUN/instance" | head -n1
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Renders apache/NAME.in into run/: @KEY@ placeholders, route lines of
# programs that are not built dropped, @ROOT_ONLY@ lines kept only under root.
render() {
    local template=$1 out=$2
    local present
    present=" $(built_cgis | tr '\n' ' ') "
    # lighttpd gives its CGIs no PATH of its own (Apache does): pass ours.
    local passenv=() lighttpd_env='"PATH" => env.PATH' n
    while IFS= read -r n; do
        passenv+=("$n")
        lighttpd_env+="${lighttpd_env:+, }\"$n\" => env.$n"
    done < <(pass_names)
    local bind=$HOST
    [[ $HOST == *:* ]] && bind="[$HOST]"
    local server_name=${BASE_URL#*://}
    server_name=${server_name%%/*}
    [[ $server_name =~ ^(.*):[0-9]+$ ]] && server_name=${BASH_REMATCH[1]}
    # Apache refuses some forms (an IPv6 literal); the name only matters
    # for the start-up warning it silences.
    [[ $server_name =~ ^[A-Za-z0-9.-]+$ ]] || server_name=localhost

    R_RUNDIR=$RUN R_LOGDIR=$LOG R_CGIDIR=$ROOT/cgi-bin R_STATICDIR=$ROOT/htdocs/static \
    R_MODDIR=$APACHE_MODDIR R_LISTEN=$LISTEN R_PORT=$PORT R_BIND=$bind \
    R_SERVER_NAME=$server_name R_PREFIX=$PREFIX R_PREFIX_RE=$PREFIX_RE \
    R_SVC_USER=$SVC_USER R_SVC_GROUP=$SVC_GROUP R_PASSENV="${passenv[*]}" \
    R_LIGHTTPD_ENV=$lighttpd_env R_PRIVSEP=$PRIVSEP R_PRESENT=$present \
    awk '
        function subst(s,   out, i, key) {
            out = ""
            while ((i = index(s, "@")) > 0) {
                out = out substr(s, 1, i - 1); s = substr(s, i + 1)
                if (match(s, /^[A-Z_]+@/) && (("R_" substr(s, 1, RLENGTH - 1)) in ENVIRON)) {
                    key = substr(s, 1, RLENGTH - 1)
                    out = out ENVIRON["R_" key]; s = substr(s, RLENGTH + 1)
                } else out = out "@"
            }
            return out s
        }
        {
            line = $0
            if (substr(line, 1, 11) == "@ROOT_ONLY@") {
                if (ENVIRON["R_PRIVSEP"] != "1") next
                line = substr(line, 12)
            }
            if (match(line, /@CGIDIR@\/(front\/)?[a-z]+\.cgi/)) {
                name = substr(line, RSTART + 9, RLENGTH - 13)
                if (index(ENVIRON["R_PRESENT"], " " name " ") == 0) next
            }
            print subst(line)
        }
    ' "$template" >"$out.tmp"
    mv -f "$out.tmp" "$out"
    chmod 0644 "$out"
}

# Paths go into quoted config strings: refuse the few characters that
# would break them rather than escape them.
check_paths() {
    local p
    for p in "$ROOT" "$VAR"; do
        [[ $p != *[\"\\\$@]* && $p != *$'\n'* ]] ||
            die "the path '$p' holds a character the server configs cannot take (\" \\ \$ @)"
    done
}

server_log_tail() {
    local f
    for f in "$LOG"/*.log; do
        [[ -s $f ]] || continue
        say "--- last lines of $f:"
        tail -n 20 "$f"
    done >&2
}

# Waits until the server answers HTTP on its port (any status will do).
wait_ready() {
    local pid_f=$1 i code pid
    for ((i = 0; i < 100; i++)); do
        pid=$(head -n1 "$pid_f" 2>/dev/null || true)
        if [[ -n $pid ]] && alive "$pid"; then
            if command -v curl >/dev/null 2>&1; then
                code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$LOCAL_HOST:$PORT$PREFIX/" || true)
                [[ $code != 000 && -n $code ]] && return 0
            elif port_open "${LOCAL_HOST//[\[\]]/}" "$PORT"; then
                return 0
            fi
        fi
        sleep 0.1
    done
    return 1
}

start_server() {
    local conf pid_f
    pid_f=$(pid_file "$SERVER")
    # Leftovers of a server that died without cleaning up.
    rm -f "$pid_f" "$RUN"/cgid.sock*
    case $SERVER in
        apache)
            local bin
            bin=$(command -v apache2 || echo /usr/sbin/apache2)
            [[ -x $bin ]] || die "apache2 is not installed (apt-get install ${APACHE_PKGS[*]})"
            [[ -f $APACHE_MODDIR/mod_cgid.so ]] || die "Apache modules not found in $APACHE_MODDIR"
            conf=$RUN/httpd.conf
            render "$ROOT/apache/httpd.conf.in" "$conf"
            program_env
            env -i "${PROGRAM_ENV[@]}" "$bin" -t -f "$conf" >/dev/null 2>"$RUN/configtest.out" || {
                cat "$RUN/configtest.out" >&2
                die "the rendered Apache config $conf does not pass apache2 -t"
            }
            env -i "${PROGRAM_ENV[@]}" "$bin" -f "$conf" -k start || { server_log_tail; die "Apache did not start"; }
            ;;
        lighttpd)
            local bin
            bin=$(command -v lighttpd || echo /usr/sbin/lighttpd)
            [[ -x $bin ]] || die "lighttpd is not installed (apt-get install ${LIGHTTPD_PKGS[*]})"
            conf=$RUN/lighttpd.conf
            render "$ROOT/apache/lighttpd.conf.in" "$conf"
            program_env
            env -i "${PROGRAM_ENV[@]}" "$bin" -tt -f "$conf" >/dev/null 2>"$RUN/configtest.out" || {
                cat "$RUN/configtest.out" >&2
                die "the rendered lighttpd config $conf does not pass lighttpd -tt"
            }
            env -i "${PROGRAM_ENV[@]}" "$bin" -f "$conf" || { server_log_tail; die "lighttpd did not start"; }
            ;;
    esac
    rm -f "$RUN/configtest.out"
    if ! wait_ready "$pid_f"; then
        server_log_tail
        die "$SERVER started but does not answer on $LISTEN"
    fi
    printf 'server=%s\nurl=%s\nlisten=%s\nuser=%s\n' "$SERVER" "$BASE_URL" "$LISTEN" "$SVC_USER" >"$RUN/instance"
}

# --- the fake X (FAKE_X=1) ----------------------------------------------------

# FAKE_X=1 runs tests/fakex/fakex.py beside the server, so that the whole
# flow (credentials, connect, publish) can be tried without an X developer
# account: the programs get its URLs instead of X's, and it knows a demo app
# and two demo users. The admin still pastes the demo app's id and secret on
# the admin page, as with a real app (nothing sets TWITTER_CLIENT_*). Files:
#   run/fakex.mode      this instance uses the fake: restart keeps the mode,
#                       a start without FAKE_X=1 drops it
#   run/fakex.pid, run/fakex.port, log/fakex.log
#   fakex-state.json    the fake's state (apps, users, tokens, posts), so
#                       that it survives a restart
#   fakex-demo-secret   the demo app's client secret, 0600, made once
# Under root the fake runs as the service user and the last two files are
# that user's, like the rest of the data directory: root neither writes nor
# reads a file there that the service user could have replaced by a link.
# The fake listens on 127.0.0.1 only: its control API has no password.

as_svc() { # as_svc COMMAND...: as the service user (as ourselves when not root)
    if ((PRIVSEP)); then runuser -u "$SVC_USER" -- "$@"; else "$@"; fi
}

fakex_alive() { alive_as "$1" 'fakex\.py'; }

# Sets FAKEX_PID and FAKEX_URL when the fake X of this instance runs.
fakex_running() {
    FAKEX_PID="" FAKEX_URL=""
    local pid port
    pid=$(head -n1 "$RUN/fakex.pid" 2>/dev/null || true)
    port=$(head -n1 "$RUN/fakex.port" 2>/dev/null || true)
    fakex_alive "$pid" && [[ $port =~ ^[0-9]+$ ]] || return 1
    FAKEX_PID=$pid FAKEX_URL=http://127.0.0.1:$port
}

# The programs and the tools call the fake instead of X; this wins over
# .env and the environment.
fakex_export() {
    export X_API_BASE_URL=$FAKEX_URL X_WEB_BASE_URL=$FAKEX_URL
    export X_AUTHORIZE_URL=$FAKEX_URL/i/oauth2/authorize
}

json_str() { # json_str TEXT: a JSON string literal
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

# fakex_call METHOD PATH: a control request with the JSON body on stdin (so
# that no secret shows in a command line); fails unless it answers 2xx.
fakex_call() {
    local code
    code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X "$1" \
        -H 'Content-Type: application/json' --data-binary @- "$FAKEX_URL$2" || true)
    [[ $code == 2[0-9][0-9] ]]
}

# Sets FAKEX_SECRET to the demo app's client secret, made on first use.
fakex_secret() {
    local f=$VAR/fakex-demo-secret s
    s=$(as_svc cat -- "$f" 2>/dev/null | head -n1 || true)
    if [[ ! $s =~ ^[A-Za-z0-9]{40,}$ ]]; then
        [[ -e $f || -L $f ]] && warn "$f does not hold a demo secret; making a new one"
        s=$(random_password 50)
        printf '%s\n' "$s" | as_svc sh -c 'umask 077 && cat >"$1.new" && mv -fT "$1.new" "$1"' sh "$f" ||
            die "could not write $f"
    fi
    as_svc chmod 0600 "$f"
    FAKEX_SECRET=$s
}

# Starts the fake X on FAKE_X_PORT, else on the port it had last time if
# that is free, else on any free port; waits until it answers, records it in
# run/ and points the programs at it.
start_fakex() {
    local py=/usr/bin/python3 log=$LOG/fakex.log want port="" pid="" line off i _try as=()
    [[ -x $py ]] || py=$(command -v python3 || true)
    [[ -n $py ]] || die "FAKE_X=1 needs python3 (apt-get install python3)"
    [[ -f $FAKEX_PY ]] || die "FAKE_X=1 needs $FAKEX_PY, which is missing"
    command -v curl >/dev/null 2>&1 || die "FAKE_X=1 needs curl (apt-get install curl)"
    if [[ -n $FAKE_X_PORT ]]; then
        want=$FAKE_X_PORT
        ! port_open 127.0.0.1 "$want" || die "something else already listens on 127.0.0.1:$want (choose another FAKE_X_PORT)"
    else
        want=$(head -n1 "$RUN/fakex.port" 2>/dev/null || true)
        [[ $want =~ ^[0-9]+$ && $want != "$PORT" ]] && ! port_open 127.0.0.1 "$want" || want=0
    fi
    ((PRIVSEP)) && as=(setpriv --reuid="$SVC_USER" --regid="$SVC_GROUP" --init-groups --)
    [[ -L $log ]] && rm -f "$log"
    touch "$log"
    chmod 0640 "$log"
    for _try in 1 2 3; do
        off=$(stat -c %s "$log")
        # setsid: the fake outlives this shell and its terminal, as the
        # server does; exec keeps $! the fake's own pid. umask: its state
        # file holds the demo secret and the tokens it hands out.
        (cd "$VAR" && umask 077 && exec setsid "${as[@]}" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            LANG=C.UTF-8 "$py" "$FAKEX_PY" --host 127.0.0.1 --port "$want" \
            --state-file "$VAR/fakex-state.json" </dev/null >>"$log" 2>&1) &
        pid=$!
        line=
        for ((i = 0; i < 100; i++)); do
            line=$(tail -c "+$((off + 1))" "$log" | grep -m1 '^listening ' || true)
            [[ -n $line ]] && break
            fakex_alive "$pid" || break
            sleep 0.1
        done
        port=
        [[ $line =~ ^listening\ http://127\.0\.0\.1:([0-9]+)$ ]] && port=${BASH_REMATCH[1]}
        # A free port picked by the kernel may be the one the server is
        # about to take.
        [[ -n $port && $port != "$PORT" ]] && fakex_alive "$pid" && break
        fakex_alive "$pid" && kill -TERM "$pid" 2>/dev/null || true
        port=
        [[ -z $FAKE_X_PORT ]] || break
        want=0
    done
    if [[ -z $port ]]; then
        tail -c "+$((off + 1))" "$log" | tail -n 20 >&2
        die "the fake X did not start (log: $log)"
    fi
    printf '%s\n' "$pid" >"$RUN/fakex.pid"
    printf '%s\n' "$port" >"$RUN/fakex.port"
    FAKEX_PID=$pid FAKEX_URL=http://127.0.0.1:$port
    for ((i = 0; i < 50; i++)); do
        [[ $(curl -s -m 2 -o /dev/null -w '%{http_code}' "$FAKEX_URL/_fake/config" || true) == 200 ]] && break
        sleep 0.1
    done
    if ((i == 50)); then
        stop_fakex >/dev/null
        die "the fake X started but does not answer on $FAKEX_URL (log: $log)"
    fi
    printf 'FAKE_X=1\n' >"$RUN/fakex.mode"
    fakex_export
}

# The demo app and users, registered at every start: the fake replaces an
# app or user of the same id, so this is idempotent, and the app's callback
# follows BASE_URL when that changed.
fakex_register() {
    fakex_secret
    local cb=$BASE_URL/api/v1/auth/twitter/callback u id user name
    printf '{"client_id":%s,"client_secret":%s,"callback":%s,"type":"confidential","name":"Sosyabot demo app"}' \
        "$(json_str "$FAKEX_CLIENT_ID")" "$(json_str "$FAKEX_SECRET")" "$(json_str "$cb")" |
        fakex_call POST /_fake/apps || die "could not register the demo app with the fake X at $FAKEX_URL"
    for u in "${FAKEX_USERS[@]}"; do
        read -r id user name <<<"$u"
        printf '{"id":%s,"username":%s,"name":%s}' "$(json_str "$id")" "$(json_str "$user")" "$(json_str "$name")" |
            fakex_call POST /_fake/users || die "could not register the demo user @$user with the fake X at $FAKEX_URL"
    done
}

# What a newcomer needs to go on (the file that holds the secret, never the
# secret itself).
fakex_say() {
    local u id user name users=
    for u in "${FAKEX_USERS[@]}"; do
        read -r id user name <<<"$u"
        users+="${users:+, }@$user ($id)"
    done
    say "Fake X at $FAKEX_URL (FAKE_X=1; pid $FAKEX_PID, log in $LOG/fakex.log)"
    say "  demo app client id $FAKEX_CLIENT_ID, secret in $VAR/fakex-demo-secret;"
    say "  paste both on $BASE_URL/admin/api-integration/x-twitter"
    say "  demo users, picked on its consent page: $users"
    say "  what it received: curl $FAKEX_URL/_fake/timeline?user=${FAKEX_USERS[0]%% *}"
    say "  (walkthrough: doc/try-without-x.md)"
}

# Stops the fake X of this instance if it runs; the mode and the port stay
# in run/ for a restart.
stop_fakex() {
    local pid port i
    pid=$(head -n1 "$RUN/fakex.pid" 2>/dev/null || true)
    port=$(head -n1 "$RUN/fakex.port" 2>/dev/null || true)
    if ! fakex_alive "$pid"; then
        rm -f "$RUN/fakex.pid"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        fakex_alive "$pid" || break
        sleep 0.1
    done
    if fakex_alive "$pid"; then
        warn "the fake X (pid $pid) did not stop in 5 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    for ((i = 0; i < 50; i++)); do
        [[ $port =~ ^[0-9]+$ ]] && port_open 127.0.0.1 "$port" || break
        sleep 0.1
    done
    rm -f "$RUN/fakex.pid"
    say "Stopped the fake X (pid $pid)"
}

# A start that fails after the fake came up takes it down again.
fakex_abort() { stop_fakex >/dev/null 2>&1 || true; }

# A start without FAKE_X=1 of an instance that had it: stop using the fake.
fakex_leave() {
    [[ -f $RUN/fakex.mode ]] || return 0
    rm -f "$RUN/fakex.mode"
    say "Not using the fake X this time (the last start had FAKE_X=1; start with FAKE_X=1 to use it again)"
    if [[ $(run_ctl options get x-twitter_client-id 2>/dev/null || true) == "$FAKEX_CLIENT_ID" ]]; then
        warn "the admin panel still holds the demo app ($FAKEX_CLIENT_ID), which only the fake X knows: paste your X app's Client ID and Secret on $BASE_URL/admin/api-integration/x-twitter"
    fi
}

fakex_status() { # fakex_status 1|0: whether the server runs
    if fakex_running; then
        if (($1)); then
            say "Fake X at $FAKEX_URL (pid $FAKEX_PID): the programs call it instead of X (FAKE_X=1)"
        else
            say "Fake X at $FAKEX_URL still runs (pid $FAKEX_PID); ./$PROG stop stops it"
        fi
    elif [[ -f $RUN/fakex.mode ]]; then
        if (($1)); then
            warn "started with FAKE_X=1, but the fake X does not run: calls to X fail until ./$PROG restart"
        else
            say "The last start used the fake X: ./$PROG restart uses it again, ./$PROG start does not"
        fi
    fi
    return 0
}

# --- the worker -----------------------------------------------------------------

# The worker sends what is due: sosyabotctl publish-due every
# SOSYABOT_WORKER_INTERVAL seconds (30), in its own session so that stop
# can end the loop and whatever it runs at once.  On shared hosting cron
# does this instead (doc/publishing.md).
worker_pid() {
    local pid
    pid=$(head -n1 "$RUN/worker.pid" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

start_worker() {
    stop_worker >/dev/null
    program_env
    local tool=$ROOT/tools/sosyabotctl interval=${SOSYABOT_WORKER_INTERVAL:-30}
    [[ $interval =~ ^[1-9][0-9]*$ ]] || die "SOSYABOT_WORKER_INTERVAL must be a number of seconds"
    # shellcheck disable=SC2016 # expanded by the worker's own shell
    local loop='while :; do "$0" publish-due; sleep "$1"; done'
    local -a cmd=(env -i "${PROGRAM_ENV[@]}" bash -c "$loop" "$tool" "$interval")
    ((PRIVSEP)) && cmd=(runuser -u "$SVC_USER" -- "${cmd[@]}")
    (cd "$VAR" && exec setsid "${cmd[@]}") >>"$LOG/worker.log" 2>&1 </dev/null &
    printf '%s\n' "$!" >"$RUN/worker.pid"
}

stop_worker() {
    local pid
    if pid=$(worker_pid); then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        say "Stopped the worker (pid $pid)"
    fi
    rm -f "$RUN/worker.pid"
}

# --- commands -----------------------------------------------------------------

random_password() { # random_password [LENGTH]: letters and digits (20)
    local n=${1:-20} pw=
    while ((${#pw} < n)); do
        pw+=$(head -c 256 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')
    done
    printf '%s' "${pw:0:n}"
}

# The first admin, once per instance (the marker survives deleting the
# password file, which is what a careful admin does after signing in).
create_first_admin() {
    FIRST_ADMIN_PASSWORD=
    [[ -e $VAR/.admin-created ]] && return 0
    local pw=${SOSYABOT_ADMIN_PASSWORD:-}
    [[ -n $pw ]] || pw=$(random_password)
    printf '%s\n' "$pw" | run_ctl user add admin --workspace default --admin >/dev/null ||
        die "could not create the first admin (tools/sosyabotctl user add admin)"
    printf '%s\n' "$pw" | write_new "$VAR/initial-admin-password"
    write_new "$VAR/.admin-created" </dev/null
    FIRST_ADMIN_PASSWORD=$pw
}

# Writes stdin to a new file FILE (0600) in the data directory, which the
# service user owns: whatever that user put at FILE (a symbolic link to a
# file of root's, say) is removed first, and noclobber refuses to follow
# one put there in between.
write_new() {
    rm -f -- "$1" || die "could not remove $1"
    (umask 077 && set -C && cat >"$1") || die "could not write $1"
}

cmd_start() {
    if find_running; then
        say "Sosyabot is already running at $(instance_info url)/ ($RUNNING_SERVER, pid $RUNNING_PID)"
        if [[ -f $RUN/fakex.mode ]] && fakex_running; then
            fakex_say
            [[ $FAKE_X != 0 ]] || say "(FAKE_X=0 ./$PROG restart leaves the fake X)"
        elif [[ -f $RUN/fakex.mode ]]; then
            fakex_status 1
        elif [[ $FAKE_X == 1 ]]; then
            say "It runs without the fake X: FAKE_X=1 ./$PROG restart brings one"
        fi
        return 0
    fi
    check_paths
    if is_root; then
        local pkgs
        mapfile -t pkgs < <(printf '%s\n' "${BUILD_PKGS[@]}" "${TOOL_PKGS[@]}"; server_packages)
        ensure_packages "${pkgs[@]}"
    fi
    if port_open "${LOCAL_HOST//[\[\]]/}" "$PORT"; then
        die "something else already listens on $LISTEN (choose another PORT)"
    fi
    build
    prepare_dirs
    ensure_access
    export_program_env
    run_ctl init >/dev/null || die "tools/sosyabotctl init failed"
    create_first_admin
    # A fake X left behind by a server that died goes first.
    stop_fakex >/dev/null
    if [[ $FAKE_X == 1 ]]; then
        trap fakex_abort EXIT
        start_fakex
        fakex_register
    else
        fakex_leave
    fi
    start_server
    trap - EXIT
    start_worker
    find_running || true
    say "Sosyabot is running at $BASE_URL/ ($SERVER, pid ${RUNNING_PID:-?}, data in $VAR)"
    if [[ -n $FIRST_ADMIN_PASSWORD ]]; then
        say "First admin account:"
        say "  user:     admin"
        say "  password: $FIRST_ADMIN_PASSWORD"
        say "  (kept in $VAR/initial-admin-password; sign in at $BASE_URL/login)"
    fi
    if [[ $FAKE_X == 1 ]]; then fakex_say; fi
}

cmd_stop() {
    if ! find_running; then
        say "Sosyabot is not running (instance $VAR)"
        rm -f "$RUN/httpd.pid" "$RUN/lighttpd.pid"
        stop_worker
        stop_fakex
        return 0
    fi
    local pid=$RUNNING_PID server=$RUNNING_SERVER i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        warn "$server (pid $pid) did not stop in 15 s; killing it"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    # The workers and the CGI daemon leave with their parent; wait until the
    # port is really free so that a start right after this one succeeds.
    local listen host port
    listen=$(instance_info listen)
    port=${listen##*:}
    host=${listen%:*}
    host=${host//[\[\]]/}
    case $host in 0.0.0.0) host=127.0.0.1 ;; ::) host=::1 ;; esac
    for ((i = 0; i < 100; i++)); do
        [[ -n $port ]] && port_open "$host" "$port" || break
        sleep 0.1
    done
    rm -f "$(pid_file "$server")"
    say "Stopped $server (pid $pid)"
    stop_worker
    stop_fakex
}

cmd_status() {
    if find_running; then
        say "Sosyabot is running at $(instance_info url)/ ($RUNNING_SERVER, pid $RUNNING_PID, data in $VAR)"
        local w
        if w=$(worker_pid); then
            say "Worker (publish-due every ${SOSYABOT_WORKER_INTERVAL:-30} s) runs, pid $w"
        else
            warn "the worker does not run: scheduled posts wait until ./$PROG restart"
        fi
        fakex_status 1
        return 0
    fi
    say "Sosyabot is not running (instance $VAR)"
    fakex_status 0
    return 3
}

cmd_ctl() {
    [[ -d $VAR ]] || die "no instance in $VAR yet (run ./$PROG start first)"
    VAR=$(cd "$VAR" && pwd -P)
    RUN=$VAR/run LOG=$VAR/log
    if ((PRIVSEP)); then ensure_access >/dev/null; fi
    # With the fake X, the tools call it as the server does.
    if [[ -f $RUN/fakex.mode ]] && fakex_running; then fakex_export; fi
    run_ctl "$@"
}

# The benchmark (bench/run.sh, which builds its own programs): instances
# and a fake X of its own, so, as for the tests, nothing of this shell's
# settings or of .env reaches them.
cmd_bench() {
    local a n
    for a in "$@"; do
        [[ $a == --smoke ]] || die "bench takes only --smoke"
    done
    if is_root; then
        local pkgs
        mapfile -t pkgs < <(printf '%s\n' "${BUILD_PKGS[@]}" "${TOOL_PKGS[@]}" "${BENCH_PKGS[@]}" \
            "${APACHE_PKGS[@]}" "${LIGHTTPD_PKGS[@]}")
        ensure_packages "${pkgs[@]}"
    fi
    cd "$ROOT"
    build
    for n in $(compgen -e | grep -E '^(SOSYABOT|X|TWITTER)_' || true); do
        [[ $n == SOSYABOT_USER ]] || unset "$n"
    done
    unset BASE_URL HOST PORT SERVER FAKE_X FAKE_X_PORT
    export SOSYABOT_ENV_FILE=/dev/null
    bash "$ROOT/bench/run.sh" "$@"
}

# --- tests --------------------------------------------------------------------

TOTAL_PASS=0 TOTAL_FAIL=0
RESULTS=()

# Reads a runner's counts from its output: the plain "N passed, N failed"
# line, automake's summary, or Python unittest's; otherwise the runner
# itself counts as one test.
count_results() {
    local out=$1 rc=$2 p="" f=""
    local line
    # automake first: a failing make check also prints its tests' own lines.
    if grep -qE '^# TOTAL: *[0-9]+' "$out"; then
        local pass xfail fail xpass err
        pass=$(sed -nE 's/^# PASS: *([0-9]+).*/\1/p' "$out" | tail -n1)
        xfail=$(sed -nE 's/^# XFAIL: *([0-9]+).*/\1/p' "$out" | tail -n1)
        fail=$(sed -nE 's/^# FAIL: *([0-9]+).*/\1/p' "$out" | tail -n1)
        xpass=$(sed -nE 's/^# XPASS: *([0-9]+).*/\1/p' "$out" | tail -n1)
        err=$(sed -nE 's/^# ERROR: *([0-9]+).*/\1/p' "$out" | tail -n1)
        p=$((${pass:-0} + ${xfail:-0})) f=$((${fail:-0} + ${xpass:-0} + ${err:-0}))
    elif line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$out" | tail -n1) && [[ -n $line ]]; then
        [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]
        p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
    elif grep -qE '^Ran [0-9]+ tests? in' "$out"; then
        local ran bad
        ran=$(sed -nE 's/^Ran ([0-9]+) tests? in.*/\1/p' "$out" | tail -n1)
        f=0
        for bad in $(grep -E '^FAILED \(' "$out" | tail -n1 | grep -oE '(failures|errors)=[0-9]+' | cut -d= -f2 || true); do
            f=$((f + bad))
        done
        p=$((ran - f))
    else
        if ((rc == 0)); then p=1 f=0; else p=0 f=1; fi
    fi
    # A runner that failed without saying so still counts as a failure.
    ((rc != 0 && f == 0)) && f=1
    COUNT_PASS=$p COUNT_FAIL=$f
}

# Runs one test runner with its own TMPDIR, so that the instances it starts
# can be found afterwards: their logs are printed when it failed, and any
# instance it left running is stopped.
run_runner() {
    local name=$1
    shift
    local tmp out rc
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/sosyabot-test.XXXXXX")
    chmod 0711 "$tmp"
    out=$tmp/runner.out
    say ""
    say "=== $name"
    set +e
    # LONG=1 runs every allocation-failure site and the sanitizer and
    # valgrind runners: an hour is not too long for one of them then.
    local limit=30
    [[ ${LONG:-0} != 0 ]] && limit=120
    TMPDIR=$tmp timeout --kill-after=30 $((limit * 60)) "$@" </dev/null 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    set -e
    ((rc == 124)) && say "$name: timed out after $limit minutes"
    count_results "$out" "$rc"
    local inst d
    while IFS= read -r inst; do
        d=${inst%/run/*}
        [[ -n $(SOSYABOT_VAR=$d "$ROOT/service.sh" status 2>/dev/null | grep -E 'is running|^Fake X at' || true) ]] || continue
        say "$name: stopping the instance it left running in $d"
        SOSYABOT_VAR=$d "$ROOT/service.sh" stop >/dev/null 2>&1 || true
    done < <(find "$tmp" -path '*/run/instance' 2>/dev/null)
    if ((COUNT_FAIL > 0)); then
        local log
        while IFS= read -r log; do
            [[ -s $log ]] || continue
            say "--- $name: last lines of $log"
            tail -n 40 "$log"
        done < <(find "$tmp" -path '*/log/*.log' 2>/dev/null | sort)
    fi
    rm -rf "$tmp"
    TOTAL_PASS=$((TOTAL_PASS + COUNT_PASS))
    TOTAL_FAIL=$((TOTAL_FAIL + COUNT_FAIL))
    local verdict=ok
    ((COUNT_FAIL == 0)) || verdict=FAILED
    RESULTS+=("$(printf '%-8s %-40s %s passed, %s failed' "$verdict" "$name" "$COUNT_PASS" "$COUNT_FAIL")")
}

cmd_test() {
    if is_root; then
        local pkgs
        mapfile -t pkgs < <(printf '%s\n' "${BUILD_PKGS[@]}" "${TOOL_PKGS[@]}" "${TEST_PKGS[@]}" "${BENCH_PKGS[@]}" \
            "${APACHE_PKGS[@]}" "${LIGHTTPD_PKGS[@]}")
        # The browser tests need a browser and node, once they exist.
        # A node that is already there (any version >= 18) is kept.
        if [[ -e $ROOT/tests/e2e/run.sh || -e $ROOT/tests/e2e/run ]]; then
            pkgs+=(chromium)
            command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
            command -v npm >/dev/null 2>&1 || pkgs+=(npm)
        fi
        ensure_packages "${pkgs[@]}"
    fi
    cd "$ROOT"
    say "Building"
    if ! build; then
        say "0 passed, 1 failed"
        return 1
    fi
    # Test instances get a clean slate: no settings of this shell or of the
    # project's .env leak into them; runners set what they need.
    local n
    for n in $(compgen -e | grep -E '^(SOSYABOT|X|TWITTER)_' || true); do
        [[ $n == SOSYABOT_USER ]] || unset "$n"
    done
    unset BASE_URL HOST PORT SERVER FAKE_X FAKE_X_PORT
    export SOSYABOT_ENV_FILE=/dev/null

    # SANITIZED_SUITE=1: tests/sanitize.sh --suite runs this in a tree
    # built with ASan/UBSan, for the servers, the HTTP tests and the
    # browser; what only a plain build can run is left out there.
    local plain=1
    [[ ${SANITIZED_SUITE:-0} != 0 ]] && plain=0
    if ((plain)); then
        run_runner "make check" bash "$ROOT/tests/check.sh"
        # make check again in an ASan/UBSan build, and CGI tests under
        # valgrind (doc/reliability.md): the short form runs the sign-in,
        # admin and operations tests under valgrind; LONG=1 every CGI
        # test (the allocation-failure sweep included), and this whole
        # suite in the ASan/UBSan build.
        run_runner "tests/sanitize.sh" bash "$ROOT/tests/sanitize.sh"
        if [[ ${LONG:-0} != 0 ]]; then
            run_runner "tests/valgrind.sh" bash "$ROOT/tests/valgrind.sh"
            run_runner "tests/sanitize.sh --suite" \
                bash "$ROOT/tests/sanitize.sh" --suite
        else
            run_runner "tests/valgrind.sh t-admin.sh t-ops.sh" \
                bash "$ROOT/tests/valgrind.sh" t-admin.sh t-ops.sh
        fi
    fi

    local py=python3 srv r
    [[ -x /usr/bin/python3 ]] && py=/usr/bin/python3
    shopt -s nullglob
    for srv in apache lighttpd; do
        for r in "$ROOT"/tests/http/t-*.sh; do
            run_runner "${r#"$ROOT"/} [$srv]" env SERVER="$srv" bash "$r"
        done
        # Python runners are t-*.py and test_*.py; other .py files there
        # are helper modules (harness.py) and are not run.
        for r in "$ROOT"/tests/http/t-*.py "$ROOT"/tests/http/test_*.py; do
            run_runner "${r#"$ROOT"/} [$srv]" env SERVER="$srv" "$py" "$r"
        done
    done
    # The benchmark's smoke run: every measurement once, tiny sizes (not
    # in a sanitizer build: it counts instructions under valgrind).
    if ((plain)) && [[ -f $ROOT/bench/run.sh ]]; then
        run_runner "bench/run.sh --smoke" bash "$ROOT/bench/run.sh" --smoke
    fi
    if [[ -f $ROOT/tests/e2e/run.sh ]]; then
        run_runner "tests/e2e/run.sh" bash "$ROOT/tests/e2e/run.sh"
    elif [[ -x $ROOT/tests/e2e/run ]]; then
        run_runner "tests/e2e/run" "$ROOT/tests/e2e/run"
    fi
    shopt -u nullglob

    say ""
    say "=== Summary"
    printf '%s\n' "${RESULTS[@]}"
    say "$TOTAL_PASS passed, $TOTAL_FAIL failed"
    ((TOTAL_FAIL == 0))
}

# --- main ---------------------------------------------------------------------

main() {
    local cmd=${1:-}
    [[ $# -gt 0 ]] && shift
    case $cmd in
        -h | --help | help) usage; return 0 ;;
        "") usage >&2; return 2 ;;
    esac
    # The test runners start their own instances with their own settings.
    [[ $cmd == test || $cmd == bench ]] || load_env_file "${SOSYABOT_ENV_FILE:-$ROOT/.env}"
    setup
    case $cmd in
        start) cmd_start ;;
        stop) cmd_stop ;;
        restart)
            case ${1:-api} in api) ;; *) die "restart takes only 'api' (the whole service is restarted)" ;; esac
            # An instance started with FAKE_X=1 keeps its fake X (FAKE_X=0
            # leaves it).
            [[ -n $FAKE_X || ! -f $RUN/fakex.mode ]] || FAKE_X=1
            cmd_stop
            cmd_start
            ;;
        status) cmd_status ;;
        ctl) cmd_ctl "$@" ;;
        test) cmd_test ;;
        bench) cmd_bench "$@" ;;
        *) usage >&2; die "unknown command '$cmd'" ;;
    esac
}

main "$@"
