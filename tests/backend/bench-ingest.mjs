// Drain-rate benchmark of the local backend, without the Rust client: posts
// N events (default 10,000) over HTTP, one request in flight at a time like
// the uploader, batched through sync:recordEvents and unbatched through
// sync:recordEvent, checks every event was stored, and prints events/s.
//
//   node tests/backend/bench-ingest.mjs [--events N] [--batch B] [--no-index-accelerator]
//
// Figures measure this in-memory stand-in (convex-test on Node), not a real
// deployment: use them to compare batched with unbatched delivery, and the
// Rust uploader with this script, on the same machine.
import { performance } from "node:perf_hooks";
import { startBackend } from "./harness.mjs";

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(name);
  return i === -1 ? dflt : Number(argv[i + 1]);
};
const N = arg("--events", 10_000);
const BATCH = arg("--batch", 100);

/** A backfill-like stream: 20 sessions, mixed event types, ~400-byte details. */
function makeEvents(n) {
  const types = ["message", "message", "message", "tool_use", "user_prompt", "response_complete"];
  return Array.from({ length: n }, (_, i) => {
    const session = `bench-session-${i % 20}`;
    const type = i < 20 ? "session_start" : types[i % types.length];
    const payload = { projectName: `project-${i % 3}`, gitBranch: "main", model: "claude-sonnet-4-5" };
    if (type === "message") payload.detail = { role: i % 2 ? "assistant" : "user", kind: "text", text: "lorem ipsum ".repeat(32) };
    if (type === "tool_use") payload.detail = { tool: "Bash", input: "ls -la", outcome: "ok" };
    return { sessionId: session, eventId: `bench-${i}`, eventType: type, timestamp: 1_700_000_000_000 + i, source: "claude-code", payload };
  });
}

async function run(b, label, events, send) {
  await b.test("reset", {});
  const start = performance.now();
  const requests = await send(events);
  const seconds = (performance.now() - start) / 1000;
  const stored = (await b.test("tables/events")).length;
  if (stored !== events.length) throw new Error(`${label}: stored ${stored} of ${events.length} events`);
  const rate = events.length / seconds;
  console.log(`${label.padEnd(30)} ${String(events.length).padStart(6)} events  ${String(requests).padStart(6)} requests  ${seconds.toFixed(2).padStart(7)} s  ${rate.toFixed(0).padStart(7)} events/s`);
  return rate;
}

function expectOk(r, what) {
  if (r.status !== 200 || r.body.status !== "success") throw new Error(`${what}: ${JSON.stringify(r.body)}`);
  return r.body.value;
}

const b = await startBackend({ args: argv.includes("--no-index-accelerator") ? ["--no-index-accelerator"] : [] });
try {
  const events = makeEvents(N);
  console.log(`local backend ${b.url}, node ${process.version}`);
  const batched = await run(b, `batched (recordEvents x${BATCH})`, events, async (evs) => {
    let requests = 0;
    for (let i = 0; i < evs.length; i += BATCH) {
      const value = expectOk(await b.call("mutation", "sync:recordEvents", { events: evs.slice(i, i + BATCH) }), "recordEvents");
      if (value.results.some((r) => r.status !== "recorded")) throw new Error("unexpected duplicate");
      requests++;
    }
    return requests;
  });
  const unbatched = await run(b, "unbatched (recordEvent)", events, async (evs) => {
    for (const ev of evs) expectOk(await b.call("mutation", "sync:recordEvent", ev), "recordEvent");
    return evs.length;
  });
  console.log(`batched / unbatched: ${(batched / unbatched).toFixed(1)}x`);
} finally {
  await b.stop();
}
