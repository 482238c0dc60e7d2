// Tests of the local test backend itself, over real HTTP to a real child
// process: what the Rust tests rely on (envelopes, /_test routes, faults).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startBackend } from "./harness.mjs";

const KEY = "test-deployment-key-7f3a";

function ev(eventId, eventType = "message", timestamp = 1000, sessionId = "s1", payload = {}) {
  return { sessionId, eventId, eventType, timestamp, source: "claude-code", payload };
}

describe("open deployment", () => {
  let b;
  before(async () => {
    b = await startBackend();
  });
  after(async () => {
    await b.stop();
  });

  test("prints exactly one LISTENING line and answers healthCheck with the success envelope", async () => {
    assert.match(b.stdout(), /^LISTENING http:\/\/127\.0\.0\.1:\d+\n$/);
    const r = await b.call("query", "sync:healthCheck");
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "success");
    assert.deepEqual(
      { ...r.body.value, eventTypes: undefined, limits: undefined },
      { ok: true, keyConfigured: false, keyRequired: false, keyAccepted: true, contractVersion: 2, eventTypes: undefined, limits: undefined },
    );
  });

  test("recordEvent stores through the real function; a re-send says duplicate", async () => {
    await b.test("reset", {});
    const args = ev("e1", "session_start", 1000, "s1", { projectName: "proj", detail: { text: "hi" } });
    assert.deepEqual((await b.call("mutation", "sync:recordEvent", args)).body, {
      status: "success",
      value: { status: "recorded", eventId: "e1" },
    });
    assert.deepEqual((await b.call("mutation", "sync:recordEvent", args)).body.value, { status: "duplicate", eventId: "e1" });
    // The HTTP API also takes the arguments wrapped in an array.
    const wrapped = await b.post("/api/mutation", { path: "sync:recordEvent", args: [ev("e2", "tool_use", 2000)] });
    assert.equal(wrapped.body.value.status, "recorded");

    const events = await b.test("tables/events");
    assert.deepEqual(events.map((e) => e.eventId).sort(), ["e1", "e2"]);
    assert.deepEqual(events.find((e) => e.eventId === "e1").payload, { projectName: "proj", detail: { text: "hi" } });
    const [session] = await b.test("tables/sessions");
    assert.equal(session.sessionId, "s1");
    assert.equal(session.projectName, "proj");
    assert.equal(session.toolCallCount, 1);
    assert.equal(typeof session._id, "string");
  });

  test("reads are refused with NO_KEY_CONFIGURED, naming the command that sets a key", async () => {
    const r = await b.call("query", "sync:getSession", { sessionId: "s1" });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "error");
    assert.equal(r.body.errorData.code, "NO_KEY_CONFIGURED");
    assert.equal(r.body.errorData.command, "npx convex env set CLAUDE_SYNC_API_KEY <key>");
  });

  test("recordEvents answers per event", async () => {
    await b.test("reset", {});
    const r = await b.call("mutation", "sync:recordEvents", { events: [ev("a"), ev("b"), ev("a")] });
    assert.deepEqual(r.body.value.results, [
      { eventId: "a", status: "recorded" },
      { eventId: "b", status: "recorded" },
      { eventId: "a", status: "duplicate" },
    ]);
  });

  test("function failures are HTTP 200 error envelopes, with errorData only for ConvexError", async () => {
    // healthCheck keeps Convex's argument validator: its failure carries no errorData.
    const invalid = await b.call("query", "sync:healthCheck", { apiKey: 42 });
    assert.equal(invalid.status, 200);
    assert.equal(invalid.body.status, "error");
    assert.equal(typeof invalid.body.errorMessage, "string");
    assert.equal("errorData" in invalid.body, false);

    // The writes check events themselves and say which field is wrong.
    const refused = await b.call("mutation", "sync:recordEvent", { ...ev("x"), payload: { cost: "1" } });
    assert.equal(refused.status, 200);
    assert.equal(refused.body.status, "error");
    assert.deepEqual(
      { code: refused.body.errorData.code, eventId: refused.body.errorData.eventId, reason: refused.body.errorData.reason },
      { code: "INVALID_EVENT", eventId: "x", reason: "payload.cost must be a number, got string" },
    );

    const tooMany = Array.from({ length: 101 }, (_, i) => ev(`m${i}`));
    const big = await b.call("mutation", "sync:recordEvents", { events: tooMany });
    assert.equal(big.body.status, "error");
    assert.equal(big.body.errorData.code, "BATCH_TOO_LARGE");
    assert.equal(big.body.errorData.maxEvents, 100);

    for (const [kind, fn, pattern] of [
      ["mutation", "sync:noSuchFunction", /Could not find public function for 'sync:noSuchFunction'/],
      ["mutation", "nosuchmodule:f", /Could not find public function/],
      // Internal functions are hidden from the public API, as on a deployment.
      ["mutation", "migrations:addSourceToExisting", /Could not find public function/],
      ["query", "sync:recordEvent", /as Query, but it is defined as Mutation/],
    ]) {
      const r = await b.call(kind, fn, {});
      assert.equal(r.status, 200);
      assert.equal(r.body.status, "error");
      assert.match(r.body.errorMessage, pattern);
    }
    assert.equal((await b.test("tables/events")).some((e) => e.eventId === "x"), false);
  });

  test("transport-level failures use Convex's {code, message} bodies", async () => {
    const badJson = await b.post("/api/mutation", "{not json");
    assert.equal(badJson.status, 400);
    assert.equal(badJson.body.code, "BadJsonBody");

    const bearer = await fetch(`${b.url}/api/query`, {
      method: "POST",
      headers: { Authorization: "Bearer osk_whatever", "Content-Type": "application/json" },
      body: JSON.stringify({ path: "sync:healthCheck", args: {} }),
    });
    assert.equal(bearer.status, 401);
    assert.equal((await bearer.json()).code, "NoAuthProvider");

    const client = await fetch(`${b.url}/api/query`, {
      method: "POST",
      headers: { "Convex-Client": "not a version", "Content-Type": "application/json" },
      body: JSON.stringify({ path: "sync:healthCheck", args: {} }),
    });
    assert.equal(client.status, 400);
    const okClient = await fetch(`${b.url}/api/query`, {
      method: "POST",
      headers: { "Convex-Client": "claude-code-sync-0.1.0", "Content-Type": "application/json" },
      body: JSON.stringify({ path: "sync:healthCheck", args: {} }),
    });
    assert.equal((await okClient.json()).status, "success");
  });

  test("concurrent calls are applied one at a time, none lost", async () => {
    await b.test("reset", {});
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, i) => b.call("mutation", "sync:recordEvent", ev(`c${i % 40}`, "tool_use", i))),
    );
    const statuses = replies.map((r) => r.body.value.status);
    assert.equal(statuses.filter((s) => s === "recorded").length, 40);
    assert.equal(statuses.filter((s) => s === "duplicate").length, 20);
    const [session] = await b.test("tables/sessions");
    assert.equal(session.toolCallCount, 40);
    assert.equal(session.eventCount, 40);
  });

  test("/_test/tables rejects an unknown table; /_test/reset empties the tables", async () => {
    const r = await fetch(`${b.url}/_test/tables/nope`);
    assert.equal(r.status, 404);
    await b.call("mutation", "sync:recordEvent", ev("r1"));
    await b.test("reset", {});
    assert.deepEqual(await b.test("tables/events"), []);
    assert.deepEqual(await b.test("tables/sessions"), []);
  });

  test("/_test/env sets and unsets the deployment's key at run time", async () => {
    assert.deepEqual(await b.test("env", { CLAUDE_SYNC_API_KEY: KEY }), { keyRequired: true });
    const denied = await b.call("mutation", "sync:recordEvent", ev("k1"));
    assert.equal(denied.body.errorData.code, "UNAUTHORIZED");
    const allowed = await b.call("mutation", "sync:recordEvent", { ...ev("k1"), apiKey: KEY });
    assert.equal(allowed.body.value.status, "recorded");
    assert.deepEqual(await b.test("env", { CLAUDE_SYNC_API_KEY: null }), { keyRequired: false });
    assert.equal((await b.call("mutation", "sync:recordEvent", ev("k2"))).body.value.status, "recorded");
  });
});

