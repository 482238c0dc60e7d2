import { ConvexError } from "convex/values";
import { afterEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import { requireReadKey } from "./access";
import { CONTRACT_VERSION, KNOWN_EVENT_TYPES, MAX_TEXT_CHARS } from "./contract";
import { MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_DETAIL_BYTES, MAX_PAYLOAD_BYTES, foldEvent } from "./sync";
import { setup, tables, type SentEvent } from "./test.setup";

type EventArgs = SentEvent;

function event(
  eventId: string,
  eventType: EventArgs["eventType"],
  timestamp: number,
  payload: Record<string, unknown> = {},
  sessionId = "s1",
): EventArgs {
  return { sessionId, eventId, eventType, timestamp, source: "claude-code", payload };
}


/** The data of the ConvexError a call rejected with. */
async function convexErrorData(p: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ConvexError);
    return (e as ConvexError<any>).data as Record<string, unknown>;
  }
  throw new Error("expected the call to be rejected");
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("what is refused", () => {
  const good = event("e1", "session_start", 1000, { projectName: "p" });
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["missing sessionId", { ...good, sessionId: undefined }, /sessionId must be a string, got undefined/],
    ["missing eventId", { ...good, eventId: undefined }, /eventId must be a string/],
    ["an empty eventType", { ...good, eventType: "" }, /eventType must not be empty/],
    ["timestamp as a string", { ...good, timestamp: "1000" }, /timestamp must be a number .*got string/],
    ["unknown source", { ...good, source: "cursor" }, /source must be one of claude-code, opencode, got "cursor"/],
    ["payload as an array", { ...good, payload: [1] }, /payload must be an object, got array/],
    ["tokenUsage without output", { ...good, payload: { tokenUsage: { input: 1 } } }, /payload.tokenUsage.output is required/],
    ["cost as a string", { ...good, payload: { cost: "0.1" } }, /payload.cost must be a number, got string/],
    ["model as an object", { ...good, payload: { model: { id: "m" } } }, /payload.model must be a string, got object/],
    ["a projectName longer than the bound", { ...good, payload: { projectName: "p".repeat(MAX_TEXT_CHARS + 1) } }, /longer than/],
  ];
  test.each(bad)("recordEvent refuses %s with INVALID_EVENT and stores nothing", async (_, args, reason) => {
    const t = setup();
    const clean = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
    const data = await convexErrorData(t.mutation(api.sync.recordEvent, clean as never));
    expect(data.code).toBe("INVALID_EVENT");
    expect(data.reason).toMatch(reason);
    expect(data.message).toMatch(reason);
    expect(await tables(t)).toEqual({ sessions: [], events: [] });
  });

  test("an apiKey that is not a string is INVALID_ARGUMENTS", async () => {
    const t = setup();
    const data = await convexErrorData(t.mutation(api.sync.recordEvent, { ...good, apiKey: 42 } as never));
    expect(data.code).toBe("INVALID_ARGUMENTS");
    const batch = await convexErrorData(t.mutation(api.sync.recordEvents, { events: "nope" } as never));
    expect(batch.code).toBe("INVALID_ARGUMENTS");
  });

  test("recordEvents names every refused event and writes nothing, so the client parks only those", async () => {
    const t = setup();
    const events = [
      event("e1", "session_start", 1),
      { ...event("e2", "tool_use", 2), payload: { toolCallCount: "3" } },
      event("e3", "brand_new_type", 3, { brandNewField: [1, 2] }),
      { ...event("e4", "message", 4), timestamp: null },
    ];
    const data = await convexErrorData(t.mutation(api.sync.recordEvents, { events } as never));
    expect(data.code).toBe("INVALID_EVENTS");
    expect(data.rejected).toEqual([
      { index: 1, eventId: "e2", reason: "payload.toolCallCount must be a number, got string" },
      { index: 3, eventId: "e4", reason: "timestamp must be a number (ms since epoch), got null" },
    ]);
    expect(await tables(t)).toEqual({ sessions: [], events: [] });
    // The rest, sent again as the client does, is stored.
    const rest = events.filter((_, i) => i !== 1 && i !== 3);
    const r = await t.mutation(api.sync.recordEvents, { events: rest });
    expect(r.results.map((x) => x.status)).toEqual(["recorded", "recorded"]);
  });

  test("every event type the client sends is accepted, message included", async () => {
    const t = setup();
    const types = [...KNOWN_EVENT_TYPES];
    for (const [i, type] of types.entries()) {
      const detail = type === "message" ? { role: "assistant", kind: "text", text: "hi" } : undefined;
      const r = await t.mutation(api.sync.recordEvent, event(`e${i}`, type, i, detail ? { detail } : {}));
      expect(r).toEqual({ status: "recorded", eventId: `e${i}` });
    }
    const { events } = await tables(t);
    expect(events.map((e) => e.eventType).sort()).toEqual([...types].sort());
  });
});

