#!/usr/bin/env python3
"""Generates a deterministic tree of realistic Claude Code transcripts for benchmarks.

Layout as Claude Code writes it: <out>/projects/<slug>/<session>.jsonl, subagents in
<slug>/<session>/subagents/agent-<id>.jsonl. Lines mimic 2.1.3xx: queue-operation, user prompts,
attachments and api-request(-blob) bookkeeping, assistant replies split into one line per block
(thinking, text, tool_use) that all repeat the final usage, tool results with their
toolUseResult copy, system and last-prompt lines. Content has code, escapes and non-ASCII text.

Only "ordinary" sessions are generated (no <synthetic> lines, forks, agent_progress copies or
invalid UTF-8), so that a reference tool following simpler rules must find the same totals.
Cache writes carry a 5m breakdown equal to the flat field, and prompts stay under 200k tokens,
for the same reason. Usage: gen_transcripts.py OUT_DIR [TOTAL_MB] [BIG_MB...]
"""

import json
import os
import random
import sys
import uuid

MODELS = ["claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101", "claude-haiku-4-5-20251001"]
WORDS = (
    "the of and to in is that for it with as on was by this be are from or have an they which "
    "function return const let var if else while for match struct impl fn pub use mod crate self "
    "error result option some none ok err vec string path file read write test assert build run "
    "naïve café résumé — “quoted” ✓ 日本語 emoji 🤖 tab\tsep"
).split(" ")


