#!/usr/bin/env python3
"""A scripted fake of the Anthropic Messages API, for end-to-end tests with the real Claude Code.

Real Claude Code (run with ANTHROPIC_BASE_URL pointing here) sends its model requests to this
server. Each reply is decided from the request alone, so a scenario is deterministic:

- the scenario is named by a marker ``SCENARIO:<name>`` in the text of the newest user message
  that has one (the typed prompt, or a subagent's task prompt);
- the step is the number of ``tool_result`` blocks in the messages after that prompt;
- the turn is the number of user messages carrying a marker up to and including that prompt
  (1 on a fresh session, 2 after one ``--continue``), so tool_use ids stay unique in a
  conversation that replays a scenario.

Requests that carry no ``tools`` (side queries such as titles) and prompts without a marker get
a single text reply; an unknown scenario name gets a text reply saying so. A background
task's ``<task-notification>`` and a compaction request get fitting text replies whatever the
scenario. Only the Python 3.11 standard library is used.

Usage: fake_anthropic.py [--port 0] [--host 127.0.0.1] [--log requests.jsonl]
Prints exactly one line ``LISTENING http://127.0.0.1:<port>`` on stdout once it accepts
connections. Every request is appended to the log (JSON lines, credentials masked) together
with the reply it got, so a test can compute the exact token figures the client saw.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MARKER = re.compile(r"SCENARIO:([A-Za-z0-9_-]+)")
# Claude Code's compaction request (/compact, or auto-compaction) ends with this instruction and
# wants an <analysis> block followed by a <summary> block.
COMPACTION = "create a detailed summary of the conversation"
COMPACTION_USAGE = {"input_tokens": 6000, "output_tokens": 700,
                    "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
WORKDIR = re.compile(r"Primary working directory: ([^\n]+)")

# Fake secrets the scenarios make tools print or write. They have the shapes real scanners
# detect (AWS access key id, GitHub classic token, Stripe live key) but belong to nobody.
# tests/common/claude_code.rs mirrors them; the harness test proves the two agree.
SECRET_AWS_KEY = "AKIAQ7XN3VBTR5KLM2PW"
SECRET_GITHUB_TOKEN = "ghp_R8fK2mQ9xLp4Tt7Vw1Yz3Bc6Dn0Hj5Gs2Ea9"
SECRET_IN_FILE = "sk_live_51Hx9QpLmN4vB7cR2tY6wZ8kJ3fD0sA"


def text(t: str) -> dict:
    return {"type": "text", "text": t}


def thinking(t: str, signature: str) -> dict:
    return {"type": "thinking", "thinking": t, "signature": signature}


def tool(tool_id: str, name: str, tool_input: dict) -> dict:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}


def split_for_printf(secret: str) -> str:
    """A printf command that prints ``secret`` without the command line containing it whole,
    so a test can tell redaction of tool output from redaction of tool input."""
    half = len(secret) // 2
    return f"printf '%s%s\\n' {secret[:half]} {secret[half:]}"


# ---- scenarios ------------------------------------------------------------------------------
# A scenario maps (step, turn, workdir) to the content blocks of one assistant reply, or None
# once it has nothing more to say. The reply's stop_reason follows from its content.

def scenario_plain(step: int, turn: int, wd: str) -> list[dict] | None:
    return [text("Hello from the fake API.")] if step == 0 else None


def scenario_multi(step: int, turn: int, wd: str) -> list[dict] | None:
    tid = f"toolu_multi_{turn}_{step}"
    hello = f"{wd}/hello.txt"
    steps = [
        lambda: [text("Running a command."),
                 tool(tid, "Bash", {"command": "echo hello-from-bash", "description": "say hello"})],
        lambda: [tool(tid, "Write", {"file_path": hello, "content": "line one\nline two\n"})],
        lambda: [tool(tid, "Read", {"file_path": hello})],
        lambda: [tool(tid, "Edit", {"file_path": hello, "old_string": "line two",
                                    "new_string": "line 2", "replace_all": False})],
        lambda: [tool(tid, "Bash", {"command": "echo to-stderr >&2; exit 3",
                                    "description": "failing command"})],
        lambda: [tool(tid, "Bash", {"command": split_for_printf(SECRET_AWS_KEY) + "; "
                                    + split_for_printf(SECRET_GITHUB_TOKEN),
                                    "description": "print credentials"})],
        lambda: [tool(tid, "Write", {"file_path": f"{wd}/settings.env",
                                     "content": f"STRIPE_KEY={SECRET_IN_FILE}\nMODE=test\n"})],
        lambda: [text("Done: bash, write, read, edit, a failure, and two secrets.")],
    ]
    return steps[step]() if step < len(steps) else None


def scenario_thinking(step: int, turn: int, wd: str) -> list[dict] | None:
    tid = f"toolu_thinking_{turn}_{step}"
    if step == 0:
        return [thinking("I should run a shell command first.", f"sig_fake_{turn}_0"),
                text("Running a command."),
                tool(tid, "Bash", {"command": "echo thought-through", "description": "after thinking"})]
    if step == 1:
        return [thinking("The command worked.", f"sig_fake_{turn}_1"), text("Done thinking.")]
    return None


def scenario_agent(step: int, turn: int, wd: str) -> list[dict] | None:
    if step == 0:
        return [tool(f"toolu_agent_{turn}_0", "Agent", {
            "description": "probe subagent",
            "prompt": "SCENARIO:sub please run echo inside subagent",
            "subagent_type": "general-purpose",
            "run_in_background": False,
        })]
    if step == 1:
        return [text("Subagent finished; main done.")]
    return None


def scenario_agentbg(step: int, turn: int, wd: str) -> list[dict] | None:
    """A background subagent: in -p mode the turn ends first, then Claude Code sends a
    <task-notification> prompt (answered by the notification rule in reply_for)."""
    if step == 0:
        return [tool(f"toolu_agentbg_{turn}_0", "Agent", {
            "description": "background subagent",
            "prompt": "SCENARIO:sub please run echo inside subagent",
            "subagent_type": "general-purpose",
            "run_in_background": True,
        })]
    if step == 1:
        return [text("Started a background agent.")]
    return None


def scenario_sub(step: int, turn: int, wd: str) -> list[dict] | None:
    """What the subagent started by scenario_agent does."""
    if step == 0:
        return [tool(f"toolu_sub_{turn}_0", "Bash", {"command": "echo from-subagent",
                                                     "description": "subagent echo"})]
    if step == 1:
        return [text("Subagent result: from-subagent")]
    return None


SCENARIOS = {
    "plain": scenario_plain,
    "multi": scenario_multi,
    "thinking": scenario_thinking,
    "agent": scenario_agent,
    "agentbg": scenario_agentbg,
    "sub": scenario_sub,
}


# ---- reading the request --------------------------------------------------------------------

def user_texts(message: dict) -> list[str]:
    """Top-level text of a user message (a string, or its text blocks; never tool results)."""
    if message.get("role") != "user":
        return []
    content = message.get("content")
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    return []


def find_workdir(value) -> str | None:
    """The session's working directory, from the environment section Claude Code puts in the
    request ("Primary working directory: /path"); a scenario needs it for absolute file paths."""
    if isinstance(value, str):
        m = WORKDIR.search(value)
        return m.group(1).strip() if m else None
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        found = find_workdir(child)
        if found:
            return found
    return None


def plan(body: dict) -> tuple[str, int, int, str]:
    """(scenario, step, turn, workdir) for a /v1/messages request."""
    messages = body.get("messages") or []
    prompt_index, scenario, turn = -1, "plain", 0
    for i, message in enumerate(messages):
        for t in user_texts(message):
            m = MARKER.search(t)
            if m:
                prompt_index, scenario = i, m.group(1)
                turn += 1
                break
    step = 0
    for message in messages[prompt_index + 1:]:
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, list):
            step += sum(1 for b in content if isinstance(b, dict) and b.get("type") == "tool_result")
    workdir = find_workdir([body.get("system"), messages]) or "/nonexistent-workdir"
    if not body.get("tools"):
        return ("side", 0, max(turn, 1), workdir)
    return (scenario, step, max(turn, 1), workdir)


def reply_for(body: dict, counter: int) -> dict:
    """The whole assistant message answering a /v1/messages request."""
    scenario, step, turn, workdir = plan(body)
    users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
    last_user = user_texts(users[-1]) if users else []
    if scenario == "side":
        content = [text("Fake side reply.")]
    elif any("<task-notification>" in t for t in last_user):
        scenario, step = "notification", 0
        content = [text("The background task has finished.")]
    elif any(COMPACTION in t for t in last_user):
        scenario, step = "compaction", 0
        content = [text("<analysis>Fake analysis.</analysis>\n<summary>Fake summary of the session.</summary>")]
    elif scenario not in SCENARIOS:
        content = [text(f"fake API: unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")]
    else:
        content = SCENARIOS[scenario](step, turn, workdir) or [text("Nothing more to do.")]
    stop = "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
    # Distinct, realistic figures per step, so a sum over the wrong copies shows. A compaction
    # reads the whole conversation uncached and writes a long summary.
    usage = COMPACTION_USAGE if scenario == "compaction" else {
        "input_tokens": 1000 + 10 * step + turn,
        "output_tokens": 50 + 7 * step + 3 * len(content),
        "cache_creation_input_tokens": 200 + 5 * step,
        "cache_read_input_tokens": 3000 + 100 * step,
    }
    return {
        "id": f"msg_fake_{scenario}_{turn}_{step}_{counter}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or "claude-sonnet-4-5",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage,
        "_plan": {"scenario": scenario, "step": step, "turn": turn, "workdir": workdir},
    }


def sse_events(message: dict) -> list[tuple[str, dict]]:
    """The standard streaming event sequence for one assistant message."""
    usage = message["usage"]
    start = {k: v for k, v in message.items() if not k.startswith("_")}
    start.update(content=[], stop_reason=None, stop_sequence=None,
                 usage={**usage, "output_tokens": 1})
    events = [("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            head, delta = {"type": "text", "text": ""}, {"type": "text_delta", "text": block["text"]}
            extra = []
        elif block["type"] == "thinking":
            head = {"type": "thinking", "thinking": "", "signature": ""}
            delta = {"type": "thinking_delta", "thinking": block["thinking"]}
            extra = [{"type": "signature_delta", "signature": block["signature"]}]
        else:
            head = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            extra = []
        events.append(("content_block_start",
                       {"type": "content_block_start", "index": index, "content_block": head}))
        for d in [delta, *extra]:
            events.append(("content_block_delta",
                           {"type": "content_block_delta", "index": index, "delta": d}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
        "usage": {"output_tokens": usage["output_tokens"]},
    }))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


# ---- HTTP -----------------------------------------------------------------------------------

SECRET_HEADERS = {"x-api-key", "authorization", "cookie"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-anthropic/1"

    def log_message(self, fmt, *args):  # keep stderr quiet; the JSONL log has everything
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", f"req_fake_{self.server.next_id()}")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, kind: str, message: str) -> None:
        self._send_json(status, {"type": "error", "error": {"type": kind, "message": message}})

    def _record(self, method: str, raw: bytes, reply: dict | None, status: int) -> None:
        headers = {k.lower(): ("<masked>" if k.lower() in SECRET_HEADERS else v)
                   for k, v in self.headers.items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.server.record({"time": time.time(), "method": method, "path": self.path,
                            "status": status, "headers": headers, "body": body, "reply": reply})

    def do_GET(self):
        path = urlsplit(self.path).path
        self._record("GET", b"", None, 200)
        if path == "/v1/models":
            self._send_json(200, {"data": [], "has_more": False, "first_id": None, "last_id": None})
        else:
            self._send_json(200, {"ok": True})

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self):
        path = urlsplit(self.path).path
        raw = self._body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._record("POST", raw, None, 400)
            return self._error(400, "invalid_request_error", "body is not JSON")
        if path == "/v1/messages/count_tokens":
            count = max(1, len(raw) // 4)
            self._record("POST", raw, {"input_tokens": count}, 200)
            return self._send_json(200, {"input_tokens": count})
        if path != "/v1/messages":
            self._record("POST", raw, None, 404)
            return self._error(404, "not_found_error", f"no route {path}")
        message = reply_for(body, self.server.next_id())
        self._record("POST", raw, message, 200)
        public = {k: v for k, v in message.items() if not k.startswith("_")}
        if not body.get("stream"):
            return self._send_json(200, public)
        chunks = b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
                          for name, data in sse_events(message))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("content-length", str(len(chunks)))
        self.send_header("request-id", f"req_fake_{self.server.next_id()}")
        self.end_headers()
        self.wfile.write(chunks)


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, log_path: str | None):
        super().__init__(address, Handler)
        self._lock = threading.Lock()
        self._counter = 0
        self._log = open(log_path, "a", encoding="utf-8") if log_path else None

    def next_id(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def record(self, entry: dict) -> None:
        if self._log is None:
            return
        with self._lock:
            self._log.write(json.dumps(entry) + "\n")
            self._log.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--log", help="append every request and its reply here (JSON lines)")
    args = parser.parse_args()
    server = FakeServer((args.host, args.port), args.log)
    host, port = server.server_address[:2]
    print(f"LISTENING http://{host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
