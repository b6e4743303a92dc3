#!/usr/bin/env python3
"""A hot backup under write load, on the real server named by $SERVER.

Writers run against a live instance (the admin saving the X credentials
over and over, members publishing to the fake X and scheduling posts)
while `./service.sh ctl backup DIR` runs.  The instance is stopped, the
backup restored into it, and it must hold every write acknowledged before
the backup started, verify, and publish again; then the same backup goes
into a second, fresh instance with the first one's key, and a rekey runs
on the restored instance while it serves.
"""
import json
import os
import shutil
import threading
import time

from harness import FakeX, Instance, check, finish

PAGE = "/admin/api-integration/x-twitter"
CLIENT_ID = "backup-client-0001"
SECRET = "backup-secret-" + os.urandom(4).hex()
PW = "member-password-1"
LOAD_BEFORE = 3.0       # seconds of writes before the backup starts
LOAD_AFTER = 2.0        # and after it has finished

fake = FakeX()
fake.call("POST", "/_fake/config", {"rate_limit_per_15min": 100000})
XENV = {"X_API_BASE_URL": fake.url, "X_WEB_BASE_URL": fake.url,
        "X_AUTHORIZE_URL": fake.url + "/i/oauth2/authorize"}
inst = Instance(XENV)
fake.call("POST", "/_fake/apps", {"client_id": CLIENT_ID, "client_secret": SECRET,
                                  "callback": inst.base + "/api/v1/auth/twitter/callback",
                                  "type": "confidential"})
for uid, name in (("5001", "bk_one"), ("5002", "bk_two")):
    fake.call("POST", "/_fake/users", {"id": uid, "username": name, "name": name})
inst.start()
inst.ctl("user", "add", "mia", "--workspace", "acme", input=PW + "\n")
inst.ctl("user", "add", "noor", "--workspace", "acme", input=PW + "\n")

adm = inst.client()
adm.login("admin", inst.password)
assert adm.post(PAGE, {"csrf": adm.session()["csrf"], "action": "save",
                       "client_id": CLIENT_ID, "client_secret": SECRET,
                       "status": "enable"}).status == 303
mia = inst.client()
mia.login("mia", PW)
for uid in ("5001", "5002"):
    assert mia.connect(fake, uid).status == 303
CH = [c["id"] for c in mia.get("/api/v1/channels", headers={
    "Accept": "application/json"}).json()["channels"]]
assert len(CH) == 2, CH

# The backups live in the instance directory, which the service user
# (who runs sosyabotctl under ./service.sh ctl) may write.
DIR = os.path.join(inst.var, "backup-under-load")


def json_post(client, csrf, doc):
    return client.post("/api/v1/posts", json.dumps(doc), ctype="application/json",
                       headers={"Accept": "application/json",
                                "X-CSRF-Token": csrf})