describe("deployment with a key", () => {
  let b;
  before(async () => {
    b = await startBackend({ apiKey: KEY });
  });
  after(async () => {
    await b.stop();
  });

  test("a missing or wrong key is UNAUTHORIZED in errorData, and the key is never echoed", async () => {
    for (const apiKey of [undefined, "wrong"]) {
      const args = apiKey === undefined ? ev("e1") : { ...ev("e1"), apiKey };
      const r = await b.call("mutation", "sync:recordEvent", args);
      assert.equal(r.status, 200);
      assert.equal(r.body.status, "error");
      assert.equal(r.body.errorData.code, "UNAUTHORIZED");
      assert.equal(JSON.stringify(r.body).includes(KEY), false);
    }
    const health = (await b.call("query", "sync:healthCheck", { apiKey: "wrong" })).body.value;
    assert.deepEqual([health.keyConfigured, health.keyRequired, health.keyAccepted], [true, true, false]);
    assert.equal(JSON.stringify(health).includes(KEY), false);
    const read = await b.call("query", "sync:sessionsBySource", { source: "claude-code" });
    assert.equal(read.body.errorData.code, "UNAUTHORIZED");
    assert.equal((await b.call("mutation", "sync:recordEvent", { ...ev("e1"), apiKey: KEY })).body.value.status, "recorded");
    // /_test/calls shows what was sent, the key left out.
    const calls = await b.test("calls");
    assert.deepEqual(calls.at(-1), { kind: "mutation", path: "sync:recordEvent", args: ev("e1") });
    assert.equal(JSON.stringify(calls).includes(KEY), false);
  });
});

