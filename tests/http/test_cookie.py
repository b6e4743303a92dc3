#!/usr/bin/env python3
"""HTTP tests of cookie connect on the real server named by $SERVER,
against the fake X's web endpoints: connect, post, every error mapping,
unverified -> verified, bad shapes, secrecy, workspace isolation."""
import json
import os
import re

from harness import FakeX, Instance, check, finish

PW = "member-password-1"
fake = FakeX()
# No OAuth app configured at all: cookie connect needs none.
inst = Instance({"X_API_BASE_URL": fake.url, "X_WEB_BASE_URL": fake.url,
                 "X_AUTHORIZE_URL": fake.url + "/i/oauth2/authorize",
                 "SOSYABOT_X_TIMEOUT": "3"})
inst.start()
inst.ctl("user", "add", "mia", "--workspace", "acme", input=PW + "\n")
inst.ctl("user", "add", "olga", "--workspace", "other", input=PW + "\n")
mia = inst.client()
mia.login("mia", PW)
olga = inst.client()
olga.login("olga", PW)
COOKIES = {}
n = [0]


def cookie_user(uid, handle):
    fake.call("POST", "/_fake/users", {"id": uid, "username": handle, "name": handle})
    tok, ct0 = os.urandom(20).hex(), os.urandom(16).hex()
    fake.call("POST", "/_fake/cookies", {"auth_token": tok, "ct0": ct0, "user_id": uid})
    COOKIES[handle] = (tok, ct0)
    return tok, ct0


def form_connect(client, tok, ct0, handle=""):
    return client.post("/api/v1/auth/twitter/unofficial",
                       {"csrf": client.session()["csrf"], "auth_token": tok,
                        "ct0": ct0, "handle": handle})


def json_connect(client, doc):
    return client.post("/api/v1/auth/twitter/unofficial", json.dumps(doc),
                       ctype="application/json",
                       headers={"Accept": "application/json",
                                "X-CSRF-Token": client.session()["csrf"]})


def channels(client):
    return client.get("/api/v1/channels",
                      headers={"Accept": "application/json"}).json()["channels"]


def channel(handle, client=mia):
    return [c for c in channels(client) if c["handle"] == handle][0]


def post(text, cid, client=mia):
    r = client.post("/api/v1/posts", json.dumps({"text": text, "channels": [cid]}),
                    ctype="application/json",
                    headers={"Accept": "application/json",
                             "X-CSRF-Token": client.session()["csrf"]})
    assert r.status == 201, r
    return r.json()["post"]["deliveries"][0]


def unique():
    n[0] += 1
    return f"cookie post {n[0]} {os.urandom(3).hex()}"


def web_requests():
    return len(fake.requests("/i/api/graphql/*/CreateTweet"))


def t_form_shown_without_oauth():
    page = mia.get("/app/channels")
    assert 'id="cookie-connect"' in page.text
    assert "unofficial" in page.text and "terms" in page.text
    assert 'name="auth_token"' in page.text and 'name="ct0"' in page.text
    assert 'id="connect-oauth"' not in page.text


def t_connect_form():
    tok, ct0 = cookie_user("5001", "cookie_alice")
    r = form_connect(mia, tok, ct0)
    assert r.status == 303 and r.header("location").endswith("?n=cookie_connected"), r
    ch = channel("cookie_alice")
    assert ch["mode"] == "cookie" and ch["status"] == "active", ch
    assert ch["expires_at"] is None
    reqs = fake.requests("/1.1/account/verify_credentials.json")
    h = reqs[-1]["headers"]
    assert h["x-csrf-token"] == ct0 and f"auth_token={tok}" in h["cookie"]
    assert h["authorization"].startswith("Bearer ")
    assert h["x-twitter-auth-type"] == "OAuth2Session"


def t_post_through_cookies():
    text = unique()
    d = post(text, channel("cookie_alice")["id"])
    assert d["state"] == "posted" and re.fullmatch(r"\d+", d["x_id"]), d
    tl = fake.call("GET", "/_fake/timeline?user=5001")["data"]
    assert tl[0]["text"] == text and tl[0]["via"] == "web"


