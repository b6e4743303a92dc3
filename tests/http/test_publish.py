#!/usr/bin/env python3
"""HTTP tests of publishing on the real server named by $SERVER, against
the fake X and its faults: publish now, schedule, history, every delivery
state, rate limits, and no post lost or sent twice."""
import json
import os
import re
import signal
import subprocess
import threading
import time

from harness import FakeX, Instance, check, finish

PAGE = "/admin/api-integration/x-twitter"
CLIENT_ID = "publish-client-0001"
SECRET = "publish-secret-" + os.urandom(4).hex()
PW = "member-password-1"

fake = FakeX()
inst = Instance({"X_API_BASE_URL": fake.url, "X_WEB_BASE_URL": fake.url,
                 "X_AUTHORIZE_URL": fake.url + "/i/oauth2/authorize",
                 "SOSYABOT_X_TIMEOUT": "3"})
fake.call("POST", "/_fake/apps", {"client_id": CLIENT_ID,
                                  "client_secret": SECRET,
                                  "callback": inst.base + "/api/v1/auth/twitter/callback",
                                  "type": "confidential"})
for uid, name in (("3001", "pub_one"), ("3002", "pub_two"), ("3003", "pub_three")):
    fake.call("POST", "/_fake/users", {"id": uid, "username": name, "name": name})
inst.start()
inst.ctl("user", "add", "mia", "--workspace", "acme", input=PW + "\n")
inst.ctl("user", "add", "olga", "--workspace", "other", input=PW + "\n")

adm = inst.client()
adm.login("admin", inst.password)
assert adm.post(PAGE, {"csrf": adm.session()["csrf"], "action": "save",
                       "client_id": CLIENT_ID, "client_secret": SECRET,
                       "status": "enable"}).status == 303
mia = inst.client()
mia.login("mia", PW)
for uid in ("3001", "3002", "3003"):
    assert mia.connect(fake, uid).status == 303
CH = {c["handle"]: c["id"] for c in
      mia.get("/api/v1/channels", headers={"Accept": "application/json"}).json()["channels"]}
olga = inst.client()
olga.login("olga", PW)
counter = [0]


def unique(prefix="post"):
    counter[0] += 1
    return f"{prefix} {counter[0]} {os.urandom(3).hex()}"


def tweets_sent():
    return len(fake.requests("/2/tweets"))


def api_post(client, doc, expect=201):
    r = client.post("/api/v1/posts", json.dumps(doc), ctype="application/json",
                    headers={"Accept": "application/json",
                             "X-CSRF-Token": client.session()["csrf"]})
    assert r.status == expect, r
    return r.json()


def get_post(pid, client=mia):
    r = client.get(f"/api/v1/posts/{pid}", headers={"Accept": "application/json"})
    assert r.status == 200, r
    return r.json()["post"]


def timeline(uid):
    return [t["text"] for t in fake.call("GET", f"/_fake/timeline?user={uid}")["data"]]


def publish_form(text, channels, action="publish", **extra):
    body = {"csrf": mia.session()["csrf"], "text": text, "channel": channels,
            "action": action}
    body.update(extra)
    return mia.post("/app/publishing", body)


def fault(**f):
    f.setdefault("path", "/2/tweets")
    fake.call("POST", "/_fake/faults", f)


def publish_due():
    return inst.ctl("publish-due")


def t_publish_now_form():
    text = unique("Hello from Sosyabot")
    before = tweets_sent()
    r = publish_form(text, [CH["pub_one"]])
    assert r.status == 303 and r.header("location").endswith("?n=sent"), r
    assert tweets_sent() == before + 1
    assert text in timeline("3001")
    page = mia.get("/app/publishing?n=sent")
    assert "Sent." in page.text
    m = re.search(r'<article class="post" data-post="(\d+)">.*?</article>',
                  page.text, re.S)
    assert m and text in m.group(0), page.text[:3000]
    x_id = fake.call("GET", "/_fake/timeline?user=3001")["data"][0]["id"]
    assert f'href="https://x.com/pub_one/status/{x_id}"' in m.group(0)
    assert 'data-state="posted"' in m.group(0)


