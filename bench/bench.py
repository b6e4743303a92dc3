#!/usr/bin/env python3
"""The benchmark (./service.sh bench; bench/run.sh builds what it needs).

Everything is measured in one run, side by side, so that the ratios hold
on a noisy machine:

  direct    every GET page run as a CGI with a valid session, beside a
            trivial C CGI (bench/floor.c), in alternating rounds: wall
            time, instructions (callgrind), peak RSS
  servers   wrk through Apache and lighttpd: the floor, a static file,
            every page
  publish   POST /app/publishing to one channel against the fake X,
            beside the curl tool posting the same JSON to the same
            endpoint with a token the fake issued, over plain HTTP and
            over TLS (a second fake with its own CA)
  connect   start -> the fake's consent (auto_approve) -> callback
  growth    the history page with 10, 1,000 and 100,000 posts; due posts
            with 1, 100 and 10,000 posts

It prints the tables and writes bench/RESULTS.md.  --smoke (or
BENCH_SMOKE=1) does a few runs of each on one server with tiny sizes and
writes its results under $TMPDIR instead.  The last line is "N passed, N
failed": a pass is a measurement that completed.

Instances and the fake X are started with tests/http/harness.py, as the
HTTP tests start them.
"""
import datetime
import grp
import json
import os
import platform
import pwd
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
import harness  # noqa: E402  (after the path is set)
import relkit  # noqa: E402

SMOKE = os.environ.get("BENCH_SMOKE") == "1" or "--smoke" in sys.argv[1:]
if SMOKE:
    P = dict(rounds=3, warm=1, wrk_secs=1, wrk_rounds=1, pub_rounds=3,
             connects=2, grow_rounds=3, history=(10, 100), due=((1, 1), (10, 1)),
             servers=("apache",), callgrind=True)
else:
    P = dict(rounds=200, warm=5, wrk_secs=10, wrk_rounds=5, pub_rounds=200,
             connects=30, grow_rounds=100, history=(10, 1000, 100000),
             due=((1, 9), (100, 3), (10000, 1)),
             servers=("apache", "lighttpd"), callgrind=True)
WRK_CONN = 8
SECRET = "bench-secret-" + os.urandom(6).hex()
PAGE_X = "/admin/api-integration/x-twitter"
FAKE_USERS = (("4001", "bench_one"),)
HIST_PW = "bench-history-pw-1"
IS_ROOT = os.geteuid() == 0
SVC_USER = os.environ.get("SOSYABOT_USER", "www-data") if IS_ROOT else None
SVC_GROUP = (grp.getgrgid(pwd.getpwnam(SVC_USER).pw_gid).gr_name
             if SVC_USER else None)
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

COUNT = {"passed": 0, "failed": 0}
R = {}          # every figure, by section
NOTES = []


def log(*a):
    print(*a, flush=True)


def measure(name, fn, stack=None):
    """One measurement: counted as passed when it completes."""
    t0 = time.monotonic()
    try:
        fn()
    except Exception:  # a failed measurement reports and the run goes on
        COUNT["failed"] += 1
        log(f"not ok - {name}")
        for line in traceback.format_exc().splitlines()[-12:]:
            log("#   " + line)
        if stack is not None and stack.started:
            for line in stack.inst.logs().splitlines()[-20:]:
                log("#   log: " + line)
    else:
        COUNT["passed"] += 1
        log(f"ok - {name} ({time.monotonic() - t0:.1f} s)")


# --- statistics -----------------------------------------------------------------

def pct(xs, p):
    """Nearest-rank percentile."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def ms(ns):
    return ns / 1e6


# --- processes --------------------------------------------------------------------

def as_svc(cmd):
    if not IS_ROOT:
        return cmd
    return ["setpriv", f"--reuid={SVC_USER}", f"--regid={SVC_GROUP}",
            "--init-groups", "--"] + cmd


class Bin:
    """The benchmark's programs, copied where the service user can run
    them (the project may sit in a private directory)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sosyabot-bench-")
        os.chmod(self.dir, 0o755)
        for name in ("floor.cgi", "cgirun", "loadposts"):
            dst = os.path.join(self.dir, name)
            shutil.copy(os.path.join(ROOT, "bench", name), dst)
            os.chmod(dst, 0o755)
        self.floor = os.path.join(self.dir, "floor.cgi")
        self.cgirun = os.path.join(self.dir, "cgirun")
        self.loadposts = os.path.join(self.dir, "loadposts")
        self.n = 0

    def case(self, name, argv, env, body=None, expect=None):
        """A case file for cgirun."""
        self.n += 1
        path = os.path.join(self.dir, f"case{self.n}")
        with open(path, "w") as f:
            f.write(f"name {name}\n")
            for a in argv:
                f.write(f"arg {a}\n")
            for k, v in env.items():
                f.write(f"env {k}={v}\n")
            if body is not None:
                f.write(f"stdin {body}\n")
            if expect is not None:
                f.write(f"expect {expect}\n")
        os.chmod(path, 0o644)
        return path

    def run(self, cases, rounds, warm, tag="r"):
        """Alternating rounds; {name: [(ns, rss_kib)]}, every run ok."""
        cmd = [self.cgirun, "-n", str(rounds), "-w", str(warm), "-s", tag]
        if SVC_USER:
            cmd += ["-u", SVC_USER]
        r = subprocess.run(cmd + cases, capture_output=True, text=True,
                           timeout=3600)
        if r.returncode != 0:
            raise AssertionError(f"cgirun: {r.returncode}\n{r.stderr[-2000:]}")
        out, bad = {}, []
        for line in r.stdout.splitlines():
            name, run, ns, rss, ok, flt = line.split("\t")
            out.setdefault(name, []).append((int(ns), int(rss), int(flt)))
            if ok != "1":
                bad.append(f"{name} run {run}")
        if bad:
            raise AssertionError(f"runs not ok: {bad[:5]}\n{r.stderr[-1500:]}")
        return out

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def summary(runs):
    ns = [x[0] for x in runs]
    return {"n": len(ns), "median_ms": ms(statistics.median(ns)),
            "p95_ms": ms(pct(ns, 95)),
            "rss_kib": max(x[1] for x in runs),
            "faults": statistics.median(x[2] for x in runs)}


