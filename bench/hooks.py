#!/usr/bin/env python3
"""Hook wall time and uploader drain rate, side by side with the Node plugin it replaces.

    python3 bench/hooks.py                 # everything: hooks in 3 backend states, then drain
    python3 bench/hooks.py --rounds 100 --node-rounds 20 --hole-rounds 3
    python3 bench/hooks.py --only hooks    # or --only drain

Hook wall time: every hook subcommand is run as Claude Code runs it, wall time measured around
the whole process (spawn, stdin, exit) from this script:
  ours  the binary itself, exec form, no shell: target/release/claude-code-sync <subcommand>
        (build it first)
  installed  the installed plugin as a marketplace install runs it: the program
        plugin/hooks/hooks.json names (the launcher, exec form) in a cache copy of plugin/,
        which execs the same binary placed where it downloads it, ${CLAUDE_PLUGIN_DATA}/bin/<version>/
  node  npm claude-code-sync@0.1.15, its own hooks config (`claude-code-sync setup`, README):
        command string run by bash:  bash -c 'claude-code-sync hook <Event>'
        (installed under .cache/node-plugin; it has 5 hooks: no PostToolUseFailure,
        SubagentStop or PreCompact)
  floor sh -c 'cat >/dev/null': what any command hook costs here (process start, stdin), so a
        figure can be read against the machine's load.
All get the same real payloads (tests/fixtures/claude-code/hook-payloads) with a real transcript
(tests/fixtures/claude-code/transcripts) as transcript_path, and are interleaved round by round, so load
changes on the machine hit both alike. Backend states:
  up          ours: tests/backend/start.mjs (the project's real Convex functions) — the detached
              uploader really delivers in the background while the hooks run;
              node: a loopback stub of OpenSync's /sync/* HTTP actions answering 200 at once
  down        a closed port, for both
  black_hole  ours: the local backend's black_hole fault; node: a loopback socket that accepts
              and never answers. Node's fetch has no timeout, so each of its hooks is killed at
              --hole-cap seconds and reported as "> cap".

Drain rate: N events queued in the store (one real hook of each kind, cloned in SQL with fresh
event ids — the hooks path is measured above), then `claude-code-sync sync-now --all` timed
against the local backend, with recordEvents (batches of up to 100) and with
`--without recordEvents` (one recordEvent call per event, as an older deployment).

Prints markdown tables (paste into BENCHMARKS.md) with the load average beside each figure,
and writes the raw figures to .cache/bench-hooks.json.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import platform
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def hook_program(plugin_root: Path) -> Path:
    """The program plugin/hooks/hooks.json has Claude Code execute, for a plugin at plugin_root."""
    hooks = json.loads((REPO / "plugin/hooks/hooks.json").read_text())["hooks"]
    (command,) = {h["command"] for groups in hooks.values() for g in groups for h in g["hooks"]}
    return Path(command.replace("${CLAUDE_PLUGIN_ROOT}", str(plugin_root)))


def plugin_version() -> str:
    return json.loads((REPO / "plugin/.claude-plugin/plugin.json").read_text())["version"]


def installed_plugin(tmp: Path) -> tuple[Path, dict]:
    """A cache copy of plugin/ and its data folder holding the release binary, as a marketplace
    install leaves them once the launcher has downloaded it: the launcher and its environment."""
    import shutil
    home = tmp / "installed"
    root = home / ".claude/plugins/cache/claude-code-sync/claude-code-sync" / plugin_version()
    shutil.copytree(REPO / "plugin", root)
    data = home / ".claude/plugins/data/claude-code-sync-claude-code-sync"
    (data / "bin" / plugin_version()).mkdir(parents=True)
    shutil.copy2(RELEASE_BIN, data / "bin" / plugin_version() / "claude-code-sync")
    env = clean_env(home)
    env.update(CLAUDE_PLUGIN_ROOT=str(root), CLAUDE_PLUGIN_DATA=str(data))
    return hook_program(root), env


# The least any command hook can cost on this machine: a process that reads stdin and exits
# (the floor of tests/e2e/bench_hook_overhead.py), timed the same way.
FLOOR = ["sh", "-c", "cat >/dev/null"]
RELEASE_BIN = REPO / "target/release/claude-code-sync"
# The binary itself, exec form: how hooks ran it before the plugin had a launcher.
OURS_HOOK = RELEASE_BIN
NODE_PREFIX = REPO / ".cache/node-plugin"
NODE_VERSION = "0.1.15"

# (our subcommand, sample payload, the Node plugin's event name or None when it has no such hook)
HOOKS = [
    ("session-start", "SessionStart-startup.json", "SessionStart"),
    ("prompt-submit", "UserPromptSubmit.json", "UserPromptSubmit"),
    ("post-tool-use", "PostToolUse-Bash.json", "PostToolUse"),
    ("post-tool-use-failure", "PostToolUseFailure-Bash.json", None),
    ("subagent-stop", "SubagentStop-subagent.json", None),
    ("pre-compact", "PreCompact-manual.json", None),
    ("stop", "Stop.json", "Stop"),
    ("session-end", "SessionEnd-other.json", "SessionEnd"),
]


def samples_dir() -> Path:
    return REPO / "tests/fixtures/claude-code"


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def clean_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CLAUDE") and k not in ("XDG_DATA_HOME", "XDG_CONFIG_HOME")}
    env["HOME"] = str(home)
    return env


# ---------------------------------------------------------------------------- backends

class Backend:
    """tests/backend/start.mjs: the project's real Convex functions on loopback."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            ["node", "tests/backend/start.mjs", "--port", "0", "--exit-with-stdin", *args],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=clean_env(Path.home()))
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("LISTENING "):
            sys.exit(f"backend said {line!r}")
        self.url = line.split(" ", 1)[1]

    def test(self, route: str, body: dict | None = None):
        import urllib.request
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}/_test/{route}", data=data,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class OpenSyncStub:
    """What the Node plugin talks to: OpenSync's /sync/* HTTP actions, answering 200 at once."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b'{"ok":true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


class BlackHole:
    """Accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def stop(self):
        self.sock.close()
        for c in self.held:
            c.close()


