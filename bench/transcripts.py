#!/usr/bin/env python3
"""Transcript benchmark: claude-code-sync vs ccusage 20.0.24, side by side.

Generates (once, deterministically) ~500 MB of realistic transcripts under .cache/bench-tree,
builds the release binary, installs ccusage@20.0.24 under .cache/ccusage, then, with
CLAUDE_CONFIG_DIR=TREE and under /usr/bin/time -v, interleaved:

  import: claude-code-sync sync-now --all TREE   into a fresh store, no backend
          (--jobs 2; and --jobs 1 pinned to one core with taskset)
      vs  ccusage claude session --offline --json (default threads; --single-thread on one core)
          then sync-now --all again with nothing new (must take < 5 % of the first run)
  usage:  claude-code-sync usage --json TREE  (--jobs 2 and --jobs 1) vs the same ccusage runs

Prints throughput (MB/s), peak RSS and ratios, checks that both report the same token totals
(overall and per session; for the import, the store's session rows), and measures peak RSS on
the two large sessions alone vs. the many small ones (memory must not follow file size).
--big-mb N also generates a tree of N MB whose largest session is a single 1 GB transcript
(.cache/bench-tree-N) and measures the import and ccusage on it once (time and memory).
Options: --runs N (default 3), --tree DIR, --mb TOTAL, --big-mb N, --skip-usage.
"""

import argparse
import json
import os
import shutil
import sqlite3
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


def ensure_tree(tree, mb, big=()):
    marker = os.path.join(tree, ".complete-%d" % mb)
    if not os.path.exists(marker):
        shutil.rmtree(tree, ignore_errors=True)
        sh([sys.executable, os.path.join(ROOT, "bench", "gen_transcripts.py"), tree, str(mb)] + [str(b) for b in big])
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


