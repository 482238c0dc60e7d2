#!/usr/bin/env python3
"""What the plugin's hooks cost a real Claude Code session, measured side by side.

Runs the fake API's `multi` scenario with the real, pinned Claude Code, in
alternation: without any plugin (the reference), with a minimal plugin whose hooks are the
product's hooks.json with each command replaced by `sh -c 'cat >/dev/null'` (the floor any
hook costs), and with the product plugin (this repository's manifest and hooks.json, its
`target/release/claude-code-sync` being the binary measured) loaded through `--plugin-dir`. Prints the median wall time of each, the ratios, and the extra time per fired
hook. Hooks are synchronous, so every millisecond a hook takes is a millisecond the user waits.

Usage: tests/e2e/bench_hook_overhead.py [--runs 7] [--bin PATH]
  --bin: the claude-code-sync binary the hooks run (default target/release, else
  target/debug). The Claude Code binary comes from $CCS_CLAUDE_BIN or the install script.
Timings on a busy machine are noisy: compare ratios from one run of this script, not across.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# How often each event fires in the `multi` scenario (7 tool calls, one of them failing).
MULTI_EVENTS = {"SessionStart": 1, "UserPromptSubmit": 1, "PreToolUse": 7, "PostToolUse": 6,
                "PostToolUseFailure": 1, "Stop": 1, "SessionEnd": 1}


def claude_bin() -> str:
    if os.environ.get("CCS_CLAUDE_BIN"):
        return os.environ["CCS_CLAUDE_BIN"]
    out = subprocess.run([str(REPO / "tests/e2e/install-claude-code.sh")], check=True,
                         stdout=subprocess.PIPE, text=True)
    return out.stdout.strip().splitlines()[-1]


def product_bin(explicit: str | None) -> str:
    for candidate in [explicit, REPO / "target/release/claude-code-sync",
                      REPO / "target/debug/claude-code-sync"]:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    sys.exit("no claude-code-sync binary: run `cargo build --release` first (or pass --bin)")


def start_fake() -> tuple[subprocess.Popen, str]:
    fake = subprocess.Popen([sys.executable, str(REPO / "tests/e2e/fake_anthropic.py"), "--port", "0"],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    line = fake.stdout.readline().split()
    if len(line) != 2 or line[0] != "LISTENING":
        fake.kill()
        sys.exit(f"fake API did not start: {line}")
    return fake, line[1]


def minimal_plugin(dir: Path) -> Path:
    """The product's hooks.json with every hook replaced by one that only reads its stdin."""
    hooks = json.loads((REPO / "plugin/hooks/hooks.json").read_text())
    for groups in hooks["hooks"].values():
        for group in groups:
            for hook in group["hooks"]:
                hook.update(command="/bin/sh", args=["-c", "cat >/dev/null"])
    (dir / ".claude-plugin").mkdir(parents=True)
    (dir / "hooks").mkdir()
    (dir / ".claude-plugin/plugin.json").write_text('{"name": "bench-minimal"}')
    (dir / "hooks/hooks.json").write_text(json.dumps(hooks))
    return dir


def product_plugin(dir: Path, binary: str) -> Path:
    """A checkout's plugin folder beside a build: its launcher execs `binary`."""
    (dir / "target/release").mkdir(parents=True)
    (dir / "plugin").mkdir()
    for part in (".claude-plugin", "hooks", "commands", "bin", "libexec"):
        (dir / "plugin" / part).symlink_to(REPO / "plugin" / part)
    (dir / "target/release/claude-code-sync").symlink_to(Path(binary).resolve())
    return dir / "plugin"


def one_session(claude: str, url: str, prompt: str, plugin: Path | None, plugin_env: dict) -> float:
    """Wall time of one `claude -p` session in a fresh HOME and git work dir."""
    with tempfile.TemporaryDirectory() as root:
        home, work = Path(root, "home"), Path(root, "work")
        (home / ".tmp").mkdir(parents=True)
        work.mkdir()
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=work, check=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CLAUDE", "ANTHROPIC", "XDG_"))}
        env.update(HOME=str(home), TMPDIR=str(home / ".tmp"), ANTHROPIC_BASE_URL=url,
                   ANTHROPIC_API_KEY="sk-ant-test", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
                   DISABLE_TELEMETRY="1", DISABLE_AUTOUPDATER="1")
        args = [claude, "-p", prompt]
        if plugin is not None:
            env.update(plugin_env, CLAUDE_SYNC_DATA_DIR=str(Path(root, "data")))
            args += ["--plugin-dir", str(plugin)]
        args += ["--allowedTools", "Bash", "Write", "Read", "Edit", "Agent", "--output-format", "json"]
        started = time.perf_counter()
        done = subprocess.run(args, cwd=work, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120)
        elapsed = time.perf_counter() - started
        result = json.loads(done.stdout)
        if done.returncode != 0 or result.get("is_error"):
            sys.exit(f"session failed ({done.returncode}): {done.stdout}\n{done.stderr}")
        if done.stderr.strip():
            sys.exit(f"session reported trouble on stderr:\n{done.stderr}")
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--bin", help="the claude-code-sync binary")
    args = parser.parse_args()
    claude, binary = claude_bin(), product_bin(args.bin)
    fake, url = start_fake()
    prompt = "SCENARIO:multi benchmark"
    registered = json.loads((REPO / "plugin/hooks/hooks.json").read_text())["hooks"]
    fired = sum(n * sum(len(g["hooks"]) for g in registered.get(event, []))
                for event, n in MULTI_EVENTS.items())
    scratch = tempfile.TemporaryDirectory()
    variants = {
        "no plugin": (None, {}),
        "minimal": (minimal_plugin(Path(scratch.name, "minimal")), {}),
        "product": (product_plugin(Path(scratch.name, "product"), binary), {}),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    try:
        one_session(claude, url, prompt, None, {})  # warm the page cache for the 400 MB binary
        for _ in range(args.runs):
            for name, (plugin, plugin_env) in variants.items():
                times[name].append(one_session(claude, url, prompt, plugin, plugin_env))
    finally:
        fake.kill()
        scratch.cleanup()
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["no plugin"]
    print(f"claude-code-sync binary: {binary}")
    print(f"scenario multi, {fired} hooks fired, {args.runs} runs each: median (min), ratio, extra per hook")
    for name, values in times.items():
        extra = (medians[name] - base) / fired * 1000
        print(f"  {name:<10} {medians[name]:6.3f} s ({min(values):.3f} s)  x{medians[name] / base:.2f}"
              f"  {extra:+.1f} ms/hook")
    print(f"  product over minimal hooks: {(medians['product'] - medians['minimal']) / fired * 1000:+.1f} ms/hook")

if __name__ == "__main__":
    main()