def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


# ---------------------------------------------------------------------------- hook runs

def ensure_node_plugin() -> Path:
    bin_path = NODE_PREFIX / "node_modules/.bin/claude-code-sync"
    if not bin_path.exists():
        NODE_PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NODE_PREFIX),
                        f"claude-code-sync@{NODE_VERSION}"], check=True)
    return bin_path.parent


def payloads(samples: Path, transcript: Path) -> dict[str, bytes]:
    out = {}
    for i, (sub, sample, _) in enumerate(HOOKS):
        v = json.loads((samples / "hook-payloads" / sample).read_text())
        v["session_id"] = "bench-session-1"
        v["transcript_path"] = str(transcript)
        v["cwd"] = str(REPO)
        out[sub] = json.dumps(v).encode() + b"\n"
    return out


class Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise Timeout()


def run_timed(argv: list[str], env: dict, stdin: bytes, cap: float | None) -> tuple[float, bool, bytes]:
    """Wall time (ms) of one process, whether it finished within `cap`, and its stdout.

    The process is started with posix_spawn (a vfork-style start, in its own session like a
    Claude Code hook) and reaped with wait4: between the two clocks there is only the process
    itself and writing its stdin. subprocess.Popen + communicate, used before, added ~1 ms to
    every run here (the floor: 2.65 ms that way, 1.66 ms this way, alternating at one moment),
    which said nothing about the hook being measured.
    Stdout goes to a scratch file, read back after the process has exited.
    """
    out_file = _scratch_stdout()
    os.ftruncate(out_file, 0)
    os.lseek(out_file, 0, os.SEEK_SET)
    stdin_r, stdin_w = os.pipe()
    actions = [(os.POSIX_SPAWN_DUP2, stdin_r, 0), (os.POSIX_SPAWN_DUP2, out_file, 1),
               (os.POSIX_SPAWN_DUP2, _devnull(), 2), (os.POSIX_SPAWN_CLOSE, stdin_w)]
    signal.signal(signal.SIGALRM, _on_alarm)
    started = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, env, file_actions=actions, setsid=True)
    os.close(stdin_r)
    finished = True
    try:
        if cap:
            signal.setitimer(signal.ITIMER_REAL, cap)
        try:
            os.write(stdin_w, stdin)
        except BrokenPipeError:
            pass
        os.close(stdin_w)
        stdin_w = -1
        os.wait4(pid, 0)
        elapsed = (time.perf_counter() - started) * 1000
    except Timeout:
        elapsed = (time.perf_counter() - started) * 1000
        finished = False
        os.killpg(pid, signal.SIGKILL)
        os.wait4(pid, 0)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if stdin_w >= 0:
            os.close(stdin_w)
    if not finished:
        return elapsed, False, b""
    os.lseek(out_file, 0, os.SEEK_SET)
    return elapsed, True, os.read(out_file, 1 << 16)


_FDS: dict[str, int] = {}


def _scratch_stdout() -> int:
    if "out" not in _FDS:
        fd, path = tempfile.mkstemp(prefix="bench-hooks-stdout-")
        os.unlink(path)
        _FDS["out"] = fd
    return _FDS["out"]


