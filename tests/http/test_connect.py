#!/usr/bin/env python3
"""HTTP tests of connecting X accounts with OAuth 2.0 + PKCE on the real
server named by $SERVER, against the fake X: the channels page, start,
callback, reconnect, disconnect, expiry, and every failure row of the
guide's troubleshooting table."""
import json
import os
import re
import time
import urllib.parse

from harness import FakeX, Instance, assert_security_headers, check, finish

PAGE = "/admin/api-integration/x-twitter"
CLIENT_ID = "connect-client-0001"
SECRET = "connect-secret-" + os.urandom(4).hex()
PW = "member-password-1"

fake = FakeX()
inst = Instance({"X_API_BASE_URL": fake.url, "X_WEB_BASE_URL": fake.url,
                 "X_AUTHORIZE_URL": fake.url + "/i/oauth2/authorize"})
CALLBACK = inst.base + "/api/v1/auth/twitter/callback"
fake.call("POST", "/_fake/apps", {"client_id": CLIENT_ID,
                                  "client_secret": SECRET,
                                  "callback": CALLBACK,
                                  "type": "confidential"})
fake.call("POST", "/_fake/users", {"id": "2244994945", "username": "XDevelopers",
                                   "name": "X Developers"})
fake.call("POST", "/_fake/users", {"id": "1001", "username": "alice_x",
                                   "name": "<script>alert(1)</script> & Alice"})
fake.call("POST", "/_fake/users", {"id": "1002", "username": "bob_x",
                                   "name": "Bob"})
inst.start()
for user, ws in (("mia", "acme"), ("max", "acme"), ("olga", "other")):
    inst.ctl("user", "add", user, "--workspace", ws, input=PW + "\n")
seen_codes = []


def admin():
    c = inst.client()
    c.login("admin", inst.password)
    return c


def member(name="mia"):
    c = inst.client()
    c.login(name, PW)
    return c


def configure(client_id=CLIENT_ID, secret=SECRET, status="enable"):
    c = admin()
    r = c.post(PAGE, {"csrf": c.session()["csrf"], "action": "save",
                      "client_id": client_id, "client_secret": secret,
                      "status": status})
    assert r.status == 303, r


def api_channels(c):
    r = c.get("/api/v1/channels", headers={"Accept": "application/json"})
    assert r.status == 200, r
    assert r.header("content-type").startswith("application/json")
    return r.json()["channels"]


def token_requests():
    return len(fake.requests("/2/oauth2/token"))


def connect(c, user_id, decision="approve"):
    url = c.follow_to_x(fake, user_id, decision)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    seen_codes.extend(q.get("code", []))
    u = urllib.parse.urlsplit(url)
    return c.get(u.path + "?" + u.query, raw_path=True), url


def t_not_configured():
    c = member()
    page = c.get("/app/channels")
    assert page.status == 200, page
    assert 'id="connect-oauth"' not in page.text
    assert "Twitter integration disabled: client id/secret not configured" in page.text
    r = c.get("/api/v1/auth/twitter")
    assert r.status == 403 and r.header("location") is None, r
    assert "client id/secret not configured" in r.text
    assert not fake.requests("/i/oauth2/authorize")


def t_anonymous():
    r = inst.client().get("/api/v1/auth/twitter")
    assert r.status == 302 and "/login" in r.header("location")
    r = inst.client().get("/app/channels")
    assert r.status == 302
    r = inst.client().get("/api/v1/channels",
                          headers={"Accept": "application/json"})
    assert r.status == 401 and r.json()["error"]["status"] == 401


