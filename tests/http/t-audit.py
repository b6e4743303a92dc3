#!/usr/bin/env python3
"""Header and secret audit on the real server named by $SERVER.

A crawler sends every route of the contract, unknown paths, every method
(GET, HEAD, POST, PUT and a few others), bodies that are fine, malformed,
badly encoded or oversized, signed out, as a member and as an admin, as a
browser and as a JSON client.  On every answer: the security headers
(Content-Security-Policy exactly, nosniff, Referrer-Policy same-origin
and no-referrer on the OAuth callback, no header twice), Cache-Control:
no-store on whatever a signed-in user gets from a program, and the
cookie flags (HttpOnly, SameSite=Lax; Secure and __Host- when BASE_URL is
https, checked on a second instance).  Canaries seeded at the start (the
client secret, an access token X issued, cookie-connect auth_token and
ct0, passwords, a session id) appear in no answer, no Location, no log
line and no data file."""
import collections
import concurrent.futures
import json
import os
import re
import socket
import threading
import urllib.parse

from harness import (SECURITY_HEADERS, Client, Response,
                     assert_security_headers, check, finish)
from relkit import JSON, PAGE, PW, World, api_post, channels, csrf_of, note

CSP = SECURITY_HEADERS["content-security-policy"]
CALLBACK = "/api/v1/auth/twitter/callback"
SECRET = "canary-secret-" + os.urandom(6).hex()
MEMBER_PW = "canary-password-" + os.urandom(6).hex()
WRONG_PW = "canary-wrongpw-" + os.urandom(6).hex()
AUTH_TOKEN = os.urandom(20).hex()
CT0 = os.urandom(16).hex()

w = World(secret=SECRET, members=())
fake, inst = w.fake, w.inst
inst.ctl("user", "add", "mia", "--workspace", "acme", input=MEMBER_PW + "\n")
inst.ctl("user", "add", "olga", "--workspace", "other", input=PW + "\n")
RESPONSES = []      # (label, Response) of every answer the test got
PROBLEMS = []


def keep(label, r):
    RESPONSES.append((label, r))
    return r


# --- seeding: every canary goes through the product once -------------------
mia = inst.client()
keep("login page", mia.get("/login"))
page = mia.get("/login")
keep("failed sign-in", mia.post("/login", {"csrf": page.csrf(), "username": "mia",
                                           "password": WRONG_PW}))
page = keep("login page", mia.get("/login"))
keep("sign-in", mia.post("/login", {"csrf": page.csrf(), "username": "mia",
                                    "password": MEMBER_PW}))
SID = [v for k, v in mia.cookies.items() if k.endswith("sid")][0]
r = keep("OAuth start", mia.get("/api/v1/auth/twitter"))
fake.user("7001", "canary_x")
fake.config(auto_approve=True, consent_user="7001")
back = fake.browser("GET", r.header("location"))
u = urllib.parse.urlsplit(back.header("location"))
keep("OAuth callback", mia.get(u.path + "?" + u.query, raw_path=True))
CODE = urllib.parse.parse_qs(u.query)["code"][0]
ACCESS = [t for t, v in fake.call("GET", "/_fake/state")["tokens"].items()
          if v.get("user_id") == "7001"][0]
fake.user("7002", "canary_web")
fake.call("POST", "/_fake/cookies", {"auth_token": AUTH_TOKEN, "ct0": CT0,
                                     "user_id": "7002"})
keep("cookie connect", mia.post("/api/v1/auth/twitter/unofficial",
                                {"csrf": csrf_of(mia), "auth_token": AUTH_TOKEN,
                                 "ct0": CT0, "handle": ""}))
keep("cookie connect refused", mia.post(
    "/api/v1/auth/twitter/unofficial",
    {"csrf": csrf_of(mia), "auth_token": AUTH_TOKEN, "ct0": CT0 + "zz"}))
keep("cookie connect JSON", mia.post(
    "/api/v1/auth/twitter/unofficial",
    json.dumps({"auth_token": AUTH_TOKEN, "ct0": CT0, "handle": "x"}),
    ctype="application/json", headers={"Accept": "application/json",
                                       "X-CSRF-Token": csrf_of(mia)}))
CH = {c["handle"]: c["id"] for c in channels(mia)}
for handle in ("canary_x", "canary_web"):
    p = keep("publish", api_post(mia, {"text": f"audit via {handle}",
                                       "channels": [CH[handle]]}))
    assert p.json()["post"]["deliveries"][0]["state"] == "posted", p
POST_ID = p.json()["post"]["id"]
adm = w.admin
keep("admin save, bad secret", adm.post(PAGE, {
    "csrf": csrf_of(adm), "action": "save", "client_id": w.client_id,
    "client_secret": SECRET + " x"}))
