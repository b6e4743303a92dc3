"""Test harness for the HTTP tests: real servers, real CGIs, the fake X.

An Instance is a whole Sosyabot started by ./service.sh in a temporary
directory on a free loopback port (SERVER=apache or lighttpd); a Client is
a browser-like HTTP client with a cookie jar that never follows redirects.
Runners call check(name, fn) for each case and finish() at the end, which
prints "N passed, N failed".
"""
import atexit
import html
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVER = os.environ.get("SERVER", "apache")
RESULTS = {"passed": 0, "failed": 0}
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; object-src 'none'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check(name, fn):
    try:
        fn()
    except Exception:  # a failed case reports and the run goes on
        RESULTS["failed"] += 1
        print(f"not ok - [{SERVER}] {name}")
        for line in traceback.format_exc().splitlines()[-12:]:
            print("#   " + line)
    else:
        RESULTS["passed"] += 1
        print(f"ok - [{SERVER}] {name}")
    sys.stdout.flush()


def finish():
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] or not RESULTS["passed"] else 0)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # list of (lower name, value)
        self.body = body
        self.text = body.decode("utf-8", "replace")

    def header(self, name):
        for k, v in self.headers:
            if k == name.lower():
                return v
        return None

    def all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    def json(self):
        return json.loads(self.text)

    def csrf(self):
        m = re.search(r'name="csrf" value="([^"]+)"', self.text)
        return m.group(1) if m else None

    def __repr__(self):
        return f"<{self.status} {self.text[:300]!r}>"


