#!/usr/bin/env python3
"""Scores `claude-code-sync redact` on an outside redaction corpus (JSONL), the way an outside
judge does, so the project's own figures can be checked against text it was not written from.

Each line is a positive `{"id", "kind", "text", "secrets"}` or a negative
`{"id", "kind": "negative", "category", "text"}`. A positive is caught when none of its
`secrets` survives the redaction, nor any 12-character window of one, and a `[REDACTED:<kind>]`
marker appears. A negative passes only when the output equals the input byte for byte.

    python3 bench/score_outside.py CORPUS.jsonl [--bin PATH] [--show]

--show prints every miss and every changed negative (the texts themselves: fake secrets, but
keep the output out of the repository).
"""

import argparse
import json
import os
import re
import subprocess
import sys
from collections import Counter

MARKER = re.compile(r"\[REDACTED:[A-Za-z0-9_.\-]+\]")


def default_bin():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(root, "target", "release", "claude-code-sync")


def redact(binary, text):
    p = subprocess.run([binary, "redact"], input=text.encode(), capture_output=True, check=True)
    return p.stdout.decode("utf-8", errors="surrogateescape")


def survives(secret, out, window=12):
    if secret in out:
        return True
    if len(secret) <= window:
        return False
    return any(secret[i : i + window] in out for i in range(len(secret) - window + 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--bin", default=default_bin())
    ap.add_argument("--show", action="store_true")
    args = ap.parse_args()

    items = [json.loads(l) for l in open(args.corpus, encoding="utf-8") if l.strip()]
    pos = [i for i in items if i.get("kind") != "negative"]
    neg = [i for i in items if i.get("kind") == "negative"]
    missed, changed = [], []
    missed_kinds, changed_cats = Counter(), Counter()
    for it in pos:
        out = redact(args.bin, it["text"])
        secrets = it.get("secrets") or [it["secret"]]
        if any(survives(s, out) for s in secrets) or not MARKER.search(out):
            missed.append((it, out))
            missed_kinds[it["kind"]] += 1
    for it in neg:
        out = redact(args.bin, it["text"])
        if out != it["text"]:
            changed.append((it, out))
            changed_cats[it.get("category", "?")] += 1

    recall = 1 - len(missed) / max(len(pos), 1)
    fp = len(changed) / max(len(neg), 1)
    print(f"recall {recall * 100:.1f} % ({len(pos) - len(missed)}/{len(pos)} positives), "
          f"false positives {fp * 100:.1f} % ({len(changed)}/{len(neg)} negatives)")
    if missed_kinds:
        print("missed kinds:", ", ".join(f"{k}×{n}" for k, n in missed_kinds.most_common()))
    if changed_cats:
        print("changed negative categories:", ", ".join(f"{k}×{n}" for k, n in changed_cats.most_common()))
    if args.show:
        for it, out in missed:
            print(f"\nMISS {it['id']} [{it['kind']}]\n  in:  {it['text']!r}\n  out: {out!r}")
        for it, out in changed:
            print(f"\nFP {it['id']} [{it.get('category')}]\n  in:  {it['text']!r}\n  out: {out!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
