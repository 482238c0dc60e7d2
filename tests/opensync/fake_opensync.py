#!/usr/bin/env python3
"""A faithful fake of OpenSync's HTTP actions, for the integration tests (Python stdlib only).

Written from docs/backend-protocols.md, part 2 (what OpenSync's code does, not what its
docs say), quirks included:

- Auth: `Authorization: Bearer osk_...`, the key NOT trimmed. No header -> 401 "Missing
  Authorization header"; an unknown osk_ key -> 401 "Invalid API key"; a bearer that is not an
  osk_ key goes to the JWT path -> 401 "Invalid or expired token".
- GET /health -> 200 without auth (it checks nothing). GET /sync/sessions/list -> {sessionIds}.
- POST /sync/session: externalId (or alias sessionId) else 400. Kept fields only; wrong types or
  `null` in an optional field -> 500 (Convex's v.optional rejects null). Upsert per (user,
  externalId); source defaults to "opencode"; tokens absolute and only written when > 0;
  createdAt only on insert; a write that changes none of title, model, projectPath, tokens
  within the session window (10 s) of the last write is a no-op (cost/duration lost).
- POST /sync/message: sessionExternalId, externalId, role (user|assistant|system|tool|unknown)
  required -> else 500. Parts exactly {type, content}: any other key -> 500. The message key is
  GLOBAL across users. A missing session is auto-created (with the message's source, default
  "opencode", and the arrival time as createdAt). A re-send within the message window (5 s) of
  creation is a no-op; a later one replaces the fields (?? semantics) and ALL parts. A new
  message bumps the session's messageCount and ADDS its tokens to the session's totals.
- POST /sync/batch: answered 200 with an `errors` array and nothing stored (the product must
  never use it; the request log shows whether it did).
- Anything else -> 404 "No matching routes found".

Test-only routes: GET /_test/state (sessions, messages with parts in arrival order, request log
with bodies), POST /_test/fault {"path", "status", "times", "error"?}, POST /_test/reset.

Usage: fake_opensync.py --key osk_... [--key ...] [--port 0] [--session-window-ms 10000]
       [--message-window-ms 5000]
Prints exactly one line `LISTENING http://127.0.0.1:<port>` when ready; exits when stdin closes.
"""

import argparse
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROLES = {"user", "assistant", "system", "tool", "unknown"}
SESSION_FIELDS = {
    "title": "string",
    "projectPath": "string",
    "projectName": "string",
    "model": "string",
    "provider": "string",
    "source": "string",
    "promptTokens": "number",
    "completionTokens": "number",
    "cost": "number",
    "durationMs": "number",
    "createdAt": "number",
}
MESSAGE_FIELDS = {
    "textContent": "string",
    "model": "string",
    "promptTokens": "number",
    "completionTokens": "number",
    "durationMs": "number",
    "source": "string",
    "createdAt": "number",
}


class ValidationError(Exception):
    """What Convex's argument validation throws; the action's catch turns it into a 500."""


def now_ms():
    return int(time.time() * 1000)


def is_type(value, kind):
    if kind == "string":
        return isinstance(value, str)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def optional_fields(body, spec):
    """The kept optional fields, validated as Convex would: absent is fine, null is not."""
    kept = {}
    for field, kind in spec.items():
        if field not in body:
            continue
        value = body[field]
        if value is None:
            raise ValidationError(f"ArgumentValidationError: Value does not match validator. Path: .{field} Value: null")
        if not is_type(value, kind):
            raise ValidationError(f"ArgumentValidationError: Path: .{field} Validator: v.{kind}()")
        kept[field] = value
    return kept


