#!/usr/bin/env python3
"""fakex: a fake X (Twitter) for Sosyabot's tests.

One server plays api.x.com and x.com on a single loopback origin: the OAuth
consent page, the token, revoke, users/me and tweets endpoints, the web
endpoints that cookie connect uses, and a control API under /_fake/ that
tests drive (register apps and users, inject faults, read what was sent).
It behaves like the X API facts the project collected (see README.md here
for the control API).  Standard library only.

    fakex.py --port 0 [--state-file F] [--tls-cert C --tls-key K]
             [--watch-stdin]
    fakex.py --make-ca DIR

It prints one line "listening http://127.0.0.1:PORT" (https with TLS) once
it accepts connections.  It logs nothing (tokens pass through it).
"""

import argparse
import base64
import fnmatch
import hashlib
import html
import json
import os
import re
import secrets
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import unicodedata
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote_plus, urlsplit

WINDOW = 15 * 60
DAY = 24 * 60 * 60
MAX_REQUEST_BODY = 8 * 1024 * 1024

DEFAULT_CONFIG = {
    "expires_in": 7200,          # access token lifetime, seconds
    "code_ttl": 30,              # authorization code lifetime, seconds
    "auto_approve": False,       # consent page redirects at once
    "consent_user": None,        # user id the consent page acts as
    "rate_limit_per_15min": 100,  # POST /2/tweets per user
    "users_me_per_15min": 75,    # GET /2/users/me per user
    "app_limit_per_24h": 10000,  # POST /2/tweets per app
    "web_bearer": None,          # bearer the web endpoints want; None = any
    "query_id": None,            # CreateTweet queryId wanted; None = any
}

SCOPES = {
    "tweet.read": "Read Posts you can view, including from protected "
                  "accounts.",
    "tweet.write": "Post and repost for you.",
    "users.read": "Any account you can view, including protected accounts.",
    "offline.access": "Stay connected to your account until you revoke "
                      "access.",
    "media.write": "Upload media for you.",
    "follows.read": "People who follow you and people you follow.",
    "follows.write": "Follow and unfollow people for you.",
    "like.read": "Posts you have liked and likes you can view.",
    "like.write": "Like and un-like Posts for you.",
    "list.read": "Lists, list members, and list followers of lists you "
                 "created.",
    "bookmark.read": "Get Bookmarked Posts from an authenticated user.",
    "dm.read": "All your Direct Messages.",
    "dm.write": "Send and manage Direct Messages for you.",
}
# X lists granted scopes in its own order, not the order requested.
SCOPE_ORDER = ["tweet.write", "users.read", "tweet.read", "offline.access",
               "media.write", "follows.read", "follows.write", "like.read",
               "like.write", "list.read", "bookmark.read", "dm.read",
               "dm.write"]

PROBLEM = "https://api.twitter.com/2/problems/"
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank",
                "status": 401, "detail": "Unauthorized"}
BAD_CLIENT = {"error": "unauthorized_client",
              "error_description": "Missing valid authorization header"}

# Web (GraphQL / 1.1) error codes: HTTP status X pairs them with when it
# does not answer 200, and the message it sends.
WEB_ERRORS = {
    226: "Authorization: This request looks like it might be automated. To "
         "protect our users from spam and other malicious activity, we can't "
         "complete this action right now. Please try again later. (226)",
    344: "Authorization: You have reached your daily limit for sending posts "
         "and messages. Please try again later. (344)",
    353: "This request requires a matching csrf cookie and header.",
    187: "Authorization: Status is a duplicate. (187)",
    186: "Authorization: Tweet needs to be a bit shorter. (186)",
    32: "Could not authenticate you.",
    89: "Invalid or expired token.",
    37: "Authorization: Denied by access control: Missing "
        "LdapGroup(visibility-custom-suspension); (37)",
    64: "Your account is suspended and is not permitted to access this "
        "feature.",
    326: "Authorization: Denied by access control: To protect our users from "
         "spam and other malicious activity, this account is temporarily "
         "locked. Please log in to https://x.com to unlock your account. "
         "(326)",
    34: "Sorry, that page does not exist.",
    88: "Rate limit exceeded.",
    215: "Bad Authentication data.",
}

FAULT_MODES = {"status", "refuse", "reset_after_request", "delay",
               "malformed_json", "oversized", "errors_200", "rate_limit"}

TWEPOCH_MS = 1288834974657


def jdump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
        ".%03dZ" % int((t % 1) * 1000)


def s256(verifier):
    d = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(d).rstrip(b"=").decode("ascii")


def one(params, name):
    """The single value of a form/query parameter, or None."""
    v = params.get(name)
    return v[0] if v else None


# --- post length (twitter-text v3), lenient --------------------------------
# The product counts exactly before sending; the fake must never be
# stricter, so each URL counts at most 23 and each emoji sequence 2.