def t_start_redirect():
    configure()
    c = member()
    page = c.get("/app/channels")
    assert 'id="connect-oauth"' in page.text, page.text
    r = c.get("/api/v1/auth/twitter")
    assert r.status == 302, r
    loc = urllib.parse.urlsplit(r.header("location"))
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == fake.url + "/i/oauth2/authorize"
    q = urllib.parse.parse_qs(loc.query)
    assert q["response_type"] == ["code"]
    assert q["client_id"] == [CLIENT_ID]
    assert q["redirect_uri"] == [CALLBACK]
    assert q["scope"] == ["tweet.read tweet.write users.read"]
    assert "%20" in loc.query and "offline.access" not in loc.query
    assert q["code_challenge_method"] == ["S256"]
    assert len(q["code_challenge"][0]) == 43
    assert 43 <= len(q["state"][0]) <= 500
    assert "verifier" not in loc.query


def t_connect():
    c = member()
    before = token_requests()
    r, _ = connect(c, "2244994945")
    assert r.status == 303, r
    assert r.header("location") == inst.base + "/app/channels?n=connected"
    assert r.header("referrer-policy") == "no-referrer"
    reqs = fake.requests("/2/oauth2/token")
    assert len(reqs) == before + 1
    t = reqs[-1]
    assert t["headers"]["authorization"].startswith("Basic ")
    assert t["form"]["grant_type"] == ["authorization_code"]
    assert t["form"]["redirect_uri"] == [CALLBACK]
    assert len(t["form"]["code_verifier"][0]) == 43
    page = c.get("/app/channels?n=connected")
    assert "X account connected." in page.text
    assert 'href="https://x.com/XDevelopers"' in page.text
    assert 'data-status="active"' in page.text
    chans = api_channels(c)
    assert len(chans) == 1, chans
    ch = chans[0]
    assert set(ch) == {"id", "provider", "mode", "handle", "name", "status",
                       "connected_at", "expires_at"}
    assert ch["provider"] == "x" and ch["mode"] == "oauth"
    assert ch["handle"] == "XDevelopers" and ch["name"] == "X Developers"
    assert ch["status"] == "active" and isinstance(ch["id"], str)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ch["connected_at"])
    exp = time.mktime(time.strptime(ch["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
    con = time.mktime(time.strptime(ch["connected_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert 7190 <= exp - con <= 7210, (ch["connected_at"], ch["expires_at"])


def t_reconnect_no_duplicate():
    c = member("max")
    first = api_channels(c)
    r, _ = connect(c, "2244994945")
    assert r.status == 303
    again = api_channels(c)
    assert len(again) == len(first) == 1, again
    assert again[0]["id"] == first[0]["id"]


def t_state_replay():
    c = member()
    r, url = connect(c, "1002")
    assert r.status == 303
    before = token_requests()
    u = urllib.parse.urlsplit(url)
    r = c.get(u.path + "?" + u.query, raw_path=True)
    assert r.status == 400, r
    assert "already used" in r.text
    assert token_requests() == before, "a token request was sent"


def t_cross_session():
    a, b = member(), member()
    url = a.follow_to_x(fake, "1002")
    before = token_requests()
    u = urllib.parse.urlsplit(url)
    r = b.get(u.path + "?" + u.query, raw_path=True)
    assert r.status == 400, r
    assert "another session" in r.text
    # The state is spent: the right session cannot use it afterwards.
    r = a.get(u.path + "?" + u.query, raw_path=True)
    assert r.status == 400
    assert token_requests() == before


def t_bad_states():
    c = member()
    before = token_requests()
    for q in ("", "?code=abc", "?state=short&code=abc",
              "?state=" + "A" * 43 + "&code=abc"):
        r = c.get("/api/v1/auth/twitter/callback" + q)
        assert r.status == 400, (q, r)
    assert token_requests() == before


def t_denied():
    c = member()
    before = token_requests()
    r, _ = connect(c, "1002", decision="deny")
    assert r.status == 303 and r.header("location").endswith("?n=cancelled"), r
    page = c.get("/app/channels?n=cancelled")
    assert "Connection cancelled" in page.text
    assert token_requests() == before


def t_escaped_name():
    c = member()
    r, _ = connect(c, "1001")
    assert r.status == 303
    page = c.get("/app/channels")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Alice" in page.text
    names = [ch["name"] for ch in api_channels(c)]
    assert "<script>alert(1)</script> & Alice" in names


def t_wrong_secret_401():
    configure(secret="not-the-secret")
    c = member()
    r, _ = connect(c, "1002")
    assert r.status == 401, r
    assert "401 Unauthorized" in r.text
    assert "Keys and tokens" in r.text and "Public Client" in r.text
    assert "Web App, Automated App or Bot" in r.text
    configure()


def t_callback_mismatch():
    fake.call("POST", "/_fake/apps", {"client_id": "mismatch-client",
                                      "client_secret": "s",
                                      "callback": inst.base + "/callback/",
                                      "type": "confidential"})
    configure(client_id="mismatch-client", secret="s")
    c = member()
    r = c.get("/api/v1/auth/twitter")
    page = fake.browser("GET", r.header("location"))
    assert page.status == 400 and "Callback URL mismatch" in page.text, page
    configure()


def t_token_unreachable():
    c = member()
    fake.call("POST", "/_fake/faults", {"path": "/2/oauth2/token",
                                        "mode": "refuse", "count": 1})
    r, _ = connect(c, "1002")
    assert r.status == 502 and "Could not reach X" in r.text, r


def t_disabled():
    c = member()
    before = api_channels(c)
    configure(status="disable")
    page = c.get("/app/channels")
    assert 'id="connect-oauth"' not in page.text
    assert "X (Twitter) integration disabled by admin" in page.text
    r = c.get("/api/v1/auth/twitter")
    assert r.status == 403 and "disabled by admin" in r.text
    assert r.header("location") is None
    # Existing channels stay connected.
    after = api_channels(c)
    assert [ch["status"] for ch in after] == [ch["status"] for ch in before]
    assert all(ch["status"] == "active" for ch in after)
    configure()


def t_expired_token():
    fake.call("POST", "/_fake/config", {"expires_in": 1})
    c = member("max")
    r, _ = connect(c, "1002")
    assert r.status == 303
    fake.call("POST", "/_fake/config", {"expires_in": 7200})
    time.sleep(2.1)
    bob = [ch for ch in api_channels(c) if ch["handle"] == "bob_x"][0]
    assert bob["status"] == "needs_reconnect", bob
    page = c.get("/app/channels")
    row = re.search(r'<tr data-channel="%s">.*?</tr>' % bob["id"], page.text, re.S)
    assert row and "needs_reconnect" in row.group(0)
    assert 'href="/api/v1/auth/twitter">Reconnect' in row.group(0)
    r, _ = connect(c, "1002")
    bob2 = [ch for ch in api_channels(c) if ch["handle"] == "bob_x"][0]
    assert bob2["id"] == bob["id"] and bob2["status"] == "active", bob2


def t_isolation():
    mia, olga = member(), member("olga")
    ids = [ch["id"] for ch in api_channels(mia)]
    assert ids
    assert api_channels(olga) == []
    page = olga.get("/app/channels")
    assert "XDevelopers" not in page.text
    csrf = olga.session()["csrf"]
    for cid in ids + ["999999"]:
        r = olga.post(f"/app/channels/{cid}/disconnect", {"csrf": csrf})
        assert r.status == 404, r
    assert [ch["id"] for ch in api_channels(mia)] == ids
    r = olga.post("/app/channels/abc/disconnect", {"csrf": csrf})
    assert r.status in (404, 405)


def t_disconnect_needs_csrf():
    c = member()
    cid = api_channels(c)[0]["id"]
    r = c.post(f"/app/channels/{cid}/disconnect", {})
    assert r.status == 403
    r = c.get(f"/app/channels/{cid}/disconnect")
    assert r.status == 405
    assert cid in [ch["id"] for ch in api_channels(c)]


def t_disconnect_revokes():
    c = member()
    ch = [x for x in api_channels(c) if x["handle"] == "XDevelopers"][0]
    before = len(fake.call("GET", "/_fake/revoked")["revoked"])
    r = c.post(f"/app/channels/{ch['id']}/disconnect",
               {"csrf": c.session()["csrf"]})
    assert r.status == 303 and r.header("location").endswith("?n=disconnected"), r
    revoked = fake.call("GET", "/_fake/revoked")["revoked"]
    assert len(revoked) == before + 1 and revoked[-1]["user_id"] == "2244994945"
    assert ch["id"] not in [x["id"] for x in api_channels(c)]
    assert "Channel disconnected" in c.get("/app/channels?n=disconnected").text


def t_disconnect_revoke_fails():
    c = member()
    ch = api_channels(c)[0]
    fake.call("POST", "/_fake/faults", {"path": "/2/oauth2/revoke",
                                        "mode": "status", "status": 503,
                                        "count": 1})
    r = c.post(f"/app/channels/{ch['id']}/disconnect",
               {"csrf": c.session()["csrf"]})
    assert r.status == 303 and "disconnected_norevoke" in r.header("location")
    assert ch["id"] not in [x["id"] for x in api_channels(c)]
    page = c.get("/app/channels?n=disconnected_norevoke")
    assert "could not be asked to revoke" in page.text


def t_security_headers():
    c = member()
    for path in ("/app/channels", "/api/v1/channels"):
        assert_security_headers(c.get(path))


def t_no_secrets_in_logs():
    tokens = [t["access_token"] if isinstance(t, dict) and "access_token" in t
              else t for t in (fake.call("GET", "/_fake/state").get("tokens")
                               or {})]
    logs = inst.logs()
    secrets = [SECRET] + seen_codes + [str(t) for t in tokens]
    assert seen_codes, "no codes were seen"
    for s in secrets:
        if len(s) >= 8:
            assert s not in logs, "a secret, token or code is in the logs"
    for name in ("code=", "code_verifier", "state="):
        assert name not in logs, name
    for s in [SECRET] + [str(t) for t in tokens]:
        if len(s) >= 8:
            bad = [p for p in inst.files_containing(s) if not p.endswith("/env")]
            assert not bad, bad


try:
    check("not configured: no Connect button, start refused with 403", t_not_configured)
    check("anonymous: start and pages go to sign-in; API 401", t_anonymous)
    check("start: 302 to X with S256, exact scopes, the callback", t_start_redirect)
    check("approve: channel active, token exchanged with Basic + verifier", t_connect)
    check("connecting the same account again updates it", t_reconnect_no_duplicate)
    check("a replayed state: 400, no token request", t_state_replay)
    check("another session's state: 400, no token request", t_cross_session)
    check("missing or unknown state: 400, no token request", t_bad_states)
    check("denied consent: Connection cancelled", t_denied)
    check("an X display name with HTML is shown escaped", t_escaped_name)
    check("wrong secret: 401 with the guide's explanation", t_wrong_secret_401)
    check("callback URL mismatch is shown by X", t_callback_mismatch)
    check("token endpoint unreachable: 502 Could not reach X", t_token_unreachable)
    check("Disable hides Connect, refuses start, keeps channels", t_disabled)
    check("an expired token: needs_reconnect, Reconnect restores", t_expired_token)
    check("another workspace can neither see nor touch a channel", t_isolation)
    check("disconnect needs POST and the CSRF token", t_disconnect_needs_csrf)
    check("disconnect revokes the token at X, then removes", t_disconnect_revokes)
    check("a failed revoke is reported, the channel still removed",
          t_disconnect_revoke_fails)
    check("security headers on channels pages", t_security_headers)
    check("no token, code, verifier or secret in logs or files", t_no_secrets_in_logs)
finally:
    inst.stop()
    fake.stop()
finish()