class Client:
    """Cookies, no redirects followed, a fresh connection per request."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        u = urllib.parse.urlsplit(self.base)
        self.host, self.port, self.prefix = u.hostname, u.port, u.path
        self.origin = f"{u.scheme}://{u.netloc}"
        self.cookies = {}

    def request(self, method, path, body=None, headers=None, ctype=None,
                raw_path=False, timeout=40):
        h = {"Host": f"{self.host}:{self.port}", "Accept": "text/html"}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body, doseq=True)
            ctype = ctype or "application/x-www-form-urlencoded"
        if isinstance(body, str):
            body = body.encode()
        if body is not None:
            h["Content-Type"] = ctype or "application/x-www-form-urlencoded"
        if method == "POST":
            h.setdefault("Origin", self.origin)
            h.setdefault("Sec-Fetch-Site", "same-origin")
        h.update(headers or {})
        h = {k: v for k, v in h.items() if v is not None}
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        conn.request(method, path if raw_path else self.prefix + path,
                     body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        hdrs = [(k.lower(), v) for k, v in r.getheaders()]
        conn.close()
        for k, v in hdrs:
            if k == "set-cookie":
                name, _, rest = v.partition("=")
                value = rest.split(";", 1)[0]
                if "Max-Age=0" in v:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
        return Response(r.status, hdrs, data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body if body is not None else {},
                            **kw)

    def login(self, user, password, expect=303):
        page = self.get("/login")
        assert page.status == 200, page
        r = self.post("/login", {"csrf": page.csrf(), "username": user,
                                 "password": password})
        assert r.status == expect, r
        return r

    def follow_to_x(self, fake, user_id, decision="approve"):
        """Start a connect, answer X's consent page, and return where X
        sends the browser back to (our callback URL, with its query)."""
        r = self.get("/api/v1/auth/twitter")
        assert r.status == 302, r
        page = fake.browser("GET", r.header("location"))
        assert page.status == 200, page
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" '
                               r'value="([^"]*)"', page.text))
        form = {k: html.unescape(v) for k, v in form.items()}
        form["decision"] = decision
        form["user_id"] = user_id
        back = fake.browser("POST", "/i/oauth2/authorize/decide", form)
        assert back.status == 302, back
        return back.header("location")

    def connect(self, fake, user_id, decision="approve"):
        """The whole OAuth connect; returns our answer to the callback."""
        url = self.follow_to_x(fake, user_id, decision)
        u = urllib.parse.urlsplit(url)
        return self.get(u.path + "?" + u.query, raw_path=True)

    def session(self):
        r = self.get("/api/v1/session", headers={"Accept": "application/json"})
        assert r.status == 200, r
        return r.json()["session"]


class FakeX:
    """tests/fakex/fakex.py on a free port."""

    def __init__(self):
        # Its stdout is a pipe of ours: it never holds the runner's output
        # open, and it goes when the runner exits, even on a failed setup.
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests/fakex/fakex.py"),
             "--port", "0"], stdout=subprocess.PIPE, text=True)
        atexit.register(self.stop)
        line = self.proc.stdout.readline().strip()
        assert line.startswith("listening "), line
        self.url = line.split()[1]
        u = urllib.parse.urlsplit(self.url)
        self.port = u.port

    def call(self, method, path, doc=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        body = json.dumps(doc).encode() if doc is not None else None
        conn.request(method, path, body=body,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return json.loads(data) if data else None

    def browser(self, method, url, form=None):
        """A request to the fake as a browser makes it (no redirects)."""
        u = urllib.parse.urlsplit(url)
        path = u.path + ("?" + u.query if u.query else "")
        body = urllib.parse.urlencode(form).encode() if form else None
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request(method, path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        data = r.read()
        hdrs = [(k.lower(), v) for k, v in r.getheaders()]
        conn.close()
        return Response(r.status, hdrs, data)

    def requests(self, path=None):
        q = "?path=" + urllib.parse.quote(path) if path else ""
        return self.call("GET", "/_fake/requests" + q)["requests"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Instance:
    """A whole service started with ./service.sh in a temporary directory."""

    def __init__(self, env=None, sub_path=""):
        self.dir = tempfile.mkdtemp(prefix="sosyabot-http-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.password = "initial-" + os.urandom(6).hex()
        self.envfile = os.path.join(self.dir, "env")
        self.base = f"http://127.0.0.1:{self.port}{sub_path}"
        self.env_values = dict(env or {})
        self.env_values.setdefault("BASE_URL", self.base)
        self.write_env()

    def write_env(self):
        with open(self.envfile, "w") as f:
            for k, v in self.env_values.items():
                f.write(f"{k}={v}\n")

    def environ(self):
        e = dict(os.environ)
        e.update({"SOSYABOT_VAR": os.path.join(self.dir, "var"),
                  "PORT": str(self.port), "SERVER": SERVER,
                  "SOSYABOT_ENV_FILE": self.envfile,
                  "SOSYABOT_ADMIN_PASSWORD": self.password})
        return e

    def service(self, *args, check_rc=True, input=None):
        r = subprocess.run([os.path.join(ROOT, "service.sh"), *args],
                           env=self.environ(), cwd=ROOT, text=True,
                           capture_output=True, input=input, timeout=600)
        if check_rc and r.returncode != 0:
            raise AssertionError(f"service.sh {' '.join(args)}: "
                                 f"{r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    def start(self):
        atexit.register(self.stop)
        return self.service("start")

    def stop(self):
        self.service("stop", check_rc=False)

    def ctl(self, *args, input=None, check_rc=True):
        return self.service("ctl", *args, input=input, check_rc=check_rc)

    def client(self):
        return Client(self.base)

    @property
    def var(self):
        return os.path.join(self.dir, "var")

    def logs(self):
        out = ""
        logdir = os.path.join(self.var, "log")
        for name in sorted(os.listdir(logdir)) if os.path.isdir(logdir) else []:
            with open(os.path.join(logdir, name), errors="replace") as f:
                out += f.read()
        return out

    def files_containing(self, needle):
        """Every file under the instance directory holding needle."""
        found = []
        b = needle.encode()
        for top, _, files in os.walk(self.dir):
            for name in files:
                p = os.path.join(top, name)
                try:
                    with open(p, "rb") as f:
                        if b in f.read():
                            found.append(p)
                except OSError:
                    pass
        return found


def assert_security_headers(r):
    for name, value in SECURITY_HEADERS.items():
        got = r.all(name)
        assert got == [value], (name, got, r.status)
    assert r.header("referrer-policy") in ("same-origin", "no-referrer"), r.headers
    seen = {}
    for k, _ in r.headers:
        if k in ("set-cookie",):
            continue
        seen[k] = seen.get(k, 0) + 1
    dup = [k for k, n in seen.items() if n > 1]
    assert not dup, ("duplicate headers", dup)