URL_RE = re.compile(r"(?:https?://)?(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}"
                    r"(?::\d+)?(?:/[^\s]*)?", re.I)


def light(cp):
    return (cp <= 0x10FF or 0x2000 <= cp <= 0x200D or
            0x2010 <= cp <= 0x201F or 0x2032 <= cp <= 0x2037)


def text_weight(text):
    text = unicodedata.normalize("NFC", text)
    total = 0
    pos = 0
    for m in URL_RE.finditer(text):
        total += _plain_weight(text[pos:m.start()])
        total += min(_plain_weight(m.group(0)), 2300)
        pos = m.end()
    return total + _plain_weight(text[pos:])


def _plain_weight(s):
    total = 0
    prev_joined = False
    ri_pending = False
    for ch in s:
        cp = ord(ch)
        # Joiners, variation selectors, keycaps, skin tones and tags ride
        # on the emoji before them.
        if cp == 0x200D:
            prev_joined = True
            continue
        if cp in (0xFE0F, 0xFE0E, 0x20E3) or 0x1F3FB <= cp <= 0x1F3FF or \
                0xE0020 <= cp <= 0xE007F:
            continue
        if prev_joined:
            prev_joined = False
            continue
        if 0x1F1E6 <= cp <= 0x1F1FF:     # regional indicator pairs: one flag
            if ri_pending:
                ri_pending = False
                continue
            ri_pending = True
        else:
            ri_pending = False
        total += 100 if light(cp) else 200
    return total


# --- state -------------------------------------------------------------------

class State:
    PERSIST = ("apps", "users", "cookies", "codes", "tokens", "revoked",
               "timeline", "faults", "config", "windows", "clock", "seq")

    def __init__(self, path):
        self.lock = threading.RLock()
        self.path = path
        self.clear()
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                saved = json.load(f)
            for k in self.PERSIST:
                if k in saved:
                    setattr(self, k, saved[k])
        self.posted = {(p["author_id"], p["text"]) for p in self.timeline}

    def clear(self):
        self.apps = {}
        self.users = {}
        self.cookies = {}
        self.codes = {}
        self.tokens = {}
        self.revoked = []
        self.timeline = []
        # (author, text) of every post: X's duplicate check, which must
        # not cost more as the timeline grows (bench/: publish-due).
        self.posted = set()
        self.faults = []
        self.config = dict(DEFAULT_CONFIG)
        self.windows = {}
        self.clock = 0.0
        self.seq = 0
        self.requests = []

    def now(self):
        return time.time() + self.clock

    def save(self):
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({k: getattr(self, k) for k in self.PERSIST}, f)
        os.replace(tmp, self.path)

    def take_fault(self, method, path):
        for f in self.faults:
            if f.get("method") and f["method"].upper() != method:
                continue
            if not fnmatch.fnmatchcase(path, f["path"]):
                continue
            if f["count"] > 0:
                f["count"] -= 1
                if f["count"] == 0:
                    self.faults.remove(f)
            return dict(f)
        return None

    def hit(self, name, who, limit, window):
        """Count one request in a fixed window; (limit, remaining, reset,
        over)."""
        key = "%s %s" % (name, who)
        now = self.now()
        w = self.windows.get(key)
        if w is None or now >= w[0] + window:
            w = [now, 0]
            self.windows[key] = w
        w[1] += 1
        return (limit, max(0, limit - w[1]), int(w[0] + window), w[1] > limit)

    def next_id(self):
        self.seq += 1
        ms = int(self.now() * 1000) - TWEPOCH_MS
        return str((ms << 22) | (self.seq & 0x3FFFFF))


S = None