def text_pool(rng, size):
    out, n = [], 0
    while n < size:
        if rng.random() < 0.08:
            piece = '\n    let x = "value";\n'
        elif rng.random() < 0.05:
            piece = "\\path\\to\\thing "
        else:
            piece = rng.choice(WORDS) + " "
        out.append(piece)
        n += len(piece)
    return "".join(out)


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.pool = text_pool(self.rng, 1 << 21)

    def text(self, lo, hi):
        n = self.rng.randint(lo, hi)
        start = self.rng.randrange(0, len(self.pool) - n)
        return self.pool[start:start + n]

    def uid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_session(g, path, session_id, cwd, target_bytes, agent_id=None):
    rng = g.rng
    model = rng.choice(MODELS)
    base = {"userType": "external", "entrypoint": "cli", "cwd": cwd, "sessionId": session_id,
            "version": "2.1.331", "gitBranch": "main"}
    if agent_id:
        base = dict(base, isSidechain=True, agentId=agent_id)
    else:
        base = dict(base, isSidechain=False)
    clock = 1_790_000_000_000 + rng.randrange(0, 10**10)
    size, turn, parent = 0, 0, None
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        def emit(obj):
            nonlocal size, clock
            clock += rng.randint(5, 4000)
            line = dumps(obj) + "\n"
            f.write(line)
            size += len(line.encode("utf-8"))

        def ts():
            s, ms = divmod(clock, 1000)
            import time as _t
            return _t.strftime("%Y-%m-%dT%H:%M:%S", _t.gmtime(s)) + ".%03dZ" % ms

        if not agent_id:
            emit({"type": "queue-operation", "operation": "enqueue", "timestamp": ts(), "sessionId": session_id,
                  "content": g.text(20, 200)})
        while size < target_bytes:
            turn += 1
            prompt = g.text(30, 1500)
            u = g.uid()
            emit(dict(base, parentUuid=parent, type="user", message={"role": "user", "content": prompt},
                      uuid=u, timestamp=ts(), promptSource="user", permissionMode="default"))
            parent = u
            for _ in range(rng.randint(1, 3)):
                a = g.uid()
                emit(dict(base, parentUuid=parent, type="attachment", uuid=a, timestamp=ts(),
                          attachment={"type": "prompt_snapshot", "systemPrompt": [g.text(1000, 8000)]}))
                parent = a
            emit({"type": "api-request-blob", "sessionId": session_id, "hash": "%064x" % rng.getrandbits(256),
                  "message": {"role": "user", "content": [{"type": "text", "text": g.text(2000, 30000)}]}})
            for m in range(rng.randint(1, 6)):
                tag = (agent_id or session_id.replace("-", ""))[:20]
                msg_id = "msg_%s_%d_%d" % (tag, turn, m)
                req = "req_%s_%d_%d" % (tag, turn, m)
                emit({"type": "api-request", "sessionId": session_id, "id": g.uid(), "timestamp": ts(),
                      "version": "2.1.331", "params": {"model": model, "max_tokens": 32000}})
                cc = rng.choice([0, 0, rng.randint(100, 20000)])
                usage = {"input_tokens": rng.randint(1, 5000), "cache_creation_input_tokens": cc,
                         "cache_read_input_tokens": rng.randint(0, 150000), "output_tokens": rng.randint(10, 3000),
                         "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
                         "service_tier": "standard",
                         "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": cc},
                         "inference_geo": "", "iterations": [], "speed": "standard"}
                blocks = []
                if rng.random() < 0.5:
                    blocks.append({"type": "thinking", "thinking": g.text(200, 3000), "signature": "sig" + g.uid()})
                blocks.append({"type": "text", "text": g.text(50, 2000)})
                tools = []
                for _ in range(rng.choice([0, 1, 1, 2])):
                    tid = "toolu_%s" % g.uid().replace("-", "")[:24]
                    kind = rng.choice(["Bash", "Write", "Read", "Edit"])
                    if kind == "Write":
                        inp = {"file_path": "/src/%s.rs" % g.text(3, 12).strip(), "content": g.text(500, 15000)}
                    elif kind == "Edit":
                        inp = {"file_path": "/src/lib.rs", "old_string": g.text(20, 400), "new_string": g.text(20, 400)}
                    elif kind == "Read":
                        inp = {"file_path": "/src/main.rs"}
                    else:
                        inp = {"command": g.text(5, 120), "description": g.text(5, 40)}
                    blocks.append({"type": "tool_use", "id": tid, "name": kind, "input": inp})
                    tools.append(tid)
                for block in blocks:
                    a = g.uid()
                    emit(dict(base, parentUuid=parent, type="assistant", uuid=a, timestamp=ts(), requestId=req,
                              message={"id": msg_id, "type": "message", "role": "assistant", "model": model,
                                       "content": [block], "stop_reason": "tool_use" if tools else "end_turn",
                                       "stop_sequence": None, "usage": usage}))
                    parent = a
                for tid in tools:
                    out = g.text(100, 30000)
                    r = g.uid()
                    emit(dict(base, parentUuid=parent, type="user", uuid=r, timestamp=ts(),
                              message={"role": "user", "content": [{"tool_use_id": tid, "type": "tool_result",
                                                                    "content": out, "is_error": rng.random() < 0.1}]},
                              toolUseResult={"stdout": out, "stderr": "", "interrupted": False}))
                    parent = r
            emit(dict(base, parentUuid=parent, type="system", subtype="turn_duration", durationMs=rng.randint(100, 90000),
                      uuid=g.uid(), timestamp=ts()))
            if not agent_id:
                emit({"type": "last-prompt", "lastPrompt": prompt[:200], "sessionId": session_id})
    return size


def main():
    out = sys.argv[1]
    total_mb = float(sys.argv[2]) if len(sys.argv) > 2 else 500
    big = [float(x) for x in sys.argv[3:]] or [150, 60]
    g = Gen(20261129)
    written = 0
    # A few very large sessions, in their own project (benchmarks can also read them alone).
    for i, mb in enumerate(big):
        sid = g.uid()
        written += write_session(g, os.path.join(out, "projects", "-home-dev-big", sid + ".jsonl"), sid,
                                 "/home/dev/big", int(mb * 1e6))
    n = 0
    while written < total_mb * 1e6:
        n += 1
        proj = "proj%02d" % (n % 20)
        sid = g.uid()
        d = os.path.join(out, "projects", "-home-dev-" + proj)
        target = int(min(g.rng.lognormvariate(12.4, 1.0), 8e6))
        written += write_session(g, os.path.join(d, sid + ".jsonl"), sid, "/home/dev/" + proj, target)
        if g.rng.random() < 0.3:
            agent = "a%016x" % g.rng.getrandbits(64)
            written += write_session(g, os.path.join(d, sid, "subagents", "agent-%s.jsonl" % agent), sid,
                                     "/home/dev/" + proj, target // 3, agent_id=agent)
    print("wrote %.1f MB in %d sessions under %s" % (written / 1e6, n + len(big), out))


if __name__ == "__main__":
    main()