class Load:
    """Writer threads; each write is logged with when it was acknowledged.

    Sign-ins happen first, one at a time (each costs a scrypt); a write
    answered 503 (busy) was not acknowledged and is only counted."""

    def __init__(self):
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.posts = []         # (ack time, post id, text)
        self.saves = []         # (ack time, n): client_id "...-load-<n>"
        self.busy = 0
        self.errors = []
        self.threads = []

    def log(self, what, item):
        with self.lock:
            getattr(self, what).append(item)

    def refused(self, what, r):
        with self.lock:
            if r.status == 503:
                self.busy += 1
            else:
                self.errors.append(f"{what}: {r.status} {r.text[:200]}")

    @staticmethod
    def signed_in(user, password):
        c = inst.client()
        c.login(user, password)
        return c, c.session()["csrf"]

    def saver(self, c, csrf):
        n = 0
        while not self.stop.is_set():
            n += 1
            r = c.post(PAGE, {"csrf": csrf, "action": "save",
                              "client_id": f"{CLIENT_ID}-load-{n}",
                              "status": "enable"})
            if r.status == 303:
                self.log("saves", (time.time(), n))
            else:
                self.refused(f"save {n}", r)

    def publisher(self, c, csrf, tag, scheduled):
        n = 0
        while not self.stop.is_set():
            n += 1
            text = f"{tag} {n} {os.urandom(3).hex()}"
            doc = {"text": text, "channels": [CH[n % 2]]}
            if scheduled:
                doc["scheduled_at"] = time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
            r = json_post(c, csrf, doc)
            if r.status == 201:
                self.log("posts", (time.time(), r.json()["post"]["id"], text))
            else:
                self.refused(f"{tag} {n}", r)

    def guarded(self, fn, args):
        try:
            fn(*args)
        except Exception as e:  # reported by the case, not lost in a thread
            self.log("errors", f"{fn.__name__}: {e!r}")

    def start(self):
        work = [(self.saver, self.signed_in("admin", inst.password)),
                (self.publisher, self.signed_in("mia", PW) + ("now", False)),
                (self.publisher, self.signed_in("noor", PW) + ("later", True)),
                (self.publisher, self.signed_in("mia", PW) + ("sched", True))]
        self.threads = [threading.Thread(target=self.guarded, args=(fn, args))
                        for fn, args in work]
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)


load = Load()
BACKUP = {}


def t_backup_under_load():
    load.start()
    try:
        time.sleep(LOAD_BEFORE)
        BACKUP["start"] = time.time()
        r = inst.ctl("backup", DIR)
        BACKUP["end"] = time.time()
        BACKUP["out"] = r.stdout
        time.sleep(LOAD_AFTER)
    finally:
        load.finish()
    print("# " + r.stdout.strip().replace("\n", "\n# "))
    print(f"# backup took {BACKUP['end'] - BACKUP['start']:.2f} s under load; "
          f"{len(load.posts)} posts and {len(load.saves)} saves acknowledged, "
          f"{load.busy} answered 503")
    assert not load.errors, load.errors[:5]
    assert "The master key is not in this backup" in r.stdout, r.stdout
    assert os.path.exists(os.path.join(DIR, "sosyabot-backup"))
    assert not os.path.exists(os.path.join(DIR, "master.key"))
    before = [p for p in load.posts if p[0] < BACKUP["start"]]
    after = [p for p in load.posts if p[0] > BACKUP["end"]]
    assert len(before) >= 10 and after, (len(before), len(after))


def t_restore_refused_while_running():
    r = inst.ctl("restore", DIR, check_rc=False)
    assert r.returncode == 1, r
    assert "runs (pid" in r.stderr and "service.sh stop" in r.stderr, r.stderr
    assert not [n for n in os.listdir(inst.var) if n.startswith("previous-")]


def check_restored(target, client_factory):
    """Every write acknowledged before the backup started is in target."""
    # mia and noor share workspace acme: mia sees every post.
    c = client_factory()
    c.login("mia", PW)
    missing = []
    for at, pid, text in load.posts:
        if at >= BACKUP["start"]:
            continue
        r = c.get(f"/api/v1/posts/{pid}", headers={"Accept": "application/json"})
        if r.status != 200 or r.json()["post"]["text"] != text:
            missing.append(pid)
    assert not missing, f"{len(missing)} acknowledged posts missing: {missing[:10]}"
    # Posts acknowledged after the backup ended are not there: it is the
    # backup that was restored, not the live files.
    later = [pid for at, pid, _ in load.posts if at > BACKUP["end"]]
    gone = [pid for pid in later if c.get(
        f"/api/v1/posts/{pid}", headers={"Accept": "application/json"}).status == 404]
    assert gone, "every post written after the backup is there"
    # The credentials: the last save before the backup, or a later one.
    last = max(n for at, n in load.saves if at < BACKUP["start"])
    cid = target.ctl("options", "get", "x-twitter_client-id").stdout.strip()
    assert cid.startswith(CLIENT_ID + "-load-"), cid
    assert int(cid.rsplit("-", 1)[1]) >= last, (cid, last)
    v = target.ctl("verify", check_rc=False)
    assert v.returncode == 0 and v.stdout.strip() == "ok", (v.stdout, v.stderr)