# --- the handler -------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60

    def version_string(self):
        return "fakex"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle
        # and delayed ACKs add ~40 ms to an answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def handle(self):
        try:
            super().handle()
        except (OSError, ssl.SSLError):
            # Clients that time out, reject our certificate or drop an
            # oversized answer are part of the tests.
            self.close_connection = True

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    # -- plumbing --

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.send(411, {"error": "chunked bodies are not supported"})
            return None
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = -1
        if n < 0 or n > MAX_REQUEST_BODY:
            self.send(413, {"error": "bad Content-Length"})
            self.close_connection = True
            return None
        return self.rfile.read(n) if n else b""

    def send(self, status, body, ctype="application/json; charset=utf-8",
             headers=None):
        if isinstance(body, (dict, list)):
            body = jdump(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_html(self, status, title, inner):
        page = ("<!DOCTYPE html><html lang=\"en\"><head>"
                "<meta charset=\"utf-8\"><title>%s</title></head>"
                "<body><main>%s</main></body></html>"
                % (html.escape(title), inner))
        self.send(status, page, "text/html; charset=utf-8")

    def error_page(self, status, message):
        self.send_html(status, "X / Error",
                       "<h1>Something went wrong</h1><p id=\"error\">%s</p>"
                       % html.escape(message))

    def redirect(self, url):
        self.send(302, "<a href=\"%s\">%s</a>" % (html.escape(url),
                                                   html.escape(url)),
                  "text/html; charset=utf-8", {"Location": url})

    def form(self):
        ctype = self.headers.get("Content-Type", "")
        if not ctype.lower().startswith("application/x-www-form-urlencoded"):
            return {}
        return parse_qs(self.body.decode("utf-8", "replace"),
                        keep_blank_values=True)

    def json_body(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def basic_client(self):
        """The app whose credentials the Basic header carries, or None.
        Both halves are form-encoded before base64 (RFC 6749 2.3.1)."""
        auth = self.headers.get("Authorization", "")
        if not auth[:6].lower() == "basic ":
            return None
        try:
            raw = base64.b64decode(auth[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        cid, sep, secret = raw.partition(":")
        if not sep:
            return None
        cid, secret = unquote_plus(cid), unquote_plus(secret)
        app = S.apps.get(cid)
        if app is None or app["type"] != "confidential":
            return None
        if not secrets.compare_digest(app.get("client_secret", ""), secret):
            return None
        return app

    def bearer(self):
        auth = self.headers.get("Authorization", "")
        if auth[:7].lower() != "bearer ":
            return None
        return auth[7:].strip()

    def token_info(self):
        """The live token of the Bearer header, or None."""
        tok = self.bearer()
        t = S.tokens.get(tok) if tok else None
        if t is None or t["revoked"] or t["expires_at"] <= S.now():
            return None
        return t

    def record(self):
        hdrs = {}
        for k, v in self.headers.items():
            k = k.lower()
            hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
        entry = {"method": self.command, "path": self.req_path,
                 "query": self.query, "headers": hdrs,
                 "body": self.body.decode("utf-8", "replace"),
                 "time": S.now()}
        f = self.form()
        if f:
            entry["form"] = f
        if hdrs.get("content-type", "").startswith("application/json"):
            entry["json"] = self.json_body()
        S.requests.append(entry)

    # -- dispatch --

    def dispatch(self):
        u = urlsplit(self.path)
        self.req_path = u.path
        self.query = u.query
        self.args = parse_qs(u.query, keep_blank_values=True)
        self.body = self.read_body()
        if self.body is None:
            return
        if self.req_path.startswith("/_fake/"):
            with S.lock:
                self.control()
                S.save()
            return
        with S.lock:
            self.record()
            fault = S.take_fault(self.command, self.req_path)
            S.save()
        if fault and self.apply_fault(fault):
            return
        route = ROUTES.get((self.command, self.req_path))
        if route is None and self.command == "POST" and \
                GRAPHQL_RE.match(self.req_path):
            route = Handler.create_tweet_web
        if route is None:
            self.send(404, {"errors": [{"code": 34,
                                        "message": WEB_ERRORS[34]}]})
            return
        with S.lock:
            route(self)
            S.save()

    def apply_fault(self, f):
        """Answer as the fault says; False to go on and answer normally."""
        mode = f["mode"]
        if mode == "delay":
            time.sleep(float(f.get("seconds", 5)))
            return False
        if mode == "refuse":
            self.close_connection = True
            return True
        if mode == "reset_after_request":
            if f.get("process"):
                route = ROUTES.get((self.command, self.req_path))
                if route is None and self.command == "POST" and \
                        GRAPHQL_RE.match(self.req_path):
                    route = Handler.create_tweet_web
                if route:
                    self.wfile = _Discard()
                    with S.lock:
                        route(self)
                        S.save()
            # SO_LINGER 0 makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return True
        hdrs = dict(f.get("headers") or {})
        status = int(f.get("status", 200))
        if mode == "status":
            body = f.get("body")
            if body is None:
                body = {"title": "Fault", "detail": "Injected fault",
                        "type": "about:blank", "status": status}
            self.send(status, body, headers=hdrs)
        elif mode == "malformed_json":
            self.send(status, '{"data":{"id":"14458805484723',
                      headers=hdrs)
        elif mode == "oversized":
            n = int(f.get("bytes", 3 * 1024 * 1024))
            self.send(status, '{"data":"' + "x" * n + '"}', headers=hdrs)
        elif mode == "errors_200":
            self.send(200, f.get("body") or self.errors_body(f), headers=hdrs)
        elif mode == "rate_limit":
            reset = int(S.now() + float(f.get("reset_in", WINDOW)))
            hdrs.setdefault("x-rate-limit-limit", f.get("limit", 100))
            hdrs.setdefault("x-rate-limit-remaining", 0)
            if f.get("reset", True):
                hdrs.setdefault("x-rate-limit-reset", reset)
            if self.req_path.startswith("/2/"):
                body = {"title": "Too Many Requests",
                        "detail": "Too Many Requests",
                        "type": PROBLEM + "rate-limit-exceeded",
                        "status": 429}
            else:
                body = {"errors": [{"code": 88, "message": WEB_ERRORS[88]}]}
            self.send(429, f.get("body") or body, headers=hdrs)
        return True

    def errors_body(self, f):
        if self.req_path.startswith("/2/"):
            detail = f.get("detail", "Something went wrong.")
            return {"errors": [{"title": f.get("title", "Forbidden"),
                                "detail": detail,
                                "type": f.get("type", "about:blank")}]}
        code = int(f.get("code", 226))
        msg = f.get("message", WEB_ERRORS.get(code, "Error (%d)" % code))
        if GRAPHQL_RE.match(self.req_path):
            return graphql_error(code, msg)
        return {"errors": [{"code": code, "message": msg}]}

    # -- control API --

    def control(self):
        p = self.req_path
        m = self.command
        body = {}
        if m == "POST" and self.body.strip():
            body = self.json_body()
            if not isinstance(body, dict):
                self.send(400, {"error": "the body must be a JSON object"})
                return
        handler = CONTROL.get((m, p))
        if handler is None:
            self.send(404, {"error": "no such control endpoint"})
            return
        try:
            handler(self, body)
        except (KeyError, TypeError, ValueError) as e:
            self.send(400, {"error": "bad request: %s" % e})

    def c_reset(self, _):
        S.clear()
        self.send(200, {"reset": True})

    def c_apps(self, b):
        cid = b["client_id"]
        if not isinstance(cid, str) or not cid:
            raise ValueError("client_id")
        kind = b.get("type", "confidential")
        if kind not in ("confidential", "public"):
            raise ValueError("type must be confidential or public")
        cbs = b.get("callbacks") or [b["callback"]]
        if not all(isinstance(c, str) for c in cbs):
            raise ValueError("callback")
        app = {"client_id": cid, "client_secret": b.get("client_secret", ""),
               "callbacks": cbs, "type": kind,
               "name": b.get("name", "Sosyabot test app")}
        if kind == "confidential" and not app["client_secret"]:
            raise ValueError("a confidential app needs client_secret")
        S.apps[cid] = app
        self.send(201, {"app": app})

    def c_users(self, b):
        uid = b["id"]
        if not isinstance(uid, str) or not uid.isdigit():
            raise ValueError("id must be a numeric string")
        username = b.get("username", "user" + uid)
        user = {"id": uid, "username": username,
                "name": b.get("name", username)}
        S.users[uid] = user
        self.send(201, {"user": user})

    def c_cookies(self, b):
        if b["user_id"] not in S.users:
            raise ValueError("unknown user_id")
        c = {"auth_token": str(b["auth_token"]), "ct0": str(b["ct0"]),
             "user_id": b["user_id"]}
        S.cookies[c["auth_token"]] = c
        self.send(201, {"cookie": c})

    def c_tokens(self, b):
        uid = b["user_id"]
        if uid not in S.users:
            raise ValueError("unknown user_id")
        tok = b.get("token") or secrets.token_urlsafe(48)
        S.tokens[tok] = {
            "token": tok, "user_id": uid,
            "client_id": b.get("client_id", ""),
            "scope": b.get("scope", "tweet.write users.read tweet.read"),
            "expires_at": S.now() + float(b.get("expires_in",
                                                S.config["expires_in"])),
            "revoked": False}
        self.send(201, {"token": S.tokens[tok]})

    def c_faults(self, b):
        if b["mode"] not in FAULT_MODES:
            raise ValueError("mode must be one of " + ", ".join(
                sorted(FAULT_MODES)))
        f = dict(b)
        if not isinstance(f["path"], str):
            raise ValueError("path")
        # Fail here, not in the middle of a faulted request.
        f["count"] = int(f.get("count", 1))
        for k, conv in (("status", int), ("seconds", float), ("bytes", int),
                        ("reset_in", float), ("code", int)):
            if k in f:
                conv(f[k])
        if not isinstance(f.get("headers", {}), dict):
            raise ValueError("headers must be an object")
        S.faults.append(f)
        self.send(201, {"fault": f})

    def c_faults_get(self, _):
        self.send(200, {"faults": S.faults})

    def c_faults_clear(self, _):
        S.faults = []
        self.send(200, {"faults": []})

    def c_config(self, b):
        for k, v in b.items():
            if k not in DEFAULT_CONFIG:
                raise ValueError("unknown config key " + k)
            S.config[k] = v
        self.send(200, {"config": S.config})

    def c_config_get(self, _):
        self.send(200, {"config": S.config})

    def c_clock(self, b):
        S.clock += float(b.get("advance", 0))
        self.send(200, {"offset": S.clock, "now": S.now()})

    def c_requests(self, _):
        path = one(self.args, "path")
        method = one(self.args, "method")
        out = [r for r in S.requests
               if (path is None or fnmatch.fnmatchcase(r["path"], path)) and
               (method is None or r["method"] == method.upper())]
        self.send(200, {"requests": out})

    def c_requests_clear(self, _):
        S.requests = []
        self.send(200, {"requests": []})

    def c_timeline(self, _):
        uid = one(self.args, "user")
        posts = [p for p in S.timeline if uid is None or p["author_id"] == uid]
        self.send(200, {"data": posts[::-1]})

    def c_revoked(self, _):
        self.send(200, {"revoked": S.revoked})

    def c_state(self, _):
        self.send(200, {k: getattr(S, k) for k in State.PERSIST})

    # -- OAuth consent (x.com) --

    def check_authorize(self, q):
        """The app if the authorize parameters are good; else answers the
        error page itself and returns None."""
        app = S.apps.get(one(q, "client_id") or "")
        if app is None:
            self.error_page(400, "You weren't able to give access to the "
                            "App. Go back and try logging in again.")
            return None
        if one(q, "redirect_uri") not in app["callbacks"]:
            self.send_html(400, "X / Error",
                           "<h1>Something went wrong</h1><p id=\"error\">"
                           "Callback URL mismatch: the redirect_uri is not "
                           "a callback URL registered on this App.</p>")
            return None
        problem = None
        scope = one(q, "scope")
        state = one(q, "state")
        chal = one(q, "code_challenge") or ""
        if one(q, "response_type") != "code":
            problem = "response_type must be code."
        elif not scope or any(s not in SCOPES for s in scope.split(" ")):
            problem = "The scope is missing or invalid."
        elif state is None or len(state) > 500:
            problem = "state is missing or too long."
        elif one(q, "code_challenge_method") != "S256":
            problem = "code_challenge_method must be S256."
        elif not re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", chal):
            problem = "code_challenge is missing or invalid."
        if problem:
            self.error_page(400, problem)
            return None
        return app

    def authorize(self):
        app = self.check_authorize(self.args)
        if app is None:
            return
        q = {k: v[0] for k, v in self.args.items()}
        consent = S.config["consent_user"]
        if S.config["auto_approve"]:
            uid = consent or next(iter(S.users), None)
            if uid not in S.users:
                self.error_page(400, "No fake user to approve as.")
                return
            self.approve(app, q, uid)
            return
        hidden = "".join(
            "<input type=\"hidden\" name=\"%s\" value=\"%s\">"
            % (html.escape(k), html.escape(q.get(k, "")))
            for k in ("response_type", "client_id", "redirect_uri", "scope",
                      "state", "code_challenge", "code_challenge_method"))
        if consent in S.users:
            who = ("<p>Signed in as @%s</p><input type=\"hidden\" "
                   "name=\"user_id\" value=\"%s\">"
                   % (html.escape(S.users[consent]["username"]),
                      html.escape(consent)))
        else:
            opts = "".join("<option value=\"%s\">@%s</option>"
                           % (html.escape(u["id"]),
                              html.escape(u["username"]))
                           for u in S.users.values())
            who = ("<label>Account <select name=\"user_id\" id=\"user\">%s"
                   "</select></label>" % opts)
        scopes = "".join("<li data-scope=\"%s\">%s</li>"
                         % (html.escape(s), html.escape(SCOPES[s]))
                         for s in q["scope"].split(" "))
        self.send_html(
            200, "X / Authorize an app",
            "<h1 id=\"app\">%s wants to access your X account.</h1>"
            "<h2>Things this App can do</h2><ul id=\"scopes\">%s</ul>"
            "<form method=\"post\" action=\"/i/oauth2/authorize/decide\">"
            "%s%s<button type=\"submit\" name=\"decision\" value=\"approve\" "
            "id=\"approve\">Approve</button> <button type=\"submit\" "
            "name=\"decision\" value=\"deny\" id=\"deny\">Deny</button>"
            "</form>" % (html.escape(app["name"]), scopes, hidden, who))

    def decide(self):
        f = self.form()
        app = self.check_authorize(f)
        if app is None:
            return
        q = {k: v[0] for k, v in f.items()}
        if q.get("decision") == "approve":
            if q.get("user_id") not in S.users:
                self.error_page(400, "Pick an account.")
                return
            self.approve(app, q, q["user_id"])
        else:
            self.redirect(back(q["redirect_uri"],
                               "state=%s&error=access_denied"
                               % quote(q["state"], safe="")))

    def approve(self, app, q, uid):
        code = secrets.token_urlsafe(60)
        S.codes[code] = {"client_id": app["client_id"],
                         "redirect_uri": q["redirect_uri"],
                         "challenge": q["code_challenge"],
                         "scope": q["scope"], "user_id": uid,
                         "created": S.now(), "used": False}
        self.redirect(back(q["redirect_uri"], "state=%s&code=%s"
                           % (quote(q["state"], safe=""), code)))

    # -- api.x.com --

    def api(self, status, body, name, who, limit, window=WINDOW, extra=None):
        """Answer with the rate-limit headers of (name, who)."""
        lim, rem, reset, _ = S.hit(name, who, limit, window)
        h = {"x-rate-limit-limit": lim, "x-rate-limit-remaining": rem,
             "x-rate-limit-reset": reset}
        h.update(extra or {})
        self.send(status, body, headers=h)

    def limited(self, name, who, limit, window=WINDOW):
        """Count a request against an enforced limit: its rate-limit
        headers, or None after answering 429."""
        lim, rem, reset, over = S.hit(name, who, limit, window)
        h = {"x-rate-limit-limit": lim, "x-rate-limit-remaining": rem,
             "x-rate-limit-reset": reset}
        if not over:
            return h
        self.send(429, {"title": "Too Many Requests",
                        "detail": "Too Many Requests",
                        "type": PROBLEM + "rate-limit-exceeded",
                        "status": 429}, headers=h)
        return None

    def token(self):
        app = self.basic_client()
        who = app["client_id"] if app else "anon"
        if app is None:
            self.api(401, BAD_CLIENT, "token", who, 10000)
            return
        f = self.form()

        def bad(desc):
            self.api(400, {"error": "invalid_request",
                           "error_description": desc}, "token", who, 10000)

        if not one(f, "grant_type"):
            bad("Missing required parameter [grant_type].")
            return
        if one(f, "grant_type") != "authorization_code":
            # The fake never honours its refresh tokens (the product asks
            # for no offline.access): other grants fail like a bad value.
            bad("Value passed for the token was invalid.")
            return
        for p in ("code", "redirect_uri", "code_verifier"):
            if not one(f, p):
                bad("Missing required parameter [%s]." % p)
                return
        c = S.codes.get(one(f, "code"))
        if c is None or c["used"] or c["client_id"] != app["client_id"] or \
                S.now() > c["created"] + float(S.config["code_ttl"]):
            bad("Value passed for the authorization code was invalid.")
            return
        c["used"] = True       # single use, even when the rest is wrong
        if one(f, "redirect_uri") != c["redirect_uri"]:
            bad("Value passed for the redirect uri did not match the uri "
                "of the authorization code.")
            return
        if not secrets.compare_digest(s256(one(f, "code_verifier")),
                                      c["challenge"]):
            bad("Value passed for the code verifier did not match the code "
                "challenge.")
            return
        granted = [s for s in SCOPE_ORDER if s in c["scope"].split(" ")]
        tok = secrets.token_urlsafe(64)
        exp = int(S.config["expires_in"])
        S.tokens[tok] = {"token": tok, "user_id": c["user_id"],
                         "client_id": app["client_id"],
                         "scope": " ".join(granted),
                         "expires_at": S.now() + exp, "revoked": False}
        out = {"token_type": "bearer", "expires_in": exp,
               "access_token": tok, "scope": " ".join(granted)}
        if "offline.access" in granted:
            out["refresh_token"] = secrets.token_urlsafe(64)
        self.api(200, out, "token", who, 10000)

    def revoke(self):
        app = self.basic_client()
        who = app["client_id"] if app else "anon"
        if app is None:
            self.api(401, BAD_CLIENT, "revoke", who, 10000)
            return
        tok = one(self.form(), "token")
        if not tok:
            self.api(400, {"error": "invalid_request",
                           "error_description":
                           "Missing required parameter [token]."},
                     "revoke", who, 10000)
            return
        t = S.tokens.get(tok)
        # RFC 7009: an unknown token is not an error, it is simply gone.
        if t and t["client_id"] == app["client_id"] and not t["revoked"]:
            t["revoked"] = True
            S.revoked.append({"token": tok, "client_id": app["client_id"],
                              "user_id": t["user_id"], "time": S.now()})
        self.api(200, {"revoked": True}, "revoke", who, 10000)

    def users_me(self):
        t = self.token_info()
        if t is None:
            self.api(401, UNAUTHORIZED, "users_me", "anon", 10000)
            return
        h = self.limited("users_me", t["user_id"],
                         int(S.config["users_me_per_15min"]))
        if h is None:
            return
        if "users.read" not in t["scope"].split(" "):
            self.send(403, {"title": "Forbidden", "type": "about:blank",
                            "status": 403, "detail": "Forbidden"}, headers=h)
            return
        u = S.users[t["user_id"]]
        self.send(200, {"data": {"id": u["id"], "name": u["name"],
                                 "username": u["username"]}}, headers=h)

    def tweets(self):
        t = self.token_info()
        if t is None:
            self.api(401, UNAUTHORIZED, "tweets", "anon", 10000)
            return
        uid = t["user_id"]
        h = self.limited("tweets", uid, int(S.config["rate_limit_per_15min"]))
        if h is None:
            return
        app_lim = int(S.config["app_limit_per_24h"])
        _, app_rem, app_reset, app_over = S.hit(
            "tweets_app", t["client_id"], app_lim, DAY)
        h.update({"x-app-limit-24hour-limit": app_lim,
                  "x-app-limit-24hour-remaining": app_rem,
                  "x-app-limit-24hour-reset": app_reset})

        def answer(status, body):
            self.send(status, body, headers=h)

        if app_over:
            answer(429, {"title": "UsageCapExceeded",
                         "detail": "Usage cap exceeded: Daily limit",
                         "type": PROBLEM + "usage-capped", "status": 429})
            return
        if "tweet.write" not in t["scope"].split(" "):
            answer(403, {"title": "Forbidden", "type": "about:blank",
                         "status": 403, "detail": "Forbidden"})
            return
        b = self.json_body()
        text = b.get("text") if isinstance(b, dict) else None
        if not isinstance(text, str) or not text or \
                text_weight(text) > 28000:
            answer(400, {"errors": [{"parameters": {"text": [text]},
                                     "message": "Invalid text length"}],
                         "title": "Invalid Request",
                         "detail": "One or more parameters to your request "
                                   "was invalid.",
                         "type": PROBLEM + "invalid-request"})
            return
        if (uid, text) in S.posted:
            answer(403, {"detail": "You are not allowed to create a Tweet "
                                   "with duplicate content.",
                         "type": "about:blank", "title": "Forbidden",
                         "status": 403})
            return
        post = self.add_post(uid, text, "api", t["client_id"])
        answer(201, {"data": {"id": post["id"], "text": text,
                              "edit_history_tweet_ids": [post["id"]]}})

    def add_post(self, uid, text, via, client_id):
        post = {"id": S.next_id(), "text": text, "author_id": uid,
                "created_at": rfc3339(S.now()), "via": via,
                "client_id": client_id}
        S.timeline.append(post)
        S.posted.add((uid, text))
        return post

    # -- web endpoints (cookie connect) --

    def web_user(self):
        """The cookie session's user, or None after answering the error."""
        def fail(status, code):
            self.api(status, {"errors": [{"code": code,
                                          "message": WEB_ERRORS[code]}]},
                     "web", "anon", 10000)

        bearer = self.bearer()
        want = S.config["web_bearer"]
        if not bearer:
            fail(400, 215)
            return None
        if want is not None and bearer != want:
            fail(401, 89)
            return None
        jar = {}
        for part in self.headers.get("Cookie", "").split(";"):
            k, sep, v = part.strip().partition("=")
            if sep:
                jar[k] = v
        ct0 = jar.get("ct0")
        if not ct0 or self.headers.get("x-csrf-token") != ct0:
            fail(403, 353)
            return None
        c = S.cookies.get(jar.get("auth_token", ""))
        if c is None:
            fail(401, 32)
            return None
        if c["ct0"] != ct0:
            fail(403, 353)
            return None
        return S.users.get(c["user_id"])

    def verify_credentials(self):
        u = self.web_user()
        if u:
            self.api(200, {"id": int(u["id"]), "id_str": u["id"],
                           "name": u["name"], "screen_name": u["username"],
                           "protected": False, "verified": False},
                     "verify_credentials", u["id"], 75)

    def settings(self):
        u = self.web_user()
        if u:
            self.api(200, {"screen_name": u["username"], "protected": False,
                           "language": "en", "time_zone": None},
                     "settings", u["id"], 75)

    def create_tweet_web(self):
        u = self.web_user()
        if u is None:
            return
        qid = GRAPHQL_RE.match(self.req_path).group(1)
        want = S.config["query_id"]
        if want is not None and qid != want:
            self.api(404, {"errors": [{"message": "Query not found",
                                       "code": 34}]},
                     "graphql", u["id"], 10000)
            return
        b = self.json_body()
        v = b.get("variables") if isinstance(b, dict) else None
        text = v.get("tweet_text") if isinstance(v, dict) else None

        def err(code):
            self.api(200, graphql_error(code, WEB_ERRORS[code]),
                     "graphql", u["id"], 10000)

        if not isinstance(text, str):
            self.api(400, {"errors": [{"message": "Variable \"$tweet_text\" "
                                       "of required type \"String!\" was "
                                       "not provided."}]},
                     "graphql", u["id"], 10000)
            return
        if text_weight(text) > 28000:
            err(186)
            return
        if (u["id"], text) in S.posted:
            err(187)
            return
        post = self.add_post(u["id"], text, "web", "")
        self.api(200, {"data": {"create_tweet": {"tweet_results": {
            "result": {"rest_id": post["id"], "__typename": "Tweet",
                       "legacy": {"full_text": text, "id_str": post["id"],
                                  "user_id_str": u["id"]}}}}}},
            "graphql", u["id"], 10000)


class _Discard:
    """A wfile that swallows the answer of a request we then reset."""

    closed = False

    def write(self, b):
        return len(b)

    def flush(self):
        pass

    def close(self):
        pass


def back(redirect_uri, params):
    return redirect_uri + ("&" if "?" in redirect_uri else "?") + params


def graphql_error(code, msg):
    e = {"message": msg, "locations": [{"line": 18, "column": 3}],
         "path": ["create_tweet"], "code": code, "kind": "Permissions",
         "name": "AuthorizationError", "source": "Client",
         "tracing": {"trace_id": secrets.token_hex(8)}}
    e["extensions"] = {k: e[k] for k in ("name", "source", "code", "kind",
                                         "tracing")}
    return {"errors": [e], "data": {}}


GRAPHQL_RE = re.compile(r"^/i/api/graphql/([A-Za-z0-9_-]+)/CreateTweet$")

ROUTES = {
    ("GET", "/i/oauth2/authorize"): Handler.authorize,
    ("POST", "/i/oauth2/authorize/decide"): Handler.decide,
    ("POST", "/2/oauth2/token"): Handler.token,
    ("POST", "/2/oauth2/revoke"): Handler.revoke,
    ("GET", "/2/users/me"): Handler.users_me,
    ("POST", "/2/tweets"): Handler.tweets,
    ("GET", "/1.1/account/verify_credentials.json"):
        Handler.verify_credentials,
    ("GET", "/1.1/account/settings.json"): Handler.settings,
}

CONTROL = {
    ("POST", "/_fake/reset"): Handler.c_reset,
    ("POST", "/_fake/apps"): Handler.c_apps,
    ("POST", "/_fake/users"): Handler.c_users,
    ("POST", "/_fake/cookies"): Handler.c_cookies,
    ("POST", "/_fake/tokens"): Handler.c_tokens,
    ("POST", "/_fake/faults"): Handler.c_faults,
    ("GET", "/_fake/faults"): Handler.c_faults_get,
    ("POST", "/_fake/faults/clear"): Handler.c_faults_clear,
    ("POST", "/_fake/config"): Handler.c_config,
    ("GET", "/_fake/config"): Handler.c_config_get,
    ("POST", "/_fake/clock"): Handler.c_clock,
    ("GET", "/_fake/requests"): Handler.c_requests,
    ("POST", "/_fake/requests/clear"): Handler.c_requests_clear,
    ("GET", "/_fake/timeline"): Handler.c_timeline,
    ("GET", "/_fake/revoked"): Handler.c_revoked,
    ("GET", "/_fake/state"): Handler.c_state,
}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Quiet: name the failure without its message (which could carry
        # a token) so a bug in the fake still shows in the test log.
        etype, _, tb = sys.exc_info()
        if etype is None or issubclass(etype, (OSError, ssl.SSLError)):
            return
        while tb.tb_next:
            tb = tb.tb_next
        sys.stderr.write("fakex: internal error: %s at line %d\n"
                         % (etype.__name__, tb.tb_lineno))


def make_ca(d):
    """A test CA and a server certificate for 127.0.0.1 (IP only, so that
    https://localhost:PORT fails host verification)."""
    os.makedirs(d, exist_ok=True)

    def run(*args):
        subprocess.run(("openssl",) + args, check=True, cwd=d,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes")
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "3650", "-subj", "/CN=fakex test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "server.ext"), "w", encoding="ascii") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
        "-CAkey", "ca.key", "-set_serial", str(secrets.randbits(63)),
        "-days", "3650", "-extfile", "server.ext", "-out", "server.pem")
    for f in ("server.csr", "server.ext"):
        os.unlink(os.path.join(d, f))
    print("ca %s\ncert %s\nkey %s" % tuple(
        os.path.join(d, f) for f in ("ca.pem", "server.pem", "server.key")),
        flush=True)


def watch_stdin():
    # The test that started us holds our stdin; when it dies we go too.
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


def main():
    global S
    ap = argparse.ArgumentParser(description="A fake X for tests.")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--state-file")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--watch-stdin", action="store_true",
                    help="exit when standard input reaches end of file")
    ap.add_argument("--make-ca", metavar="DIR",
                    help="write a test CA and server certificate, then exit")
    a = ap.parse_args()
    if a.make_ca:
        make_ca(a.make_ca)
        return
    if bool(a.tls_cert) != bool(a.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    S = State(a.state_file)
    srv = Server((a.host, a.port), Handler)
    scheme = "http"
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        # The handshake runs in the connection's thread (Handler.setup),
        # so a client that never finishes it cannot stall accept().
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
        scheme = "https"
    if a.watch_stdin:
        threading.Thread(target=watch_stdin, daemon=True).start()
    print("listening %s://%s:%d" % (scheme, a.host, srv.server_address[1]),
          flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
