#!/usr/bin/env python3
"""The fault matrix on the real server named by $SERVER: publishes through
the API while the fake X misbehaves in every way it can (refused and cut
connections, timeouts, 5xx, 429 with and without a reset, duplicates,
401, unreadable and oversized answers, errors in a 200, a certificate
that does not verify, a closed port), on OAuth and cookie channels.
At least 100 publishes (500 with LONG=1).  Nothing is lost (every
answered publish is stored, every post X created has its stored
delivery), nothing is sent twice, and every outcome is the documented
state with a sentence for the user.  Prints the fault -> state table."""
import collections
import os
import re
import socket
import tempfile
import threading
import time

from harness import check, finish
from relkit import (JSON, LONG, STATES, Fake, World, api_post, channels,
                    get_post, make_ca, note)

ROUNDS = 18 if LONG else 4
RESET_IN = 4            # seconds: a 429 with a reset spends a budget this long
WEB = "/i/api/graphql/*/CreateTweet"
API = "/2/tweets"
DUP_BODY = {"detail": "You are not allowed to create a Tweet with duplicate "
                      "content.", "type": "about:blank", "title": "Forbidden",
            "status": 403}
INVALID_BODY = {"title": "Invalid Request", "type":
                "https://api.twitter.com/2/problems/invalid-request",
                "detail": "One or more parameters to your request was "
                          "invalid.", "errors": [{"message": "Text is bad"}]}

# label, channel kind, fault (None: X answers normally), expected state,
# whether X creates the post, what the reason must mention.
CASES = [
    ("none", "oauth", None, "posted", True, None),
    ("connection closed after the request (refuse)", "oauth",
     {"mode": "refuse"}, "unknown", False, "may or may not"),
    ("reset after the request, not processed", "oauth",
     {"mode": "reset_after_request", "process": False}, "unknown", False,
     "may or may not"),
    ("reset after the request, processed", "oauth",
     {"mode": "reset_after_request", "process": True}, "unknown", True,
     "may or may not"),
    ("timeout (answer after 2.5 s, limit 2 s)", "oauth",
     {"mode": "delay", "seconds": 2.5}, "unknown", True, "may or may not"),
    ("HTTP 500", "oauth", {"mode": "status", "status": 500}, "unknown",
     False, "may or may not"),
    ("HTTP 502", "oauth", {"mode": "status", "status": 502}, "unknown",
     False, "may or may not"),
    ("HTTP 503", "oauth", {"mode": "status", "status": 503}, "unknown",
     False, "may or may not"),
    ("429 with x-rate-limit-reset", "oauth",
     {"mode": "rate_limit", "reset": True, "reset_in": RESET_IN},
     "rate_limited", False, "goes out again"),
    ("429 without a reset (15 minutes)", "oauth",
     {"mode": "rate_limit", "reset": False}, "rate_limited", False,
     "goes out again"),
    ("403 duplicate content", "oauth",
     {"mode": "status", "status": 403, "body": DUP_BODY}, "failed", False,
     "duplicate"),
    ("403 forbidden", "oauth", {"mode": "status", "status": 403}, "failed",
     False, "refused"),
    ("400 invalid request", "oauth",
     {"mode": "status", "status": 400, "body": INVALID_BODY}, "failed",
     False, "refused"),
    ("401 unauthorized", "oauth", {"mode": "status", "status": 401},
     "failed", False, "reconnect"),
    ("malformed JSON in a 201", "oauth",
     {"mode": "malformed_json", "status": 201}, "unknown", False,
     "may or may not"),
    ("malformed JSON in a 200", "oauth",
     {"mode": "malformed_json", "status": 200}, "unknown", False,
     "may or may not"),
    ("200 with an errors array", "oauth", {"mode": "errors_200"}, "failed",
     False, "refused"),
    ("oversized answer (2 MiB, limit 1 MiB)", "oauth",
     {"mode": "oversized", "status": 201, "bytes": 2 << 20}, "unknown", False,
     "too large"),
    ("none", "cookie", None, "posted", True, None),
    ("connection closed after the request (refuse)", "cookie",
     {"mode": "refuse"}, "unknown", False, "may or may not"),
    ("reset after the request, processed", "cookie",
     {"mode": "reset_after_request", "process": True}, "unknown", True,
     "may or may not"),
    ("timeout (answer after 2.5 s, limit 2 s)", "cookie",
     {"mode": "delay", "seconds": 2.5}, "unknown", True, "may or may not"),
    ("HTTP 500", "cookie", {"mode": "status", "status": 500}, "unknown",
     False, "may or may not"),
    ("429 with x-rate-limit-reset", "cookie",
     {"mode": "rate_limit", "reset": True, "reset_in": RESET_IN},
     "rate_limited", False, "goes out again"),
    ("200 with error 226 (automated)", "cookie",
     {"mode": "errors_200", "code": 226}, "failed", False, "automated"),
    ("200 with error 187 (duplicate)", "cookie",
     {"mode": "errors_200", "code": 187}, "failed", False, "duplicate"),
    ("200 with error 344 (daily limit)", "cookie",
     {"mode": "errors_200", "code": 344}, "failed", False, "daily"),
    ("401 with error 32", "cookie",
     {"mode": "status", "status": 401,
      "body": {"errors": [{"code": 32, "message":
                           "Could not authenticate you."}]}},
     "failed", False, "connect the channel again"),
    ("malformed JSON in a 200", "cookie", {"mode": "malformed_json"},
     "unknown", False, "may or may not"),
    ("oversized answer (2 MiB, limit 1 MiB)", "cookie",
     {"mode": "oversized", "bytes": 2 << 20}, "unknown", False, "too large"),
]