describe("idempotency", () => {
  test("a re-sent event changes nothing and says duplicate", async () => {
    const t = setup();
    const ev = event("e1", "tool_use", 1000, { projectName: "p", detail: { tool: "Bash" } });
    expect(await t.mutation(api.sync.recordEvent, ev)).toEqual({ status: "recorded", eventId: "e1" });
    const before = await tables(t);
    expect(await t.mutation(api.sync.recordEvent, ev)).toEqual({ status: "duplicate", eventId: "e1" });
    // Even a re-send with different content is the same event.
    const changed = { ...ev, payload: { projectName: "other" } };
    expect(await t.mutation(api.sync.recordEvent, changed)).toEqual({ status: "duplicate", eventId: "e1" });
    expect(await tables(t)).toEqual(before);
    expect(before.sessions[0].toolCallCount).toBe(1);
    expect(before.sessions[0].eventCount).toBe(1);
  });

  test("recordEvents answers per event in input order, a repeat inside the batch included", async () => {
    const t = setup();
    await t.mutation(api.sync.recordEvent, event("e1", "session_start", 1));
    const r = await t.mutation(api.sync.recordEvents, {
      events: [event("e2", "user_prompt", 2), event("e1", "session_start", 1), event("e3", "tool_use", 3), event("e2", "user_prompt", 2)],
    });
    expect(r.results).toEqual([
      { eventId: "e2", status: "recorded" },
      { eventId: "e1", status: "duplicate" },
      { eventId: "e3", status: "recorded" },
      { eventId: "e2", status: "duplicate" },
    ]);
    const { sessions, events } = await tables(t);
    expect(events).toHaveLength(3);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ promptCount: 1, toolCallCount: 1, eventCount: 3 });
  });

  test("a batch over the bound is refused whole with BATCH_TOO_LARGE", async () => {
    const t = setup();
    const events = Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => event(`e${i}`, "message", i));
    const data = await convexErrorData(t.mutation(api.sync.recordEvents, { events }));
    expect(data).toMatchObject({ code: "BATCH_TOO_LARGE", maxEvents: MAX_BATCH_EVENTS });
    expect((await tables(t)).events).toHaveLength(0);
  });

  test("a batch over the byte bound is refused whole, so the client splits it", async () => {
    const t = setup();
    const text = "y".repeat(MAX_DETAIL_BYTES - 100);
    const n = Math.ceil(MAX_BATCH_BYTES / MAX_DETAIL_BYTES) + 1;
    const events = Array.from({ length: n }, (_, i) => event(`e${i}`, "message", i, { detail: { text } }));
    const data = await convexErrorData(t.mutation(api.sync.recordEvents, { events }));
    expect(data).toMatchObject({ code: "BATCH_TOO_LARGE", maxBytes: MAX_BATCH_BYTES });
    expect((await tables(t)).events).toHaveLength(0);
    // Each half fits.
    await t.mutation(api.sync.recordEvents, { events: events.slice(0, n / 2) });
    await t.mutation(api.sync.recordEvents, { events: events.slice(n / 2) });
    expect((await tables(t)).events).toHaveLength(n);
  });

  test("an oversized detail is stored as a note of its size; the event still counts", async () => {
    const t = setup();
    const huge = { text: "z".repeat(2 * 1024 * 1024) }; // above Convex's 1 MiB document limit
    const r = await t.mutation(api.sync.recordEvent, event("big", "message", 1, { model: "m", detail: huge }));
    expect(r.status).toBe("recorded");
    const inBatch = await t.mutation(api.sync.recordEvents, { events: [event("big2", "message", 2, { detail: huge })] });
    expect(inBatch.results[0].status).toBe("recorded");
    const { events, sessions } = await tables(t);
    expect(events.map((e) => e.payload.detail)).toEqual([
      { omitted: "too_large", bytes: JSON.stringify(huge).length },
      { omitted: "too_large", bytes: JSON.stringify(huge).length },
    ]);
    expect(events[0].payload.model).toBe("m");
    expect(sessions[0].messageCount).toBe(2);
  });

  test("a detail at the bound is stored as sent", async () => {
    const t = setup();
    const detail = { text: "a".repeat(MAX_DETAIL_BYTES - 20) };
    await t.mutation(api.sync.recordEvent, event("e", "message", 1, { detail }));
    expect((await tables(t)).events[0].payload.detail).toEqual(detail);
  });

  test("a full batch of large events fits inside Convex's per-transaction limits", async () => {
    const t = setup(); // transactionLimits: true enforces the deployment's limits
    const text = "x".repeat(32 * 1024);
    const events = Array.from({ length: MAX_BATCH_EVENTS }, (_, i) =>
      event(`e${i}`, "message", i, { detail: { role: "user", kind: "text", text } }, `s${i % 7}`),
    );
    const r = await t.mutation(api.sync.recordEvents, { events });
    expect(r.results.every((x) => x.status === "recorded")).toBe(true);
    const { sessions } = await tables(t);
    expect(sessions).toHaveLength(7);
    expect(sessions.reduce((n, s) => n + (s.messageCount ?? 0), 0)).toBe(MAX_BATCH_EVENTS);
  });
});