def _devnull() -> int:
    if "null" not in _FDS:
        _FDS["null"] = os.open(os.devnull, os.O_WRONLY)
    return _FDS["null"]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def bench_state(state: str, args, samples: Path, transcript: Path, node_bin: Path) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-hooks-{state}-"))
    ours_home, node_home = tmp / "ours", tmp / "node"
    ours_home.mkdir()
    node_home.mkdir()
    backend = stub = hole = None
    if state == "up":
        backend, stub = Backend(), OpenSyncStub()
        ours_url, node_url = backend.url, stub.url
    elif state == "down":
        ours_url = node_url = closed_port_url()
    else:
        backend, hole = Backend(), BlackHole()
        backend.test("fault", {"mode": "black_hole"})
        ours_url, node_url = backend.url, hole.url
    (ours_home / ".claude-code-sync.json").write_text(json.dumps({"convex_url": ours_url}))
    ours_env = clean_env(ours_home)
    launcher, inst_env = installed_plugin(tmp)
    (Path(inst_env["HOME"]) / ".claude-code-sync.json").write_text(json.dumps({"convex_url": ours_url}))
    node_env = clean_env(node_home)
    node_env["PATH"] = f"{node_bin}:{node_env.get('PATH', '')}"
    # The Node plugin's documented environment configuration (both must be set).
    node_env["CLAUDE_SYNC_CONVEX_URL"] = node_url
    node_env["CLAUDE_SYNC_API_KEY"] = "osk_bench_0123456789"

    data = payloads(samples, transcript)
    node_rounds = args.hole_rounds if state == "black_hole" else args.node_rounds
    cap = args.hole_cap if state == "black_hole" else 60.0
    times: dict[tuple[str, str], list[float]] = {}
    capped: dict[tuple[str, str], int] = {}
    load_before = loadavg()
    for r in range(args.rounds):
        for sub, _, node_event in HOOKS:
            runs = [("ours", [str(OURS_HOOK), sub], ours_env),
                    ("installed", [str(launcher), sub], inst_env),
                    ("floor", FLOOR, ours_env)]
            if node_event and r < node_rounds:
                runs.append(("node", ["bash", "-c", f"claude-code-sync hook {node_event}"], node_env))
            # Alternate the order, so neither tool always runs right after the other.
            if r % 2:
                runs.reverse()
            for tool, argv, env in runs:
                ms, finished, out = run_timed(argv, env, data[sub], cap if tool == "node" else 60.0)
                if tool in ("ours", "installed") and out:
                    sys.exit(f"our {sub} hook printed on stdout: {out[:200]!r}")
                times.setdefault((tool, sub), []).append(ms)
                if not finished:
                    capped[(tool, sub)] = capped.get((tool, sub), 0) + 1
    load_after = loadavg()
    for x in (backend, stub, hole):
        if x:
            x.stop()
    stop_uploaders(ours_home)
    stop_uploaders(Path(inst_env["HOME"]))
    rows = {}
    for (tool, sub), ts in times.items():
        rows[f"{tool}:{sub}"] = {"n": len(ts), "median_ms": statistics.median(ts), "p95_ms": pct(ts, 95),
                                 "capped": capped.get((tool, sub), 0)}
    return {"state": state, "load_before": load_before, "load_after": load_after, "rows": rows}