w = World(env={"SOSYABOT_X_TIMEOUT": "2",
               # The scheduler runs when this test says (publish-due).
               "SOSYABOT_WORKER_INTERVAL": "3600"})
fake, inst, mia = w.fake, w.inst, w.members["mia"]


class Pool:
    """Channels, and until when each one may not be used: a 429 spends
    its budget; a 401 needs a reconnect (done at once)."""

    def __init__(self):
        self.ch = {"oauth": [], "cookie": []}     # [(id, uid)]
        self.busy = {}                            # id -> monotonic time
        self.n = 90000

    def new(self, kind):
        self.n += 1
        uid = str(self.n)
        if kind == "oauth":
            assert w.oauth_connect(mia, uid).status == 303
        else:
            r, _, _ = w.cookie_connect(mia, uid)
            assert r.status == 303, r
        cid = w.channel_ids(mia)[f"u{uid}"]
        self.ch[kind].append((cid, uid))
        return cid, uid

    def take(self, kind):
        now = time.monotonic()
        for cid, uid in self.ch[kind]:
            if self.busy.get(cid, 0) <= now:
                return cid, uid
        return self.new(kind)

    def reconnect(self, kind, uid):
        if kind == "oauth":
            assert w.oauth_connect(mia, uid).status == 303
        else:
            r, _, _ = w.cookie_connect(mia, uid)
            assert r.status == 303, r


pool = Pool()
for _ in range(3):
    pool.new("oauth")
pool.new("cookie")
RECORDS = []        # every publish: dict(label, kind, text, post, ...)
TABLE = collections.OrderedDict()   # (label, kind) -> Counter of states
SEQ = [0]


def publish(label, kind, cid, uid, fault, text=None, expect_requests=1):
    """Publish one post to one channel under a fault; record it."""
    SEQ[0] += 1
    text = text or f"fault {SEQ[0]} {kind} {os.urandom(4).hex()}"
    if fault:
        fake.fault(path=API if kind == "oauth" else WEB, **fault)
    t0 = time.monotonic()
    r = api_post(mia, {"text": text, "channels": [cid]}, timeout=40)
    fake.clear_faults()
    assert r.status == 201, (label, r)
    p = r.json()["post"]
    rec = {"label": label, "kind": kind, "text": text, "post": p,
           "cid": cid, "uid": uid, "requests": expect_requests,
           "seconds": time.monotonic() - t0}
    RECORDS.append(rec)
    return rec