describe("sessions from events in any order", () => {
  test("the session is created by its first event whatever its type", async () => {
    const t = setup();
    await t.mutation(api.sync.recordEvent, event("e9", "tool_use", 5000, { gitBranch: "main" }));
    const { sessions } = await tables(t);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ sessionId: "s1", source: "claude-code", startedAt: 5000, toolCallCount: 1, gitBranch: "main" });
  });

  test("a session delivered backwards ends with the same row as one delivered in order", async () => {
    const events = [
      event("a", "session_start", 1000, { startType: "startup", projectName: "proj", workingDirectory: "/w", gitBranch: "main", model: "claude-opus-4" }),
      event("b", "user_prompt", 2000, { detail: { text: "hello" } }),
      event("c", "tool_use", 3000, { detail: { tool: "Bash" } }),
      event("d", "message", 3500, { detail: { role: "assistant", kind: "text", text: "done" } }),
      event("e", "tool_failure", 4000, { gitBranch: "feature" }),
      event("f", "session_end", 9000, {
        endReason: "logout",
        messageCount: 12,
        toolCallCount: 5,
        promptCount: 3,
        tokenUsage: { input: 100, output: 50, cacheCreation: 7, cacheRead: 900 },
        cost: 0.25,
        durationMs: 8000,
      }),
    ];
    const strip = (s: Record<string, unknown>) => {
      const { _id, _creationTime, ...rest } = s;
      return rest;
    };
    const inOrder = setup();
    for (const ev of events) await inOrder.mutation(api.sync.recordEvent, ev);
    const backwards = setup();
    for (const ev of [...events].reverse()) await backwards.mutation(api.sync.recordEvent, ev);

    const a = (await tables(inOrder)).sessions.map(strip);
    const b = (await tables(backwards)).sessions.map(strip);
    expect(a).toEqual(b);
    expect(a[0]).toEqual({
      sessionId: "s1",
      source: "claude-code",
      projectName: "proj",
      workingDirectory: "/w",
      gitBranch: "feature", // from the newest event that carries it
      model: "claude-opus-4",
      startType: "startup",
      endReason: "logout",
      startedAt: 1000,
      endedAt: 9000,
      lastEventAt: 9000,
      figuresAt: 9000,
      messageCount: 12, // session_end's exact figures win over running counters
      toolCallCount: 5,
      promptCount: 3,
      tokenUsage: { input: 100, output: 50, cacheCreation: 7, cacheRead: 900 },
      cost: 0.25,
      durationMs: 8000,
      eventCount: 6,
    });
  });

  test("an older event arriving late fills a missing field but does not overwrite a newer one", async () => {
    const t = setup();
    await t.mutation(api.sync.recordEvent, event("new", "response_complete", 2000, { model: "new-model" }));
    await t.mutation(api.sync.recordEvent, event("old", "session_start", 1000, { model: "old-model", projectName: "p" }));
    const [s] = (await tables(t)).sessions;
    expect(s).toMatchObject({ model: "new-model", projectName: "p", startedAt: 1000, lastEventAt: 2000 });
  });
});

