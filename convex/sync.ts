/**
 * The functions Claude Code sessions are delivered to (`sync:recordEvent`,
 * `sync:recordEvents`), the check `status`/`login` run (`sync:healthCheck`),
 * and the reads a dashboard or the CLI use.
 *
 * Every event is stored once, keyed by its `eventId`: the client retries until
 * it hears an answer, so a re-sent event must change nothing and say
 * "duplicate". Events may arrive in any order (a backfill, a retry after an
 * outage), so the session row is created by whichever event comes first and
 * each field is decided by event time, never by arrival order.
 */
import { paginationOptsValidator } from "convex/server";
import { ConvexError, v, type Infer } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import { mutation, query, type MutationCtx } from "./_generated/server";
import {
  eventTypeValidator,
  payloadValidator,
  sourceValidator,
} from "./schema";

/**
 * Most events `recordEvents` takes in one call. Each event costs two index
 * reads and two writes, so 100 events stay far below a mutation's 16,000
 * document writes and 4,096 index ranges and run in a few milliseconds of the
 * 1 s a mutation may take. Bytes are bounded separately (MAX_BATCH_BYTES).
 */
export const MAX_BATCH_EVENTS = 100;

/**
 * Most bytes of events (as JSON) one `recordEvents` call takes: half of the
 * 16 MiB a transaction may write, leaving room for the session rows and
 * Convex's own encoding overhead.
 */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;

/**
 * Largest `payload.detail` stored as sent. A bigger one (the client is meant
 * to truncate long before this) is replaced by a note of its size, so one
 * oversized event can neither exceed Convex's 1 MiB document limit nor block
 * the rest of a session behind it forever.
 */
export const MAX_DETAIL_BYTES = 256 * 1024;

/** The name the client also uses for the key (never logged nor echoed). */
const API_KEY_ENV = "CLAUDE_SYNC_API_KEY";

const eventFields = {
  sessionId: v.string(),
  eventId: v.string(),
  eventType: eventTypeValidator,
  timestamp: v.number(),
  source: sourceValidator,
  payload: payloadValidator,
};
const eventValidator = v.object(eventFields);
type SyncEvent = Infer<typeof eventValidator>;

const statusValidator = v.union(v.literal("recorded"), v.literal("duplicate"));
type Status = Infer<typeof statusValidator>;

// ---------------------------------------------------------------- API key

/** The deployment's key, or undefined when none is configured (open mode). */
function configuredKey(): string | undefined {
  const key = process.env[API_KEY_ENV];
  return key === undefined || key === "" ? undefined : key;
}

/**
 * Compares in time that depends only on the expected key's length, so the
 * answer time does not tell an attacker how many leading bytes were right.
 */
function constantTimeEqual(given: string, expected: string): boolean {
  const enc = new TextEncoder();
  const a = enc.encode(given);
  const b = enc.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) {
    diff |= (i < a.length ? a[i] : 0) ^ b[i];
  }
  return diff === 0;
}

function keyAccepted(apiKey: string | undefined): boolean {
  const expected = configuredKey();
  if (expected === undefined) return true;
  return apiKey !== undefined && constantTimeEqual(apiKey, expected);
}

/**
 * Throws the machine-readable rejection the client switches on
 * (`errorData.code === "UNAUTHORIZED"`), so it can tell a bad key from a bug.
 */
function requireKey(apiKey: string | undefined): void {
  if (!keyAccepted(apiKey)) {
    throw new ConvexError({
      code: "UNAUTHORIZED",
      message:
        apiKey === undefined
          ? "This deployment requires an API key and none was sent"
          : "The API key was not accepted by this deployment",
    });
  }
}

// ---------------------------------------------------------------- events

const utf8 = new TextEncoder();
const jsonBytes = (value: unknown) => utf8.encode(JSON.stringify(value) ?? "").length;

/** The event as stored: an oversized detail becomes a note of its size. */
function bounded(ev: SyncEvent): SyncEvent {
  if (ev.payload.detail === undefined) return ev;
  const bytes = jsonBytes(ev.payload.detail);
  if (bytes <= MAX_DETAIL_BYTES) return ev;
  return { ...ev, payload: { ...ev.payload, detail: { omitted: "too_large", bytes } } };
}

type SessionFields = Omit<Doc<"sessions">, "_id" | "_creationTime">;

