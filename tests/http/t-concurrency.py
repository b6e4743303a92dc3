#!/usr/bin/env python3
"""Concurrency on the real server named by $SERVER: 32 clients for 10 s
(60 s with LONG=1) over the admin, channels and publishing pages (page
views, admin saves, publishes to the fake X, JSON API calls).  Every
request gets its expected answer: no 5xx (lock contention is retried,
never surfaced as 503), no request slower than 30 s."""
import collections
import json
import os
import random
import threading
import time

from harness import check, finish
from relkit import (JSON, LONG, PAGE, World, api_post, clone, csrf_of,
                    elapsed, get_post, note)

CLIENTS = 32
SECONDS = 60 if LONG else 10
TIMEOUT = 30

w = World(members=(("mia", "acme"), ("max", "acme"), ("olga", "other")))
fake, inst = w.fake, w.inst
SESS = {"admin": w.admin, **w.members}
CH = {}
for name, base in (("mia", 81000), ("olga", 82000)):
    c = w.members[name]
    for k in range(4):
        assert w.oauth_connect(c, str(base + k)).status == 303
    r, _, _ = w.cookie_connect(c, str(base + 9))
    assert r.status == 303, r
    CH[name] = list(w.channel_ids(c).values())
CH["max"] = CH["mia"]           # same workspace
# Posts to read back, per workspace (another's is a 404).
SEED = {who: [api_post(w.members[who], {"text": f"seed {who} {i}",
                                        "channels": CH[who][:1]}
                       ).json()["post"]["id"] for i in range(3)]
        for who in ("mia", "olga")}
SEED["max"] = SEED["mia"]


def text():
    return f"load {os.urandom(6).hex()}"


# (name, weight, who, fn(client) -> (response, expected statuses))
def op_channels(c):
    return c.get("/app/channels", timeout=TIMEOUT), (200,)


def op_publishing(c):
    return c.get("/app/publishing", timeout=TIMEOUT), (200,)


def op_api_channels(c):
    return c.get("/api/v1/channels", headers=JSON, timeout=TIMEOUT), (200,)


def op_api_post_get(c):
    pid = random.choice(c.posts or SEED[c.who])
    return c.get(f"/api/v1/posts/{pid}", headers=JSON, timeout=TIMEOUT), (200,)


def op_session(c):
    return c.get("/api/v1/session", headers=JSON, timeout=TIMEOUT), (200,)


def op_login_page(c):
    return c.anon.get("/login", timeout=TIMEOUT), (200,)


def op_static(c):
    return c.anon.get("/static/app.css", timeout=TIMEOUT), (200,)


def op_admin_home(c):
    return c.get("/admin", timeout=TIMEOUT), (200,)


def op_admin_page(c):
    return c.get(PAGE, timeout=TIMEOUT), (200,)


def op_admin_save(c):
    r = c.post(PAGE, {"csrf": csrf_of(c), "action": "save",
                      "client_id": w.client_id, "status": "enable"},
               timeout=TIMEOUT)
    return r, (303,)


def op_admin_save_web(c):
    r = c.post(PAGE, {"csrf": csrf_of(c), "action": "save_web",
                      "web_query_id": "load" + os.urandom(4).hex()},
               timeout=TIMEOUT)
    return r, (303,)


def op_api_publish(c):
    r = api_post(c, {"text": text(), "channels": random.sample(
        c.channels, random.choice((1, 1, 2)))}, timeout=TIMEOUT)
    if r.status == 201:
        c.posts.append(r.json()["post"]["id"])
        c.published.append(r.json()["post"])
    return r, (201,)


def op_form_publish(c):
    r = c.post("/app/publishing", {"csrf": csrf_of(c), "text": text(),
                                   "channel": random.choice(c.channels),
                                   "action": "publish"}, timeout=TIMEOUT)
    return r, (303,)


def op_schedule(c):
    when = time.strftime("%Y-%m-%dT10:00:00Z",
                         time.gmtime(time.time() + 30 * 86400))
    r = api_post(c, {"text": text(), "channels": c.channels[:1],
                     "scheduled_at": when}, timeout=TIMEOUT)
    return r, (201,)


MEMBER_OPS = [(op_channels, 12), (op_publishing, 12), (op_api_channels, 10),
              (op_api_post_get, 8), (op_session, 4), (op_login_page, 4),
              (op_static, 2), (op_api_publish, 10), (op_form_publish, 4),
              (op_schedule, 3)]