describe("counters", () => {
  test("running counters count prompts, tool calls and transcript messages", async () => {
    const t = setup();
    const evs = [
      event("1", "user_prompt", 1),
      event("2", "tool_use", 2),
      event("3", "tool_failure", 3),
      event("4", "message", 4),
      event("5", "message", 5),
      event("6", "response_complete", 6),
      event("7", "pre_compact", 7),
    ];
    await t.mutation(api.sync.recordEvents, { events: evs });
    const [s] = (await tables(t)).sessions;
    expect(s).toMatchObject({ promptCount: 1, toolCallCount: 2, messageCount: 2, eventCount: 7 });
  });

  test("exact figures overwrite the counters; later events count on top, earlier ones do not", async () => {
    const t = setup();
    await t.mutation(api.sync.recordEvent, event("1", "tool_use", 100));
    await t.mutation(api.sync.recordEvent, event("end", "session_end", 500, { toolCallCount: 40, messageCount: 90, tokenUsage: { input: 1, output: 2 }, cost: 1.5 }));
    // A late-arriving older tool call is already inside the exact figure.
    await t.mutation(api.sync.recordEvent, event("2", "tool_use", 200));
    // A resumed session goes on counting.
    await t.mutation(api.sync.recordEvent, event("3", "tool_use", 600));
    // Older figures never replace newer ones.
    await t.mutation(api.sync.recordEvent, event("mid", "manual_sync", 300, { toolCallCount: 3, cost: 0.1 }));
    const [s] = (await tables(t)).sessions;
    expect(s).toMatchObject({ toolCallCount: 41, messageCount: 90, cost: 1.5, tokenUsage: { input: 1, output: 2 }, figuresAt: 500 });
    expect(s.tokenUsage).toEqual({ input: 1, output: 2 });
  });

  test("foldEvent keeps an existing source and only fills a missing one", () => {
    const base = foldEvent(null, event("1", "session_start", 1));
    expect(base.source).toBe("claude-code");
    const legacy = { ...base, source: undefined };
    expect(foldEvent(legacy, event("2", "message", 2)).source).toBe("claude-code");
    const opencode = { ...base, source: "opencode" as const };
    expect(foldEvent(opencode, event("2", "message", 2)).source).toBe("opencode");
  });
});