describe("older deployment (--without recordEvents)", () => {
  let b;
  before(async () => {
    b = await startBackend({ args: ["--without", "recordEvents"] });
  });
  after(async () => {
    await b.stop();
  });

  test("recordEvents answers like an unknown function; recordEvent still works", async () => {
    const r = await b.call("mutation", "sync:recordEvents", { events: [ev("a")] });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "error");
    assert.match(r.body.errorMessage, /Could not find public function for 'sync:recordEvents'/);
    assert.equal("errorData" in r.body, false);
    assert.deepEqual(await b.test("tables/events"), []);
    assert.equal((await b.call("mutation", "sync:recordEvent", ev("a"))).body.value.status, "recorded");
  });
});

describe("fault modes", () => {
  let b;
  before(async () => {
    b = await startBackend();
  });
  after(async () => {
    await b.stop();
  });
  const health = () => b.call("query", "sync:healthCheck");

  test("http500 for the next N requests, then healthy again", async () => {
    await b.test("fault", { mode: "http500", count: 2 });
    assert.equal((await health()).status, 500);
    const second = await health();
    assert.equal(second.status, 500);
    assert.equal(typeof second.body.code, "string");
    assert.equal((await health()).body.status, "success");
    assert.equal((await b.test("fault")).mode, "healthy");
  });

  test("rate_limited answers 429 with Retry-After; the write does not happen", async () => {
    await b.test("reset", {});
    await b.test("fault", { mode: "rate_limited", retryAfterSeconds: 7 });
    const r = await b.call("mutation", "sync:recordEvent", ev("rl"));
    assert.equal(r.status, 429);
    assert.equal(r.headers.get("retry-after"), "7");
    await b.test("fault", { mode: "healthy" });
    assert.deepEqual(await b.test("tables/events"), []);
  });

  test("reset_half resets every other connection", async () => {
    await b.test("fault", { mode: "reset_half" });
    const outcomes = [];
    for (let i = 0; i < 6; i++) {
      try {
        outcomes.push((await health()).body.status);
      } catch {
        outcomes.push("reset");
      }
    }
    assert.deepEqual(outcomes, ["reset", "success", "reset", "success", "reset", "success"]);
    await b.test("fault", { mode: "healthy" });
  });

  test("slow still answers, after the configured delay", async () => {
    await b.test("fault", { mode: "slow", delayMs: 50 });
    assert.equal((await health()).body.status, "success");
    assert.equal((await b.test("fault")).delayMs, 50);
    await b.test("fault", { mode: "healthy" });
  });

  test("black_hole accepts the request and never answers", async () => {
    await b.test("fault", { mode: "black_hole" });
    const controller = new AbortController();
    const pending = fetch(`${b.url}/api/query`, {
      method: "POST",
      body: JSON.stringify({ path: "sync:healthCheck", args: {} }),
      signal: controller.signal,
    });
    // The test routes still answer while the request hangs; wait (bounded)
    // until the server has swallowed it.
    let faulted = 0;
    for (let i = 0; i < 200 && faulted === 0; i++) {
      faulted = (await b.test("fault")).faulted;
      if (faulted === 0) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(faulted, 1);
    controller.abort();
    await assert.rejects(pending, { name: "AbortError" });
    await b.test("fault", { mode: "healthy" });
  });

  test("unauthorized answers the function-error envelope with errorData.code UNAUTHORIZED", async () => {
    await b.test("fault", { mode: "unauthorized" });
    const r = await health();
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "error");
    assert.equal(r.body.errorData.code, "UNAUTHORIZED");
    await b.test("fault", { mode: "healthy" });
  });

  test("lost_reply runs the function, then resets the connection instead of answering", async () => {
    await b.test("reset", {});
    await b.test("fault", { mode: "lost_reply", count: 1 });
    await assert.rejects(b.call("mutation", "sync:recordEvent", ev("lost")));
    const stored = await b.test("tables/events");
    assert.deepEqual(stored.map((e) => e.eventId), [ev("lost").eventId]);
    const again = await b.call("mutation", "sync:recordEvent", ev("lost"));
    assert.equal(again.body.value.status, "duplicate");
  });

  test("an unknown mode is refused", async () => {
    const r = await b.post("/_test/fault", { mode: "meltdown" });
    assert.equal(r.status, 400);
  });

  test("/_test/stats counts calls per function", async () => {
    await b.test("reset", {});
    await b.call("mutation", "sync:recordEvents", { events: [ev("s1"), ev("s2")] });
    await b.call("mutation", "sync:recordEvent", ev("s3"));
    await b.call("mutation", "sync:recordEvent", ev("s4"));
    assert.deepEqual(await b.test("stats"), {
      requests: 3,
      byFunction: { "sync:recordEvents": 1, "sync:recordEvent": 2 },
    });
  });
});

