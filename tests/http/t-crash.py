#!/usr/bin/env python3
"""Crash durability on the real server named by $SERVER: 8 concurrent
writers (admin saves of the Client ID and of the cookie-connect queryId,
OAuth connects through the fake's auto-approving consent page, cookie
connects, publishes) while a driver SIGKILLs random CGI processes of the
instance (~30 kills; 200 with LONG=1).  Afterwards every write that was
acknowledged to a client (a 303 or 201 it received) is still there, every
sealed value opens, the Berkeley DB verify passes, nothing was sent to X
twice, and the next request after every crash succeeded."""
import collections
import os
import random
import re
import signal
import threading
import time

from harness import check, finish
from relkit import (CGI_RE, JSON, LONG, PAGE, STATES, World, api_post,
                    cgi_pids, channels, clone, csrf_of, elapsed, get_post,
                    note, text_requests)

KILLS = 200 if LONG else 30
KILL_DEADLINE = 600 if LONG else 90     # seconds, at most
TIMEOUT = 30                            # per request: none may hang
QID_KEY = "x-twitter_web-createtweet-queryid"

w = World(members=(("mia", "acme"), ("max", "beta")),
          env={"SOSYABOT_X_TIMEOUT": "5"})
fake, inst = w.fake, w.inst
mia, mx = w.members["mia"], w.members["max"]
# Channels the publishers post to, connected before the kills.
PUB = {}
for name, c, base in (("mia", mia, 71000), ("max", mx, 72000)):
    for k in range(3):
        assert w.oauth_connect(c, str(base + k), f"p{base + k}").status == 303
    r, _, _ = w.cookie_connect(c, str(base + 9), f"pc{base + 9}")
    assert r.status == 303, r
    PUB[name] = [ch["id"] for ch in channels(c)]


class Writer(threading.Thread):
    """One writer: attempts, what was acknowledged, and every other
    answer by status (or exception name)."""

    def __init__(self, name, step):
        super().__init__(name=name, daemon=True)
        self.step = step
        self.attempted, self.acked = [], []
        self.other = collections.Counter()
        self.hangs = []
        self.samples = {}
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                self.step(self)
            except TimeoutError:
                self.hangs.append((time.strftime("%H:%M:%S"), elapsed(t0)))
                self.other["timeout"] += 1
            except Exception as e:  # a killed CGI: reset, empty reply...
                self.other[type(e).__name__] += 1

    def answer(self, r, value, ok):
        if ok:
            self.acked.append(value)
        else:
            self.other[r.status] += 1
            self.samples.setdefault(r.status, re.sub(
                r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text))[-300:])


def admin_id(wr):
    """Saves of the Client ID, distinct values; each is an app the fake
    knows, so that connects keep working with whichever is stored."""
    c = wr.client
    value = f"crash-id-{len(wr.attempted) + 1:05d}"
    w.app(value)
    wr.attempted.append(value)
    r = c.post(PAGE, {"csrf": csrf_of(c), "action": "save",
                      "client_id": value, "status": "enable"},
               timeout=TIMEOUT)
    wr.answer(r, value, r.status == 303 and
              r.header("location", ) == inst.base + PAGE + "?n=saved")
    time.sleep(random.uniform(0.1, 0.4))


def admin_qid(wr):
    c = wr.client
    value = f"crashQid{len(wr.attempted) + 1:06d}"
    wr.attempted.append(value)
    r = c.post(PAGE, {"csrf": csrf_of(c), "action": "save_web",
                      "web_query_id": value}, timeout=TIMEOUT)
    wr.answer(r, value, r.status == 303)
    time.sleep(random.uniform(0.02, 0.1))


def oauth(wr):
    uid = str(wr.base + len(wr.attempted) + 1)
    handle = f"o{uid}"
    wr.attempted.append(handle)
    r = w.oauth_connect(wr.client, uid, handle, timeout=TIMEOUT)
    wr.answer(r, handle, r.status == 303 and
              (r.header("location") or "").endswith("?n=connected"))


def cookie(wr):
    uid = str(wr.base + len(wr.attempted) + 1)
    handle = f"k{uid}"
    wr.attempted.append(handle)
    r, _, _ = w.cookie_connect(wr.client, uid, handle, timeout=TIMEOUT)
    wr.answer(r, handle, r.status == 303 and
              "cookie_connected" in (r.header("location") or ""))


def publish(wr):
    text = f"crash {wr.name} {len(wr.attempted) + 1} {os.urandom(3).hex()}"
    chans = random.sample(wr.channels, random.choice((1, 1, 2)))
    wr.attempted.append(text)
    r = api_post(wr.client, {"text": text, "channels": chans},
                 timeout=TIMEOUT)
    if r.status == 201:
        wr.acked.append((r.json()["post"]["id"], text, sorted(chans)))
    else:
        wr.answer(r, text, False)