def sentence(reason):
    """A sentence for the user: words, not a code or a JSON dump."""
    return (bool(reason) and (reason[0].isupper() or reason[0] == "@")
            and len(reason.split()) >= 4 and "{" not in reason)


def run_case(label, kind, fault, state, creates, mention):
    if fault and fault.get("mode") == "rate_limit" and not fault.get("reset"):
        # Spent for 15 minutes: a channel of its own, so that the posts
        # of other cases on it can still go out after their reset.
        cid, uid = pool.new(kind)
    else:
        cid, uid = pool.take(kind)
    rec = publish(label, kind, cid, uid, fault)
    rec["creates"] = creates
    d = rec["post"]["deliveries"][0]
    TABLE.setdefault((label, kind), collections.Counter())[d["state"]] += 1
    assert d["state"] == state, (label, kind, d)
    if state == "posted":
        assert re.fullmatch(r"\d+", d["x_id"] or ""), d
    else:
        assert sentence(d["reason"]), (label, d["reason"])
        assert mention.lower() in d["reason"].lower(), (label, d["reason"])
    if state == "rate_limited":
        got = time.mktime(time.strptime(d["retry_at"], "%Y-%m-%dT%H:%M:%SZ")) \
            - time.timezone - time.time()
        want = RESET_IN if fault.get("reset") else 900
        assert want - 3 <= got <= want + 3, (label, d["retry_at"], got)
        pool.busy[cid] = time.monotonic() + got + 1
        rec["resend"] = fault.get("reset")
        if fault.get("reset") and kind == "oauth":
            # The budget X said is spent is kept without asking X again.
            n0 = len(fake.requests(API))
            rec2 = publish("429 budget spent: kept locally", kind, cid, uid,
                           None, expect_requests=0)
            d2 = rec2["post"]["deliveries"][0]
            TABLE.setdefault(("429 budget spent: kept locally", kind),
                             collections.Counter())[d2["state"]] += 1
            assert d2["state"] == "rate_limited" and sentence(d2["reason"]), d2
            assert len(fake.requests(API)) == n0, "a request with a spent budget"
            rec2["resend"] = True
    if fault and fault.get("status") == 401:
        st = {c["id"]: c["status"] for c in channels(mia)}
        assert st[cid] == "needs_reconnect", st
        pool.reconnect(kind, uid)
    return rec


def t_matrix():
    t0 = time.monotonic()
    for rnd in range(ROUNDS):
        for case in CASES:
            label, kind, fault = case[:3]
            # The slow ones (2 s each): every third round.
            if fault and fault.get("mode") == "delay" and rnd % 3:
                continue
            run_case(*case)
    # A duplicate for real: the same text twice on one channel.
    for kind in ("oauth", "cookie"):
        cid, uid = pool.take(kind)
        text = f"twice {kind} {os.urandom(4).hex()}"
        a = publish("same text twice", kind, cid, uid, None, text=text)
        b = publish("same text twice", kind, cid, uid, None, text=text)
        sa = a["post"]["deliveries"][0]
        sb = b["post"]["deliveries"][0]
        TABLE.setdefault(("same text twice (second)", kind),
                         collections.Counter())[sb["state"]] += 1
        assert sa["state"] == "posted", sa
        assert sb["state"] == "failed" and "duplicate" in sb["reason"], sb
        a["creates"] = True         # (b has the same text)
    # What X made of each one (a timed-out post appears late).
    time.sleep(0.6)
    made = collections.Counter(t["text"] for t in fake.timeline())
    for rec in RECORDS:
        if "creates" in rec:
            assert made[rec["text"]] == (1 if rec["creates"] else 0), \
                (rec["label"], rec["kind"], made[rec["text"]])
    note(f"{len(RECORDS)} publishes under faults in {time.monotonic() - t0:.1f} s, "
         f"{sum(len(v) for v in pool.ch.values())} channels used")