def stop_uploaders(home: Path):
    """Ends the detached uploaders this run started (found by their HOME), so none goes on
    retrying against a backend that is gone and loads the next measurement."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"__upload" in cmdline and f"HOME={home}".encode() in environ:
            try:
                os.kill(int(pid), signal.SIGTERM)
            except ProcessLookupError:
                pass


def hooks_table(results: list[dict], cap: float) -> str:
    lines = ["| backend | hook | ours median | ours p95 | installed plugin median | installed − ours | node median | node p95 | median ratio | floor median | floor p95 | load avg (1/5/15 min, before → after) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for res in results:
        for sub, _, node_event in HOOKS:
            o = res["rows"][f"ours:{sub}"]
            n = res["rows"].get(f"node:{sub}")
            if n:
                capped = n["capped"] == n["n"]
                nm = f"> {cap * 1000:.0f} ms (killed)" if capped else f"{n['median_ms']:.1f} ms"
                np95 = f"> {cap * 1000:.0f} ms (killed)" if n["capped"] else f"{n['p95_ms']:.1f} ms"
                ratio = f"> {cap * 1000 / o['median_ms']:.0f}×" if capped else f"{n['median_ms'] / o['median_ms']:.0f}×"
                node_cells = f"{nm} | {np95} | {ratio}"
            else:
                node_cells = "— | — | (no such hook)"
            floor = res["rows"][f"floor:{sub}"]
            i = res["rows"][f"installed:{sub}"]
            inst_cells = f"{i['median_ms']:.2f} ms | {i['median_ms'] - o['median_ms']:+.2f} ms"
            lines.append(f"| {res['state']} | {sub} | {o['median_ms']:.2f} ms | {o['p95_ms']:.2f} ms | {inst_cells} | {node_cells} | "
                         f"{floor['median_ms']:.2f} ms | {floor['p95_ms']:.2f} ms | {res['load_before']} → {res['load_after']} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- drain

def bench_drain(events: int, batched: bool, samples: Path) -> dict:
    backend = Backend() if batched else Backend("--without", "recordEvents")
    home = Path(tempfile.mkdtemp(prefix="bench-drain-"))
    (home / ".claude-code-sync.json").write_text(json.dumps({"convex_url": backend.url, "auto_sync": False}))
    env = clean_env(home)
    data = payloads(samples, Path("/nonexistent/transcript.jsonl"))
    for sub, _, _ in HOOKS:
        subprocess.run([str(OURS_HOOK), sub], input=data[sub], env=env, check=True)
    db_path = home / ".local/share/claude-code-sync/store.db"
    db = sqlite3.connect(db_path)
    templates = db.execute("SELECT event_type, timestamp, payload, created_at FROM outbox ORDER BY seq").fetchall()
    db.execute("DELETE FROM outbox")
    rows = []
    for i in range(events):
        event_type, ts, payload, created = templates[i % len(templates)]
        rows.append((f"bench-{i}", f"bench-session-{i // 50}", event_type, ts + i, payload, created))
    db.executemany("INSERT INTO outbox (event_id, session_id, event_type, timestamp, payload, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()
    load_before = loadavg()
    started = time.perf_counter()
    out = subprocess.run([str(RELEASE_BIN), "sync-now", "--all"], env=env, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    elapsed = time.perf_counter() - started
    load_after = loadavg()
    stored = len(backend.test("tables/events"))
    stats = backend.test("stats")
    backend.stop()
    stop_uploaders(home)
    # sync-now may first import transcripts it finds (the example sessions on a machine with no
    # Claude Code history): count what it actually sent.
    m = re.search(r"(\d+) event\(s\) sent", out)
    sent = int(m.group(1)) if m else -1
    if sent < events or stored != sent or "Nothing left to send" not in out:
        sys.exit(f"drain incomplete: backend has {stored}, {events} queued; sync-now said:\n{out}")
    events = sent
    return {"batched": batched, "events": events, "seconds": elapsed, "events_per_s": events / elapsed,
            "requests": stats["requests"], "load_before": load_before, "load_after": load_after}


def drain_table(results: list[dict]) -> str:
    lines = ["| deployment | events | requests | time | events/s | load avg (before → after) |",
             "|---|---:|---:|---:|---:|---|"]
    for r in results:
        what = "with recordEvents (batches ≤ 100)" if r["batched"] else "`--without recordEvents` (one call per event)"
        lines.append(f"| {what} | {r['events']} | {r['requests']} | {r['seconds']:.1f} s | {r['events_per_s']:.0f} | "
                     f"{r['load_before']} → {r['load_after']} |")
    return "\n".join(lines)


STATES = ("up", "down", "black_hole")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=100, help="runs of each of our hooks per backend state")
    ap.add_argument("--node-rounds", type=int, default=20, help="runs of each Node hook (up, down)")
    ap.add_argument("--hole-rounds", type=int, default=2, help="runs of each Node hook against the black hole")
    ap.add_argument("--hole-cap", type=float, default=5.0, help="seconds before a hanging Node hook is killed")
    ap.add_argument("--events", type=int, default=10000, help="events queued for the drain runs")
    ap.add_argument("--unbatched-events", type=int, default=2000, help="events for the one-by-one drain")
    ap.add_argument("--only", choices=["hooks", "drain"])
    ap.add_argument("--states", nargs="+", choices=STATES, default=list(STATES),
                    help="backend states to time the hooks in (default: all three)")
    args = ap.parse_args()
    if not RELEASE_BIN.exists():
        sys.exit("build first: cargo build --release")
    samples = samples_dir()
    transcript = next((samples / "transcripts/multi-tools").rglob("*.jsonl"))
    report = {"machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "kernel": platform.release(),
                          "node": subprocess.run(["node", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()}}
    print(f"machine: {report['machine']}", file=sys.stderr)
    if args.only != "drain":
        node_bin = ensure_node_plugin()
        report["hooks"] = []
        for state in args.states:
            print(f"hooks, backend {state} ...", file=sys.stderr)
            report["hooks"].append(bench_state(state, args, samples, transcript, node_bin))
        print(hooks_table(report["hooks"], args.hole_cap))
        print()
    if args.only != "hooks":
        report["drain"] = []
        for batched, n in ((True, args.events), (False, args.unbatched_events)):
            print(f"drain, batched={batched}, {n} events ...", file=sys.stderr)
            report["drain"].append(bench_drain(n, batched, samples))
        print(drain_table(report["drain"]))
    out = REPO / ".cache/bench-hooks.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"\nraw figures: {out}", file=sys.stderr)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