def t_connect_json_and_update():
    tok, ct0 = COOKIES["cookie_alice"]
    before = channel("cookie_alice")["id"]
    r = json_connect(mia, {"auth_token": tok, "ct0": ct0})
    assert r.status in (200, 201), r
    assert r.json()["channel"]["id"] == before
    assert len([c for c in channels(mia) if c["handle"] == "cookie_alice"]) == 1
    tok2, ct02 = cookie_user("5002", "cookie_bob")
    r = json_connect(mia, {"auth_token": tok2, "ct0": ct02})
    assert r.status == 201 and r.json()["channel"]["handle"] == "cookie_bob", r


def t_bad_shapes():
    before = len(channels(mia))
    for tok, ct0, handle in (("abc", "0" * 32, ""), ("g" * 40, "0" * 32, ""),
                             ("a" * 40, "xyz", ""), ("a" * 41, "0" * 32, ""),
                             ("a" * 40, "0" * 32, "bad handle!")):
        r = form_connect(mia, tok, ct0, handle)
        assert r.status == 400, (tok, ct0, handle, r)
        assert "Nothing was stored" in r.text
    r = json_connect(mia, {"auth_token": "short", "ct0": "00"})
    assert r.status == 400 and r.json()["error"]["status"] == 400
    assert len(channels(mia)) == before


def t_refused_cookies():
    before = len(channels(mia))
    r = form_connect(mia, "ab" * 20, "cd" * 16)  # unknown to X: code 32
    assert r.status == 400 and "did not accept these cookies" in r.text, r
    tok, _ = COOKIES["cookie_alice"]
    r = form_connect(mia, tok, "ef" * 16)  # ct0 mismatch: 353
    assert r.status == 400 and "did not accept" in r.text, r
    assert len(channels(mia)) == before


def t_unverified():
    tok, ct0 = cookie_user("5003", "cookie_carol")
    for path in ("/1.1/account/verify_credentials.json", "/1.1/account/settings.json"):
        fake.call("POST", "/_fake/faults", {"path": path, "mode": "status",
                                            "status": 404, "count": 2})
    r = form_connect(mia, tok, ct0)
    assert r.status == 400 and "Type the account" in r.text, r
    r = form_connect(mia, tok, ct0, "@cookie_carol")
    assert r.status == 303 and r.header("location").endswith("?n=cookie_unverified"), r
    ch = channel("cookie_carol")
    assert ch["status"] == "unverified", ch
    d = post(unique(), ch["id"])
    assert d["state"] == "posted", d
    assert channel("cookie_carol")["status"] == "active"


def web_fault(code, **kw):
    f = {"path": "/i/api/graphql/*/CreateTweet", "mode": "errors_200", "code": code}
    f.update(kw)
    fake.call("POST", "/_fake/faults", f)


def t_error_codes():
    cid = channel("cookie_bob")["id"]
    for code, words in ((226, "automated"), (344, "daily post limit"),
                        (187, "duplicate"), (37, "suspended"), (64, "suspended"),
                        (326, "locked")):
        web_fault(code)
        d = post(unique(), cid)
        assert d["state"] == "failed" and words in d["reason"], (code, d)
        assert channel("cookie_bob")["status"] == "active"


def t_dead_cookie_codes():
    for code in (32, 89, 353):
        tok, ct0 = cookie_user(f"60{code}", f"dead_{code}")
        assert form_connect(mia, tok, ct0).status == 303
        cid = channel(f"dead_{code}")["id"]
        web_fault(code)
        d = post(unique(), cid)
        assert d["state"] == "failed" and "fresh cookies" in d["reason"], d
        assert channel(f"dead_{code}")["status"] == "needs_reconnect"
        page = mia.get("/app/channels").text
        assert "Connect again" in page


def t_real_duplicate():
    cid = channel("cookie_bob")["id"]
    text = unique()
    assert post(text, cid)["state"] == "posted"
    d = post(text, cid)
    assert d["state"] == "failed" and "duplicate" in d["reason"], d