# --- TLS and a closed port: a second fake over https, a second instance ----

TLS = {}
TLS_TABLE = collections.OrderedDict()
TLS_RECORDS = []


def restart(ws, **env):
    ws.inst.env_values.update(env)
    for k in [k for k, v in ws.inst.env_values.items() if v is None]:
        del ws.inst.env_values[k]
    ws.inst.write_env()
    ws.inst.service("restart", "api")


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tls_thread():
    try:
        run_tls()
    except BaseException as e:      # reported by t_tls
        TLS["error"] = e
        import traceback
        TLS["trace"] = traceback.format_exc()


def t_tls():
    TLS["thread"].join(300)
    assert not TLS["thread"].is_alive(), "the TLS cases hang"
    if "error" in TLS:
        print(TLS["trace"])
        raise TLS["error"]
    TABLE.update(TLS_TABLE)
    RECORDS.extend(TLS_RECORDS)


def run_tls():
    t0 = time.monotonic()
    d = tempfile.mkdtemp(prefix="fakex-ca-")
    ca, cert, key = make_ca(d)
    tfake = Fake(cert, key, ca)
    assert tfake.url.startswith("https://127.0.0.1:"), tfake.url
    ws = World(fake=tfake, env={"SOSYABOT_CA_BUNDLE": ca,
                                "SOSYABOT_X_TIMEOUT": "2",
                                "SOSYABOT_WORKER_INTERVAL": "3600"})
    TLS["w"] = ws
    m = ws.members["mia"]
    assert ws.oauth_connect(m, "6001").status == 303
    cid = ws.channel_ids(m)["u6001"]

    def one(label, state, mention=None):
        text = f"tls {label} {os.urandom(4).hex()}"
        n0 = len(tfake.requests(API))
        r = api_post(m, {"text": text, "channels": [cid]})
        assert r.status == 201, r
        p = r.json()["post"]
        dd = p["deliveries"][0]
        TLS_TABLE.setdefault((label, "oauth"), collections.Counter())[
            dd["state"]] += 1
        TLS_RECORDS.append({"label": label, "kind": "oauth", "text": text,
                        "post": p, "cid": cid, "uid": "6001", "client": m,
                        "requests": 1 if state == "posted" else 0,
                        "fake": tfake})
        assert dd["state"] == state, (label, dd)
        if state != "posted":
            assert sentence(dd["reason"]) and mention in dd["reason"], dd
            assert len(tfake.requests(API)) == n0, "X got the request"
            assert text not in [t["text"] for t in tfake.timeline()]
        else:
            assert text in [t["text"] for t in tfake.timeline("6001")]

    one("TLS, certificate verified (SOSYABOT_CA_BUNDLE)", "posted")
    restart(ws, SOSYABOT_CA_BUNDLE=None)
    one("TLS, certificate from an unknown CA", "failed", "nothing was sent")
    host = tfake.url.replace("127.0.0.1", "localhost")
    restart(ws, SOSYABOT_CA_BUNDLE=ca, X_API_BASE_URL=host)
    one("TLS, certificate for another name", "failed", "nothing was sent")
    restart(ws, X_API_BASE_URL=f"http://127.0.0.1:{closed_port()}")
    one("connection refused (closed port)", "failed", "nothing was sent")
    restart(ws, X_API_BASE_URL=tfake.url)
    one("TLS, verified again after the failures", "posted")
    note(f"TLS and closed-port cases, with 4 restarts, in "
         f"{time.monotonic() - t0:.1f} s")


# --- after the matrix -------------------------------------------------------

def t_scheduler():
    """Once the short resets have passed, the scheduler sends the
    rate-limited posts once; it never resends unknown or failed ones."""
    wait = max([pool.busy[r["cid"]] for r in RECORDS if r.get("resend")
                and pool.busy.get(r["cid"], 0) - time.monotonic() < 60] or [0])
    time.sleep(max(0, wait - time.monotonic()))
    r = inst.ctl("publish-due")
    resent = 0
    for rec in RECORDS:
        if rec.get("fake"):
            continue
        d = get_post(mia, rec["post"]["id"])["deliveries"][0]
        before = rec["post"]["deliveries"][0]["state"]
        if rec.get("resend"):
            assert d["state"] == "posted", (rec["label"], d, r.stdout)
            rec["requests"] += 1
            resent += 1
        else:
            assert d["state"] == before, (rec["label"], before, d)
    note(f"publish-due sent {resent} rate-limited posts after their reset; "
         "unknown and failed ones stayed as they were")