def writer(name, step, client, **attrs):
    wr = Writer(name, step)
    wr.client = clone(client)
    for k, v in attrs.items():
        setattr(wr, k, v)
    return wr


W = [writer("admin-id", admin_id, w.admin),
     writer("admin-qid", admin_qid, w.admin),
     writer("oauth-mia", oauth, mia, base=100000),
     writer("oauth-max", oauth, mx, base=200000),
     writer("cookie-mia", cookie, mia, base=300000),
     writer("cookie-max", cookie, mx, base=400000),
     writer("publish-mia", publish, mia, channels=PUB["mia"]),
     writer("publish-max", publish, mx, channels=PUB["max"])]
KILLED = collections.Counter()
PROBES = []            # (status or exception, seconds) after each kill
SCHEDULED = []         # (post id, text) the write probes stored
NEXT_YEAR = time.strftime("%Y-%m-%dT10:00:00Z",
                          time.gmtime(time.time() + 366 * 86400))
MISSED = [0]


def gone(pid):
    """The process has exited (gone, or a zombie its server will reap)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def driver():
    """SIGKILL a random CGI of the instance, at a random moment of its
    life; once it is dead, the next request must succeed: a read, or a
    write (a post scheduled for next year), in turn."""
    probe = clone(mia)
    stop = time.monotonic() + KILL_DEADLINE
    while sum(KILLED.values()) < KILLS and time.monotonic() < stop:
        pids = cgi_pids(inst)
        if not pids:
            time.sleep(0.002)
            continue
        pid, prog = random.choice(pids)
        time.sleep(random.uniform(0, 0.02))
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            MISSED[0] += 1
            continue
        KILLED[prog] += 1
        t0 = time.monotonic()
        while not gone(pid) and elapsed(t0) < 2:
            time.sleep(0.001)
        t0 = time.monotonic()
        try:
            if len(PROBES) % 2:
                r = probe.get("/api/v1/channels", headers=JSON,
                              timeout=TIMEOUT)
                ok = r.status == 200
            else:
                text = f"probe {len(PROBES)} {os.urandom(3).hex()}"
                r = api_post(probe, {"text": text, "channels": PUB["mia"][:1],
                                     "scheduled_at": NEXT_YEAR},
                             timeout=TIMEOUT)
                ok = r.status == 201
                if ok:
                    SCHEDULED.append((r.json()["post"]["id"], text))
            PROBES.append((r.status if ok else f"{r.status} {r.text[:200]}",
                           elapsed(t0)))
        except Exception as e:
            PROBES.append((type(e).__name__, elapsed(t0)))
        time.sleep(random.uniform(0.05, 0.25 if LONG else 0.15))


def t_kill_phase():
    t0 = time.monotonic()
    for wr in W:
        wr.start()
    time.sleep(0.5)
    driver()
    for wr in W:
        wr.stop.set()
    for wr in W:
        wr.join(TIMEOUT + 10)
        assert not wr.is_alive(), f"{wr.name} hangs"
    note(f"{sum(KILLED.values())} SIGKILLs in {elapsed(t0):.1f} s "
         f"({', '.join(f'{k} {v}' for k, v in sorted(KILLED.items()))}; "
         f"{MISSED[0]} exited before the signal)")
    for wr in W:
        note(f"{wr.name}: {len(wr.attempted)} attempted, {len(wr.acked)} "
             f"acknowledged, other answers {dict(wr.other)}")
        if os.environ.get("VERBOSE"):
            for st, msg in wr.samples.items():
                note(f"   {st}: {msg}")
    assert sum(KILLED.values()) >= KILLS, "too few kills"
    assert all(wr.acked for wr in W), "a writer had nothing acknowledged"


def t_next_request():
    bad = [p for p in PROBES if p[0] not in (200, 201)]
    worst = max(s for _, s in PROBES)
    note(f"the next request after each of {len(PROBES)} kills (reads and "
         f"writes in turn): {len(PROBES) - len(bad)} succeeded, slowest "
         f"{worst:.2f} s")
    assert not bad, bad[:10]
    # A request in flight when a process died inside libdb holding a
    # mutex (the log's, during a commit) waits for its watchdog, which
    # ends it (never a hang for good); the client gave up at 30 s.
    held = [h for wr in W for h in wr.hangs]
    note(f"requests in flight at a kill that waited for their watchdog: "
         f"{len(held)}")
    assert len(held) <= sum(KILLED.values()), held
    # And a burst of parallel requests right after the last kill.
    res = []

    def one():
        try:
            res.append(clone(mia).get("/app/channels", timeout=10).status)
        except Exception as e:
            res.append(repr(e))
    th = [threading.Thread(target=one) for _ in range(16)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    assert res == [200] * 16, res


def t_watchdogs():
    """No CGI of the instance outlives its watchdog (110 s at most)."""
    old = []
    hz = os.sysconf("SC_CLK_TCK")
    with open("/proc/uptime") as f:
        up = float(f.read().split()[0])
    for pid, prog in cgi_pids(inst):
        try:
            with open(f"/proc/{pid}/stat") as f:
                start = int(f.read().rsplit(")", 1)[1].split()[19]) / hz
        except OSError:
            continue
        if up - start > 115:
            old.append((pid, prog, up - start))
    assert not old, old


def t_verify():
    r = inst.ctl("verify", check_rc=False)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), \
        (r.stdout, r.stderr)


def last_acked_or_later(wr, stored):
    i = wr.attempted.index(wr.acked[-1])
    assert stored in wr.attempted[i:], (wr.name, stored, wr.acked[-1])


def t_saved_values():
    stored = inst.ctl("options", "get", "x-twitter_client-id").stdout.strip()
    last_acked_or_later(W[0], stored)
    stored = inst.ctl("options", "get", QID_KEY).stdout.strip()
    last_acked_or_later(W[1], stored)


def t_connects():
    for wr in W[2:6]:
        listed = {c["handle"]: c for c in channels(wr.client)}
        lost = [h for h in wr.acked if h not in listed]
        assert not lost, (wr.name, lost)
        bad = [h for h in wr.acked if listed[h]["status"] != "active"]
        assert not bad, (wr.name, [(h, listed[h]["status"]) for h in bad])


STATE_COUNT = collections.Counter()


def t_publishes():
    for pid, text in SCHEDULED:
        p = get_post(mia, pid)
        assert p["text"] == text and p["scheduled_at"] == NEXT_YEAR, p
        assert [d["state"] for d in p["deliveries"]] == ["scheduled"], p
    for wr in W[6:]:
        for pid, text, chans in wr.acked:
            p = get_post(wr.client, pid)
            assert p["text"] == text, (pid, p)
            assert sorted(d["channel"] for d in p["deliveries"]) == chans, p
            for d in p["deliveries"]:
                assert d["state"] in STATES, d
                STATE_COUNT[d["state"]] += 1
                if d["state"] in ("failed", "unknown", "rate_limited"):
                    assert d["reason"], d
    note(f"acknowledged deliveries by state: {dict(STATE_COUNT)}")
    twice = {k: n for path in ("/2/tweets", "/i/api/graphql/*/CreateTweet")
             for k, n in text_requests(fake, path).items() if n > 1}
    assert not twice, list(twice.items())[:5]


def t_sealed_values_open():
    # The client secret (and the Client ID stored last) work with X.
    c = W[0].client
    r = c.post(PAGE, {"csrf": csrf_of(c), "action": "test"}, timeout=TIMEOUT)
    assert "X accepted these credentials" in r.text, r.text[-2000:]
    # Every channel's token or cookies: a post to each goes out.
    n = 0
    for cl in (mia, mx):
        ids = [ch["id"] for ch in channels(cl)]
        for i in range(0, len(ids), 16):
            batch = ids[i:i + 16]
            r = api_post(cl, {"text": f"after the crashes {os.urandom(4).hex()}",
                              "channels": batch}, timeout=60)
            assert r.status == 201, r
            states = {d["channel"]: (d["state"], d["reason"])
                      for d in r.json()["post"]["deliveries"]}
            assert all(s == "posted" for s, _ in states.values()), states
            n += len(batch)
    note(f"{n} channels posted with their sealed tokens or cookies after "
         "the crashes")


try:
    note(f"killing {CGI_RE} of this instance only; LONG={int(LONG)}")
    check(f"{KILLS} SIGKILLs during 8 concurrent writers", t_kill_phase)
    check("the next request after every crash succeeds; nothing hangs",
          t_next_request)
    check("no CGI outlives its watchdog", t_watchdogs)
    check("Berkeley DB verify passes", t_verify)
    check("saved options: the last acknowledged value or a later attempt",
          t_saved_values)
    check("every acknowledged connect is listed and active", t_connects)
    check("every acknowledged post exists in a documented state; "
          "none sent twice", t_publishes)
    check("every sealed value opens: test credentials, a post on every "
          "channel", t_sealed_values_open)
finally:
    w.stop()
finish()