def t_unknown_never_resent():
    cid = channel("cookie_bob")["id"]
    fake.call("POST", "/_fake/faults", {"path": "/i/api/graphql/*/CreateTweet",
                                        "mode": "status", "status": 503})
    before = web_requests()
    d = post(unique(), cid)
    assert d["state"] == "unknown", d
    inst.ctl("publish-due")
    assert web_requests() == before + 1


def t_query_id_setting():
    adm = inst.client()
    adm.login("admin", inst.password)
    page = "/admin/api-integration/x-twitter"
    r = adm.post(page, {"csrf": adm.session()["csrf"], "action": "save_web",
                        "web_query_id": "NewQueryId_123-abc"})
    assert r.status == 303, r
    assert inst.ctl("options", "get", "x-twitter_web-createtweet-queryid").stdout == \
        "NewQueryId_123-abc\n"
    post(unique(), channel("cookie_bob")["id"])
    assert fake.requests("/i/api/graphql/*/CreateTweet")[-1]["path"] == \
        "/i/api/graphql/NewQueryId_123-abc/CreateTweet"
    r = adm.post(page, {"csrf": adm.session()["csrf"], "action": "save_web",
                        "web_query_id": "../../x"})
    assert r.status == 400


def t_secrecy():
    logs = inst.logs()
    for handle, (tok, ct0) in COOKIES.items():
        assert tok not in logs and ct0 not in logs, handle
        assert not inst.files_containing(tok), handle
        assert not inst.files_containing(ct0), handle
    page = mia.get("/app/channels").text
    for tok, ct0 in COOKIES.values():
        assert tok not in page and ct0 not in page


def t_isolation():
    assert all(c["handle"] != "cookie_alice" for c in channels(olga))
    cid = channel("cookie_alice")["id"]
    r = olga.post("/api/v1/posts", json.dumps({"text": "x", "channels": [cid]}),
                  ctype="application/json",
                  headers={"Accept": "application/json",
                           "X-CSRF-Token": olga.session()["csrf"]})
    assert r.status == 404
    r = olga.post(f"/app/channels/{cid}/disconnect", {"csrf": olga.session()["csrf"]})
    assert r.status == 404
    # Connecting the same cookies in another workspace is its own channel.
    tok, ct0 = COOKIES["cookie_alice"]
    assert form_connect(olga, tok, ct0).status == 303
    assert channel("cookie_alice", olga)["id"] != cid


def t_needs_csrf():
    r = mia.post("/api/v1/auth/twitter/unofficial", {"auth_token": "a" * 40,
                                                     "ct0": "0" * 32})
    assert r.status == 403
    r = inst.client().post("/api/v1/auth/twitter/unofficial", {})
    assert r.status in (302, 403)


def t_disconnect_cookie():
    cid = channel("dead_32")["id"]
    r = mia.post(f"/app/channels/{cid}/disconnect", {"csrf": mia.session()["csrf"]})
    assert r.status == 303 and r.header("location").endswith("?n=disconnected")
    assert all(c["id"] != cid for c in channels(mia))


try:
    check("the cookie form is offered without OAuth, with the warning",
          t_form_shown_without_oauth)
    check("connect with a form: verified, active, browser headers sent", t_connect_form)
    check("post through the web endpoint", t_post_through_cookies)
    check("JSON connect; the same account again updates it", t_connect_json_and_update)
    check("bad shapes: 400, nothing stored", t_bad_shapes)
    check("cookies X refuses (32, 353): 400, nothing stored", t_refused_cookies)
    check("both checks 404: unverified with the typed handle; a post verifies",
          t_unverified)
    check("226 344 187 37 64 326: failed with a sentence", t_error_codes)
    check("32 89 353 on a post: needs_reconnect", t_dead_cookie_codes)
    check("a real duplicate (200 with errors) is a failure", t_real_duplicate)
    check("no answer: unknown, never resent", t_unknown_never_resent)
    check("the CreateTweet queryId is an admin setting", t_query_id_setting)
    check("cookies in no log, no file, no page", t_secrecy)
    check("another workspace can neither see nor use a cookie channel", t_isolation)
    check("cookie connect needs the CSRF token", t_needs_csrf)
    check("disconnect a cookie channel", t_disconnect_cookie)
finally:
    inst.stop()
    fake.stop()
finish()