test("the server stops when its stdin closes", async () => {
  const b = await startBackend();
  const { code } = await b.stop();
  assert.equal(code, 0);
});

test("the index accelerator answers and stores exactly what plain convex-test does", async () => {
  // A seeded mixed workload: batches and single calls, re-sends, events out
  // of order across sessions and projects, and reads through every index.
  let seed = 42;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const types = ["session_start", "user_prompt", "tool_use", "tool_failure", "message", "response_complete", "session_end"];
  const pool = Array.from({ length: 400 }, (_, i) => {
    const type = types[rand(types.length)];
    const payload = { projectName: `p${rand(3)}`, gitBranch: `b${rand(4)}` };
    if (type === "session_end") Object.assign(payload, { messageCount: rand(100), tokenUsage: { input: rand(1000), output: rand(1000) } });
    return ev(`w${i}`, type, rand(100_000), `s${rand(9)}`, payload);
  });
  const steps = [];
  for (let i = 0; i < 120; i++) {
    const pick = () => pool[rand(pool.length)];
    if (rand(2) === 0) steps.push(["mutation", "sync:recordEvents", { events: Array.from({ length: 1 + rand(12) }, pick) }]);
    else steps.push(["mutation", "sync:recordEvent", pick()]);
    if (i % 10 === 9) {
      steps.push(["query", "sync:sessionsBySource", { source: "claude-code" }]);
      steps.push(["query", "sync:sessionsByProject", { projectName: `p${rand(3)}` }]);
      steps.push(["query", "sync:getSession", { sessionId: `s${rand(9)}` }]);
      steps.push(["query", "sync:sessionEvents", { sessionId: `s${rand(9)}`, paginationOpts: { numItems: 5, cursor: null } }]);
    }
  }
  // Creation times differ between two servers (wall clock); so do the cursors
  // that hold them: [index values..., _creationTime, _id].
  const withoutCreationTime = (value) =>
    JSON.parse(JSON.stringify(value), (k, v) => {
      if (k === "_creationTime") return undefined;
      if (k === "continueCursor" && typeof v === "string" && v.startsWith("[")) {
        const parts = JSON.parse(v);
        return parts.filter((_, i) => i !== parts.length - 2);
      }
      return v;
    });

  // With a key, so the reads answer (a deployment without one refuses them).
  const [fast, plain] = await Promise.all([
    startBackend({ apiKey: KEY }),
    startBackend({ apiKey: KEY, args: ["--no-index-accelerator"] }),
  ]);
  try {
    for (const [kind, fn, stepArgs] of steps) {
      const args = { ...stepArgs, apiKey: KEY };
      const [a, b] = await Promise.all([fast.call(kind, fn, args), plain.call(kind, fn, args)]);
      assert.equal(a.body.status, "success", JSON.stringify(a.body));
      assert.deepEqual(withoutCreationTime(a.body), withoutCreationTime(b.body), `${fn} ${JSON.stringify(args).slice(0, 200)}`);
    }
    for (const table of ["sessions", "events"]) {
      const [a, b] = await Promise.all([fast.test(`tables/${table}`), plain.test(`tables/${table}`)]);
      assert.ok(a.length > 0);
      assert.deepEqual(withoutCreationTime(a), withoutCreationTime(b));
    }
  } finally {
    await Promise.all([fast.stop(), plain.stop()]);
  }
});