def t_api_shape():
    text = unique("api")
    doc = api_post(mia, {"text": text, "channels": [CH["pub_one"], CH["pub_two"]]})
    p = doc["post"]
    assert set(p) == {"id", "text", "scheduled_at", "deliveries"}, p
    assert isinstance(p["id"], str) and p["text"] == text
    assert p["scheduled_at"] is None
    states = {d["channel"]: d for d in p["deliveries"]}
    assert set(states) == {CH["pub_one"], CH["pub_two"]}
    for d in p["deliveries"]:
        assert set(d) >= {"channel", "state", "x_id", "reason", "retry_at"}, d
        assert d["state"] == "posted" and re.fullmatch(r"\d+", d["x_id"])
    assert get_post(p["id"]) == p


def t_duplicate():
    text = unique("dup")
    api_post(mia, {"text": text, "channels": [CH["pub_one"]]})
    p = api_post(mia, {"text": text, "channels": [CH["pub_one"]]})["post"]
    d = p["deliveries"][0]
    assert d["state"] == "failed" and "duplicate" in d["reason"], d


def t_unauthorized():
    fault(mode="status", status=401)
    p = api_post(mia, {"text": unique(), "channels": [CH["pub_three"]]})["post"]
    d = p["deliveries"][0]
    assert d["state"] == "failed" and "reconnect" in d["reason"], d
    chans = mia.get("/api/v1/channels", headers={"Accept": "application/json"}).json()
    three = [c for c in chans["channels"] if c["handle"] == "pub_three"][0]
    assert three["status"] == "needs_reconnect"
    # A channel that needs a reconnect is refused before anything is sent.
    before = tweets_sent()
    r = api_post(mia, {"text": unique(), "channels": [CH["pub_three"]]}, expect=400)
    assert "reconnect" in r["error"]["message"]
    assert tweets_sent() == before
    assert mia.connect(fake, "3003").status == 303