def callgrind(argv, env, body=None):
    """Instructions of one run (the dynamic loader included)."""
    cmd = as_svc(["valgrind", "--tool=callgrind",
                  "--callgrind-out-file=/dev/null"] + argv)
    e = dict(env)
    if body is not None:
        e["CONTENT_LENGTH"] = str(len(body))
    r = subprocess.run(cmd, env=e, input=(body or "").encode(),
                       capture_output=True, timeout=300)
    m = re.search(rb"Collected : (\d+)", r.stderr)
    if not m:
        raise AssertionError(r.stderr.decode(errors="replace")[-1500:])
    return int(m.group(1))


# --- the instances ------------------------------------------------------------------

class Inst(harness.Instance):
    """A harness instance that keeps its own server."""

    def __init__(self, server, env):
        self.server = server
        super().__init__(env)

    def environ(self):
        e = super().environ()
        e["SERVER"] = self.server
        return e


def connect(client, fake, uid):
    """An OAuth connect through the fake's auto-approving consent;
    returns the seconds of each leg."""
    fake.call("POST", "/_fake/config", {"consent_user": uid})
    t0 = time.perf_counter()
    r = client.get("/api/v1/auth/twitter")
    assert r.status == 302, r
    t1 = time.perf_counter()
    back = fake.browser("GET", r.header("location"))
    assert back.status == 302, back
    t2 = time.perf_counter()
    u = urllib.parse.urlsplit(back.header("location"))
    r = client.get(u.path + "?" + u.query, raw_path=True)
    assert r.status == 303 and "n=connected" in (r.header("location") or ""), r
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


class Stack:
    """One instance on a server, with the demo app set up, the admin
    signed in with one channel, and the floor routed."""

    def __init__(self, server, fake):
        self.server = server
        self.fake = fake
        self.started = False
        self.inst = Inst(server, {
            "X_API_BASE_URL": fake.url, "X_WEB_BASE_URL": fake.url,
            "X_AUTHORIZE_URL": fake.url + "/i/oauth2/authorize",
            "SOSYABOT_X_TIMEOUT": "10",
            # The scheduler's publish-due every 30 s would take due posts
            # from the measurement and run beside the others: once at the
            # start, then not for a day.
            "SOSYABOT_WORKER_INTERVAL": "86400"})
        self.client_id = f"bench-{server}"

    def up(self, bins):
        fake = self.fake
        fake.call("POST", "/_fake/apps", {
            "client_id": self.client_id, "client_secret": SECRET,
            "callback": self.inst.base + "/api/v1/auth/twitter/callback",
            "type": "confidential"})
        self.started = True
        self.inst.start()
        adm = self.inst.client()
        adm.login("admin", self.inst.password)
        r = adm.post(PAGE_X, {"csrf": adm.session()["csrf"], "action": "save",
                              "client_id": self.client_id,
                              "client_secret": SECRET, "status": "enable"})
        assert r.status == 303, r
        connect(adm, fake, FAKE_USERS[0][0])
        self.adm = adm
        chans = adm.get("/api/v1/channels",
                        headers={"Accept": "application/json"}).json()
        self.channel = chans["channels"][0]["id"]
        self.handle = chans["channels"][0]["handle"]
        self.sid = adm.cookies["sid"]
        self.csrf = adm.session()["csrf"]
        self.route_floor(bins.floor)

    def route_floor(self, floor):
        """Add /_bench/floor to the rendered config and reload the
        server: the product's templates know nothing of the benchmark."""
        run = os.path.join(self.inst.var, "run")
        d = os.path.dirname(floor)
        if self.server == "apache":
            conf, pidf = os.path.join(run, "httpd.conf"), "httpd.pid"
            add = (f'\nScriptAliasMatch "^/_bench/floor$" "{floor}"\n'
                   f'<Directory "{d}">\n    Require all granted\n</Directory>\n')
        else:
            conf, pidf = os.path.join(run, "lighttpd.conf"), "lighttpd.pid"
            add = (f'\n$HTTP["url"] == "/_bench/floor" {{ alias.url = '
                   f'( "" => "{floor}" ) cgi.assign = ( "" => "" ) }}\n')
        with open(conf, "a") as f:
            f.write(add)
        with open(os.path.join(run, pidf)) as f:
            pid = int(f.read().split()[0])
        os.kill(pid, signal.SIGUSR1)     # graceful: re-read the config
        c = self.inst.client()
        for _ in range(100):
            time.sleep(0.1)
            try:
                if c.get("/_bench/floor", timeout=2).status == 200:
                    return
            except OSError:
                pass
        raise AssertionError(f"{self.server}: the floor route does not answer")

    def env(self, method, uri, cookie=True, accept="text/html", extra=None):
        x = {"X_API_BASE_URL": self.fake.url, "X_WEB_BASE_URL": self.fake.url,
             "X_AUTHORIZE_URL": self.fake.url + "/i/oauth2/authorize",
             "SOSYABOT_X_TIMEOUT": "10"}
        x.update(extra or {})
        return cgi_env(self.inst.var, self.inst.port, method, uri,
                       self.sid if cookie is True else cookie, accept, x)

    def stop(self):
        if self.started:
            self.inst.stop()
            self.started = False