/** Metadata where the value carried by the newest event wins. */
const LATEST_METADATA = [
  "projectName",
  "workingDirectory",
  "gitBranch",
  "model",
  "startType",
  "endReason",
] as const;

/** Session totals the client computes exactly from the transcript. */
const EXACT_FIGURES = [
  "messageCount",
  "toolCallCount",
  "promptCount",
  "tokenUsage",
  "cost",
] as const;

/** The running counter an event type bumps, if any. */
function counterFor(
  eventType: SyncEvent["eventType"],
): "messageCount" | "toolCallCount" | "promptCount" | undefined {
  switch (eventType) {
    case "message":
      return "messageCount";
    case "tool_use":
    case "tool_failure":
      return "toolCallCount";
    case "user_prompt":
      return "promptCount";
    default:
      return undefined;
  }
}

/**
 * The session after one more (not yet seen) event. Pure, so the ordering
 * rules are easy to read:
 * - start is the earliest event time, `lastEventAt` the latest;
 * - metadata comes from the newest event that carries it (an older event only
 *   fills a field still missing);
 * - exact figures from a payload overwrite the running counters, unless
 *   figures from a newer event are already applied (`figuresAt`);
 * - running counters only count events newer than the applied figures, as
 *   older ones are already inside them.
 */
export function foldEvent(
  prev: SessionFields | null,
  ev: SyncEvent,
): SessionFields {
  const p = ev.payload;
  const t = ev.timestamp;
  const next: SessionFields = prev
    ? { ...prev }
    : { sessionId: ev.sessionId, source: ev.source };
  if (next.source === undefined) next.source = ev.source;

  const newest = prev?.lastEventAt === undefined || t >= prev.lastEventAt;
  for (const field of LATEST_METADATA) {
    const value = p[field];
    if (value !== undefined && (newest || next[field] === undefined)) {
      next[field] = value;
    }
  }
  next.startedAt = Math.min(prev?.startedAt ?? t, t);
  next.lastEventAt = Math.max(prev?.lastEventAt ?? t, t);
  if (ev.eventType === "session_end") {
    next.endedAt = Math.max(prev?.endedAt ?? t, t);
    if (p.durationMs !== undefined && (prev?.endedAt ?? t) <= t) {
      next.durationMs = p.durationMs;
    }
  }

  const counter = counterFor(ev.eventType);
  if (counter && (prev?.figuresAt === undefined || t > prev.figuresAt)) {
    next[counter] = (next[counter] ?? 0) + 1;
  }

  const carriesFigures = EXACT_FIGURES.some((f) => p[f] !== undefined);
  if (carriesFigures && (prev?.figuresAt === undefined || t >= prev.figuresAt)) {
    for (const field of EXACT_FIGURES) {
      if (p[field] !== undefined) (next as Record<string, unknown>)[field] = p[field];
    }
    next.figuresAt = t;
  }

  next.eventCount = (prev?.eventCount ?? 0) + 1;
  return next;
}

async function findSession(ctx: MutationCtx, sessionId: string) {
  return await ctx.db
    .query("sessions")
    .withIndex("by_session_id", (q) => q.eq("sessionId", sessionId))
    .first();
}

/**
 * Stores one (already `bounded`) event unless its eventId is already stored,
 * and folds it into its session.
 */
async function applyEvent(ctx: MutationCtx, ev: SyncEvent): Promise<Status> {
  const seen = await ctx.db
    .query("events")
    .withIndex("by_event_id", (q) => q.eq("eventId", ev.eventId))
    .first();
  if (seen !== null) return "duplicate";

  await ctx.db.insert("events", {
    eventId: ev.eventId,
    sessionId: ev.sessionId,
    eventType: ev.eventType,
    timestamp: ev.timestamp,
    source: ev.source,
    payload: ev.payload,
  });
  const session = await findSession(ctx, ev.sessionId);
  if (session === null) {
    await ctx.db.insert("sessions", foldEvent(null, ev));
  } else {
    const { _id, _creationTime, ...fields } = session;
    await ctx.db.replace(_id, foldEvent(fields, ev));
  }
  return "recorded";
}

/** Records one event. Answers "duplicate" (and changes nothing) for a known eventId. */
export const recordEvent = mutation({
  args: { apiKey: v.optional(v.string()), ...eventFields },
  returns: v.object({ status: statusValidator, eventId: v.string() }),
  handler: async (ctx, { apiKey, ...ev }) => {
    requireKey(apiKey);
    const status = await applyEvent(ctx, bounded(ev));
    return { status, eventId: ev.eventId };
  },
});