def t_rate_limited_with_reset():
    reset = int(time.time()) + 120
    fault(mode="rate_limit", reset=True, reset_in=120)
    p = api_post(mia, {"text": unique("limited"), "channels": [CH["pub_two"]]})["post"]
    d = p["deliveries"][0]
    assert d["state"] == "rate_limited", d
    got = time.mktime(time.strptime(d["retry_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert abs(got - reset) <= 3, (d["retry_at"], reset)
    # X said the budget is spent: the next post is kept without a request.
    before = tweets_sent()
    p2 = api_post(mia, {"text": unique("kept"), "channels": [CH["pub_two"]]})["post"]
    assert p2["deliveries"][0]["state"] == "rate_limited"
    assert tweets_sent() == before, "a request was made with a spent budget"
    page = mia.get("/app/publishing")
    assert "goes out again at" in page.text and "<time datetime=" in page.text
    # The scheduler does not send it before the reset.
    publish_due()
    assert get_post(p2["id"])["deliveries"][0]["state"] == "rate_limited"
    assert tweets_sent() == before


def t_rate_limited_without_reset():
    fault(mode="rate_limit", reset=False)
    p = api_post(mia, {"text": unique(), "channels": [CH["pub_one"]]})["post"]
    d = p["deliveries"][0]
    assert d["state"] == "rate_limited", d
    got = time.mktime(time.strptime(d["retry_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 880 <= got - time.time() <= 905, d


def t_unknown_outcomes():
    # One channel per case, as a 429 above spent pub_one's budget.
    mia.connect(fake, "3001")
    for f in ({"mode": "status", "status": 503},
              {"mode": "reset_after_request", "process": True},
              {"mode": "delay", "seconds": 5},
              {"mode": "malformed_json", "status": 201}):
        fault(**f)
        before = tweets_sent()
        p = api_post(mia, {"text": unique("unk"), "channels": [CH["pub_three"]]})["post"]
        d = p["deliveries"][0]
        assert d["state"] == "unknown", (f, d)
        assert "may or may not" in d["reason"]
        assert tweets_sent() == before + 1
        # Never resent by the scheduler.
        publish_due()
        assert tweets_sent() == before + 1, f
        assert get_post(p["id"])["deliveries"][0]["state"] == "unknown"


def t_not_sent_is_failed():
    fault(mode="refuse")
    p = api_post(mia, {"text": unique(), "channels": [CH["pub_three"]]})["post"]
    d = p["deliveries"][0]
    # refuse closes after reading the request: X may have it -> unknown.
    assert d["state"] in ("unknown", "failed"), d


def t_retry_and_mark():
    fault(mode="status", status=500)
    text = unique("retry me")
    p = api_post(mia, {"text": text, "channels": [CH["pub_three"]]})["post"]
    assert p["deliveries"][0]["state"] == "unknown"
    page = mia.get("/app/publishing")
    assert "Retry anyway" in page.text and "Mark as posted" in page.text
    r = mia.post("/app/publishing", {"csrf": mia.session()["csrf"], "action": "retry",
                                     "post": p["id"], "channel": CH["pub_three"]})
    assert r.status == 303, r
    d = get_post(p["id"])["deliveries"][0]
    assert d["state"] == "posted" and text in timeline("3003"), d
    # A posted delivery is not retried again.
    r = mia.post("/app/publishing", {"csrf": mia.session()["csrf"], "action": "retry",
                                     "post": p["id"], "channel": CH["pub_three"]})
    assert r.status == 409, r
    fault(mode="status", status=502)
    p = api_post(mia, {"text": unique(), "channels": [CH["pub_three"]]})["post"]
    r = mia.post("/app/publishing", {"csrf": mia.session()["csrf"],
                                     "action": "mark_posted", "post": p["id"],
                                     "channel": CH["pub_three"]})
    assert r.status == 303
    d = get_post(p["id"])["deliveries"][0]
    assert d["state"] == "posted" and "Marked as posted by mia" in d["reason"]


def t_schedule():
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    text = unique("scheduled")
    before = tweets_sent()
    p = api_post(mia, {"text": text, "channels": [CH["pub_three"]],
                       "scheduled_at": when})["post"]
    assert p["scheduled_at"] == when
    assert p["deliveries"][0]["state"] == "scheduled"
    publish_due()
    assert tweets_sent() == before, "sent before its time"
    time.sleep(2.5)
    publish_due()
    assert get_post(p["id"])["deliveries"][0]["state"] == "posted"
    assert tweets_sent() == before + 1 and text in timeline("3003")


def t_schedule_form_timezone():
    # 10:00 in Istanbul (UTC+3, no DST) is 07:00 UTC.
    year = time.gmtime().tm_year + 1
    r = publish_form(unique("tz"), [CH["pub_three"]], action="schedule",
                     scheduled_at=f"{year}-06-01T10:00", tz="Europe/Istanbul")
    assert r.status == 303 and r.header("location").endswith("?n=scheduled"), r
    posts = mia.get("/app/publishing").text
    assert f'datetime="{year}-06-01T07:00:00Z"' in posts
    r = publish_form(unique(), [CH["pub_three"]], action="schedule",
                     scheduled_at="2001-01-01T10:00")
    assert r.status == 400 and "future" in r.text
    r = publish_form(unique(), [CH["pub_three"]], action="schedule",
                     scheduled_at=f"{year}-06-01T10:00", tz="Mars/Olympus")
    assert r.status == 400


def t_concurrent_schedulers():
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    ids = [api_post(mia, {"text": unique("race"), "channels": [CH["pub_three"]],
                          "scheduled_at": when})["post"]["id"] for _ in range(12)]
    time.sleep(2.5)
    before = tweets_sent()
    env = inst.environ()
    procs = [subprocess.Popen([os.path.join(os.path.dirname(__file__), "..", "..",
                                            "service.sh"), "ctl", "publish-due"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    for p in procs:
        p.communicate(timeout=120)
    assert tweets_sent() == before + 12, (tweets_sent() - before)
    assert all(get_post(i)["deliveries"][0]["state"] == "posted" for i in ids)


def t_kill_during_publish():
    fault(mode="delay", seconds=2.5)
    text = unique("killed")
    before = tweets_sent()
    done = []
    th = threading.Thread(target=lambda: done.append(
        publish_form(text, [CH["pub_three"]])))
    th.start()
    deadline = time.time() + 10
    while tweets_sent() == before and time.time() < deadline:
        time.sleep(0.05)
    subprocess.run(["pkill", "-9", "-f", "cgi-bin/publish.cgi"])
    th.join()
    assert tweets_sent() == before + 1
    posts = mia.get("/app/publishing").text
    m = re.search(r'<article class="post" data-post="(\d+)">\s*<p class="text">%s'
                  % re.escape(text), posts)
    assert m, "the post was lost"
    d = get_post(m.group(1))["deliveries"][0]
    assert d["state"] == "sending", d
    # The scheduler never resends it (it turns unknown once it is stale).
    publish_due()
    time.sleep(3)
    assert tweets_sent() == before + 1
    assert get_post(m.group(1))["deliveries"][0]["state"] in ("sending", "unknown")


def t_bad_texts():
    before = tweets_sent()
    for text, why in (("", "Write something"), ("   ", "Write something"),
                      ("x" * 281, "281 characters"),
                      ("\U0001F600" * 141, "282 characters")):
        r = api_post(mia, {"text": text, "channels": [CH["pub_three"]]}, expect=400)
        assert why in r["error"]["message"], (text[:10], r)
    r = mia.post("/app/publishing", b"csrf=" + mia.session()["csrf"].encode() +
                 b"&action=publish&channel=" + CH["pub_three"].encode() +
                 b"&text=%C3%28", ctype="application/x-www-form-urlencoded")
    assert r.status == 400 and "UTF-8" in r.text, r
    r = api_post(mia, {"text": "ok", "channels": []}, expect=400)
    assert tweets_sent() == before
    # Exactly 280 goes.
    p = api_post(mia, {"text": "y" * 270 + os.urandom(5).hex(), "channels": [CH["pub_three"]]})
    assert p["post"]["deliveries"][0]["state"] == "posted"


def t_html_escaped():
    text = unique("<img src=x onerror=alert(1)> & <b>bold</b>")
    api_post(mia, {"text": text, "channels": [CH["pub_three"]]})
    page = mia.get("/app/publishing")
    assert "<img src=x" not in page.text and "<b>bold</b>" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page.text


def t_other_workspace():
    before = tweets_sent()
    r = api_post(olga, {"text": unique(), "channels": [CH["pub_three"]]}, expect=404)
    assert r["error"]["status"] == 404
    r = olga.post("/app/publishing", {"csrf": olga.session()["csrf"], "text": "x",
                                      "channel": CH["pub_three"], "action": "publish"})
    assert r.status == 404
    assert tweets_sent() == before
    pid = api_post(mia, {"text": unique(), "channels": [CH["pub_three"]]})["post"]["id"]
    r = olga.get(f"/api/v1/posts/{pid}", headers={"Accept": "application/json"})
    assert r.status == 404
    assert unique() not in olga.get("/app/publishing").text
    r = olga.post("/app/publishing", {"csrf": olga.session()["csrf"], "action": "retry",
                                      "post": pid, "channel": CH["pub_three"]})
    assert r.status == 404


def t_csrf_and_methods():
    r = mia.post("/app/publishing", {"text": "x", "channel": CH["pub_three"],
                                     "action": "publish"})
    assert r.status == 403
    r = mia.post("/api/v1/posts", json.dumps({"text": "x", "channels": []}),
                 ctype="application/json", headers={"Accept": "application/json"})
    assert r.status == 403 and r.json()["error"]["status"] == 403
    assert mia.get("/api/v1/posts").status in (404, 405)


try:
    check("publish now from the form: on X, linked in the history", t_publish_now_form)
    check("JSON API: 201 with per-channel states; GET the same", t_api_shape)
    check("duplicate content: failed with X's reason", t_duplicate)
    check("401: failed, channel needs_reconnect, refused locally after", t_unauthorized)
    check("429 with reset: rate_limited until then; spent budget refused locally",
          t_rate_limited_with_reset)
    check("429 without reset: retried after 15 minutes", t_rate_limited_without_reset)
    check("5xx, reset, timeout, unreadable 2xx: unknown, never resent", t_unknown_outcomes)
    check("connection closed: not posted", t_not_sent_is_failed)
    check("retry anyway and mark as posted", t_retry_and_mark)
    check("schedule: sent by publish-due when due, not before", t_schedule)
    check("schedule form: local time in the browser's zone, future only",
          t_schedule_form_timezone)
    check("two publish-due at once: each post sent exactly once",
          t_concurrent_schedulers)
    check("SIGKILL during a publish: kept, never resent", t_kill_during_publish)
    check("empty, over-long, invalid UTF-8: 400, nothing sent", t_bad_texts)
    check("post text with HTML is escaped in the history", t_html_escaped)
    check("another workspace's channel or post: 404, nothing sent", t_other_workspace)
    check("CSRF required; methods", t_csrf_and_methods)
finally:
    inst.stop()
    fake.stop()
finish()
