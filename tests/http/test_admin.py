#!/usr/bin/env python3
"""HTTP tests of the foundation and the admin X credentials page, on the
real server named by $SERVER (apache or lighttpd), against the fake X."""
import os
import random
import signal
import stat
import threading
import time
import urllib.parse

from relkit import cgi_pids
from harness import (Client, FakeX, Instance, assert_security_headers, check,
                     finish)

PAGE = "/admin/api-integration/x-twitter"
CANARY = "canary-secret-" + os.urandom(4).hex()

fake = FakeX()
fake.call("POST", "/_fake/apps", {"client_id": "abcdef-client-0001",
                                  "client_secret": CANARY,
                                  "callback": "http://127.0.0.1/cb",
                                  "type": "confidential"})
inst = Instance({"X_API_BASE_URL": fake.url})
first = inst.start()
MEMBER_PW = "member-password-1"
inst.ctl("user", "add", "mia", "--workspace", "default", input=MEMBER_PW + "\n")
inst.ctl("user", "add", "olga", "--workspace", "other", input=MEMBER_PW + "\n")


def admin():
    c = inst.client()
    c.login("admin", inst.password)
    return c


def t_first_start():
    assert "admin" in first.stdout and inst.password in first.stdout, first.stdout
    assert inst.base in first.stdout
    p = os.path.join(inst.var, "initial-admin-password")
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    with open(p) as f:
        assert f.read().strip() == inst.password
    key = os.path.join(inst.var, "master.key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    again = inst.start()
    assert inst.password not in again.stdout, "password printed twice"


def t_sign_in_and_menu():
    c = admin()
    sid = [v for k, v in c.cookies.items() if k.endswith("sid")]
    assert sid and len(sid[0]) >= 43
    r = c.get("/admin")
    assert r.status == 200 and 'href="/admin/api-integration/x-twitter"' in r.text, r
    assert "OAuth Credentials" in r.text and "X (Twitter)" in r.text
    r = c.get(PAGE)
    assert r.status == 200, r
    assert inst.base + "/api/v1/auth/twitter/callback" in r.text
    assert r.header("cache-control") == "no-store"
    assert_security_headers(r)


def t_session_cookie_flags():
    c = inst.client()
    page = c.get("/login")
    r = c.post("/login", {"csrf": page.csrf(), "username": "admin",
                          "password": inst.password})
    cookie = [v for v in r.all("set-cookie") if v.startswith("sid=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
    assert "Path=/" in cookie


def t_anonymous_redirect():
    r = inst.client().get(PAGE)
    assert r.status == 302, r
    assert r.header("location") == inst.base + "/login?next=" + \
        urllib.parse.quote(PAGE, safe=""), r.header("location")


def t_member_forbidden():
    c = inst.client()
    c.login("mia", MEMBER_PW)
    assert c.get(PAGE).status == 403
    assert c.get("/admin").status == 403
    r = c.post(PAGE, {"csrf": c.session()["csrf"], "action": "save",
                      "client_id": "member-was-here"})
    assert r.status == 403
    assert inst.ctl("options", "get", "x-twitter_client-id",
                    check_rc=False).returncode == 1


def t_test_not_configured():
    c = admin()
    r = c.post(PAGE, {"csrf": c.session()["csrf"], "action": "test"})
    assert r.status == 200, r
    assert "Twitter integration disabled: client id/secret not configured" in r.text


def t_csrf_required():
    c = admin()
    for token in (None, "A" * 43, c.session()["csrf"][:-1] + "x"):
        body = {"action": "save", "client_id": "no-csrf-id"}
        if token:
            body["csrf"] = token
        r = c.post(PAGE, body)
        assert r.status == 403, (token, r)
    # The right token in the header works for scripts (and the body wins).
    r = c.post(PAGE, {"csrf": "B" * 43, "action": "save", "client_id": "x"},
               headers={"X-CSRF-Token": c.session()["csrf"]})
    assert r.status == 403
    assert inst.ctl("options", "get", "x-twitter_client-id",
                    check_rc=False).returncode == 1


def t_cross_origin():
    c = admin()
    csrf = c.session()["csrf"]
    for h in ({"Origin": "http://evil.example"},
              {"Origin": None, "Sec-Fetch-Site": "cross-site"},
              {"Origin": inst.base.replace("127.0.0.1", "localhost")}):
        r = c.post(PAGE, {"csrf": csrf, "action": "save", "client_id": "x"},
                   headers=h)
        assert r.status == 403, (h, r)


def save(c, **fields):
    body = {"csrf": c.session()["csrf"], "action": "save"}
    body.update(fields)
    return c.post(PAGE, body)


def t_save_and_test():
    c = admin()
    r = save(c, client_id="abcdef-client-0001", client_secret=CANARY,
             status="enable")
    assert r.status == 303 and r.header("location") == inst.base + PAGE + "?n=saved", r
    page = c.get(PAGE + "?n=saved")
    assert "Saved." in page.text
    assert 'data-source="client_id">admin panel' in page.text
    assert 'data-source="client_secret">admin panel' in page.text
    assert CANARY not in page.text
    # No restart: the very next request uses the saved values.
    r = c.post(PAGE, {"csrf": c.session()["csrf"], "action": "test"})
    assert r.status == 200
    assert "Client ID begins with <code>abcdef</code>" in r.text, r.text
    assert inst.base + "/api/v1/auth/twitter/callback" in r.text
    assert "X accepted these credentials" in r.text, r.text
    assert CANARY not in r.text
    # X saw the Basic header and a bad code, nothing else.
    reqs = fake.call("GET", "/_fake/requests")["requests"]
    token_calls = [q for q in reqs if q["path"] == "/2/oauth2/token"]
    assert token_calls, reqs


def t_wrong_secret():
    c = admin()
    assert save(c, client_secret="not-the-right-secret").status == 303
    r = c.post(PAGE, {"csrf": c.session()["csrf"], "action": "test"})
    assert "X rejected these credentials" in r.text, r.text
    assert "Keys and tokens" in r.text
    assert "Web App, Automated App or Bot" in r.text
    assert save(c, client_secret=CANARY).status == 303


def t_empty_secret_keeps():
    c = admin()
    assert save(c, client_id="abcdef-client-0001", client_secret="",
                status="enable").status == 303
    r = c.post(PAGE, {"csrf": c.session()["csrf"], "action": "test"})
    assert "X accepted these credentials" in r.text


def t_disable():
    c = admin()
    assert save(c, status="disable").status == 303
    r = c.post(PAGE, {"csrf": c.session()["csrf"], "action": "test"})
    assert "X (Twitter) integration disabled by admin" in r.text
    assert save(c, status="enable").status == 303


def t_secret_nowhere():
    assert inst.files_containing(CANARY) == [], inst.files_containing(CANARY)
    assert CANARY not in inst.logs()
    assert inst.ctl("options", "get", "x-twitter_client-secret").stdout == "set\n"


def t_remove_secret():
    c = admin()
    r = c.post(PAGE, {"csrf": c.session()["csrf"], "action": "remove_secret"})
    assert r.status == 303
    page = c.get(PAGE + "?n=secret_removed")
    assert "was removed" in page.text
    assert 'data-source="client_secret">not set' in page.text
    r = c.post(PAGE, {"csrf": c.session()["csrf"], "action": "test"})
    assert "not configured" in r.text
    assert save(c, client_secret=CANARY).status == 303


def t_bad_requests():
    c = admin()
    csrf = c.session()["csrf"]
    assert c.get("/logout").status == 405
    r = c.post(PAGE, "csrf=" + csrf + "&action=save&client_id=%zz")
    assert r.status == 400, r
    r = c.get(PAGE + "?n=%G0")
    assert r.status == 400, r
    r = c.post(PAGE, {"csrf": csrf, "action": "save",
                      "client_id": "x" * 70000})
    assert r.status == 413, r
    assert_security_headers(r)
    r = c.post(PAGE, b"x" * (2 * 1024 * 1024))
    assert r.status == 413, r
    assert_security_headers(r)
    r = c.get("/no/such/page")
    assert r.status == 404
    assert_security_headers(r)
    r = c.request("PUT", PAGE, body=b"")
    assert r.status in (405, 501), r
    assert inst.ctl("options", "get", "x-twitter_client-id").stdout == \
        "abcdef-client-0001\n"


def t_header_injection():
    c = inst.client()
    # lighttpd refuses an encoded CR/LF in the URL itself (400).
    r = c.get("/login?next=/admin%0d%0aSet-Cookie:%20evil=1")
    assert r.status in (200, 400) and "evil" not in str(r.headers)
    page = c.get("/login")
    r = c.post("/login", {"csrf": page.csrf(), "username": "admin",
                          "password": inst.password,
                          "next": "/x\r\nSet-Cookie: evil=1"})
    assert r.status == 303, r
    assert not any("evil" in v for v in r.all("set-cookie"))
    assert r.header("location") == inst.base + "/app/channels"
    page = inst.client().get("/login")
    c.cookies = {}
    page = c.get("/login")
    r = c.post("/login", {"csrf": page.csrf(), "username": "admin",
                          "password": inst.password,
                          "next": "//evil.example/x"})
    assert r.header("location") == inst.base + "/app/channels", r.headers


def t_lockout():
    inst.ctl("user", "add", "lou", "--workspace", "default",
             input="lou-password-1\n")
    c = inst.client()
    for i in range(4):
        c.login("lou", "wrong", expect=401)
    page = c.get("/login")
    r = c.post("/login", {"csrf": page.csrf(), "username": "lou",
                          "password": "wrong"})
    assert r.status == 429 and int(r.header("retry-after")) > 0, r
    r = c.post("/login", {"csrf": page.csrf(), "username": "lou",
                          "password": "lou-password-1"})
    assert r.status == 429


def t_logout():
    c = admin()
    r = c.post("/logout", {"csrf": c.session()["csrf"]})
    assert r.status == 303
    assert c.get(PAGE).status == 302


def t_env_fallback_after_restart():
    c = admin()
    assert save(c, client_id="").status == 303
    c.post(PAGE, {"csrf": c.session()["csrf"], "action": "remove_secret"})
    inst.env_values.update({"TWITTER_CLIENT_ID": "envid-from-dotenv",
                            "TWITTER_CLIENT_SECRET": CANARY + "-env"})
    inst.write_env()
    # Not yet: ENV is read when the service starts.
    page = c.get(PAGE)
    assert 'data-source="client_id">not set' in page.text, page.text
    inst.service("restart", "api")
    page = c.get(PAGE)
    assert 'data-source="client_id">ENV' in page.text
    assert 'data-source="client_secret">ENV' in page.text
    r = c.post(PAGE, {"csrf": c.session()["csrf"], "action": "test"})
    assert "<code>envid-</code>" in r.text, r.text
    assert "X rejected these credentials" in r.text  # unknown to the fake
    # The panel wins over ENV, value by value.
    assert save(c, client_id="abcdef-client-0001").status == 303
    page = c.get(PAGE)
    assert 'data-source="client_id">admin panel' in page.text
    assert 'data-source="client_secret">ENV' in page.text
    assert CANARY + "-env" not in inst.logs()
    assert not [p for p in inst.files_containing(CANARY + "-env")
                if not p.endswith("/env")]


def t_unreachable():
    c = admin()
    save(c, client_secret=CANARY)
    fake.call("POST", "/_fake/faults", {"path": "/2/oauth2/token",
                                        "mode": "refuse", "count": 1})
    r = c.post(PAGE, {"csrf": c.session()["csrf"], "action": "test"})
    assert "Could not reach X" in r.text or "unexpected answer" in r.text, r.text
    assert "rejected" not in r.text


def t_kill_during_saves():
    """SIGKILL admin.cgi processes in the middle of saves: the store opens,
    verifies, holds a value that was saved, and the next requests work."""
    c = admin()
    csrf = c.session()["csrf"]
    acked = []
    stop = time.time() + 6
    killed = 0
    attempted = []

    def killer():
        # One at whatever moment of its life it is found; after a kill,
        # the next save is left alone, so that saves are acknowledged
        # however slow the build (ASan) and there is something to check.
        # (t-crash.py is the test of many kills.)
        nonlocal killed
        while time.time() < stop:
            # This instance's only: other programs on the machine are not
            # this test's to kill.
            pids = [p for p, prog in cgi_pids(inst) if prog == "admin"]
            if not pids:
                time.sleep(0.001)
                continue
            try:
                os.kill(random.choice(pids), signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed += 1
            spare = len(attempted) + 2
            while len(attempted) < spare and time.time() < stop:
                time.sleep(0.001)

    t = threading.Thread(target=killer)
    t.start()
    i = 0
    while time.time() < stop:
        i += 1
        value = f"kill-test-{i:05d}"
        attempted.append(value)
        try:
            r = c.post(PAGE, {"csrf": csrf, "action": "save",
                              "client_id": value}, timeout=10)
            if r.status == 303:
                acked.append(value)
        except Exception:
            pass
    t.join()
    print(f"# {killed} SIGKILLs, {len(acked)} of {len(attempted)} saves "
          "acknowledged")
    assert killed > 0, "no CGI was killed"
    assert acked, "no save was acknowledged"
    v = inst.ctl("verify")
    assert v.stdout.strip().endswith("ok"), v.stdout + v.stderr
    stored = inst.ctl("options", "get", "x-twitter_client-id").stdout.strip()
    # The last acknowledged value, or one attempted after it.
    assert stored in attempted[attempted.index(acked[-1]):], (stored, acked[-1])
    results = []

    def one():
        try:
            cc = Client(inst.base)
            cc.cookies = dict(c.cookies)
            r = cc.get(PAGE, timeout=5)
            results.append(r.status)
        except Exception as e:
            results.append(repr(e))

    start = time.time()
    threads = [threading.Thread(target=one) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert time.time() - start < 5, "requests after the kills hung"
    assert results == [200] * 20, results
    save(c, client_id="abcdef-client-0001")
    print(f"#   {killed} kills, {len(acked)} acknowledged saves of "
          f"{len(attempted)}")


def t_parallel_load():
    """16 parallel clients for 30 s (LOAD_SECONDS): no failed request."""
    seconds = float(os.environ.get("LOAD_SECONDS", "30"))
    base = admin()
    csrf = base.session()["csrf"]
    counts = {"ok": 0, "bad": []}
    lock = threading.Lock()
    stop = time.time() + seconds

    def worker(n):
        c = Client(inst.base)
        c.cookies = dict(base.cookies)
        k = 0
        while time.time() < stop:
            k += 1
            try:
                if k % 5 == 0:
                    r = c.post(PAGE, {"csrf": csrf, "action": "save",
                                      "status": "enable"}, timeout=20)
                    good = r.status == 303
                elif k % 2:
                    r = c.get(PAGE, timeout=20)
                    good = r.status == 200
                else:
                    r = c.get("/login", timeout=20)
                    good = r.status in (200, 302)
            except Exception as e:
                good, r = False, repr(e)
            with lock:
                if good:
                    counts["ok"] += 1
                else:
                    counts["bad"].append(getattr(r, "status", r))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    print(f"#   {counts['ok']} requests in {seconds:.0f} s, "
          f"{len(counts['bad'])} failed")
    assert not counts["bad"], counts["bad"][:10]
    assert counts["ok"] > 0


try:
    check("first start: admin password printed once, kept 0600", t_first_start)
    check("sign in; admin menu leads to the X page", t_sign_in_and_menu)
    check("session cookie is HttpOnly, SameSite=Lax", t_session_cookie_flags)
    check("anonymous admin page: 302 to /login", t_anonymous_redirect)
    check("a member gets 403 and cannot save", t_member_forbidden)
    check("Test with nothing configured: the guide's message", t_test_not_configured)
    check("missing or wrong CSRF token: 403, nothing saved", t_csrf_required)
    check("foreign Origin or cross-site: 403", t_cross_origin)
    check("save, then Test without restart: 6 chars, callback, X accepted",
          t_save_and_test)
    check("a wrong secret: X rejected, with the guide's fix", t_wrong_secret)
    check("an empty secret on save keeps the stored one", t_empty_secret_keeps)
    check("Disable: Test says disabled by admin", t_disable)
    check("the secret is in no file and no log", t_secret_nowhere)
    check("remove the stored secret", t_remove_secret)
    check("bad requests: 405, 400, 413, 404 with security headers", t_bad_requests)
    check("CR/LF and foreign redirect targets neutralised", t_header_injection)
    check("five failed sign-ins: 429 with Retry-After", t_lockout)
    check("sign out", t_logout)
    check("ENV fallback after restart api; panel wins per value",
          t_env_fallback_after_restart)
    check("X unreachable is reported as such", t_unreachable)
    check("SIGKILL during saves loses nothing and hangs nothing",
          t_kill_during_saves)
    check("16 parallel clients: 0 failed requests", t_parallel_load)
finally:
    inst.stop()
    fake.stop()
finish()