def timed(cmd, env=None, before=None):
    """Runs cmd under /usr/bin/time -v (after `before()`, untimed); returns (stdout, wall s,
    CPU s (user+sys), peak RSS MB)."""
    if before:
        before()
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        out = subprocess.run(["/usr/bin/time", "-v", "-o", t.name] + cmd, env=env, check=True,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
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


def run_pair(label, ours_cmd, cc_cmd, cc_env, size, runs, ours_env=None, before=None):
    """Runs both tools `runs` times, interleaved (the machine is shared: alternating spreads
    other load over both), and reports the best wall time, its CPU time and the peak RSS.
    `before` runs (untimed) before each run of ours."""
    tools = [("claude-code-sync " + ours_cmd[1], ours_cmd[0], ours_env, before),
             ("ccusage " + cc_cmd[1], cc_cmd[0], cc_env, None)]
    best = {t[0]: None for t in tools}
    rss = {t[0]: 0.0 for t in tools}
    results = {}
    print("\n== %s: load average %s" % (label, load()))
    for _ in range(runs):
        for name, cmd, env, prepare in tools:
            out, wall, cpu, peak = timed(cmd, env, prepare)
            if best[name] is None or wall < best[name][0]:
                best[name] = (wall, cpu)
            rss[name] = max(rss[name], peak)
            results[name] = out
    print("== %s (%.0f MB, best of %d interleaved runs; load average after: %s)" % (label, size / 1e6, runs, load()))
    print("%-36s %8s %8s %8s %12s" % ("tool", "MB/s", "wall s", "CPU s", "peak RSS MB"))
    rows = []
    for name, *_ in tools:
        wall, cpu = best[name]
        rows.append((name, size / 1e6 / wall, wall, cpu, rss[name]))
        print("%-36s %8.1f %8.2f %8.2f %12.1f" % rows[-1])
    (o, c) = rows
    print("ratio claude-code-sync / ccusage: %.2fx throughput, %.2fx CPU time, %.3fx peak memory"
          % (o[1] / c[1], o[3] / c[3], o[4] / c[4]))
    return results, {name: best[name][0] for name in best}


def load():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def store_totals(data_dir):
    """Per-session token figures and the totals from an imported store's session rows."""
    db = sqlite3.connect(os.path.join(data_dir, "store.db"))
    per = {}
    for sid, i, o, cc, cr in db.execute(
            "SELECT session_id, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens FROM sessions"):
        per[sid] = (i, o, cc, cr)
    db.close()
    tot = tuple(sum(v[k] for v in per.values()) for k in range(4))
    return tot, per


def compare(label, a_name, a, b_name, b):
    """a, b: (totals, per-session dict). Prints the comparison; True when identical."""
    (a_tot, a_per), (b_tot, b_per) = a, b
    mismatched = [k for k in set(a_per) | set(b_per) if a_per.get(k) != b_per.get(k)]
    print("\n== %s (input, output, cache creation, cache read)" % label)
    print("%-18s %s" % (a_name + ":", a_tot))
    print("%-18s %s" % (b_name + ":", b_tot))
    print("sessions: %d %s, %d %s, %d with different figures" % (len(a_per), a_name, len(b_per), b_name,
                                                               len(mismatched)))
    for k in mismatched[:5]:
        print("  ", k, a_name, a_per.get(k), b_name, b_per.get(k))
    return a_tot == b_tot and not mismatched


def import_bench(ours, cc, env, tree, size, runs):
    """The import into a fresh store vs ccusage, on both cores and on one; then a second import
    with nothing new. Returns whether the store's figures equal ccusage's."""
    data = tempfile.mkdtemp(prefix="bench-store-")
    ours_env = dict(env, CLAUDE_SYNC_DATA_DIR=data)
    fresh = lambda: (shutil.rmtree(data, ignore_errors=True), os.makedirs(data))
    sync = [ours, "sync-now", "--all"]
    one_core = ["taskset", "-c", "0"]
    res, best = run_pair("import, both cores", (sync + ["--jobs", "2", tree], "sync-now --all --jobs 2"),
                         (cc, "(default threads)"), env, size, runs, ours_env=ours_env, before=fresh)
    first = best["claude-code-sync sync-now --all --jobs 2"]
    c_tot, c_per, _ = ccusage_totals(json.loads(res["ccusage (default threads)"]))
    same = compare("import: the store's session rows vs ccusage", "store", store_totals(data), "ccusage",
                   (c_tot, c_per))
    run_pair("import, one core (taskset -c 0)", (one_core + sync + ["--jobs", "1", tree], "sync-now --jobs 1, 1 core"),
             (one_core + cc + ["--single-thread"], "--single-thread, 1 core"), env, size, runs,
             ours_env=ours_env, before=fresh)
    # Nothing new: a second run over the store the last first run left.
    again = None
    for _ in range(runs):
        _, wall, cpu, rss = timed(sync + [tree], ours_env)
        again = min(again or wall, wall)
    print("\n== second sync-now --all, nothing new: %.3f s (%.1f %% of the first run's %.3f s), peak RSS %.1f MB"
          % (again, 100 * again / first, first, rss))
    shutil.rmtree(data, ignore_errors=True)
    return same


def big_case(ours, cc, env, mb, runs):
    """A tree of `mb` MB whose largest session is one 1 GB transcript: import time and peak
    memory, ccusage beside it."""
    tree = os.path.join(CACHE, "bench-tree-%d" % mb)
    ensure_tree(tree, mb, big=(1000, 150))
    size = tree_bytes(tree)
    warm(tree)
    data = tempfile.mkdtemp(prefix="bench-store-")
    ours_env = dict(env, CLAUDE_CONFIG_DIR=tree, CLAUDE_SYNC_DATA_DIR=data)
    fresh = lambda: (shutil.rmtree(data, ignore_errors=True), os.makedirs(data))
    cc_env = dict(env, CLAUDE_CONFIG_DIR=tree)
    run_pair("large tree (%d MB, one 1 GB transcript)" % (size / 1e6),
             ([ours, "sync-now", "--all", "--jobs", "2", tree], "sync-now --all --jobs 2"),
             (cc, "(default threads)"), cc_env, size, runs, ours_env=ours_env, before=fresh)
    db = os.path.join(data, "store.db")
    print("store after the import: %.0f MB" % (os.path.getsize(db) / 1e6))
    # The 1 GB transcript alone.
    alone = tempfile.mkdtemp(prefix="bench-1g-")
    proj = os.path.join(alone, "projects", "-home-dev-big")
    os.makedirs(proj)
    big = max((os.path.join(tree, "projects", "-home-dev-big", n) for n in os.listdir(os.path.join(tree, "projects",
              "-home-dev-big"))), key=os.path.getsize)
    os.link(big, os.path.join(proj, os.path.basename(big)))
    fresh()
    _, wall, cpu, rss = timed([ours, "sync-now", "--all", alone], dict(ours_env, CLAUDE_CONFIG_DIR=alone))
    print("the %.0f MB transcript alone: %.2f s, %.2f s CPU, peak RSS %.1f MB"
          % (os.path.getsize(big) / 1e6, wall, cpu, rss))
    for t in (data, alone):
        shutil.rmtree(t, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big-mb", type=int, default=0)
    ap.add_argument("--skip-usage", action="store_true")
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
    same = import_bench(ours, cc, env, args.tree, size, args.runs)
    if args.big_mb:
        big_case(ours, cc, env, args.big_mb, 1)
    if args.skip_usage:
        shutil.rmtree(home, ignore_errors=True)
        print("\nsame token totals: %s" % ("yes" if same else "NO"))
        sys.exit(0 if same else 1)

    res, _ = run_pair("usage, whole tree, parallel",
                      ([ours, "usage", "--json", "--jobs", "2", args.tree], "usage --jobs 2"),
                      (cc, "(default threads)"), env, size, args.runs)
    run_pair("usage, whole tree, one thread", ([ours, "usage", "--json", "--jobs", "1", args.tree], "usage --jobs 1"),
             (cc + ["--single-thread"], "(--single-thread)"), env, size, args.runs)

    # Same totals?
    o_tot, o_per, o_cost = ours_totals(json.loads(res["claude-code-sync usage --jobs 2"]))
    c_tot, c_per, c_cost = ccusage_totals(json.loads(res["ccusage (default threads)"]))
    print("cost: claude-code-sync $%.2f, ccusage $%.2f" % (o_cost, c_cost))
    same = compare("usage totals", "claude-code-sync", (o_tot, o_per), "ccusage", (c_tot, c_per)) and same

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
