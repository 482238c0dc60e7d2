/**
 * Clients and deployments are upgraded separately: these tests replay what
 * today's client really sends (tests/fixtures/client-payloads, captured by
 * tests/backend/capture-client-payloads.mjs from the built binary's hooks on
 * the real Claude Code hook payloads) and what a newer client or another
 * client (raw hook fields, extra fields, new event types) may send.
 */
import { afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import { MAX_DETAIL_BYTES, MAX_EXTRA_BYTES, MAX_PAYLOAD_BYTES, jsonBytes, lastPathPart } from "./contract";
import { setup, tables, type SentEvent } from "./test.setup";

type Sent = SentEvent;

const clientPayloads = import.meta.glob<Sent[]>("../tests/fixtures/client-payloads/*.json", {
  eager: true,
  import: "default",
});
const hookPayloads = import.meta.glob<Record<string, unknown>>("../tests/fixtures/claude-code/hook-payloads/*.json", {
  eager: true,
  import: "default",
});
const fixtureName = (p: string) => p.split("/").pop()!.replace(/\.json$/, "");
const todays = Object.entries(clientPayloads).map(([p, events]) => [fixtureName(p), events] as const);
const hooks = Object.fromEntries(Object.entries(hookPayloads).map(([p, v]) => [fixtureName(p), v]));


/** A stored document without the fields the database adds. */
function stripped<T extends Record<string, unknown>>(doc: T) {
  const { _id, _creationTime, ...rest } = doc;
  return rest;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("today's client against this deployment", () => {
  test("the fixtures cover every hook the plugin installs and the transcript's messages", () => {
    const types = new Set(todays.flatMap(([, events]) => events.map((e) => e.eventType)));
    for (const t of ["session_start", "user_prompt", "tool_use", "tool_failure", "response_complete", "subagent_stop", "pre_compact", "session_end", "manual_sync", "message"]) {
      expect(types, t).toContain(t);
    }
  });

  test.each(todays)("%s: every event is recorded and stored exactly as sent", async (_, sent) => {
    const t = setup();
    const r = await t.mutation(api.sync.recordEvents, { events: sent });
    expect(r.results).toEqual(sent.map((e) => ({ eventId: e.eventId, status: "recorded" })));
    const { events, sessions } = await tables(t);
    expect(events.map(stripped)).toEqual(sent);
    // One by one, as a deployment without recordEvents is fed, all are duplicates now.
    for (const e of sent) expect((await t.mutation(api.sync.recordEvent, e)).status).toBe("duplicate");
    for (const s of sessions) {
      const mine = sent.filter((e) => e.sessionId === s.sessionId);
      expect(s.eventCount).toBe(mine.length);
      expect(s.startedAt).toBe(Math.min(...mine.map((e) => e.timestamp)));
      const last = mine.filter((e) => e.payload.projectName !== undefined).at(-1);
      if (last) expect(s.projectName).toBe(last.payload.projectName);
    }
  });

  test("a session start and end from the client set start type, end reason, model and exact figures", async () => {
    const t = setup();
    const start = clientPayloads["../tests/fixtures/client-payloads/SessionStart-compact.json"];
    const end = clientPayloads["../tests/fixtures/client-payloads/SessionEnd-other.json"];
    await t.mutation(api.sync.recordEvents, { events: [...start, ...end] });
    const { sessions } = await tables(t);
    const byId = Object.fromEntries(sessions.map((s) => [s.sessionId, s]));
    expect(byId[start[0].sessionId]).toMatchObject({ startType: "compact", model: "claude-opus-5-5", projectName: "work" });
    const endEvent = end.find((e) => e.eventType === "session_end")!;
    const ended = byId[endEvent.sessionId];
    expect(ended.endReason).toBe("other");
    expect(ended.endedAt).toBe(endEvent.timestamp);
    for (const f of ["messageCount", "toolCallCount", "promptCount", "tokenUsage", "cost"] as const) {
      if (endEvent.payload[f] !== undefined) expect(ended[f]).toEqual(endEvent.payload[f]);
    }
  });
});

describe("a newer client against this deployment", () => {
  /** Today's events as a newer client might send them: new fields everywhere, new event types. */
  function newer(events: readonly Sent[]): Sent[] {
    return events.map((e, i) => {
      const payload: Record<string, unknown> = { ...e.payload, contextTokens: 4374 + i, effort: { level: "medium" }, tags: ["a", "b"] };
      if (e.payload.tokenUsage) payload.tokenUsage = { ...(e.payload.tokenUsage as object), cacheCreation1h: 5 };
      return { ...e, clientVersion: "9.9.9", payload };
    });
  }

  test.each(todays)("%s: extra fields are stored as sent and change none of the session's figures", async (_, sent) => {
    const plain = setup();
    await plain.mutation(api.sync.recordEvents, { events: sent });
    const extended = setup();
    const clean = newer(sent);
    const r = await extended.mutation(api.sync.recordEvents, { events: clean });
    expect(r.results.every((x) => x.status === "recorded")).toBe(true);

    const a = await tables(plain);
    const b = await tables(extended);
    expect(b.sessions.map(stripped)).toEqual(a.sessions.map(stripped));
    const stored = b.events.map(stripped);
    expect(stored.map((e) => e.payload)).toEqual(clean.map((e) => e.payload));
    expect(stored.map((e) => e.extra)).toEqual(clean.map(() => ({ clientVersion: "9.9.9" })));
  });

  test("an event type this deployment does not know is stored, not rejected, and counts as an event", async () => {
    const t = setup();
    const [first] = clientPayloads["../tests/fixtures/client-payloads/SessionStart-startup.json"];
    const unknown = { ...first, eventId: "new-type", eventType: "permission_request", timestamp: first.timestamp + 5, payload: { gitBranch: "feature", detail: { tool: "Bash" } } };
    expect(await t.mutation(api.sync.recordEvent, unknown)).toEqual({ status: "recorded", eventId: "new-type" });
    expect(await t.mutation(api.sync.recordEvents, { events: [first, unknown] })).toEqual({
      results: [
        { eventId: first.eventId, status: "recorded" },
        { eventId: "new-type", status: "duplicate" },
      ],
    });
    const { events, sessions } = await tables(t);
    expect(events.find((e) => e.eventId === "new-type")).toMatchObject({ eventType: "permission_request", payload: unknown.payload });
    expect(sessions[0]).toMatchObject({ eventCount: 2, gitBranch: "feature", startType: "startup", lastEventAt: unknown.timestamp });
    // It bumps no counter it does not know.
    expect(sessions[0].toolCallCount).toBeUndefined();
  });

  test("a key sent inside an event is never stored", async () => {
    const t = setup();
    const [first] = clientPayloads["../tests/fixtures/client-payloads/UserPromptSubmit.json"];
    await t.mutation(api.sync.recordEvents, { events: [{ ...first, apiKey: "per-event-key-123" }] });
    expect(JSON.stringify(await tables(t))).not.toContain("per-event-key-123");
  });
});

describe("raw hook fields", () => {
  /** An event carrying one real hook input as its payload, no contract metadata. */
  function raw(name: string, eventType: string, timestamp: number) {
    const input = hooks[name];
    return { sessionId: String(input.session_id), eventId: `raw-${name}`, eventType, timestamp, source: "claude-code" as const, payload: input };
  }

  test("start type, end reason, directory, project and model are read from Claude Code's own fields", async () => {
    const t = setup();
    const start = raw("SessionStart-compact", "session_start", 1000);
    const prompt = { ...raw("UserPromptSubmit", "user_prompt", 2000), sessionId: start.sessionId };
    const end = { ...raw("SessionEnd-clear", "session_end", 3000), sessionId: start.sessionId };
    await t.mutation(api.sync.recordEvents, { events: [end, prompt, start] });
    const { sessions, events } = await tables(t);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({
      startType: "compact",
      endReason: "clear",
      model: "claude-opus-5-5",
      workingDirectory: hooks["SessionEnd-clear"].cwd, // the newest event's
      projectName: lastPathPart(String(hooks["SessionEnd-clear"].cwd)),
      promptCount: 1,
      startedAt: 1000,
      endedAt: 3000,
    });
    // The hook's input is kept whole.
    expect(events.find((e) => e.eventId === start.eventId)!.payload).toEqual(hooks["SessionStart-compact"]);
  });

  test("each SessionStart source and SessionEnd reason of the fixtures becomes the start type or end reason", async () => {
    for (const name of Object.keys(hooks).filter((n) => n.startsWith("SessionStart-") || n.startsWith("SessionEnd-"))) {
      const t = setup();
      const isStart = name.startsWith("SessionStart-");
      await t.mutation(api.sync.recordEvent, raw(name, isStart ? "session_start" : "session_end", 1));
      const [s] = (await tables(t)).sessions;
      if (isStart) expect(s.startType, name).toBe(hooks[name].source);
      else expect(s.endReason, name).toBe(hooks[name].reason);
      expect(s.workingDirectory).toBe(hooks[name].cwd);
      expect(s.projectName).toBe(lastPathPart(String(hooks[name].cwd)));
    }
  });

  test("the hook's own event name is enough when the event type is not a session start or end", async () => {
    const t = setup();
    await t.mutation(api.sync.recordEvent, { ...raw("SessionStart-resume", "hook", 1), eventId: "h1" });
    await t.mutation(api.sync.recordEvent, { ...raw("SessionEnd-prompt-input-exit", "hook", 2), eventId: "h2", sessionId: String(hooks["SessionStart-resume"].session_id) });
    const [s] = (await tables(t)).sessions;
    expect(s).toMatchObject({ startType: "resume", endReason: "prompt_input_exit" });
    // `source` and `reason` of other events mean something else and are ignored.
    const other = setup();
    await other.mutation(api.sync.recordEvent, { ...raw("PostToolUse-Bash", "tool_use", 1), payload: { ...hooks["PostToolUse-Bash"], source: "x", reason: "y" } });
    const [o] = (await tables(other)).sessions;
    expect(o.startType).toBeUndefined();
    expect(o.endReason).toBeUndefined();
  });

  test("the contract's own fields win over the raw ones", async () => {
    const t = setup();
    const start = raw("SessionStart-compact", "session_start", 1);
    await t.mutation(api.sync.recordEvent, {
      ...start,
      payload: { ...start.payload, startType: "startup", model: "claude-sonnet-4-5", workingDirectory: "/srv/app", projectName: "app-name" },
    });
    let [s] = (await tables(t)).sessions;
    expect(s).toMatchObject({ startType: "startup", model: "claude-sonnet-4-5", workingDirectory: "/srv/app", projectName: "app-name" });
    const end = raw("SessionEnd-clear", "session_end", 2);
    await t.mutation(api.sync.recordEvent, { ...end, sessionId: start.sessionId, payload: { ...end.payload, endReason: "logout" } });
    [s] = (await tables(t)).sessions;
    expect(s.endReason).toBe("logout");
    // A newer event naming only the raw cwd still moves the session, as any newer metadata does.
    expect(s).toMatchObject({ workingDirectory: hooks["SessionEnd-clear"].cwd, projectName: "wi" });
  });

  test("the project is the last part of cwd, whatever the separators", () => {
    expect(lastPathPart("/home/dev/work")).toBe("work");
    expect(lastPathPart("/home/dev/work/")).toBe("work");
    expect(lastPathPart("C:\\Users\\dev\\proj")).toBe("proj");
    expect(lastPathPart("/")).toBeUndefined();
    expect(lastPathPart("")).toBeUndefined();
  });
});

describe("payload size stays bounded", () => {
  const base = { sessionId: "s1", eventType: "message", timestamp: 1, source: "claude-code" as const };

  test("an oversized unknown field becomes a note of its size, like an oversized detail", async () => {
    const t = setup();
    const big = "u".repeat(MAX_DETAIL_BYTES + 10);
    await t.mutation(api.sync.recordEvent, { ...base, eventId: "e1", payload: { model: "m", transcriptCopy: big, small: 1 } });
    const [e] = (await tables(t)).events;
    expect(e.payload).toEqual({ model: "m", transcriptCopy: { omitted: "too_large", bytes: jsonBytes(big) }, small: 1 });
  });

  test("many fields each under the bound are cut, largest first, until the payload fits", async () => {
    const t = setup();
    const payload: Record<string, unknown> = { projectName: "p", detail: { text: "d".repeat(200 * 1024) } };
    for (let i = 0; i < 6; i++) payload[`f${i}`] = "x".repeat((100 + i) * 1024);
    await t.mutation(api.sync.recordEvent, { ...base, eventId: "e1", payload });
    const [e] = (await tables(t)).events;
    expect(jsonBytes(e.payload)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(e.payload.projectName).toBe("p");
    expect(e.payload.detail).toEqual({ omitted: "too_large", bytes: jsonBytes(payload.detail) });
    expect(e.payload.f5).toEqual({ omitted: "too_large", bytes: jsonBytes(payload.f5) });
    expect(e.payload.f0).toBe(payload.f0); // the smallest are kept
  });

  test("unknown top-level fields are bounded too, to MAX_EXTRA_BYTES together", async () => {
    const t = setup();
    const big = "t".repeat(MAX_DETAIL_BYTES + 1);
    const mid = "m".repeat(100 * 1024);
    await t.mutation(api.sync.recordEvent, { ...base, eventId: "e1", payload: {}, trace: big, a: mid, b: mid, c: 1 });
    const [e] = (await tables(t)).events;
    expect(e.extra).toEqual({ trace: { omitted: "too_large", bytes: jsonBytes(big) }, a: { omitted: "too_large", bytes: jsonBytes(mid) }, b: mid, c: 1 });
    expect(jsonBytes(e.extra)).toBeLessThanOrEqual(MAX_EXTRA_BYTES);
  });
});

describe("10,000 events with unknown fields over 100 sessions, shuffled, half re-sent", () => {
  beforeAll(async () => {
    // Hash lookups for convex-test's index scans, answer for answer the same
    // (tests/backend/server.test.mjs compares both): seconds instead of minutes.
    const { installIndexAccelerator } = await import("../tests/backend/index-accelerator.mjs");
    await installIndexAccelerator();
  });

  test("give the right figures for every session", { timeout: 600_000 }, async () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const SESSIONS = 100;
    const PER_SESSION = 100;
    const types = ["user_prompt", "tool_use", "tool_failure", "message", "message", "response_complete", "pre_compact", "future_type"];
    const events: Sent[] = [];
    type Expected = { prompts: number; tools: number; messages: number; first: number; last: number; branch: string; exact?: Record<string, unknown> };
    const expected = new Map<string, Expected>();
    for (let s = 0; s < SESSIONS; s++) {
      const sessionId = `session-${s}`;
      const t0 = 1_800_000_000_000 + s * 1_000_000;
      const exp: Expected = { prompts: 0, tools: 0, messages: 0, first: t0, last: t0 + PER_SESSION - 1, branch: "" };
      for (let i = 0; i < PER_SESSION; i++) {
        const timestamp = t0 + i;
        let eventType = i === 0 ? "session_start" : i === PER_SESSION - 1 ? "session_end" : types[rand(types.length)];
        const branch = `b${s}-${rand(5)}`;
        const payload: Record<string, unknown> = {
          gitBranch: branch,
          // A newer client's fields, and Claude Code's own, on every event.
          cwd: `/home/dev/project-${s % 7}`,
          hook_event_name: "Whatever",
          future: { nested: [i, { deep: `v${i}` }] },
          [`field_${i % 13}`]: i,
        };
        if (eventType === "session_start") payload.source = "startup";
        if (eventType === "session_end") {
          payload.reason = "logout";
          // Half the sessions end with the client's exact figures.
          if (s % 2 === 0) {
            exp.exact = { messageCount: 1000 + s, toolCallCount: 200 + s, promptCount: 30 + s, tokenUsage: { input: s, output: 2 * s, cacheRead: 3 * s }, cost: s / 100 };
            Object.assign(payload, exp.exact);
          }
        }
        if (eventType === "user_prompt") exp.prompts++;
        if (eventType === "tool_use" || eventType === "tool_failure") exp.tools++;
        if (eventType === "message") exp.messages++;
        exp.branch = branch;
        events.push({ sessionId, eventId: `${sessionId}:${i}`, eventType, timestamp, source: "claude-code", payload });
      }
      expected.set(sessionId, exp);
    }
    const resent = events.filter(() => rand(2) === 0);
    const delivery = [...events, ...resent];
    for (let i = delivery.length - 1; i > 0; i--) {
      const j = rand(i + 1);
      [delivery[i], delivery[j]] = [delivery[j], delivery[i]];
    }

    const t = setup();
    const statuses = { recorded: 0, duplicate: 0 };
    for (let i = 0; i < delivery.length; i += 100) {
      const r = await t.mutation(api.sync.recordEvents, { events: delivery.slice(i, i + 100) });
      for (const x of r.results) statuses[x.status]++;
    }
    expect(statuses).toEqual({ recorded: events.length, duplicate: resent.length });

    const { sessions, events: stored } = await tables(t);
    expect(stored).toHaveLength(10_000);
    expect(sessions).toHaveLength(SESSIONS);
    for (const s of sessions) {
      const exp = expected.get(s.sessionId)!;
      const n = Number(s.sessionId.split("-")[1]);
      expect(s).toMatchObject({
        eventCount: PER_SESSION,
        startedAt: exp.first,
        endedAt: exp.last,
        lastEventAt: exp.last,
        gitBranch: exp.branch,
        startType: "startup",
        endReason: "logout",
        workingDirectory: `/home/dev/project-${n % 7}`,
        projectName: `project-${n % 7}`,
      });
      if (exp.exact) {
        // Every other event is older than the exact figures, so they stand alone.
        expect(s).toMatchObject({ ...exp.exact, figuresAt: exp.last });
      } else {
        expect({ promptCount: s.promptCount ?? 0, toolCallCount: s.toolCallCount ?? 0, messageCount: s.messageCount ?? 0 }).toEqual({
          promptCount: exp.prompts,
          toolCallCount: exp.tools,
          messageCount: exp.messages,
        });
      }
    }
    const sample = stored.find((e) => e.eventId === "session-42:17")!;
    expect(sample.payload.future).toEqual({ nested: [17, { deep: "v17" }] });
    expect(sample.payload.field_4).toBe(17);
  });
});
