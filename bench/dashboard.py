#!/usr/bin/env python3
"""The dashboard at scale: a store of 10,000 sessions and 1,000,000 events, served by the real
binary, timed from outside.

    cargo build --release && python3 bench/dashboard.py
    python3 bench/dashboard.py --sessions 2000 --events 200000 --rounds 20

The store is made with the binary's own schema (it creates it), then filled in SQL with rows of
the shapes the binary writes: session rows with transcript figures (40 projects, 10 branches,
4 models of which one has no price, 180 days), and per session ~100 outbox events: hook events
(session start, prompts, tool calls with Claude Code's durations, some failures, responses) and
transcript items (prompts, assistant texts with usage, tool_use / tool_result pairs, 1 in 10
with MCP tools). It is kept in .cache/ and reused while the parameters are unchanged.

Measured, each with the load average beside it:
  start       process start to the URL on stdout
  first view  a fresh headless Chromium page on a freshly started server: navigation start to
              the overview rendered (body[data-ready=true]); then the median of warm loads
              (bench/dashboard-render.mjs, needs chromium and npm ci)
  API         each endpoint --rounds times in turn: the first (cold) call and the p50/p95 of the
              rest, wall time of the HTTP request from this script
  RSS         the server's peak resident set (VmHWM) after all of the above
  reference   `claude-code-sync sessions --json` for the same store: the CLI path that prints
              the rows the overview sums (its wall time includes printing ~10k objects)

Writes the figures to .cache/bench-dashboard.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DAY = 86_400_000
MODELS = ["claude-opus-4-5-20251101", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "mystery-model-1"]
TOOLS = ["Bash", "Read", "Edit", "Write", "Grep", "Glob", "WebFetch", "Task"]
MCP = ["mcp__github__search_issues", "mcp__github__create_pr", "mcp__linear__list", "mcp__playwright__click"]
WORDS = ("fix the login bug in the session store and add a test for the redaction of keys while the "
         "hooks keep writing to the outbox with exact token figures per message naïve café").split()


def load() -> str:
    return "%.2f" % os.getloadavg()[0]


def words(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def build_store(data_dir: str, binary: str, n_sessions: int, n_events: int, seed: int = 7) -> None:
    marker = os.path.join(data_dir, "params.json")
    params = {"sessions": n_sessions, "events": n_events, "seed": seed, "v": 2}
    if os.path.exists(marker) and json.load(open(marker)) == params:
        return
    subprocess.run(["rm", "-rf", data_dir], check=True)
    os.makedirs(data_dir, mode=0o700)
    env = dict(os.environ, CLAUDE_SYNC_DATA_DIR=data_dir, HOME=data_dir)
    subprocess.run([binary, "sessions", "--json"], env=env, check=True, stdout=subprocess.DEVNULL)
    rng = random.Random(seed)
    db = sqlite3.connect(os.path.join(data_dir, "store.db"))
    db.execute("PRAGMA journal_mode=WAL")
    now = int(time.time() * 1000)
    per = n_events // n_sessions
    seq_events = []
    sessions = []
    for i in range(n_sessions):
        sid = "%08x-bench-4000-8000-%012x" % (i, rng.getrandbits(48))
        project = "project-%02d" % rng.randrange(40)
        branch = rng.choice(["main", "dev"] + ["feature-%d" % k for k in range(8)])
        model = MODELS[0 if rng.random() < 0.5 else 1 if rng.random() < 0.7 else 2 if rng.random() < 0.9 else 3]
        start = now - rng.randrange(180) * DAY - rng.randrange(DAY)
        meta = {"projectName": project, "workingDirectory": "/home/dev/" + project, "gitBranch": branch}
        turns = max(1, per // 20)
        tools_per_turn = max(1, (per - 1 - 4 * turns) // (3 * turns))
        t = start
        prompts = tool_calls = 0
        tok = [0, 0, 0, 0]
        events = []

        def ev(kind, payload, ts):
            events.append((sid, kind, ts, json.dumps(payload, separators=(",", ":"), ensure_ascii=False)))

        ev("session_start", dict(meta, model=model, startType="startup"), t)
        for turn in range(turns):
            t += rng.randrange(5_000, 60_000)
            text = words(rng, 5, 60)
            ev("user_prompt", dict(meta, detail={"prompt": {"text": text}}), t)
            ev("message", dict(meta, detail={"kind": "prompt", "role": "user", "text": text}), t)
            prompts += 1
            for k in range(tools_per_turn):
                t += rng.randrange(500, 8_000)
                mid = "msg_%d_%d_%d" % (i, turn, k)
                usage = {"input": rng.randrange(5, 3000), "output": rng.randrange(20, 900),
                         "cacheCreation": rng.randrange(0, 4000), "cacheRead": rng.randrange(0, 60000)}
                for j, key in enumerate(["input", "output", "cacheCreation", "cacheRead"]):
                    tok[j] += usage[key]
                tool = rng.choice(MCP) if rng.random() < 0.1 else rng.choice(TOOLS)
                tuid = "toolu_%d_%d_%d" % (i, turn, k)
                ev("message", dict(meta, model=model, detail={"kind": "tool_use", "messageId": mid, "role": "assistant",
                   "toolInput": {"command": words(rng, 2, 8)}, "toolName": tool, "toolUseId": tuid, "usage": usage}), t)
                dur = rng.randrange(20, 4_000)
                failed = rng.random() < 0.06
                ev("message", dict(meta, detail={"kind": "tool_result", "outcome": "error" if failed else "ok",
                   "resultChars": rng.randrange(10, 5000), "role": "user", "toolUseId": tuid}), t + dur)
                hook = {"toolName": tool, "toolUseId": tuid, "durationMs": dur}
                ev("tool_failure" if failed else "tool_use", dict(meta, detail=hook), t + dur + 5)
                tool_calls += 1
            t += rng.randrange(500, 8_000)
            reply = words(rng, 10, 120)
            usage = {"input": rng.randrange(5, 3000), "output": rng.randrange(20, 900), "cacheCreation": 0, "cacheRead": rng.randrange(0, 60000)}
            for j, key in enumerate(["input", "output", "cacheCreation", "cacheRead"]):
                tok[j] += usage[key]
            ev("message", dict(meta, model=model, detail={"kind": "text", "messageId": "msg_%d_%d_r" % (i, turn),
               "role": "assistant", "text": reply, "usage": usage}), t)
            ev("response_complete", dict(meta, detail={"lastAssistantMessage": reply}), t + 1)
        while len(events) < per:
            t += 100
            ev("pre_compact", dict(meta), t)
        priced = model != MODELS[3]
        cost = (tok[0] * 3 + tok[1] * 15 + tok[2] * 3.75 + tok[3] * 0.3) / 1e6 if priced else None
        sessions.append((sid, project, "/home/dev/" + project, branch, model, start, t, prompts, len(events), tool_calls,
                         tok[0], tok[1], tok[2], tok[3], cost, json.dumps([model]), now))
        seq_events.extend(events)
    with db:
        db.executemany(
            "INSERT INTO sessions (session_id, project_name, working_directory, git_branch, model, started_at, ended_at,"
            " prompt_count, message_count, tool_call_count, input_tokens, output_tokens, cache_creation_tokens,"
            " cache_read_tokens, cost_usd, models, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", sessions)
        db.executemany(
            "INSERT INTO outbox (event_id, session_id, event_type, timestamp, payload, created_at, state)"
            " VALUES (lower(hex(randomblob(16))), ?, ?, ?, ?, 0, 'delivered')", seq_events)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    json.dump(params, open(marker, "w"))


def start_server(binary: str, data_dir: str):
    env = dict(os.environ, CLAUDE_SYNC_DATA_DIR=data_dir, HOME=data_dir)
    for k in list(env):
        if k.startswith("CLAUDE_SYNC_") and k != "CLAUDE_SYNC_DATA_DIR":
            del env[k]
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary, "dashboard", "--no-open"], env=env, stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    return proc, url, (time.perf_counter() - t0) * 1000


def get(url: str) -> tuple[float, int]:
    req = urllib.request.Request(url, headers={"Host": url.split("/")[2]})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        body = r.read()
    return (time.perf_counter() - t0) * 1000, len(body)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(-(-p * len(s) // 1)) - 1))]


def vmhwm_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def render_times(url: str, runs: int) -> dict | None:
    script = os.path.join(ROOT, "bench", "dashboard-render.mjs")
    try:
        out = subprocess.run(["node", script, url, str(runs)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"first render not measured: {e}", file=sys.stderr)
        return None
    if out.returncode != 0:
        print(f"first render not measured: {out.stderr.strip()}", file=sys.stderr)
        return None
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "claude-code-sync"))
    ap.add_argument("--dir", default=os.path.join(ROOT, ".cache", "bench-dashboard"))
    args = ap.parse_args()

    t0 = time.perf_counter()
    build_store(args.dir, args.binary, args.sessions, args.events)
    db = sqlite3.connect(os.path.join(args.dir, "store.db"))
    n_sessions, = db.execute("SELECT COUNT(*) FROM sessions").fetchone()
    n_events, = db.execute("SELECT COUNT(*) FROM outbox").fetchone()
    ids = [r[0] for r in db.execute("SELECT session_id FROM sessions ORDER BY random() LIMIT ?", (args.rounds + 1,))]
    db.close()
    size_mb = sum(os.path.getsize(os.path.join(args.dir, f)) for f in os.listdir(args.dir) if f.startswith("store.db")) / 1e6
    print(f"store: {n_sessions} sessions, {n_events} events, {size_mb:.0f} MB ({time.perf_counter() - t0:.0f} s to make or check)")

    results: dict = {"sessions": n_sessions, "events": n_events, "store_mb": round(size_mb, 1), "load_start": load()}

    # First view on a freshly started server (cold: nothing read yet), then warm loads.
    proc, url, start_ms = start_server(args.binary, args.dir)
    results["start_ms"] = round(start_ms, 1)
    render = render_times(url, 5)
    results["render"] = render
    results["load_render"] = load()

    endpoints = {
        "overview": "api/overview",
        "overview?project": "api/overview?project=project-07",
        "sessions (page 1)": "api/sessions",
        "sessions?project&since": "api/sessions?project=project-07&since=2026-01-01",
        "sessions?branch&model": "api/sessions?branch=dev&model=claude-haiku-4-5-20251001",
        "sessions?q (text search)": "api/sessions?q=login%20bug",
        "session (detail)": None,
        "tools": "api/tools",
        "tools?project": "api/tools?project=project-07",
        "facets": "api/facets",
        "export csv": "api/export?format=csv",
        "export jsonl": "api/export?format=jsonl",
    }
    api = {}
    for name, path in endpoints.items():
        times = []
        for r in range(args.rounds + 1):
            p = path or f"api/session?id={ids[r % len(ids)]}"
            ms, _ = get(url + p)
            times.append(ms)
        rest = times[1:]
        api[name] = {"first_ms": round(times[0], 1), "p50_ms": round(statistics.median(rest), 1),
                     "p95_ms": round(pct(rest, 0.95), 1), "load": load()}
        print(f"{name:28s} first {times[0]:8.1f} ms  p50 {api[name]['p50_ms']:7.1f}  p95 {api[name]['p95_ms']:7.1f}  load {api[name]['load']}")
    results["api"] = api
    results["peak_rss_mb"] = round(vmhwm_mb(proc.pid), 1)
    proc.terminate()
    proc.wait()

    env = dict(os.environ, CLAUDE_SYNC_DATA_DIR=args.dir, HOME=args.dir)
    cli = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([args.binary, "sessions", "--json"], env=env, stdout=subprocess.DEVNULL, check=True)
        cli.append((time.perf_counter() - t) * 1000)
    results["cli_sessions_json_ms"] = round(statistics.median(cli), 1)

    os.makedirs(os.path.join(ROOT, ".cache"), exist_ok=True)
    json.dump(results, open(os.path.join(ROOT, ".cache", "bench-dashboard.json"), "w"), indent=2)
    print()
    print(f"| figure | value | target | load |")
    print(f"| --- | --- | --- | --- |")
    print(f"| server start (to URL on stdout) | {start_ms:.0f} ms | | {results['load_start']} |")
    if render:
        print(f"| first rendered overview, fresh server (cold) | {render['cold_ms']:.0f} ms | < 1000 ms | {results['load_render']} |")
        print(f"| rendered overview, warm (median of {len(render['warm_ms'])}) | {statistics.median(render['warm_ms']):.0f} ms | < 1000 ms | {results['load_render']} |")
    for name, a in api.items():
        print(f"| API {name}: p95 (p50; first call) | {a['p95_ms']:.0f} ms ({a['p50_ms']:.0f}; {a['first_ms']:.0f}) | < 100 ms | {a['load']} |")
    print(f"| server peak RSS (VmHWM) | {results['peak_rss_mb']:.0f} MB | < 60 MB | |")
    print(f"| reference: `sessions --json` (CLI, same rows), median of 5 | {results['cli_sessions_json_ms']:.0f} ms | | {load()} |")


if __name__ == "__main__":
    main()
