#!/usr/bin/env python3
"""HTTP tests of the audit log on the real server named by $SERVER: what
is recorded (never a secret), /admin/audit with filters and paging, and
sosyabotctl audit as text and JSON lines."""
import json
import os
import re

from harness import FakeX, Instance, check, finish

PAGE = "/admin/api-integration/x-twitter"
CANARY = "audit-canary-" + os.urandom(4).hex()
PW = "member-password-1"
fake = FakeX()
inst = Instance({"X_API_BASE_URL": fake.url, "X_WEB_BASE_URL": fake.url,
                 "X_AUTHORIZE_URL": fake.url + "/i/oauth2/authorize"})
fake.call("POST", "/_fake/apps", {"client_id": "audit-client", "client_secret": CANARY,
                                  "callback": inst.base + "/api/v1/auth/twitter/callback",
                                  "type": "confidential"})
fake.call("POST", "/_fake/users", {"id": "8001", "username": "audited", "name": "A"})
inst.start()
inst.ctl("user", "add", "mia", "--workspace", "acme", input=PW + "\n")


def audit_json(*args):
    out = inst.ctl("audit", "--json", *args).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


adm = inst.client()
adm.login("admin", inst.password)


def t_cli_user_add():
    recs = audit_json("--kind", "user.add")
    assert recs and recs[0]["who"] == "cli" and "mia" in recs[0]["what"], recs
    assert set(recs[0]) >= {"at", "who", "kind", "what"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", recs[0]["at"])


def t_signins():
    c = inst.client()
    c.login("mia", "bad-guess-xyz", expect=401)
    c.login("mia", PW)
    recs = audit_json("--user", "mia", "--kind", "signin.")
    kinds = [r["kind"] for r in recs]
    assert "signin.ok" in kinds and "signin.fail" in kinds, kinds
    assert all(r.get("addr") == "127.0.0.1" for r in recs), recs
    assert PW not in json.dumps(recs) and "bad-guess-xyz" not in json.dumps(recs)


def t_credentials_without_values():
    r = adm.post(PAGE, {"csrf": adm.session()["csrf"], "action": "save",
                        "client_id": "audit-client", "client_secret": CANARY,
                        "status": "enable"})
    assert r.status == 303
    recs = audit_json("--kind", "credentials.save")
    assert recs and recs[0]["who"] == "admin", recs
    assert "client secret replaced" in recs[0]["what"] and "status=enable" in recs[0]["what"]
    out = inst.ctl("audit").stdout
    assert CANARY not in out and "audit-client" not in out


def t_connect_publish_disconnect():
    mia = inst.client()
    mia.login("mia", PW)
    assert mia.connect(fake, "8001").status == 303
    cid = mia.get("/api/v1/channels", headers={"Accept": "application/json"}).json()["channels"][0]["id"]
    r = mia.post("/api/v1/posts", json.dumps({"text": "audited post", "channels": [cid]}),
                 ctype="application/json",
                 headers={"Accept": "application/json", "X-CSRF-Token": mia.session()["csrf"]})
    assert r.status == 201
    r = mia.post(f"/app/channels/{cid}/disconnect", {"csrf": mia.session()["csrf"]})
    assert r.status == 303
    kinds = [x["kind"] for x in audit_json("--workspace", "acme")]
    for k in ("channel.connect", "post.publish", "post.outcome", "channel.disconnect"):
        assert k in kinds, (k, kinds)
    outcome = audit_json("--kind", "post.outcome")[0]
    assert "posted" in outcome["what"] and outcome["ws"] == "acme"
    tokens = fake.call("GET", "/_fake/state").get("tokens") or {}
    blob = inst.ctl("audit", "--json").stdout
    for t in tokens:
        assert str(t) not in blob


def t_page_filters_and_paging():
    for i in range(55):
        inst.client().login("mia", "bad-%d" % i, expect=(401 if i < 4 else 429))
    r = adm.get("/admin/audit")
    assert r.status == 200 and '<table id="audit">' in r.text
    rows = re.findall(r"<tr><td data-label=\"When\">", r.text)
    assert len(rows) == 50, len(rows)
    m = re.search(r'href="(/admin/audit\?[^"]*before=[^"]+)">Older', r.text)
    assert m, "no Older link"
    older = adm.get(m.group(1).replace("&amp;", "&"))
    assert older.status == 200 and "<tr>" in older.text
    r = adm.get("/admin/audit?kind=credentials.save")
    assert "credentials.save" in r.text and "signin.fail" not in r.text
    r = adm.get("/admin/audit?user=mia&kind=signin.ok")
    assert "signin.ok" in r.text and "signin.fail" not in r.text
    r = adm.get("/admin/audit?from=2001-01-01&to=2001-01-02")
    assert "Nothing recorded matches these filters" in r.text
    r = adm.get("/admin/audit?kind=<script>")
    assert r.status == 200 and "<script>" not in r.text


def t_members_cannot_read():
    mia = inst.client()
    mia.login("admin", inst.password)  # the lock above is on mia
    c = inst.client()
    inst.ctl("user", "add", "max", "--workspace", "acme", input=PW + "\n")
    c.login("max", PW)
    assert c.get("/admin/audit").status == 403
    assert inst.client().get("/admin/audit").status == 302


def t_text_output():
    out = inst.ctl("audit", "--limit", "3").stdout.splitlines()
    assert len(out) == 3, out
    assert re.match(r"\d{4}-\d\d-\d\dT", out[0])


try:
    check("user changes from the command line are audited as cli", t_cli_user_add)
    check("sign-ins and failed sign-ins, with the address", t_signins)
    check("credential saves are audited, never their values", t_credentials_without_values)
    check("connect, publish, outcome, disconnect are audited", t_connect_publish_disconnect)
    check("/admin/audit: filters, paging, escaping", t_page_filters_and_paging)
    check("members cannot read the audit log", t_members_cannot_read)
    check("sosyabotctl audit prints text lines", t_text_output)
finally:
    inst.stop()
    fake.stop()
finish()