describe("API key", () => {
  const KEY = "sk-test-0123456789abcdef";

  test("with CLAUDE_SYNC_API_KEY set, a missing or wrong key is UNAUTHORIZED and nothing is stored", async () => {
    vi.stubEnv("CLAUDE_SYNC_API_KEY", KEY);
    const t = setup();
    const ev = event("e1", "session_start", 1);
    for (const apiKey of [undefined, "", "wrong", KEY.slice(0, -1), KEY + "x", KEY.toUpperCase()]) {
      const args = apiKey === undefined ? ev : { ...ev, apiKey };
      const data = await convexErrorData(t.mutation(api.sync.recordEvent, args));
      expect(data.code).toBe("UNAUTHORIZED");
      expect(JSON.stringify(data)).not.toContain(KEY);
    }
    const batch = await convexErrorData(t.mutation(api.sync.recordEvents, { apiKey: "wrong", events: [ev] }));
    expect(batch.code).toBe("UNAUTHORIZED");
    expect(await tables(t)).toEqual({ sessions: [], events: [] });

    expect(await t.mutation(api.sync.recordEvent, { ...ev, apiKey: KEY })).toEqual({ status: "recorded", eventId: "e1" });
    expect(await t.mutation(api.sync.recordEvents, { apiKey: KEY, events: [event("e2", "message", 2)] })).toEqual({
      results: [{ eventId: "e2", status: "recorded" }],
    });
    // The key is checked, never stored.
    expect(JSON.stringify(await tables(t))).not.toContain(KEY);
  });

  test("without CLAUDE_SYNC_API_KEY any key, or none, is accepted", async () => {
    vi.stubEnv("CLAUDE_SYNC_API_KEY", undefined);
    const t = setup();
    await t.mutation(api.sync.recordEvent, event("e1", "session_start", 1));
    await t.mutation(api.sync.recordEvent, { ...event("e2", "message", 2), apiKey: "anything" });
    expect((await tables(t)).events).toHaveLength(2);
  });

  test("healthCheck tells whether a key is configured and accepted, never the key", async () => {
    const t = setup();
    const rest = { ok: true, contractVersion: CONTRACT_VERSION, eventTypes: [...KNOWN_EVENT_TYPES] };
    vi.stubEnv("CLAUDE_SYNC_API_KEY", undefined);
    expect(await t.query(api.sync.healthCheck, {})).toMatchObject({ ...rest, keyConfigured: false, keyRequired: false, keyAccepted: true });
    expect(await t.query(api.sync.healthCheck, { apiKey: "x" })).toMatchObject({ keyConfigured: false, keyAccepted: true });
    vi.stubEnv("CLAUDE_SYNC_API_KEY", KEY);
    expect(await t.query(api.sync.healthCheck, {})).toMatchObject({ ...rest, keyConfigured: true, keyRequired: true, keyAccepted: false });
    expect(await t.query(api.sync.healthCheck, { apiKey: "nope" })).toMatchObject({ keyConfigured: true, keyAccepted: false });
    const ok = await t.query(api.sync.healthCheck, { apiKey: KEY });
    expect(ok).toMatchObject({ keyConfigured: true, keyAccepted: true });
    expect(ok.limits).toEqual({ maxBatchEvents: MAX_BATCH_EVENTS, maxBatchBytes: MAX_BATCH_BYTES, maxPayloadBytes: MAX_PAYLOAD_BYTES });
    expect(JSON.stringify(ok)).not.toContain(KEY);
  });

  test("the read queries need the key too", async () => {
    vi.stubEnv("CLAUDE_SYNC_API_KEY", KEY);
    const t = setup();
    await t.mutation(api.sync.recordEvent, { ...event("e1", "session_start", 1, { projectName: "p" }), apiKey: KEY });
    const calls = [
      () => t.query(api.sync.sessionsBySource, { source: "claude-code" }),
      () => t.query(api.sync.sessionsByProject, { projectName: "p" }),
      () => t.query(api.sync.getSession, { sessionId: "s1" }),
      () => t.query(api.sync.sessionEvents, { sessionId: "s1", paginationOpts: { numItems: 10, cursor: null } }),
    ];
    for (const call of calls) expect((await convexErrorData(call())).code).toBe("UNAUTHORIZED");
    expect(await t.query(api.sync.sessionsBySource, { apiKey: KEY, source: "claude-code" })).toHaveLength(1);
  });
});