def cgi(name):
    """The program the servers run for name's URLs: its front when it
    has one (lib/front.c), which hands POSTs to the full program."""
    front = os.path.join(ROOT, "cgi-bin", "front", name)
    return front if os.path.exists(front) else os.path.join(ROOT, "cgi-bin", name)


def cgi_env(var, port, method, uri, sid=None, accept="text/html", extra=None):
    """What the server gives a CGI for this request."""
    e = {"PATH": PATH, "LANG": "C.UTF-8", "SOSYABOT_DATA_DIR": var,
         "BASE_URL": f"http://127.0.0.1:{port}",
         "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
         "SERVER_SOFTWARE": "bench", "SERVER_NAME": "127.0.0.1",
         "SERVER_PORT": str(port), "REQUEST_METHOD": method,
         "REQUEST_URI": uri, "QUERY_STRING": uri.partition("?")[2],
         "SCRIPT_NAME": uri.partition("?")[0], "REMOTE_ADDR": "127.0.0.1",
         "REMOTE_PORT": "40000", "HTTP_HOST": f"127.0.0.1:{port}",
         "HTTP_USER_AGENT": "bench", "HTTP_ACCEPT": accept}
    if sid:
        e["HTTP_COOKIE"] = f"sid={sid}"
    e.update(extra or {})
    return e


def run_cgi(env, prog, body=""):
    """One untimed CGI run as the service user: (headers, body)."""
    e = dict(env)
    if body:
        e["CONTENT_LENGTH"] = str(len(body))
        e.setdefault("CONTENT_TYPE", "application/x-www-form-urlencoded")
    r = subprocess.run(as_svc([cgi(prog)]), env=e, input=body.encode(),
                       capture_output=True, timeout=60)
    head, _, text = r.stdout.partition(b"\r\n\r\n")
    return head.decode(errors="replace"), text.decode(errors="replace")


class DataDir:
    """A data directory of its own, with one user signed in and no
    server: the same page is then run side by side on several of them."""

    PORT = 8080     # only in BASE_URL; nothing listens

    def __init__(self, parent, name):
        self.var = os.path.join(parent, name)
        os.mkdir(self.var, 0o700)
        if SVC_USER:
            shutil.chown(self.var, SVC_USER, SVC_GROUP)
        self.ctl("init")

    def ctl(self, *args, input=None):
        r = subprocess.run(
            as_svc([os.path.join(ROOT, "tools", "sosyabotctl"), *args]),
            env={"PATH": PATH, "LANG": "C.UTF-8",
                 "SOSYABOT_DATA_DIR": self.var,
                 "BASE_URL": f"http://127.0.0.1:{self.PORT}"},
            cwd=self.var, input=input, capture_output=True, text=True,
            timeout=120)
        if r.returncode != 0:
            raise AssertionError(f"sosyabotctl {args}: {r.stdout}{r.stderr}")
        return r.stdout

    def env(self, method, uri, sid=None, extra=None):
        return cgi_env(self.var, self.PORT, method, uri, sid, extra=extra)

    def sign_in(self, user, ws, pw):
        """A user and a session, as login.cgi makes them."""
        self.ctl("user", "add", user, "--workspace", ws, input=pw + "\n")
        head, _ = run_cgi(self.env("GET", "/login"), "login.cgi")
        tok = re.search(r"login=([^;\s]+)", head).group(1)
        head, _ = run_cgi(self.env("POST", "/login", extra={
            "HTTP_COOKIE": f"login={tok}",
            "HTTP_ORIGIN": f"http://127.0.0.1:{self.PORT}",
            "HTTP_SEC_FETCH_SITE": "same-origin"}), "login.cgi",
            urllib.parse.urlencode({"csrf": tok, "username": user,
                                    "password": pw}))
        m = re.search(r"sid=([^;\s]+)", head)
        assert "Status: 303" in head and m, head
        return m.group(1)