/**
 * Records up to MAX_BATCH_EVENTS events (MAX_BATCH_BYTES of JSON) in one
 * transaction, each as `recordEvent` would, answering per event in input
 * order. A larger batch is refused whole, before anything is written, with
 * `ConvexError({code: "BATCH_TOO_LARGE", maxEvents, maxBytes})`: split it.
 */
export const recordEvents = mutation({
  args: { apiKey: v.optional(v.string()), events: v.array(eventValidator) },
  returns: v.object({
    results: v.array(v.object({ eventId: v.string(), status: statusValidator })),
  }),
  handler: async (ctx, { apiKey, events }) => {
    requireKey(apiKey);
    if (events.length > MAX_BATCH_EVENTS) throw batchTooLarge();
    const stored = events.map(bounded);
    if (jsonBytes(stored) > MAX_BATCH_BYTES) throw batchTooLarge();
    const results: { eventId: string; status: Status }[] = [];
    for (const ev of stored) {
      results.push({ eventId: ev.eventId, status: await applyEvent(ctx, ev) });
    }
    return { results };
  },
});

function batchTooLarge() {
  return new ConvexError({
    code: "BATCH_TOO_LARGE",
    message: `At most ${MAX_BATCH_EVENTS} events and ${MAX_BATCH_BYTES} bytes per call`,
    maxEvents: MAX_BATCH_EVENTS,
    maxBytes: MAX_BATCH_BYTES,
  });
}

// ---------------------------------------------------------------- reads

/** Whether the backend answers, whether it wants a key, whether this one is accepted. */
export const healthCheck = query({
  args: { apiKey: v.optional(v.string()) },
  returns: v.object({
    ok: v.literal(true),
    keyRequired: v.boolean(),
    keyAccepted: v.boolean(),
  }),
  handler: async (_ctx, { apiKey }) => ({
    ok: true as const,
    keyRequired: configuredKey() !== undefined,
    keyAccepted: keyAccepted(apiKey),
  }),
});

/** Default and largest page of sessions the list queries return. */
const DEFAULT_LIST_LIMIT = 50;
const MAX_LIST_LIMIT = 500;

function listLimit(limit: number | undefined): number {
  const n = Math.floor(limit ?? DEFAULT_LIST_LIMIT);
  return Math.max(1, Math.min(n, MAX_LIST_LIMIT));
}

/** Newest sessions of one source (e.g. to filter Claude Code from OpenCode). */
export const sessionsBySource = query({
  args: {
    apiKey: v.optional(v.string()),
    source: sourceValidator,
    limit: v.optional(v.number()),
  },
  handler: async (ctx, { apiKey, source, limit }) => {
    requireKey(apiKey);
    return await ctx.db
      .query("sessions")
      .withIndex("by_source", (q) => q.eq("source", source))
      .order("desc")
      .take(listLimit(limit));
  },
});

/** Newest sessions of one project. */
export const sessionsByProject = query({
  args: {
    apiKey: v.optional(v.string()),
    projectName: v.string(),
    limit: v.optional(v.number()),
  },
  handler: async (ctx, { apiKey, projectName, limit }) => {
    requireKey(apiKey);
    return await ctx.db
      .query("sessions")
      .withIndex("by_project", (q) => q.eq("projectName", projectName))
      .order("desc")
      .take(listLimit(limit));
  },
});

/** One session (or null). Its events are read page by page with `sessionEvents`. */
export const getSession = query({
  args: { apiKey: v.optional(v.string()), sessionId: v.string() },
  handler: async (ctx, { apiKey, sessionId }) => {
    requireKey(apiKey);
    return await ctx.db
      .query("sessions")
      .withIndex("by_session_id", (q) => q.eq("sessionId", sessionId))
      .first();
  },
});

/**
 * A session's events in event-time order, one page at a time: a long session
 * holds thousands of events, more than one query may read.
 */
export const sessionEvents = query({
  args: {
    apiKey: v.optional(v.string()),
    sessionId: v.string(),
    paginationOpts: paginationOptsValidator,
  },
  handler: async (ctx, { apiKey, sessionId, paginationOpts }) => {
    requireKey(apiKey);
    return await ctx.db
      .query("events")
      .withIndex("by_session", (q) => q.eq("sessionId", sessionId))
      .order("asc")
      .paginate(paginationOpts);
  },
});
