import { ConvexError } from "convex/values";
import { afterEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import { setup } from "./test.setup";

const KEY = "dashboard-test-key-0123456789";

async function record(
  t: ReturnType<typeof setup>,
  sessionId: string,
  eventId: string,
  eventType: string,
  timestamp: number,
  payload: Record<string, unknown>,
  source: "claude-code" | "opencode" = "claude-code",
) {
  await t.mutation(api.sync.recordEvent, {
    apiKey: KEY,
    sessionId,
    eventId,
    eventType,
    timestamp,
    source,
    payload,
  });
}

async function errorCode(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ConvexError);
    return (e as ConvexError<any>).data.code;
  }
  throw new Error("expected a rejection");
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("dashboard queries", () => {
  test("need the deployment's key, and fail closed without one", async () => {
    const t = setup();
    vi.stubEnv("CLAUDE_SYNC_API_KEY", KEY);
    expect(await errorCode(t.query(api.dashboard.sessions, {}))).toBe("UNAUTHORIZED");
    expect(await errorCode(t.query(api.dashboard.session, { apiKey: "wrong", sessionId: "s" }))).toBe("UNAUTHORIZED");
    expect(await errorCode(t.query(api.dashboard.toolItems, { sessionIds: ["s"] }))).toBe("UNAUTHORIZED");
    vi.stubEnv("CLAUDE_SYNC_API_KEY", undefined);
    expect(await errorCode(t.query(api.dashboard.sessions, { apiKey: KEY }))).toBe("NO_KEY_CONFIGURED");
  });

  test("sessions of every source, one session's events, and tool items reduced to their figures", async () => {
    const t = setup();
    vi.stubEnv("CLAUDE_SYNC_API_KEY", KEY);
    const meta = { projectName: "app", gitBranch: "main" };
    await record(t, "a", "a1", "session_start", 1000, { ...meta, model: "claude-opus-4-5" });
    await record(t, "a", "a2", "message", 1100, {
      ...meta,
      detail: { kind: "tool_use", role: "assistant", toolName: "Bash", toolUseId: "t1", toolInput: { command: "secret-ish" } },
    });
    await record(t, "a", "a3", "message", 1300, { ...meta, detail: { kind: "tool_result", role: "user", toolUseId: "t1", outcome: "error" } });
    await record(t, "a", "a4", "tool_failure", 1310, { ...meta, detail: { toolName: "Bash", toolUseId: "t1", durationMs: 190 } });
    await record(t, "a", "a5", "message", 1400, { ...meta, detail: { kind: "text", role: "assistant", text: "done" } });
    await record(t, "b", "b1", "session_start", 2000, { projectName: "other" }, "opencode");

    const all = await t.query(api.dashboard.sessions, { apiKey: KEY });
    expect(all.map((s: any) => s.sessionId).sort()).toEqual(["a", "b"]);
    expect(all.every((s: any) => !("_id" in s))).toBe(true);
    const oc = await t.query(api.dashboard.sessions, { apiKey: KEY, source: "opencode" });
    expect(oc.map((s: any) => s.sessionId)).toEqual(["b"]);

    const one = await t.query(api.dashboard.session, { apiKey: KEY, sessionId: "a" });
    expect(one.session?.projectName).toBe("app");
    expect(one.events.map((e: any) => e.timestamp)).toEqual([1000, 1100, 1300, 1310, 1400]);
    expect(one.truncated).toBe(false);
    expect((await t.query(api.dashboard.session, { apiKey: KEY, sessionId: "nope" })).session).toBeNull();

    const items = await t.query(api.dashboard.toolItems, { apiKey: KEY, sessionIds: ["a", "b"] });
    expect(items.map((i: any) => i.eventType)).toEqual(["message", "message", "tool_failure"]);
    expect(items[0].payload.detail).toMatchObject({ kind: "tool_use", toolName: "Bash", toolUseId: "t1" });
    expect(JSON.stringify(items)).not.toContain("secret-ish");
  });
});