class State:
    def __init__(self, keys, session_window_ms, message_window_ms):
        self.lock = threading.Lock()
        self.keys = keys  # key -> user id
        self.session_window_ms = session_window_ms
        self.message_window_ms = message_window_ms
        self.reset()

    def reset(self):
        self.sessions = {}  # (user, externalId) -> doc
        self.messages = {}  # externalId (global) -> doc
        self.arrival = 0
        self.requests = []
        self.faults = []

    # --- /sync/session -------------------------------------------------------------------
    def upsert_session(self, user, body):
        external_id = body.get("externalId") or body.get("sessionId")
        if not external_id:
            return 400, {"error": "Missing externalId or sessionId"}
        if not isinstance(external_id, str):
            raise ValidationError("ArgumentValidationError: Path: .externalId Validator: v.string()")
        args = optional_fields(body, SESSION_FIELDS)
        now = now_ms()
        prompt = args.get("promptTokens", 0)
        completion = args.get("completionTokens", 0)
        existing = self.sessions.get((user, external_id))
        if existing is None:
            doc = {
                "user": user,
                "externalId": external_id,
                "title": args.get("title"),
                "projectPath": args.get("projectPath"),
                "projectName": args.get("projectName"),
                "model": args.get("model"),
                "provider": args.get("provider"),
                "source": args.get("source") or "opencode",
                "promptTokens": prompt,
                "completionTokens": completion,
                "totalTokens": prompt + completion,
                "cost": args.get("cost", 0),
                "durationMs": args.get("durationMs"),
                "messageCount": 0,
                "createdAt": args.get("createdAt", now),
                "updatedAt": now,
                "writes": 1,
                "noops": 0,
            }
            self.sessions[(user, external_id)] = doc
            return 200, {"ok": True, "sessionId": f"sess_{len(self.sessions)}"}

        changed = (
            any(k in args and args[k] != existing[k] for k in ("title", "model", "projectPath"))
            or (prompt > 0 and prompt != existing["promptTokens"])
            or (completion > 0 and completion != existing["completionTokens"])
        )
        if not changed and now - existing["updatedAt"] < self.session_window_ms:
            existing["noops"] += 1
            return 200, {"ok": True, "sessionId": "existing"}
        for key in ("title", "projectPath", "projectName", "model", "provider", "source", "cost", "durationMs"):
            if key in args and args[key] != existing[key]:
                existing[key] = args[key]
        if prompt > 0:
            existing["promptTokens"] = prompt
        if completion > 0:
            existing["completionTokens"] = completion
        existing["totalTokens"] = existing["promptTokens"] + existing["completionTokens"]
        existing["updatedAt"] = now
        existing["writes"] += 1
        return 200, {"ok": True, "sessionId": "existing"}

    # --- /sync/message -------------------------------------------------------------------
    def upsert_message(self, user, body):
        if not isinstance(body, dict):
            raise ValidationError("body is not an object")
        for required in ("sessionExternalId", "externalId"):
            if not isinstance(body.get(required), str):
                raise ValidationError(f"ArgumentValidationError: Path: .{required} Validator: v.string()")
        if body.get("role") not in ROLES:
            raise ValidationError("ArgumentValidationError: Path: .role Validator: v.union(...)")
        args = optional_fields(body, MESSAGE_FIELDS)
        parts = None
        if "parts" in body:
            parts = body["parts"]
            if not isinstance(parts, list):
                raise ValidationError("ArgumentValidationError: Path: .parts Validator: v.array()")
            for i, part in enumerate(parts):
                if not isinstance(part, dict) or set(part.keys()) != {"type", "content"}:
                    raise ValidationError(f"ArgumentValidationError: Object has extra or missing fields. Path: .parts[{i}]")
                if not isinstance(part["type"], str):
                    raise ValidationError(f"ArgumentValidationError: Path: .parts[{i}].type Validator: v.string()")

        now = now_ms()
        existing = self.messages.get(body["externalId"])  # global key: any user's message
        if existing is not None and now - existing["_creationTime"] < self.message_window_ms:
            existing["noops"] += 1
            return 200, {"ok": True, "messageId": "existing"}

        session = self.sessions.get((user, body["sessionExternalId"]))
        if session is None:
            session = {
                "user": user,
                "externalId": body["sessionExternalId"],
                "title": None,
                "projectPath": None,
                "projectName": None,
                "model": args.get("model"),
                "provider": None,
                "source": args.get("source") or "opencode",
                "promptTokens": 0,
                "completionTokens": 0,
                "totalTokens": 0,
                "cost": 0,
                "durationMs": None,
                "messageCount": 0,
                "createdAt": now,
                "updatedAt": now,
                "writes": 0,
                "noops": 0,
                "autoCreated": True,
            }
            self.sessions[(user, body["sessionExternalId"])] = session

        if existing is not None:
            for key in ("textContent", "model", "promptTokens", "completionTokens", "durationMs"):
                if args.get(key) is not None:
                    existing[key] = args[key]
            existing["parts"] = []
            existing["updates"] += 1
            message = existing
        else:
            self.arrival += 1
            message = {
                "user": user,
                "sessionExternalId": body["sessionExternalId"],
                "externalId": body["externalId"],
                "role": body["role"],
                "textContent": args.get("textContent"),
                "model": args.get("model"),
                "promptTokens": args.get("promptTokens"),
                "completionTokens": args.get("completionTokens"),
                "durationMs": args.get("durationMs"),
                "createdAt": args.get("createdAt", now),
                "_creationTime": now,
                "arrival": self.arrival,
                "parts": [],
                "updates": 0,
                "noops": 0,
            }
            self.messages[body["externalId"]] = message
            session["messageCount"] += 1
            session["promptTokens"] += args.get("promptTokens") or 0
            session["completionTokens"] += args.get("completionTokens") or 0
            session["totalTokens"] = session["promptTokens"] + session["completionTokens"]
            session["updatedAt"] = now
        if parts:
            message["parts"] = [{"type": p["type"], "content": p["content"]} for p in parts]
        return 200, {"ok": True, "messageId": f"msg_{message['arrival']}"}

    def snapshot(self):
        sessions = sorted(self.sessions.values(), key=lambda s: s["createdAt"])
        messages = sorted(self.messages.values(), key=lambda m: m["arrival"])
        return {"sessions": sessions, "messages": messages, "requests": self.requests}


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            # Headers and body are separate writes: without this, Nagle + delayed ACK add ~40 ms
            # to every reply on loopback.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args):
            pass

        def reply(self, status, payload, raw=None):
            data = raw if raw is not None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if raw is None else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return status

        def read_body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length).decode("utf-8", "replace") if length else ""

        def authenticate(self):
            header = self.headers.get("Authorization")
            if not header or not header.startswith("Bearer "):
                return None, (401, {"error": "Missing Authorization header"})
            token = header[len("Bearer "):]  # not trimmed, as upstream
            if not token.startswith("osk_"):
                return None, (401, {"error": "Invalid or expired token"})
            user = state.keys.get(token)
            if user is None:
                return None, (401, {"error": "Invalid API key"})
            return user, None

        def handle_any(self, method):
            path = self.path.split("?", 1)[0]
            body_text = self.read_body() if method == "POST" else ""
            with state.lock:
                status = self.route(method, path, body_text)
                if not path.startswith("/_test/"):
                    state.requests.append({
                        "method": method,
                        "path": path,
                        "status": status,
                        "authorization": self.headers.get("Authorization") is not None,
                        "body": body_text,
                    })

        def route(self, method, path, body_text):
            if path.startswith("/_test/"):
                return self.test_route(method, path, body_text)
            if method == "GET" and path == "/health":
                return self.reply(200, {"status": "ok", "timestamp": now_ms()})
            known = {("POST", "/sync/session"), ("POST", "/sync/message"), ("POST", "/sync/batch"),
                     ("GET", "/sync/sessions/list")}
            if (method, path) not in known:
                return self.reply(404, None, raw=b"No matching routes found")
            user, error = self.authenticate()
            if error:
                return self.reply(*error)
            for fault in state.faults:
                if fault["path"] == path and fault["times"] > 0:
                    fault["times"] -= 1
                    return self.reply(fault["status"], {"error": fault.get("error", "injected fault")})
            if path == "/sync/sessions/list":
                ids = [s["externalId"] for s in state.sessions.values() if s["user"] == user]
                return self.reply(200, {"sessionIds": ids})
            try:
                body = json.loads(body_text)
            except ValueError as e:
                return self.reply(500, {"error": f"SyntaxError: {e}"})
            try:
                if path == "/sync/session":
                    if not isinstance(body, dict):
                        raise ValidationError("body is not an object")
                    return self.reply(*state.upsert_session(user, body))
                if path == "/sync/message":
                    return self.reply(*state.upsert_message(user, body))
                return self.reply(200, {"ok": True, "sessions": 0, "messages": 0,
                                        "errors": ["/sync/batch is not modelled by the fake"]})
            except ValidationError as e:
                return self.reply(500, {"error": f"Error: {e}"})

        def test_route(self, method, path, body_text):
            if method == "GET" and path == "/_test/state":
                return self.reply(200, state.snapshot())
            if method == "POST" and path == "/_test/fault":
                fault = json.loads(body_text)
                fault.setdefault("times", 1)
                state.faults.append(fault)
                return self.reply(200, {"ok": True})
            if method == "POST" and path == "/_test/reset":
                state.reset()
                return self.reply(200, {"ok": True})
            return self.reply(404, {"error": "unknown test route"})

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", action="append", default=[], help="an osk_ key; each key is one user")
    parser.add_argument("--session-window-ms", type=int, default=10_000)
    parser.add_argument("--message-window-ms", type=int, default=5_000)
    args = parser.parse_args()
    keys = {key: f"user_{i + 1}" for i, key in enumerate(args.key)}
    state = State(keys, args.session_window_ms, args.message_window_ms)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state))
    server.daemon_threads = True
    print(f"LISTENING http://127.0.0.1:{server.server_address[1]}", flush=True)

    def exit_with_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_with_stdin, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
