#!/usr/bin/env python3
"""Transcript import benchmark: claude-code-sync vs ccusage 20.0.24, side by side.

Generates (once, deterministically) ~500 MB of realistic transcripts under .cache/bench-tree,
builds the release binary, installs ccusage@20.0.24 under .cache/ccusage, then runs
  claude-code-sync usage --json TREE                       (--jobs 2 and --jobs 1)
  ccusage claude session --offline --json                 (default and --single-thread)
with CLAUDE_CONFIG_DIR=TREE, under /usr/bin/time -v. Prints throughput (MB/s), peak RSS and
ratios, checks that both report the same token totals (overall and per session), and measures
peak RSS on the two large sessions alone vs. the many small ones (memory must not follow file
size). Options: --runs N (default 5), --tree DIR, --mb TOTAL.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, ".cache")
CCUSAGE_VERSION = "20.0.24"


def sh(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, **kw)


def tree_bytes(tree):
    total = 0
    for dirpath, _, names in os.walk(tree):
        for n in names:
            if n.endswith(".jsonl"):
                total += os.path.getsize(os.path.join(dirpath, n))
    return total


def ensure_tree(tree, mb):
    marker = os.path.join(tree, ".complete-%d" % mb)
    if not os.path.exists(marker):
        shutil.rmtree(tree, ignore_errors=True)
        sh([sys.executable, os.path.join(ROOT, "bench", "gen_transcripts.py"), tree, str(mb)])
        open(marker, "w").close()


def ensure_ccusage():
    prefix = os.path.join(CACHE, "ccusage")
    binary = os.path.join(prefix, "node_modules", "@ccusage", "ccusage-linux-x64", "bin", "ccusage")
    if not os.path.exists(binary):
        sh(["npm", "install", "--prefix", prefix, "ccusage@" + CCUSAGE_VERSION])
    os.chmod(binary, 0o755)  # npm leaves the platform binary without its exec bit
    return binary


def ensure_ours():
    sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    return os.path.join(ROOT, "target", "release", "claude-code-sync")


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -v; returns (stdout, wall s, CPU s (user+sys), peak RSS MB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        out = subprocess.run(["/usr/bin/time", "-v", "-o", t.name] + cmd, env=env, check=True,
                             stdout=subprocess.PIPE).stdout
        wall = rss = None
        cpu = 0.0
        for line in t.read().splitlines():
            line = line.strip()
            if line.startswith(("User time (seconds)", "System time (seconds)")):
                cpu += float(line.rsplit(" ", 1)[1])
            elif line.startswith("Elapsed (wall clock) time"):
                parts = line.rsplit(" ", 1)[1].split(":")
                wall = sum(float(p) * 60 ** i for i, p in enumerate(reversed(parts)))
            elif line.startswith("Maximum resident set size"):
                rss = int(line.rsplit(" ", 1)[1]) / 1024
        return out, wall, cpu, rss


def warm(tree):
    for dirpath, _, names in os.walk(tree):
        for n in names:
            with open(os.path.join(dirpath, n), "rb") as f:
                while f.read(1 << 20):
                    pass


def ours_totals(doc):
    per = {}
    for s in doc["sessions"]:
        t = s["tokenUsage"]
        per[s["sessionId"]] = (t["input"], t["output"], t["cacheCreation"], t["cacheRead"])
    t = doc["totals"]["tokenUsage"]
    return (t["input"], t["output"], t["cacheCreation"], t["cacheRead"]), per, doc["totals"]["cost"]


def ccusage_totals(doc):
    per = {}
    for s in doc["sessions"]:
        key = s["sessionId"]
        fig = (s["inputTokens"], s["outputTokens"], s["cacheCreationTokens"], s["cacheReadTokens"])
        prev = per.get(key, (0, 0, 0, 0))
        per[key] = tuple(a + b for a, b in zip(prev, fig))
    t = doc["totals"]
    return (t["inputTokens"], t["outputTokens"], t["cacheCreationTokens"], t["cacheReadTokens"]), per, t["totalCost"]


def run_pair(label, ours_cmd, cc_cmd, cc_env, size, runs):
    """Runs both tools `runs` times, interleaved (the machine is shared: alternating spreads
    other load over both), and reports the best wall time, its CPU time and the peak RSS."""
    tools = [("claude-code-sync " + ours_cmd[1], ours_cmd[0], None), ("ccusage " + cc_cmd[1], cc_cmd[0], cc_env)]
    best = {name: None for name, _, _ in tools}
    rss = {name: 0.0 for name, _, _ in tools}
    results = {}
    for _ in range(runs):
        for name, cmd, env in tools:
            out, wall, cpu, peak = timed(cmd, env)
            if best[name] is None or wall < best[name][0]:
                best[name] = (wall, cpu)
            rss[name] = max(rss[name], peak)
            results[name] = json.loads(out)
    print("\n== %s (%.0f MB, best of %d interleaved runs)" % (label, size / 1e6, runs))
    print("%-36s %8s %8s %8s %12s" % ("tool", "MB/s", "wall s", "CPU s", "peak RSS MB"))
    rows = []
    for name, _, _ in tools:
        wall, cpu = best[name]
        rows.append((name, size / 1e6 / wall, wall, cpu, rss[name]))
        print("%-36s %8.1f %8.2f %8.2f %12.1f" % rows[-1])
    (o, c) = rows
    print("ratio claude-code-sync / ccusage: %.2fx throughput, %.2fx CPU time, %.3fx peak memory"
          % (o[1] / c[1], o[3] / c[3], o[4] / c[4]))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mb", type=int, default=500)
    ap.add_argument("--tree", default=os.path.join(CACHE, "bench-tree"))
    args = ap.parse_args()

    ensure_tree(args.tree, args.mb)
    ours = ensure_ours()
    ccusage = ensure_ccusage()
    size = tree_bytes(args.tree)
    warm(args.tree)
    home = tempfile.mkdtemp(prefix="bench-home-")
    env = dict(os.environ, CLAUDE_CONFIG_DIR=args.tree, HOME=home, NO_COLOR="1")

    cc = [ccusage, "claude", "session", "--offline", "--json"]
    res = run_pair("whole tree, parallel", ([ours, "usage", "--json", "--jobs", "2", args.tree], "(--jobs 2)"),
                   (cc, "(default threads)"), env, size, args.runs)
    run_pair("whole tree, one thread", ([ours, "usage", "--json", "--jobs", "1", args.tree], "(--jobs 1)"),
             (cc + ["--single-thread"], "(--single-thread)"), env, size, args.runs)

    # Same totals?
    o_doc = res["claude-code-sync (--jobs 2)"]
    c_doc = res["ccusage (default threads)"]
    o_tot, o_per, o_cost = ours_totals(o_doc)
    c_tot, c_per, c_cost = ccusage_totals(c_doc)
    print("\n== totals (input, output, cache creation, cache read)")
    print("claude-code-sync:", o_tot, "cost $%.2f" % o_cost)
    print("ccusage:         ", c_tot, "cost $%.2f" % c_cost)
    mismatched = [k for k in set(o_per) | set(c_per) if o_per.get(k) != c_per.get(k)]
    print("sessions: %d ours, %d ccusage, %d with different figures" % (len(o_per), len(c_per), len(mismatched)))
    for k in mismatched[:5]:
        print("  ", k, "ours", o_per.get(k), "ccusage", c_per.get(k))
    same = o_tot == c_tot and not mismatched

    # Memory vs file size: the two big sessions alone vs all the small ones.
    big_tree = tempfile.mkdtemp(prefix="bench-big-")
    small_tree = tempfile.mkdtemp(prefix="bench-small-")
    projects = os.path.join(args.tree, "projects")
    for p in os.listdir(projects):
        dest = os.path.join(big_tree if p == "-home-dev-big" else small_tree, "projects")
        os.makedirs(dest, exist_ok=True)
        subprocess.run(["cp", "-al", os.path.join(projects, p), os.path.join(dest, p)], check=True)
    print("\n== peak RSS vs file size (MB)")
    print("%-28s %16s %16s" % ("", "2 big files", "many small files"))
    for name, mk in [("claude-code-sync --jobs 1", lambda t: ([ours, "usage", "--json", "--jobs", "1", t], None)),
                     ("ccusage --single-thread", lambda t: (cc + ["--single-thread"], dict(env, CLAUDE_CONFIG_DIR=t)))]:
        cells = []
        for t in (big_tree, small_tree):
            cmd, e = mk(t)
            _, wall, cpu, rss = timed(cmd, e)
            cells.append("%.1f (%.0f MB)" % (rss, tree_bytes(t) / 1e6))
        print("%-28s %16s %16s" % (name, cells[0], cells[1]))
    for t in (big_tree, small_tree, home):
        shutil.rmtree(t, ignore_errors=True)

    print("\nsame token totals: %s" % ("yes" if same else "NO"))
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