ADMIN_OPS = [(op_admin_home, 3), (op_admin_page, 6), (op_admin_save, 4),
             (op_admin_save_web, 2), (op_channels, 2), (op_login_page, 1)]

LOCK = threading.Lock()
LAT = collections.defaultdict(list)     # op -> [seconds]
BAD = []                                # (op, status or exception, text)
COUNT = collections.Counter()


def worker(i, stop_at):
    who = "admin" if i % 8 == 0 else ("mia", "max", "olga")[i % 3]
    c = clone(SESS[who])
    c.anon = inst.client()
    c.channels = CH.get(who, [])
    c.posts, c.published, c.who = [], [], who
    ops = ADMIN_OPS if who == "admin" else MEMBER_OPS
    fns = [f for f, n in ops for _ in range(n)]
    rnd = random.Random(i)
    while time.monotonic() < stop_at:
        fn = rnd.choice(fns)
        t0 = time.monotonic()
        try:
            r, ok = fn(c)
            res = (r.status, r.text[:200]) if r.status not in ok else None
        except Exception as e:
            res = (type(e).__name__, str(e)[:200])
        dt = elapsed(t0)
        with LOCK:
            COUNT[fn.__name__] += 1
            LAT[fn.__name__].append(dt)
            if res:
                BAD.append((fn.__name__, *res))
    with LOCK:
        PUBLISHED.extend((who, p) for p in c.published)


PUBLISHED = []
RESULT = {}


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def t_load():
    stop_at = time.monotonic() + SECONDS
    t0 = time.monotonic()
    th = [threading.Thread(target=worker, args=(i, stop_at), daemon=True)
          for i in range(CLIENTS)]
    for t in th:
        t.start()
    for t in th:
        t.join(SECONDS + TIMEOUT + 30)
    wall = elapsed(t0)
    total = sum(COUNT.values())
    RESULT.update(total=total, wall=wall)
    all_lat = [x for v in LAT.values() for x in v]
    note(f"{CLIENTS} clients, {wall:.1f} s: {total} requests, "
         f"{total / wall:.0f} requests/s; latency p50 "
         f"{pct(all_lat, .5) * 1000:.0f} ms, p99 {pct(all_lat, .99) * 1000:.0f} "
         f"ms, max {max(all_lat):.2f} s")
    for name in sorted(COUNT):
        v = LAT[name]
        note(f"  {name[3:]:16} {COUNT[name]:6} p50 {pct(v, .5) * 1000:5.0f} ms"
             f"  p99 {pct(v, .99) * 1000:5.0f} ms  max {max(v) * 1000:6.0f} ms")
    fivexx = [b for b in BAD if isinstance(b[1], int) and b[1] >= 500]
    hangs = [b for b in BAD if not isinstance(b[1], int)]
    note(f"5xx: {len(fivexx)}, timeouts or errors: {len(hangs)}, other "
         f"unexpected answers: {len(BAD) - len(fivexx) - len(hangs)}")
    assert not any(t.is_alive() for t in th), "a client hangs"
    assert not BAD, BAD[:10]
    assert total > CLIENTS


def t_consistent():
    """What the publishes said they did is what is stored, and X got each
    post once."""
    n = 0
    for who, p in PUBLISHED:
        got = get_post(SESS[who], p["id"])
        assert got == p, (got, p)
        for d in got["deliveries"]:
            assert d["state"] == "posted", d
            n += 1
    per = collections.Counter()
    for q in fake.requests("/2/tweets"):
        per[(q["json"]["text"], q["headers"].get("authorization"))] += 1
    for q in fake.requests("/i/api/graphql/*/CreateTweet"):
        per[(q["json"]["variables"]["tweet_text"],
             q["headers"].get("cookie"))] += 1
    twice = [k for k, v in per.items() if v > 1]
    assert not twice, twice[:5]
    note(f"{len(PUBLISHED)} posts published through the API ({n} "
         f"deliveries) read back as answered; none sent twice")


def t_verify():
    r = inst.ctl("verify", check_rc=False)
    assert r.stdout.strip().endswith("ok"), (r.stdout, r.stderr)


try:
    check(f"{CLIENTS} clients for {SECONDS} s: no 5xx, nothing over "
          f"{TIMEOUT} s", t_load)
    check("published posts stored as answered, none sent twice",
          t_consistent)
    check("Berkeley DB verify passes after the load", t_verify)
finally:
    w.stop()
finish()