keep("admin test", adm.post(PAGE, {"csrf": csrf_of(adm), "action": "test"}))
assert "X accepted these credentials" in RESPONSES[-1][1].text
olga = inst.client()
olga.login("olga", PW)
CANARIES = {"client secret": SECRET, "member password": MEMBER_PW,
            "wrong password": WRONG_PW, "admin password": inst.password,
            "access token": ACCESS, "auth_token": AUTH_TOKEN, "ct0": CT0,
            "session id": SID, "authorization code": CODE}
# The canaries are live: X saw each one used.
SEEN = json.dumps(fake.requests())
assert f"Bearer {ACCESS}" in SEEN and f"auth_token={AUTH_TOKEN}" in SEEN
assert CT0 in SEEN and CODE in SEEN

# --- the crawl --------------------------------------------------------------
ROUTES = ["/", "/login", "/logout", "/api/v1/session", "/admin", PAGE,
          "/app/channels", f"/app/channels/{CH['canary_x']}/disconnect",
          "/app/channels/999999/disconnect", "/api/v1/auth/twitter",
          CALLBACK, CALLBACK + "?state=" + "A" * 43 + "&code=abc",
          CALLBACK + "?error=access_denied&state=bogus",
          "/api/v1/auth/twitter/unofficial", "/app/publishing",
          "/app/publishing?n=sent", "/api/v1/channels", "/api/v1/posts",
          f"/api/v1/posts/{POST_ID}", "/api/v1/posts/999999",
          "/static/app.css", "/static/app.js"]
UNKNOWN = ["/nope", "/admin/nope", "/app/nope", "/api/v1/nope",
           "/static/nope.css", "/cgi-bin/admin.cgi", "/.htaccess",
           "/master.key", "/app/publishing/extra", "/api/v1/posts/1/2",
           "/login%00", "/admin%2fapi-integration", "/%2e%2e/%2e%2e/etc/passwd",
           "/app/channels/../../admin", "/?n=%C3%28", "/app/publishing?n=%G0",
           "/api/v1/posts/" + "9" * 80, "/" + "a" * 6000]
BIG = b"text=" + b"x" * (2 * 1024 * 1024)


def bodies(csrf):
    """(label, body, content type, accept, extra headers) for a POST."""
    form = "application/x-www-form-urlencoded"
    yield "form without csrf", b"action=save&text=x&client_id=y", form, \
        "text/html", {}
    if csrf:
        yield "form, bad percent-encoding", \
            f"csrf={csrf}&action=save&text=%zz&client_id=%zz".encode(), \
            form, "text/html", {}
        yield "form, invalid UTF-8", \
            f"csrf={csrf}&action=publish&text=%C3%28&auth_token=%FF".encode(), \
            form, "text/html", {}
        yield "JSON, bad fields", json.dumps(
            {"text": "", "channels": ["x"], "auth_token": 5}).encode(), \
            "application/json", "application/json", {"X-CSRF-Token": csrf}
    yield "JSON, not JSON", b"{\"text\": ", "application/json", \
        "application/json", {}


SESSIONS = {"anonymous": None, "member": mia, "admin": adm}
STATUS = collections.Counter()
LOCK = threading.Lock()


def is_program(path):
    p = urllib.parse.urlsplit(path).path
    return not p.startswith("/static/") and p in [
        urllib.parse.urlsplit(x).path for x in ROUTES] + [
        # Paths the server hands to a program that answers 404 itself.
        "/api/v1/posts/1/2", "/admin/nope", "/api/v1/posts/" + "9" * 80]


def crawl_one(who, client, method, path, accept, body=None, ctype=None,
              headers=None, label=""):
    c = inst.client()
    if client is not None:
        c.cookies = dict(client.cookies)
    h = {"Accept": accept}
    h.update(headers or {})
    # Never sign the crawler out or disconnect its channel for real.
    if path == "/logout" or "/disconnect" in path:
        h.pop("X-CSRF-Token", None)
        if body and b"csrf=" in body:
            body = re.sub(rb"csrf=[^&]*", b"csrf=x", body)
    try:
        r = c.request(method, path, body=body, ctype=ctype, headers=h,
                      raw_path=path.startswith("/" + "a" * 10) or ".." in path,
                      timeout=30)
    except Exception as e:          # a server may cut an oversized upload
        with LOCK:
            STATUS["no answer: " + type(e).__name__] += 1
            if body is not BIG:
                PROBLEMS.append((who, method, path, label, repr(e)))
        return
    tag = f"{who} {method} {path[:60]} {accept.split('/')[1]} {label}"
    with LOCK:
        keep(tag, r)
        STATUS[r.status] += 1
    # An oversized body is refused by the server before any program runs:
    # its own error page holds nothing of the user's, so may be cached.
    audit(tag, r, signed_in=client is not None and is_program(path) and
          body is not BIG,
          callback=urllib.parse.urlsplit(path).path == CALLBACK)