def t_nothing_lost_or_doubled():
    stored = collections.defaultdict(list)       # text -> [delivery]
    want = collections.Counter()                 # text -> requests expected
    for rec in RECORDS:
        cl = rec.get("client", mia)
        p = get_post(cl, rec["post"]["id"])
        assert p["text"] == rec["text"], p
        for d in p["deliveries"]:
            assert d["state"] in STATES, d
            if d["state"] in ("failed", "unknown", "rate_limited"):
                assert sentence(d["reason"]), d
            stored[rec["text"]].append(d)
        want[rec["text"]] += rec["requests"]
    created = 0
    for f in [fake] + ([TLS["w"].fake] if "w" in TLS else []):
        for t in f.timeline():
            created += 1
            assert t["text"] in stored, ("X has a post we did not store", t)
            if not any(d["x_id"] == t["id"] or d["state"] == "unknown"
                       for d in stored[t["text"]]):
                raise AssertionError(("X's post not tied to a delivery", t,
                                      stored[t["text"]]))
        got = collections.Counter()
        for q in f.requests(API):
            got[(q.get("json") or {}).get("text")] += 1
        for q in f.requests(WEB):
            got[((q.get("json") or {}).get("variables") or {})
                .get("tweet_text")] += 1
        for text, n in got.items():
            assert n <= want[text], ("sent more often than published", text,
                                     n, want[text])
            assert n == want[text], ("a request is missing", text, n,
                                     want[text])
    note(f"{len(RECORDS)} publishes, {sum(len(v) for v in stored.values())} "
         f"deliveries stored; X created {created} posts, each with its "
         "stored delivery; no text reached X more often than it was "
         "published")
    assert len(RECORDS) >= (500 if LONG else 100), len(RECORDS)


def t_table():
    note("fault -> state (count)")
    note(f"{'fault':52} {'channel':7} states")
    for (label, kind), c in TABLE.items():
        note(f"{label:52} {kind:7} " +
             ", ".join(f"{s} {n}" for s, n in sorted(c.items())))
    if os.environ.get("VERBOSE"):
        per = collections.defaultdict(float)
        for r in RECORDS:
            per[r["label"]] += r.get("seconds", 0)
        for k, v in sorted(per.items(), key=lambda kv: -kv[1])[:8]:
            note(f"  {v:6.2f} s  {k}")
    slow = max(r.get("seconds", 0) for r in RECORDS)
    note(f"slowest publish answered in {slow:.1f} s (X timeout 2 s)")
    assert slow < 30, slow


def t_verify():
    for ws in [w] + ([TLS["w"]] if "w" in TLS else []):
        r = ws.inst.ctl("verify", check_rc=False)
        assert r.stdout.strip().endswith("ok"), (r.stdout, r.stderr)


try:
    # The TLS cases run on their own instance, beside the matrix.
    TLS["thread"] = threading.Thread(target=tls_thread, daemon=True)
    TLS["thread"].start()
    check(f"fault matrix, {ROUNDS} rounds: each fault its documented state",
          t_matrix)
    check("TLS not verified, wrong name, closed port: failed, nothing sent; "
          "verified: posted", t_tls)
    check("the scheduler resends rate-limited posts once, never unknown ones",
          t_scheduler)
    check("no post lost, none sent twice, every reason a sentence",
          t_nothing_lost_or_doubled)
    check("fault -> state table", t_table)
    check("Berkeley DB verify passes", t_verify)
finally:
    if "w" in TLS:
        TLS["w"].stop()
    w.stop()
finish()