describe("reads fail closed", () => {
  const KEY = "sk-read-0123456789abcdef";
  const reads = (t: ReturnType<typeof setup>, apiKey?: string) => [
    () => t.query(api.sync.sessionsBySource, { apiKey, source: "claude-code" }),
    () => t.query(api.sync.sessionsByProject, { apiKey, projectName: "p" }),
    () => t.query(api.sync.getSession, { apiKey, sessionId: "s1" }),
    () => t.query(api.sync.sessionEvents, { apiKey, sessionId: "s1", paginationOpts: { numItems: 10, cursor: null } }),
  ];

  test("a deployment without a key refuses every read with NO_KEY_CONFIGURED and the command that fixes it", async () => {
    vi.stubEnv("CLAUDE_SYNC_API_KEY", undefined);
    const t = setup();
    // Writes stay open, so there is data to leak.
    await t.mutation(api.sync.recordEvent, event("e1", "user_prompt", 1, { projectName: "p", detail: { text: "secret plan" } }));
    for (const apiKey of [undefined, "", "anything"]) {
      for (const read of reads(t, apiKey)) {
        const data = await convexErrorData(read());
        expect(data.code).toBe("NO_KEY_CONFIGURED");
        expect(data.command).toBe("npx convex env set CLAUDE_SYNC_API_KEY <key>");
        expect(String(data.message)).toContain("npx convex env set CLAUDE_SYNC_API_KEY");
        expect(JSON.stringify(data)).not.toContain("secret plan");
      }
    }
  });

  test("with a key set, reads without it or with another are UNAUTHORIZED, with it they answer", async () => {
    vi.stubEnv("CLAUDE_SYNC_API_KEY", KEY);
    const t = setup();
    await t.mutation(api.sync.recordEvent, { ...event("e1", "session_start", 1, { projectName: "p" }), apiKey: KEY });
    for (const apiKey of [undefined, "", "wrong", KEY.slice(0, -1)]) {
      for (const read of reads(t, apiKey)) expect((await convexErrorData(read())).code).toBe("UNAUTHORIZED");
    }
    const [bySource, byProject, one, events] = await Promise.all(reads(t, KEY).map((read) => read()));
    expect(bySource).toHaveLength(1);
    expect(byProject).toHaveLength(1);
    expect(one).toMatchObject({ sessionId: "s1", projectName: "p" });
    expect((events as { page: unknown[] }).page).toHaveLength(1);
  });

  test("requireReadKey is the one guard, exported for other read queries", () => {
    vi.stubEnv("CLAUDE_SYNC_API_KEY", undefined);
    expect(() => requireReadKey(undefined)).toThrow(ConvexError);
    vi.stubEnv("CLAUDE_SYNC_API_KEY", KEY);
    expect(() => requireReadKey("wrong")).toThrow(ConvexError);
    expect(() => requireReadKey(KEY)).not.toThrow();
  });
});

describe("read queries", () => {
  test("sessions by source and by project, one session and its events in time order", async () => {
    vi.stubEnv("CLAUDE_SYNC_API_KEY", "reader-key");
    const apiKey = "reader-key";
    const t = setup();
    await t.mutation(api.sync.recordEvents, {
      apiKey,
      events: [
        event("a3", "message", 3000, { projectName: "alpha" }, "A"),
        event("a1", "session_start", 1000, { projectName: "alpha" }, "A"),
        event("a2", "user_prompt", 2000, {}, "A"),
        event("b1", "session_start", 1500, { projectName: "beta" }, "B"),
        { ...event("c1", "session_start", 1200, { projectName: "alpha" }, "C"), source: "opencode" },
      ],
    });
    const cc = await t.query(api.sync.sessionsBySource, { apiKey, source: "claude-code" });
    expect(cc.map((s) => s.sessionId).sort()).toEqual(["A", "B"]);
    const oc = await t.query(api.sync.sessionsBySource, { apiKey, source: "opencode" });
    expect(oc.map((s) => s.sessionId)).toEqual(["C"]);
    const alpha = await t.query(api.sync.sessionsByProject, { apiKey, projectName: "alpha", limit: 1 });
    expect(alpha).toHaveLength(1);
    expect((await t.query(api.sync.sessionsByProject, { apiKey, projectName: "alpha" })).map((s) => s.sessionId).sort()).toEqual(["A", "C"]);

    expect(await t.query(api.sync.getSession, { apiKey, sessionId: "A" })).toMatchObject({ sessionId: "A", eventCount: 3 });
    expect(await t.query(api.sync.getSession, { apiKey, sessionId: "nope" })).toBeNull();

    const page1 = await t.query(api.sync.sessionEvents, { apiKey, sessionId: "A", paginationOpts: { numItems: 2, cursor: null } });
    expect(page1.page.map((e) => e.eventId)).toEqual(["a1", "a2"]);
    expect(page1.isDone).toBe(false);
    const page2 = await t.query(api.sync.sessionEvents, { apiKey, sessionId: "A", paginationOpts: { numItems: 2, cursor: page1.continueCursor } });
    expect(page2.page.map((e) => e.eventId)).toEqual(["a3"]);
  });
});