def raw_request(data):
    """Send bytes as they are; the answer as a Response."""
    s = socket.create_connection(("127.0.0.1", inst.port), timeout=10)
    out = b""
    try:
        s.sendall(data)
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except OSError:
        pass
    finally:
        s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = [(k.strip().lower(), v.strip()) for k, _, v in
            (ln.partition(":") for ln in lines[1:])]
    return Response(status, hdrs, body)


def crawl_path(who, path):
    client = SESSIONS[who]
    csrf = csrf_of(client) if client else None
    for accept in ("text/html", "application/json"):
        crawl_one(who, client, "GET", path, accept)
    for method in ("HEAD", "PUT", "DELETE", "OPTIONS"):
        crawl_one(who, client, method, path, "text/html", body=b"" if
                  method == "PUT" else None)
    for label, body, ctype, accept, hdrs in bodies(csrf):
        crawl_one(who, client, "POST", path, accept, body, ctype, hdrs, label)


def audit(tag, r, signed_in=False, callback=False, https=False):
    try:
        assert_security_headers(r)
        want = "no-referrer" if callback else "same-origin"
        assert r.all("referrer-policy") == [want], \
            ("referrer-policy", r.all("referrer-policy"))
        if signed_in:
            assert r.header("cache-control") == "no-store", \
                ("cache-control", r.header("cache-control"))
        for v in r.all("set-cookie"):
            flags = [f.strip().lower() for f in v.split(";")[1:]]
            assert "httponly" in flags and "samesite=lax" in flags, v
            assert "path=/" in flags and not any(
                f.startswith("domain") for f in flags), v
            if https:
                assert v.startswith("__Host-") and "secure" in flags, v
    except AssertionError as e:
        PROBLEMS.append((tag, r.status, str(e)[:300]))


