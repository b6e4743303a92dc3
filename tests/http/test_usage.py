#!/usr/bin/env python3
"""HTTP tests of usage and cost on the real server named by $SERVER:
every call to X counted by kind, workspace and channel; estimated spend
from prices that are settings; a monthly budget that stops API posts."""
import json
import os
import re

from harness import FakeX, Instance, check, finish

PAGE = "/admin/api-integration/x-twitter"
PW = "member-password-1"
SECRET = "usage-secret-" + os.urandom(3).hex()
fake = FakeX()
inst = Instance({"X_API_BASE_URL": fake.url, "X_WEB_BASE_URL": fake.url,
                 "X_AUTHORIZE_URL": fake.url + "/i/oauth2/authorize"})
fake.call("POST", "/_fake/apps", {"client_id": "usage-client", "client_secret": SECRET,
                                  "callback": inst.base + "/api/v1/auth/twitter/callback",
                                  "type": "confidential"})
fake.call("POST", "/_fake/users", {"id": "9001", "username": "billed", "name": "B"})
fake.call("POST", "/_fake/users", {"id": "9002", "username": "free_cookie", "name": "F"})
TOK, CT0 = os.urandom(20).hex(), os.urandom(16).hex()
fake.call("POST", "/_fake/cookies", {"auth_token": TOK, "ct0": CT0, "user_id": "9002"})
inst.start()
inst.ctl("user", "add", "mia", "--workspace", "acme", input=PW + "\n")
adm = inst.client()
adm.login("admin", inst.password)
assert adm.post(PAGE, {"csrf": adm.session()["csrf"], "action": "save",
                       "client_id": "usage-client", "client_secret": SECRET,
                       "status": "enable"}).status == 303
mia = inst.client()
mia.login("mia", PW)


def usage_cells():
    """{(ws, channel): {kind: count}} of this month's table."""
    page = adm.get("/admin/usage")
    assert page.status == 200, page
    table = re.search(r'<table class="usage" data-month="[^"]+">(.*?)</table>',
                      page.text, re.S)
    rows = {}
    for m in re.finditer(r'<tr data-ws="([^"]*)" data-channel="([^"]*)">(.*?)</tr>',
                         table.group(1) if table else "", re.S):
        rows[(m.group(1), m.group(2))] = {
            k: int(v) for k, v in re.findall(r'data-kind="([a-z_]+)">(\d+)<', m.group(3))}
    return rows, page


def post(text, cid, expect=201):
    r = mia.post("/api/v1/posts", json.dumps({"text": text, "channels": [cid]}),
                 ctype="application/json",
                 headers={"Accept": "application/json", "X-CSRF-Token": mia.session()["csrf"]})
    assert r.status == expect, r
    return r.json()


def channels():
    return {c["handle"]: c["id"] for c in mia.get(
        "/api/v1/channels", headers={"Accept": "application/json"}).json()["channels"]}


def t_live_check_counted():
    r = adm.post(PAGE, {"csrf": adm.session()["csrf"], "action": "test"})
    assert "X accepted" in r.text
    rows, _ = usage_cells()
    assert rows[("-", "-")]["token"] == 1, rows


def t_connect_counted():
    assert mia.connect(fake, "9001").status == 303
    rows, _ = usage_cells()
    assert rows[("acme", "-")]["token"] == 1 and rows[("acme", "-")]["user_read"] == 1, rows


def t_posts_counted_by_price():
    cid = channels()["billed"]
    post("no link here " + os.urandom(2).hex(), cid)
    post("with a link example.com " + os.urandom(2).hex(), cid)
    post("and https://x.com/home " + os.urandom(2).hex(), cid)
    rows, page = usage_cells()
    r = rows[("acme", cid)]
    assert r["post"] == 1 and r["post_url"] == 2, r
    # 0.015 + 2 x 0.200
    assert re.search(r'data-channel="%s">.*?\$0\.415</td>' % cid, page.text, re.S), page.text[-3000:]
    assert "<svg" in page.text and "Estimated spend" in page.text


def t_cookie_posts_counted_free():
    r = mia.post("/api/v1/auth/twitter/unofficial",
                 {"csrf": mia.session()["csrf"], "auth_token": TOK, "ct0": CT0})
    assert r.status == 303
    cid = channels()["free_cookie"]
    post("via cookies " + os.urandom(2).hex(), cid)
    rows, page = usage_cells()
    assert rows[("acme", cid)]["cookie_post"] == 1
    assert rows[("acme", "-")]["cookie_read"] == 1
    assert re.search(r'data-channel="%s">.*?\$0\.000</td>' % cid, page.text, re.S)


def t_prices_are_settings():
    r = adm.post("/admin/usage", {"csrf": adm.session()["csrf"], "action": "prices",
                                  "price_post": "0.02", "price_post_url": "0.3",
                                  "price_user_read": "0.01"})
    assert r.status == 303, r
    cid = channels()["billed"]
    _, page = usage_cells()
    assert re.search(r'data-channel="%s">.*?\$0\.620</td>' % cid, page.text, re.S)
    r = adm.post("/admin/usage", {"csrf": adm.session()["csrf"], "action": "prices",
                                  "price_post": "cheap", "price_post_url": "",
                                  "price_user_read": ""})
    assert r.status == 400
    compose = mia.get("/app/publishing").text
    assert 'data-post="0.020"' in compose and 'data-post-url="0.300"' in compose


def t_budget_refuses_api_posts():
    cid = channels()["billed"]
    r = adm.post("/admin/usage", {"csrf": adm.session()["csrf"], "action": "budget",
                                  "workspace": "acme", "budget": "0.5"})
    assert r.status == 303
    before = len(fake.requests("/2/tweets"))
    r = post("over budget " + os.urandom(2).hex(), cid, expect=403)
    assert "monthly X budget" in r["error"]["message"], r
    assert len(fake.requests("/2/tweets")) == before
    # Cookie posts are not billed, so not refused.
    post("still free " + os.urandom(2).hex(), channels()["free_cookie"])
    r = adm.post("/admin/usage", {"csrf": adm.session()["csrf"], "action": "budget",
                                  "workspace": "acme", "budget": "5"})
    post("under budget again " + os.urandom(2).hex(), cid)
    r = adm.post("/admin/usage", {"csrf": adm.session()["csrf"], "action": "budget",
                                  "workspace": "acme", "budget": "a lot"})
    assert r.status == 400


def t_revoke_counted():
    cid = channels()["billed"]
    mia.post(f"/app/channels/{cid}/disconnect", {"csrf": mia.session()["csrf"]})
    rows, _ = usage_cells()
    assert rows[("acme", cid)]["revoke"] == 1


def t_admins_only():
    assert mia.get("/admin/usage").status == 403
    assert mia.post("/admin/usage", {"csrf": mia.session()["csrf"],
                                     "action": "budget", "workspace": "acme",
                                     "budget": "0"}).status == 403


try:
    check("the live credential check is counted as a token call", t_live_check_counted)
    check("a connect counts a token call and a user read", t_connect_counted)
    check("posts counted apart with and without a URL; estimate", t_posts_counted_by_price)
    check("cookie posts and checks counted, priced 0", t_cookie_posts_counted_free)
    check("prices are settings; the compose page shows them", t_prices_are_settings)
    check("a spent monthly budget refuses API posts, not cookie posts",
          t_budget_refuses_api_posts)
    check("revokes are counted", t_revoke_counted)
    check("usage is for administrators", t_admins_only)
finally:
    inst.stop()
    fake.stop()
finish()