def publish_works(target):
    c = target.client()
    c.login("mia", PW)
    r = json_post(c, c.session()["csrf"], {"text": "after restore " + os.urandom(3).hex(),
                                           "channels": [CH[0]]})
    assert r.status == 201, r
    d = r.json()["post"]["deliveries"][0]
    assert d["state"] == "posted", d


def t_restore_same_instance():
    inst.stop()
    t0 = time.time()
    r = inst.ctl("restore", DIR)
    print(f"# restore took {time.time() - t0:.2f} s")
    assert "is in place" in r.stdout, r.stdout
    prev = [n for n in os.listdir(inst.var) if n.startswith("previous-")]
    assert len(prev) == 1 and os.path.exists(os.path.join(inst.var, prev[0], "posts.db"))
    inst.start()
    check_restored(inst, inst.client)
    publish_works(inst)


second = Instance(XENV)


def t_restore_new_instance():
    second.start()
    second.stop()
    # Its own key does not open the backup: refused, nothing changed.
    r = second.ctl("restore", DIR, check_rc=False)
    assert r.returncode == 1 and "do not open with" in r.stderr, r.stderr
    # With the first instance's key in place (kept apart, as advised), it does.
    key = os.path.join(second.var, "master.key")
    st = os.stat(key)
    shutil.copyfile(os.path.join(inst.var, "master.key"), key)
    os.chown(key, st.st_uid, st.st_gid)
    os.chmod(key, 0o600)
    second.ctl("restore", DIR)
    fake.call("POST", "/_fake/apps", {"client_id": CLIENT_ID, "client_secret": SECRET,
                                      "callback": second.base + "/api/v1/auth/twitter/callback",
                                      "type": "confidential"})
    second.start()
    check_restored(second, second.client)
    publish_works(second)
    second.stop()


def t_rekey_while_serving():
    # Put the real client ID back, so that Test credentials means something.
    c = inst.client()
    c.login("admin", inst.password)
    assert c.post(PAGE, {"csrf": c.session()["csrf"], "action": "save",
                         "client_id": CLIENT_ID, "status": "enable"}).status == 303
    load2 = Load()
    load2.start()
    try:
        t0 = time.time()
        r = inst.ctl("rekey")
        took = time.time() - t0
    finally:
        load2.finish()
    print(f"# rekey took {took:.2f} s while serving: " + r.stdout.splitlines()[-2])
    assert not load2.errors, load2.errors[:5]
    assert "retired key 1" in r.stdout, r.stdout
    with open(os.path.join(inst.var, "master.key"), "rb") as f:
        assert f.read(8) == b"SBKEYS1\n"
    assert inst.ctl("verify").stdout.strip() == "ok"
    publish_works(inst)
    c.post(PAGE, {"csrf": c.session()["csrf"], "action": "save",
                  "client_id": CLIENT_ID, "status": "enable"})
    t = c.post(PAGE, {"csrf": c.session()["csrf"], "action": "test"})
    assert "X accepted these credentials" in t.text, t.text[:2000]


try:
    check("a backup taken while writers run", t_backup_under_load)
    check("restore is refused while the instance runs", t_restore_refused_while_running)
    check("restored in place: every write acknowledged before the backup is there",
          t_restore_same_instance)
    check("restored into a new instance with the first one's key",
          t_restore_new_instance)
    check("rekey while the restored instance serves writers", t_rekey_while_serving)
finally:
    inst.stop()
    second.stop()
    fake.stop()
    for d in (inst.dir, second.dir):
        shutil.rmtree(d, ignore_errors=True)
finish()