def t_crawl():
    n0 = len(RESPONSES)
    tasks = [(who, path) for who in SESSIONS for path in ROUTES + UNKNOWN]
    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        list(ex.map(lambda t: crawl_path(*t), tasks))
    # Oversized bodies, one per program (and the server alone), and
    # requests a browser would never send.
    for who in ("anonymous", "admin"):
        for path in ("/login", PAGE, "/app/channels", "/api/v1/auth/twitter",
                     "/api/v1/auth/twitter/unofficial", "/api/v1/posts",
                     "/nope", "/static/app.css"):
            crawl_one(who, SESSIONS[who], "POST", path, "text/html", BIG,
                      "application/x-www-form-urlencoded", label="oversized")
    crawl_one("admin", adm, "PUT", PAGE, "text/html", BIG, "text/plain",
              label="oversized")
    crawl_one("member", mia, "POST", "/app/publishing", "text/html", b"<a/>",
              "application/xml", {"X-CSRF-Token": csrf_of(mia)}, "XML")
    for label, path, hdrs in (
            ("TRACE", "/login", None),
            ("Origin from elsewhere", "/login", {"Origin": "http://evil.example"}),
            ("garbled cookie", "/app/channels", {"Cookie": "sid=\x7f\x01;;=;"}),
            ("oversized cookie", "/app/channels", {"Cookie": "sid=" + "A" * 7000}),
            ("CR/LF in next", "/login?next=/x%0d%0aSet-Cookie:%20evil=1", None)):
        crawl_one("anonymous", None, "TRACE" if label == "TRACE" else "GET",
                  path, "text/html", headers=hdrs, label=label)
    # The server's own answers for static files: 304, 206, 416.
    first = inst.client().get("/static/app.css")
    for label, hdrs in (
            ("If-None-Match", {"If-None-Match": first.header("etag") or "x"}),
            ("If-Modified-Since", {"If-Modified-Since":
                                   first.header("last-modified") or "x"}),
            ("Range", {"Range": "bytes=0-9"}),
            ("Range outside", {"Range": "bytes=99999999-"})):
        for who in ("anonymous", "member"):
            crawl_one(who, SESSIONS[who], "GET", "/static/app.css",
                      "text/css", headers=hdrs, label=label)
    # Requests the server refuses before any routing.
    for label, data in (
            ("URI over 8 KiB", b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n"
             b"Host: x\r\n\r\n"),
            ("header over 8 KiB", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " +
             b"b" * 20000 + b"\r\n\r\n"),
            ("control byte in the path", b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("HTTP/9.9", b"GET /login HTTP/9.9\r\nHost: x\r\n\r\n"),
            ("not HTTP", b"BLAH\r\n\r\n"),
            ("no Host", b"GET /login HTTP/1.1\r\n\r\n")):
        r = raw_request(data)
        with LOCK:
            keep("raw: " + label, r)
            STATUS[r.status] += 1
        audit("raw: " + label, r)
    note(f"{len(RESPONSES) - n0} answers crawled; by status: " +
         ", ".join(f"{k} {v}" for k, v in sorted(STATUS.items(), key=str)))
    assert not PROBLEMS, PROBLEMS[:15]


def t_seeding_answers():
    """The answers of the seeding steps (sign-in, connects, publishing,
    admin) pass the same audit."""
    PROBLEMS.clear()
    for tag, r in RESPONSES[:20]:
        audit("seed: " + tag, r, signed_in=tag not in (
            "login page", "failed sign-in", "sign-in"),
            callback=tag == "OAuth callback")
    assert not PROBLEMS, PROBLEMS


def t_no_secret_in_answers():
    found = []
    for tag, r in RESPONSES:
        blob = r.body + "\n".join(f"{k}: {v}" for k, v in r.headers
                                  if k != "set-cookie").encode()
        for name, val in CANARIES.items():
            if val.encode() in blob:
                found.append((name, tag, r.status))
        for k, v in r.headers:
            if k == "set-cookie" and not v.startswith(("sid=", "__Host-sid=")):
                for name, val in CANARIES.items():
                    if val in v:
                        found.append((name, tag, "set-cookie"))
    note(f"{len(RESPONSES)} answers (bodies, headers, Location) searched for "
         f"{len(CANARIES)} canaries")
    assert not found, found[:10]


def t_no_secret_in_logs_or_files():
    logs = inst.logs()
    if "sosyabot: " not in logs:
        note("no line of the programs reached this server's logs (their "
             "stderr is lost): only the server's own lines were searched")
    bad = [n for n, v in CANARIES.items() if v in logs]
    assert not bad, ("in the logs", bad)
    files = {n: inst.files_containing(v) for n, v in CANARIES.items()}
    # The contract keeps the first admin's password in this 0600 file.
    files = {n: [p for p in f if not p.endswith("/initial-admin-password")]
             for n, f in files.items()}
    files = {n: f for n, f in files.items() if f}
    assert not files, ("in plaintext in data files", files)
    note(f"{len(logs.splitlines())} log lines and every file of the instance "
         "hold none of them")


# --- BASE_URL https (the server itself speaks http) --------------------------
HTTPS = {}


def t_https_cookies():
    hw = World(members=(("mia", "acme"),), https_base=True)
    HTTPS["w"] = hw
    c = Client(hw.inst.base)                       # http on the wire
    c.origin = hw.https_origin
    seen = []
    r = c.get("/login")
    seen.append(("login page", r))
    r2 = c.post("/login", {"csrf": r.csrf(), "username": "mia", "password": PW})
    seen.append(("sign-in", r2))
    assert r2.status == 303, r2
    assert r2.header("location").startswith(hw.https_origin + "/"), r2.headers
    names = [v.split("=", 1)[0] for _, x in seen for v in x.all("set-cookie")]
    assert "__Host-sid" in names and "__Host-login" in names, names
    for path in ("/app/channels", "/app/publishing", "/api/v1/channels"):
        seen.append((path, c.get(path)))
        assert seen[-1][1].status == 200, seen[-1]
    csrf = c.get("/api/v1/session", headers=JSON).json()["session"]["csrf"]
    seen.append(("sign-out", c.post("/logout", {"csrf": csrf})))
    assert seen[-1][1].status == 303, seen[-1]
    PROBLEMS.clear()
    for tag, resp in seen:
        audit("https: " + tag, resp, signed_in=tag not in (
            "login page", "sign-in"), https=True)
    assert not PROBLEMS, PROBLEMS
    n = sum(len(x.all("set-cookie")) for _, x in seen)
    note(f"BASE_URL https: {n} cookies set, all __Host-, Secure, HttpOnly, "
         "SameSite=Lax, Path=/")


try:
    check("every route, method, body and session: security headers, "
          "no-store, cookie flags", t_crawl)
    check("sign-in, connects, publishing and admin answers pass too",
          t_seeding_answers)
    check("no canary in any answer body, header or Location",
          t_no_secret_in_answers)
    check("no canary in the logs or in plaintext in any file",
          t_no_secret_in_logs_or_files)
    check("BASE_URL https: __Host- and Secure cookies", t_https_cookies)
finally:
    if "w" in HTTPS:
        HTTPS["w"].stop()
    w.stop()
finish()
