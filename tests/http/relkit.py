"""Shared set-up of the reliability runners (t-crash.py, t-concurrency.py,
t-faults.py, t-audit.py): an instance pointed at the fake X with an app,
members and channels, the fake over https, and the CGI processes of one
instance.  A helper module, not a runner (service.sh runs only t-*.py and
test_*.py)."""
import html
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

from harness import ROOT, Client, FakeX, Instance, Response

LONG = os.environ.get("LONG", "") not in ("", "0")
PW = "member-password-1"
PAGE = "/admin/api-integration/x-twitter"
STATES = {"scheduled", "sending", "posted", "failed", "rate_limited",
          "unknown"}
# The CGIs that write (login.cgi is left alone: every client needs it).
CGI_RE = r"cgi-bin/(admin|publish|callback|cookie|channels)\.cgi"
JSON = {"Accept": "application/json"}


def note(msg):
    """A comment line in the runner's output (figures for the report)."""
    for line in str(msg).splitlines():
        print("#   " + line)
    sys.stdout.flush()


class Fake(FakeX):
    """The fake X, optionally over https, that exits with this process
    (--watch-stdin) even when a runner dies."""

    def __init__(self, cert=None, key=None, ca=None):
        args = [sys.executable, os.path.join(ROOT, "tests/fakex/fakex.py"),
                "--port", "0", "--watch-stdin"]
        if cert:
            args += ["--tls-cert", cert, "--tls-key", key]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        assert line.startswith("listening "), line
        self.url = line.split()[1]
        self.port = urllib.parse.urlsplit(self.url).port
        self.ctx = None
        if cert:
            self.ctx = ssl.create_default_context(cafile=ca)

    def _conn(self, timeout=30):
        if self.ctx is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port,
                                               timeout=timeout,
                                               context=self.ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)

    def call(self, method, path, doc=None):
        conn = self._conn()
        body = json.dumps(doc).encode() if doc is not None else None
        conn.request(method, path, body=body,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return json.loads(data) if data else None

    def browser(self, method, url, form=None):
        u = urllib.parse.urlsplit(url)
        path = u.path + ("?" + u.query if u.query else "")
        body = urllib.parse.urlencode(form).encode() if form else None
        conn = self._conn()
        conn.request(method, path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        data = r.read()
        hdrs = [(k.lower(), v) for k, v in r.getheaders()]
        conn.close()
        return Response(r.status, hdrs, data)

    def fault(self, **f):
        f.setdefault("path", "/2/tweets")
        return self.call("POST", "/_fake/faults", f)

    def clear_faults(self):
        self.call("POST", "/_fake/faults/clear")

    def config(self, **kv):
        return self.call("POST", "/_fake/config", kv)

    def user(self, uid, handle):
        self.call("POST", "/_fake/users", {"id": uid, "username": handle,
                                           "name": handle})

    def timeline(self, uid=None):
        q = f"?user={uid}" if uid else ""
        return self.call("GET", "/_fake/timeline" + q)["data"]

    def stop(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.terminate()
        self.proc.wait(10)


def make_ca(d):
    """The fake's test CA and server certificate in d: (ca, cert, key)."""
    subprocess.run([sys.executable, os.path.join(ROOT, "tests/fakex/fakex.py"),
                    "--make-ca", d], check=True, capture_output=True)
    # The server's user reads the CA (SOSYABOT_CA_BUNDLE).
    os.chmod(d, 0o755)
    os.chmod(os.path.join(d, "ca.pem"), 0o644)
    return tuple(os.path.join(d, f) for f in ("ca.pem", "server.pem",
                                                "server.key"))


def csrf_of(client):
    """The session's CSRF token (fixed for a session), asked for once."""
    tok = getattr(client, "_csrf", None)
    if tok is None or getattr(client, "_csrf_sid", None) != client.cookies:
        tok = client.session()["csrf"]
        client._csrf = tok
        client._csrf_sid = dict(client.cookies)
    return tok


def clone(client):
    """Another client on the same session (one per thread)."""
    c = Client(client.base)
    c.cookies = dict(client.cookies)
    c.origin = client.origin
    c._csrf = getattr(client, "_csrf", None)
    c._csrf_sid = dict(c.cookies)
    return c


def api_post(client, doc, timeout=40):
    return client.post("/api/v1/posts", json.dumps(doc),
                       ctype="application/json", timeout=timeout,
                       headers={"Accept": "application/json",
                                "X-CSRF-Token": csrf_of(client)})


def get_post(client, pid):
    r = client.get(f"/api/v1/posts/{pid}", headers=JSON)
    assert r.status == 200, (pid, r)
    return r.json()["post"]


def channels(client):
    r = client.get("/api/v1/channels", headers=JSON)
    assert r.status == 200, r
    return r.json()["channels"]


class World:
    """One instance, pointed at one fake X, with an OAuth app saved by the
    admin and members signed in."""

    def __init__(self, fake=None, env=None, members=(("mia", "acme"),),
                 client_id="rel-client-0001", secret=None, https_base=False):
        self.fake = fake or Fake()
        self.client_id = client_id
        self.secret = secret or "rel-secret-" + os.urandom(6).hex()
        e = {"X_API_BASE_URL": self.fake.url,
             "X_WEB_BASE_URL": self.fake.url,
             "X_AUTHORIZE_URL": self.fake.url + "/i/oauth2/authorize"}
        e.update(env or {})
        self.inst = Instance(e)
        # BASE_URL https in front of a server that speaks http (as behind
        # a TLS proxy): requests still go over http, with its Origin.
        self.https_origin = None
        if https_base:
            self.https_origin = f"https://127.0.0.1:{self.inst.port}"
            self.inst.env_values["BASE_URL"] = self.https_origin
            self.inst.write_env()
        self.callback = (self.https_origin or self.inst.base) + \
            "/api/v1/auth/twitter/callback"
        self.app(client_id)
        # Budgets the tests do not mean to spend.
        self.fake.config(rate_limit_per_15min=10 ** 7,
                         users_me_per_15min=10 ** 7,
                         app_limit_per_24h=10 ** 8)
        self.inst.start()
        for name, ws in members:
            self.inst.ctl("user", "add", name, "--workspace", ws,
                          input=PW + "\n")
        self.admin = self.client()
        self.admin.login("admin", self.inst.password)
        r = self.save_credentials(client_id, self.secret)
        assert r.status == 303, r
        self.members = {}
        for name, _ in members:
            c = self.client()
            c.login(name, PW)
            csrf_of(c)
            self.members[name] = c
        self.consent_lock = threading.Lock()
        self.seq = 0
        self.seq_lock = threading.Lock()

    def client(self):
        c = self.inst.client()
        if self.https_origin:
            c.origin = self.https_origin
        return c

    def app(self, client_id):
        self.fake.call("POST", "/_fake/apps", {
            "client_id": client_id, "client_secret": self.secret,
            "callback": self.callback, "type": "confidential"})

    def save_credentials(self, client_id, secret="", client=None):
        c = client or self.admin
        return c.post(PAGE, {"csrf": csrf_of(c), "action": "save",
                             "client_id": client_id, "client_secret": secret,
                             "status": "enable"})

    def next(self):
        with self.seq_lock:
            self.seq += 1
            return self.seq

    def oauth_connect(self, client, uid, handle=None, timeout=40):
        """Connect X user uid through the fake's auto-approving consent
        page; returns our answer to the callback (a Response), or the
        answer of the step that failed."""
        self.fake.user(uid, handle or f"u{uid}")
        r = client.get("/api/v1/auth/twitter", timeout=timeout)
        if r.status != 302:
            return r
        # The consent page acts as consent_user: one connect at a time
        # through it, the rest of the flow in parallel.
        with self.consent_lock:
            self.fake.config(auto_approve=True, consent_user=uid)
            back = self.fake.browser("GET", r.header("location"))
        if back.status != 302:
            return back
        u = urllib.parse.urlsplit(back.header("location"))
        return client.get(u.path + "?" + u.query, raw_path=True,
                          timeout=timeout)

    def cookie_connect(self, client, uid, handle=None, timeout=40):
        """Cookie connect of a new browser session of X user uid; returns
        (answer, auth_token, ct0)."""
        self.fake.user(uid, handle or f"u{uid}")
        tok, ct0 = os.urandom(20).hex(), os.urandom(16).hex()
        self.fake.call("POST", "/_fake/cookies", {"auth_token": tok,
                                                  "ct0": ct0, "user_id": uid})
        r = client.post("/api/v1/auth/twitter/unofficial",
                        {"csrf": csrf_of(client), "auth_token": tok,
                         "ct0": ct0, "handle": ""}, timeout=timeout)
        return r, tok, ct0

    def channel_ids(self, client):
        return {c["handle"]: c["id"] for c in channels(client)}

    def stop(self):
        try:
            self.inst.stop()
        finally:
            self.fake.stop()


def cgi_pids(inst):
    """[(pid, program)] of the writing CGIs running for this instance
    (pgrep -f on the program names; only those whose environment names
    this instance's data directory, so other instances are left alone)."""
    r = subprocess.run(["pgrep", "-f", CGI_RE], capture_output=True,
                       text=True)
    mine = []
    needle = ("SOSYABOT_DATA_DIR=" + inst.var).encode() + b"\0"
    for p in r.stdout.split():
        try:
            with open(f"/proc/{p}/environ", "rb") as f:
                env = f.read() + b"\0"
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        m = re.search(CGI_RE, cmd)
        if m and needle in env:
            mine.append((int(p), m.group(1)))
    return mine


def text_requests(fake, path="/2/tweets"):
    """{(text, credential): number of requests} the fake saw at path."""
    out = {}
    for q in fake.requests(path):
        doc = q.get("json") or {}
        text = doc.get("text")
        if text is None:
            text = ((doc.get("variables") or {}).get("tweet_text"))
        who = q["headers"].get("authorization", "") + "|" + \
            q["headers"].get("cookie", "")
        out[(text, who)] = out.get((text, who), 0) + 1
    return out


def unescape_form(page):
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" '
                           r'value="([^"]*)"', page))
    return {k: html.unescape(v) for k, v in form.items()}


def elapsed(t0):
    return time.monotonic() - t0
