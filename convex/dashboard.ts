/**
 * Reads for `claude-code-sync dashboard --source remote`: the sessions of every
 * machine that syncs to this deployment, one session's events, and the tool
 * items of a set of sessions. The dashboard's local server calls these with the
 * deployment's key (it never reaches the browser) and turns the documents into
 * the same JSON the local store gives, so one page serves both.
 *
 * Session data is private: every query starts with `requireReadKey`, which
 * fails closed on a deployment without a key (convex/access.ts).
 */
import { v } from "convex/values";
import { query } from "./_generated/server";
import { requireReadKey } from "./access";
import { sourceValidator } from "./schema";

/**
 * Most sessions one call returns, newest first. A session document is small
 * (no events), so this stays well inside a query's read limits.
 */
export const MAX_SESSIONS = 10_000;
/** Most events of one session returned by `session`. */
export const MAX_SESSION_EVENTS = 8_000;
/** Most sessions whose tool items one `toolItems` call reads. */
export const MAX_TOOL_SESSIONS = 50;

const TOOL_KINDS = new Set(["tool_use", "tool_result"]);

/** A document without Convex's system fields: the client's row shape. */
function plain<T extends { _id: unknown; _creationTime: number }>(doc: T) {
  const { _id, _creationTime, ...rest } = doc;
  return rest;
}

/** Sessions newest first (by when the deployment first saw them), of one source or all. */
export const sessions = query({
  args: {
    apiKey: v.optional(v.string()),
    source: v.optional(sourceValidator),
    limit: v.optional(v.number()),
  },
  handler: async (ctx, { apiKey, source, limit }) => {
    requireReadKey(apiKey);
    const n = Math.max(1, Math.min(Math.floor(limit ?? MAX_SESSIONS), MAX_SESSIONS));
    const docs =
      source === undefined
        ? await ctx.db.query("sessions").order("desc").take(n)
        : await ctx.db
            .query("sessions")
            .withIndex("by_source", (q) => q.eq("source", source))
            .order("desc")
            .take(n);
    return docs.map(plain);
  },
});

/** One session and its events in event-time order (null when unknown). */
export const session = query({
  args: { apiKey: v.optional(v.string()), sessionId: v.string() },
  handler: async (ctx, { apiKey, sessionId }) => {
    requireReadKey(apiKey);
    const doc = await ctx.db
      .query("sessions")
      .withIndex("by_session_id", (q) => q.eq("sessionId", sessionId))
      .first();
    if (doc === null) return { session: null, events: [], truncated: false };
    const events = await ctx.db
      .query("events")
      .withIndex("by_session", (q) => q.eq("sessionId", sessionId))
      .order("asc")
      .take(MAX_SESSION_EVENTS + 1);
    return {
      session: plain(doc),
      events: events.slice(0, MAX_SESSION_EVENTS).map((e) => ({
        eventType: e.eventType,
        timestamp: e.timestamp,
        payload: e.payload,
      })),
      truncated: events.length > MAX_SESSION_EVENTS,
    };
  },
});

/**
 * The tool items of these sessions: transcript `tool_use` / `tool_result`
 * messages and the hooks' `tool_use` / `tool_failure` events, reduced to the
 * fields tool statistics need (no inputs or outputs leave the deployment).
 */
export const toolItems = query({
  args: { apiKey: v.optional(v.string()), sessionIds: v.array(v.string()) },
  handler: async (ctx, { apiKey, sessionIds }) => {
    requireReadKey(apiKey);
    const items = [];
    for (const sessionId of sessionIds.slice(0, MAX_TOOL_SESSIONS)) {
      const events = await ctx.db
        .query("events")
        .withIndex("by_session", (q) => q.eq("sessionId", sessionId))
        .collect();
      for (const e of events) {
        const detail = (e.payload?.detail ?? {}) as Record<string, unknown>;
        const isHook = e.eventType === "tool_use" || e.eventType === "tool_failure";
        const isItem = e.eventType === "message" && TOOL_KINDS.has(String(detail.kind));
        if (!isHook && !isItem) continue;
        items.push({
          sessionId,
          eventType: e.eventType,
          timestamp: e.timestamp,
          payload: {
            detail: {
              kind: detail.kind,
              toolName: detail.toolName,
              toolUseId: detail.toolUseId,
              outcome: detail.outcome,
              durationMs: detail.durationMs,
            },
          },
        });
      }
    }
    return items;
  },
});
