// Captures what today's client sends: runs the built binary's hooks on every
// real hook payload in tests/fixtures/claude-code/hook-payloads (with the real
// transcripts beside them), delivers with `sync-now --session` to the local
// backend, and writes the events of each delivery, as the backend received
// them, to tests/fixtures/client-payloads/<payload file name>.json. The
// compatibility tests (convex/compat.test.ts) replay them against the
// functions, so a change to the backend is tested against real client output.
//
//   node tests/backend/capture-client-payloads.mjs [path/to/claude-code-sync]
//
// Default binary: target/debug/claude-code-sync. Run it again after the
// client changes what it sends, and commit the result.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startBackend } from "./harness.mjs";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = path.join(REPO, "tests/fixtures/claude-code");
const OUT = path.join(REPO, "tests/fixtures/client-payloads");
const BIN = path.resolve(process.argv[2] ?? path.join(REPO, "target/debug/claude-code-sync"));

/** The hook subcommand plugin/hooks/hooks.json runs for each hook event. */
function subcommands() {
  const hooks = JSON.parse(readFileSync(path.join(REPO, "plugin/hooks/hooks.json"), "utf8")).hooks;
  return Object.fromEntries(Object.entries(hooks).map(([event, [entry]]) => [event, entry.hooks[0].args[0]]));
}

const home = mkdtempSync(path.join(os.tmpdir(), "ccs-capture-"));
const backend = await startBackend();
try {
  // The sandbox's Claude Code folder holds the real transcripts, so a hook
  // whose session has one reads it as it would on a user's machine.
  const projects = path.join(home, ".claude/projects");
  mkdirSync(projects, { recursive: true });
  const transcripts = new Map();
  for (const scenario of readdirSync(path.join(FIXTURES, "transcripts"))) {
    cpSync(path.join(FIXTURES, "transcripts", scenario), projects, { recursive: true });
    for (const dir of readdirSync(path.join(FIXTURES, "transcripts", scenario))) {
      for (const f of readdirSync(path.join(projects, dir))) {
        if (f.endsWith(".jsonl")) transcripts.set(f.slice(0, -6), path.join(projects, dir, f));
      }
    }
  }
  writeFileSync(path.join(home, ".claude-code-sync.json"), JSON.stringify({ convex_url: backend.url, auto_sync: false }));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CLAUDE") && !k.startsWith("XDG_")));
  env.HOME = home;

  const bySubcommand = subcommands();
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const written = [];
  for (const file of readdirSync(path.join(FIXTURES, "hook-payloads")).sort()) {
    const input = JSON.parse(readFileSync(path.join(FIXTURES, "hook-payloads", file), "utf8"));
    const sub = bySubcommand[input.hook_event_name];
    if (!sub) continue;
    if (transcripts.has(input.session_id)) input.transcript_path = transcripts.get(input.session_id);
    await backend.test("reset", {});
    execFileSync(BIN, [sub], { input: JSON.stringify(input) + "\n", env });
    execFileSync(BIN, ["sync-now", "--session", input.session_id], { env, stdio: ["ignore", "ignore", "inherit"] });
    const calls = await backend.test("calls");
    const events = calls.flatMap((c) =>
      c.path === "sync:recordEvents" ? c.args.events : c.path === "sync:recordEvent" ? [c.args] : [],
    );
    if (events.length === 0) continue;
    // The sandbox's own path must not end up in a committed file.
    const text = JSON.stringify(events, null, 2).replaceAll(home, "/home/dev/capture");
    writeFileSync(path.join(OUT, file), text + "\n");
    written.push(`${file}: ${events.length} event(s), ${[...new Set(events.map((e) => e.eventType))].join(", ")}`);
  }
  console.log(written.join("\n"));
} finally {
  await backend.stop();
  rmSync(home, { recursive: true, force: true });
}