# The GET pages: (label, program, uri, accept, signed in, expect).
PAGES = (
    ("/login (form)", "login.cgi", "/login", "text/html", False,
     "Status: 200"),
    ("/login (signed in: 302)", "login.cgi", "/login", "text/html", True,
     "Status: 302"),
    (PAGE_X, "admin.cgi", PAGE_X, "text/html", True, "Status: 200"),
    ("/app/channels", "channels.cgi", "/app/channels", "text/html", True,
     "Status: 200"),
    ("/app/publishing", "publish.cgi", "/app/publishing", "text/html", True,
     "Status: 200"),
    ("/api/v1/channels", "channels.cgi", "/api/v1/channels",
     "application/json", True, "Status: 200"),
)


# --- the measurements -----------------------------------------------------------------

def direct(st, bins):
    cases = [bins.case("floor", [bins.floor], st.env("GET", "/"),
                       expect="ok")]
    for label, prog, uri, accept, signed, expect in PAGES:
        cases.append(bins.case(label, [cgi(prog)],
                               st.env("GET", uri, cookie=signed, accept=accept),
                               expect=expect))
    runs = bins.run(cases, P["rounds"], P["warm"])
    rows = {}
    for name, rs in runs.items():
        rows[name] = summary(rs)
    floor = rows["floor"]["median_ms"]
    for row in rows.values():
        row["x_floor"] = row["median_ms"] / floor
    if P["callgrind"]:
        rows["floor"]["instr"] = callgrind([bins.floor], st.env("GET", "/"))
        for label, prog, uri, accept, signed, _ in PAGES:
            rows[label]["instr"] = callgrind(
                [cgi(prog)], st.env("GET", uri, cookie=signed, accept=accept))
    R["direct"] = rows


WRK_RE = {
    "rps": re.compile(r"Requests/sec:\s+([\d.]+)"),
    "p50": re.compile(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", re.M),
    "p99": re.compile(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", re.M),
    "non2xx": re.compile(r"Non-2xx or 3xx responses:\s+(\d+)"),
}


def wrk(url, headers, secs):
    cmd = ["wrk", "-t2", f"-c{WRK_CONN}", f"-d{secs}s", "--latency",
           "--timeout", "10s"]
    for h in headers:
        cmd += ["-H", h]
    r = subprocess.run(cmd + [url], capture_output=True, text=True,
                       timeout=secs + 60)
    out = r.stdout
    if r.returncode != 0 or not WRK_RE["rps"].search(out):
        raise AssertionError(f"wrk {url}: {r.returncode}\n{out}\n{r.stderr}")
    m = WRK_RE["non2xx"].search(out)
    if m:
        raise AssertionError(f"wrk {url}: {m.group(1)} answers not 2xx/3xx\n{out}")
    res = {"rps": float(WRK_RE["rps"].search(out).group(1))}
    for k in ("p50", "p99"):
        v, unit = WRK_RE[k].search(out).groups()
        res[k] = float(v) * {"us": 1e-3, "ms": 1, "s": 1e3}[unit]
    return res


def servers(st):
    base = st.inst.base
    cookie = f"Cookie: sid={st.sid}"
    urls = [("static file", "/static/app.css", ()),
            ("floor", "/_bench/floor", ())]
    for label, _, uri, accept, signed, _ in PAGES:
        h = [f"Accept: {accept}"] + ([cookie] if signed else [])
        urls.append((label, uri, h))
    # Interleaved rounds of equal length, so that the machine's drift
    # (a noisy neighbour for a few seconds) slows every URL alike.
    secs = P["wrk_secs"] // P["wrk_rounds"]
    runs = {label: [] for label, _, _ in urls}
    for _ in range(P["wrk_rounds"]):
        for label, uri, h in urls:
            runs[label].append(wrk(base + uri, h, secs))
    rows = {}
    for label, rs in runs.items():
        rows[label] = {
            "rps": statistics.mean(r["rps"] for r in rs),
            "p50": statistics.median(r["p50"] for r in rs),
            "p99": max(r["p99"] for r in rs)}
    floor = rows["floor"]["rps"]
    for row in rows.values():
        row["x_floor"] = row["rps"] / floor
    R.setdefault("servers", {})[st.server] = rows


def tls_twin(fake, client_id, d):
    """A second fake X, over https with a CA of its own in d, that knows
    the first one's users and the tokens it issued to client_id: the
    stack's channel then posts to it as to X itself, over TLS.  Returns
    (fake, CA file)."""
    ca, cert, key = relkit.make_ca(d)
    twin = relkit.Fake(cert, key, ca)
    state = fake.call("GET", "/_fake/state")
    twin.call("POST", "/_fake/config", state["config"])
    for u in state["users"].values():
        twin.call("POST", "/_fake/users", u)
    for t in state["tokens"].values():
        if t["client_id"] == client_id and not t["revoked"]:
            twin.call("POST", "/_fake/tokens", {
                "user_id": t["user_id"], "token": t["token"],
                "client_id": client_id})
    return twin, ca


def publish(st, bins, fake):
    """publish.cgi beside curl, over plain HTTP and over TLS (as X is),
    all four in alternating rounds."""
    d = tempfile.mkdtemp(prefix="sosyabot-bench-ca-")
    twin, ca = tls_twin(fake, st.client_id, d)
    try:
        publish_beside_curl(st, bins, fake, twin, ca)
    finally:
        twin.stop()
        shutil.rmtree(d, ignore_errors=True)


def publish_beside_curl(st, bins, fake, twin, ca):
    uid = FAKE_USERS[0][0]
    tok = fake.call("POST", "/_fake/tokens", {
        "user_id": uid, "client_id": st.client_id})["token"]["token"]
    twin.call("POST", "/_fake/tokens", {
        "user_id": uid, "client_id": st.client_id, "token": tok})
    tag = "p" + os.urandom(3).hex()
    body = (f"csrf={st.csrf}&text=Bench+publish+@N@&channel={st.channel}"
            "&action=publish")
    cases = []
    for scheme, x in (("http", fake), ("https", twin)):
        env = st.env("POST", "/app/publishing", extra={
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "HTTP_ORIGIN": st.inst.base, "HTTP_SEC_FETCH_SITE": "same-origin",
            "X_API_BASE_URL": x.url, "X_WEB_BASE_URL": x.url,
            "SOSYABOT_CA_BUNDLE": ca})
        cases.append(bins.case(f"publish.cgi {scheme}",
                               [cgi("publish.cgi")], env, body=body,
                               expect="?n=sent"))
        cases.append(bins.case(f"curl {scheme}", [
            shutil.which("curl") or "/usr/bin/curl", "-q", "-s",
            "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca,
            "-X", "POST", "-H", f"Authorization: Bearer {tok}",
            "-H", "Content-Type: application/json",
            "--data-binary", '{"text":"Bench curl @N@"}',
            x.url + "/2/tweets"], {"PATH": PATH, "LANG": "C.UTF-8"},
            expect="201"))
    runs = bins.run(cases, P["pub_rounds"], 1, tag=tag)
    want = P["pub_rounds"] + 1     # the warm-up round posts too
    for x in (fake, twin):
        sent = [t for t in x.call("GET", f"/_fake/timeline?user={uid}")["data"]
                if t["text"].startswith("Bench publish " + tag)]
        assert len(sent) == want, (x.url, len(sent), want)
    rows = {k: summary(v) for k, v in runs.items()}
    for scheme in ("http", "https"):
        rows[f"publish.cgi {scheme}"]["x_curl"] = (
            rows[f"publish.cgi {scheme}"]["median_ms"] /
            rows[f"curl {scheme}"]["median_ms"])
    # The same POST through the server, for reference (HTTP client in
    # Python: a few hundred microseconds of its own).
    t = []
    for i in range(max(3, P["pub_rounds"] // 5)):
        t0 = time.perf_counter()
        r = st.adm.post("/app/publishing", {
            "csrf": st.csrf, "text": f"Bench http {tag} {i}",
            "channel": st.channel, "action": "publish"})
        t.append(time.perf_counter() - t0)
        assert r.status == 303 and "n=sent" in r.header("location"), r
    rows[f"http, through {st.server}"] = {
        "n": len(t), "median_ms": statistics.median(t) * 1e3,
        "p95_ms": pct(t, 95) * 1e3}
    R["publish"] = rows


def connect_path(st, fake):
    legs = []
    for _ in range(P["connects"]):
        legs.append(connect(st.adm, fake, FAKE_USERS[0][0]))
    tot = [sum(x) for x in legs]
    R["connect"] = {
        "n": len(tot), "median_ms": statistics.median(tot) * 1e3,
        "p95_ms": pct(tot, 95) * 1e3,
        "start_ms": statistics.median(x[0] for x in legs) * 1e3,
        "consent_ms": statistics.median(x[1] for x in legs) * 1e3,
        "callback_ms": statistics.median(x[2] for x in legs) * 1e3}


def load(var, bins, ws, by, channel, handle, n, state, mode="batch"):
    r = subprocess.run(as_svc([bins.loadposts, "-d", var, "-w", ws,
                               "-b", by, "-c", channel, "-h", handle,
                               "-n", str(n), "-s", state, "-m", mode]),
                       capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise AssertionError(f"loadposts: {r.stdout}{r.stderr}")
    # What follows is measured without the write-back of the load.
    os.sync()
    time.sleep(1)
    return r.stdout.strip()


def history(bins):
    """The same history page on stores of 10, 1,000 and 100,000 posts,
    each a data directory of its own, run side by side."""
    parent = tempfile.mkdtemp(prefix="sosyabot-bench-stores-")
    os.chmod(parent, 0o755)
    try:
        history_in(bins, parent)
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def history_in(bins, parent):
    floor_env = cgi_env("/nonexistent", DataDir.PORT, "GET", "/")
    cases = [bins.case("floor", [bins.floor], floor_env, expect="ok")]
    loads, envs = [], {}
    for size in P["history"]:
        d = DataDir(parent, f"posts{size}")
        sid = d.sign_in("hist", "hist", HIST_PW)
        loads.append(f"{size:,} posts: " + load(
            d.var, bins, "hist", "hist", "1", "bench_hist", size, "posted"))
        envs[str(size)] = d.env("GET", "/app/publishing", sid)
        cases.append(bins.case(f"{size}", [cgi("publish.cgi")], envs[str(size)],
                               expect="Older posts" if size > 20 else
                               "Benchmark post"))
        if size > 40:
            # A page half-way down: ?before= an id there (ids are 1..size).
            envs[f"{size} mid"] = d.env(
                "GET", f"/app/publishing?before={size // 2}", sid)
            cases.append(bins.case(f"{size} mid", [cgi("publish.cgi")],
                                   envs[f"{size} mid"],
                                   expect="Benchmark post"))
    # How fast the product's own writes go (one durable transaction
    # each, and one more to settle), for the record.
    loads.append("50 posts through post_create and post_settle: " + load(
        d.var, bins, "hist-create", "hist", "1", "bench_hist", 50, "posted",
        mode="create"))
    runs = bins.run(cases, P["grow_rounds"], 2)
    rows = {k: summary(v) for k, v in runs.items()}
    for k, v in rows.items():
        v["x_floor"] = v["median_ms"] / rows["floor"]["median_ms"]
        if P["callgrind"] and k in envs:
            v["instr"] = callgrind([cgi("publish.cgi")], envs[k])
    R["history"] = rows
    R["loads"] = loads


def publish_due(st, bins, fake):
    """One scheduler run (sosyabotctl publish-due) for each size.  The
    largest run is long: the smaller sizes' repetitions come half before
    and half after it, so that a change of load during it does not pass
    for growth."""
    fake.call("POST", "/_fake/config", {"rate_limit_per_15min": 10 ** 9,
                                        "app_limit_per_24h": 10 ** 9})
    ctl = os.path.join(ROOT, "tools", "sosyabotctl")
    env = st.env("GET", "/")
    *small, (big, big_reps) = P["due"]
    order = [n for n, reps in small for _ in range((reps + 1) // 2)]
    order += [big] * big_reps
    order += [n for n, reps in small for _ in range(reps // 2)]
    per = {}
    for size in order:
        load(st.inst.var, bins, "default", "admin", st.channel, st.handle,
             size, "due")
        case = bins.case(f"due{size}", [ctl, "publish-due", "--max",
                                        "1000000"], env,
                         expect=f"{size} sent, {size} posted")
        per.setdefault(size, []).append(bins.run([case], 1, 0)[
            f"due{size}"][0][0])
    rows = {}
    for size, _ in P["due"]:
        wall = statistics.median(per[size])
        rows[size] = {"reps": len(per[size]), "wall_ms": ms(wall),
                      "per_post_ms": ms(wall) / size}
    R["due"] = rows


# --- the report ---------------------------------------------------------------------------

def sh(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def dpkg_version(pkg):
    v = sh(["dpkg-query", "-W", "-f=${Version}", pkg])
    return v if v and "no packages" not in v else "?"


def environment():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1) if m else "?"
    except OSError:
        pass
    return [
        ("date", datetime.datetime.now(datetime.timezone.utc)
         .strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", f"{cpu}, {os.cpu_count()} cores"),
        ("kernel", platform.release()),
        ("gcc", sh(["gcc", "-dumpfullversion"])),
        ("Apache", dpkg_version("apache2-bin")),
        ("lighttpd", dpkg_version("lighttpd")),
        ("Berkeley DB", dpkg_version("libdb5.3")),
        ("Jansson", dpkg_version("libjansson4")),
        ("curl", dpkg_version("curl")),
        ("wrk", dpkg_version("wrk")),
        ("valgrind", dpkg_version("valgrind")),
        ("Python (fake X)", platform.python_version()),
        ("mode", "smoke (tiny sizes: the figures mean nothing)" if SMOKE
         else "full"),
    ]


def f1(x):
    return "—" if x is None else f"{x:.1f}"


def f2(x):
    return "—" if x is None else f"{x:.2f}"


def table(head, rows):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(x) for x in r) + " |")
    return out


GOALS = []


def goal(what, value, limit, ok, fmt="{:.2f}"):
    GOALS.append((what, "—" if value is None else fmt.format(value), limit,
                  "—" if ok is None else ("met" if ok else "NOT MET")))


def report():
    L = ["# Benchmark results", "",
         "Written by `./service.sh bench` (bench/bench.py); every figure "
         "below comes from the one run described here.", ""]
    L += table(["", ""], environment())
    d = R.get("direct")
    if d:
        L += ["", f"## Direct execution (no server), {P['rounds']} "
              "alternating runs each", "",
              "Each page is run as the server runs a CGI (its front, "
              "cgi-bin/front/, when it has one), with a valid session "
              "(except the sign-in form); the floor is bench/floor.c, "
              "linked as usual. Instructions: one run under callgrind, "
              "dynamic loading included. Peak RSS: the highest of all "
              "runs (it includes the ~1.5 MiB of the runner at the fork).",
              ""]
        rows = []
        for name, v in d.items():
            rows.append([name, f2(v["median_ms"]), f2(v["p95_ms"]),
                         f2(v["x_floor"]),
                         f2(v["instr"] / 1e6) if "instr" in v else "—",
                         f1(v["rss_kib"] / 1024), f"{v['faults']:.0f}"])
        L += table(["page", "median ms", "p95 ms", "× floor", "M instr",
                    "peak RSS MiB", "page faults"], rows)
        pages = [v for k, v in d.items() if k != "floor"]
        worst = max(pages, key=lambda v: v["x_floor"])
        goal("GET pages, direct: median ≤ 2.0× floor (worst page)",
             worst["x_floor"], "2.0×", worst["x_floor"] <= 2.0, "{:.2f}×")
        if all("instr" in v for v in pages):
            mi = max(v["instr"] for v in pages)
            goal("GET pages: instructions a request (worst)", mi / 1e6,
                 "2.5 M", mi <= 2.5e6, "{:.2f} M")
        rss = max(v["rss_kib"] for v in pages)
        goal("GET pages: peak RSS (worst)", rss / 1024, "8 MiB",
             rss <= 8 * 1024, "{:.1f} MiB")
    s = R.get("servers")
    if s:
        L += ["", f"## Through the servers (wrk, {WRK_CONN} connections, "
              f"{P['wrk_secs']} s each)", "",
              f"Each URL's {P['wrk_secs']} s are {P['wrk_rounds']} rounds "
              "of equal length, the URLs taking turns, so that the "
              "machine's drift slows them alike: req/s over all rounds, "
              "p50 the median of the rounds' medians, p99 the highest "
              "round's.", ""]
        names = list(next(iter(s.values())).keys())
        head = ["url"]
        for srv in s:
            head += [f"{srv} req/s", "p50 ms", "p99 ms", "× floor"]
        rows = []
        for n in names:
            r = [n]
            for srv in s:
                v = s[srv].get(n)
                r += [f"{v['rps']:.0f}", f2(v["p50"]), f2(v["p99"]),
                      f2(v["x_floor"])] if v else ["—"] * 4
            rows.append(r)
        L += table(head, rows)
        if "lighttpd" in s:
            worst = min((v for k, v in s["lighttpd"].items()
                         if k not in ("floor", "static file")),
                        key=lambda v: v["x_floor"])
            goal("GET pages through lighttpd: req/s ≥ 0.6× floor (worst)",
                 worst["x_floor"], "0.6×", worst["x_floor"] >= 0.6, "{:.2f}×")
    p = R.get("publish")
    if p:
        L += ["", "## Publish path", "",
              f"{P['pub_rounds']} alternating runs of four: publish.cgi run "
              "directly (POST /app/publishing, one channel; through its "
              "front, as the servers run it, which hands the POST to the "
              "full program) and the curl tool posting the same JSON to "
              "the fake's POST /2/tweets with "
              "a token the fake issued, each against the fake X on loopback "
              "over plain HTTP and over TLS (a second fake with a CA of its "
              "own, which both trust through SOSYABOT_CA_BUNDLE and "
              "--cacert). X is only reached over TLS: the goal is read "
              "there. Over plain HTTP the curl tool does no cryptography at "
              "all, while publish.cgi must open the channel's sealed token "
              "(libcrypto's first AES-256-GCM fetch, about 1 ms); over TLS "
              "both pay libcrypto's set-up. The last row is the same POST "
              "through the server from a Python client.",
              ""]
        rows = [[k, f2(v["median_ms"]), f2(v["p95_ms"]),
                 f2(v.get("x_curl")) if "x_curl" in v else ""]
                for k, v in p.items()]
        L += table(["", "median ms", "p95 ms", "× curl"], rows)
        x = p["publish.cgi https"]["x_curl"]
        goal("publish path over TLS: ≤ 1.25× the curl tool", x, "1.25×",
             x <= 1.25, "{:.2f}×")
    c = R.get("connect")
    if c:
        L += ["", "## Connect path", "",
              f"{c['n']} connects: GET /api/v1/auth/twitter → the fake's "
              "consent page (auto_approve) → GET the callback, from a Python "
              "client through the first server.", ""]
        L += table(["", "median ms"], [
            ["start (302 to X)", f2(c["start_ms"])],
            ["consent (fake X)", f2(c["consent_ms"])],
            ["callback (token exchange, users/me, store)", f2(c["callback_ms"])],
            ["end to end", f2(c["median_ms"])],
            ["end to end, p95", f2(c["p95_ms"])]])
    h = R.get("history")
    if h:
        sizes = [int(k) for k in h if k.isdigit()]
        L += ["", "## Growth: the history page", "",
              "GET /app/publishing (a page is 20 posts) with "
              + ", ".join(f"{n:,}" for n in sizes) + " posts in the store, "
              "each store a data directory of its own, run directly side by "
              f"side with the floor, {P['grow_rounds']} alternating runs; "
              "\"middle\" is the page ?before= half-way down.", ""]
        base = h[str(sizes[0])]["median_ms"]
        rows = []
        for k, v in h.items():
            if k == "floor":
                continue
            n, _, mid = k.partition(" ")
            rows.append([f"{int(n):,}", "middle page" if mid else "first page",
                         f2(v["median_ms"]), f2(v["p95_ms"]), f2(v["x_floor"]),
                         f2(v["median_ms"] / base),
                         f2(v["instr"] / 1e6) if "instr" in v else "—",
                         f"{v['faults']:.0f}"])
        L += table(["posts", "page", "median ms", "p95 ms", "× floor",
                    f"× {sizes[0]} posts", "M instr", "page faults"], rows)
        big = str(sizes[-1])
        ratio = h[big]["median_ms"] / base
        goal(f"history page at {sizes[-1]:,} posts ≤ 1.2× at {sizes[0]}",
             ratio, "1.2×", ratio <= 1.2, "{:.2f}×")
        if big + " mid" in h:
            r2 = h[big + " mid"]["median_ms"] / base
            goal(f"history, middle page at {sizes[-1]:,} ≤ 1.2× the page "
                 f"at {sizes[0]}", r2, "1.2×", r2 <= 1.2, "{:.2f}×")
        L += ["", "Loading the posts (bench/loadposts):", ""]
        L += [f"* {x}" for x in R.get("loads", [])]
    u = R.get("due")
    if u:
        L += ["", "## Growth: publish-due", "",
              "`sosyabotctl publish-due` with that many posts due, each to "
              "one channel, the fake's rate limits off (median of the "
              "repetitions; those of the smaller sizes run half before and "
              "half after the largest). The fake X finds duplicates in "
              "constant time, as X does not slow down with an account's "
              "history.", ""]
        rows = [[f"{n:,}", v["reps"], f2(v["wall_ms"]), f2(v["per_post_ms"])]
                for n, v in u.items()]
        L += table(["due posts", "runs", "wall ms", "ms a post"], rows)
        sizes = list(u)
        if len(sizes) >= 2:
            big = u[sizes[-1]]["per_post_ms"]
            ref = min(u[n]["per_post_ms"] for n in sizes[:-1])
            goal(f"publish-due: ms a post at {sizes[-1]:,} ≤ 1.2× the "
                 "smaller sizes' best", big / ref, "1.2×", big / ref <= 1.2,
                 "{:.2f}×")
    if GOALS:
        L += ["", "## Goals", ""]
        L += table(["goal", "measured", "limit", ""], GOALS)
    if NOTES:
        L += ["", "## Notes", ""] + [f"* {n}" for n in NOTES]
    return "\n".join(L) + "\n"


# --- main ---------------------------------------------------------------------------------

def want(part):
    """BENCH_ONLY=direct,servers,publish,connect,history,due runs only
    those parts (while working on one of them)."""
    only = os.environ.get("BENCH_ONLY")
    return not only or part in only.split(",")


def main():
    bins = Bin()
    fake = harness.FakeX()
    fake.call("POST", "/_fake/config", {
        "auto_approve": True, "rate_limit_per_15min": 10 ** 9,
        "app_limit_per_24h": 10 ** 9, "users_me_per_15min": 10 ** 9})
    for uid, name in FAKE_USERS:
        fake.call("POST", "/_fake/users", {"id": uid, "username": name,
                                           "name": name})
    stacks, started = [], []
    try:
        for srv in P["servers"]:
            st = Stack(srv, fake)
            stacks.append(st)
            started.append(st)
            measure(f"start {srv} with the fake X, sign in, connect",
                    lambda st=st: st.up(bins), st)
        stacks = [st for st in stacks if hasattr(st, "sid")]
        if not stacks:
            return
        first = stacks[0]
        if want("direct"):
            measure("direct execution: floor and every GET page",
                    lambda: direct(first, bins), first)
        for st in stacks if want("servers") else ():
            measure(f"wrk through {st.server}", lambda st=st: servers(st), st)
        if want("publish"):
            measure("publish path beside curl",
                    lambda: publish(first, bins, fake), first)
        if want("connect"):
            measure("connect path", lambda: connect_path(first, fake), first)
        if want("history"):
            measure("growth: history page", lambda: history(bins))
        if want("due"):
            measure("growth: publish-due", lambda: publish_due(first, bins, fake),
                    first)
    finally:
        for st in started:
            st.stop()
        fake.stop()
        bins.cleanup()
    text = report()
    log("")
    log(text)
    out = os.path.join(ROOT, "bench", "RESULTS.md")
    if SMOKE:
        out = os.path.join(tempfile.gettempdir(), "sosyabot-bench-smoke.md")
    with open(out, "w") as f:
        f.write(text)
    log(f"(written to {os.path.relpath(out, ROOT) if not SMOKE else out})")


if __name__ == "__main__":
    try:
        main()
    finally:
        log(f"{COUNT['passed']} passed, {COUNT['failed']} failed")
    sys.exit(1 if COUNT["failed"] or not COUNT["passed"] else 0)
