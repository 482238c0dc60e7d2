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
 *
 * Clients and deployments are upgraded separately, so the writes take what
 * any client version sends (contract.ts checks it); who may call what is in
 * access.ts.
 */
import { paginationOptsValidator } from "convex/server";
import { ConvexError, v, type Infer } from "convex/values";
import type { Doc } from "./_generated/dataModel";
import { mutation, query, type MutationCtx } from "./_generated/server";
import { configuredKey, keyAccepted, requireReadKey, requireWriteKey } from "./access";
import {
  CONTRACT_VERSION,
  KNOWN_EVENT_TYPES,
  MAX_PAYLOAD_BYTES,
  STRING_FIELDS,
  checkEvent,
  jsonBytes,
  sessionFacts,
  type SyncEvent,
} from "./contract";
import { sourceValidator } from "./schema";

export { MAX_DETAIL_BYTES, MAX_PAYLOAD_BYTES } from "./contract";

/**
 * Most events `recordEvents` takes in one call. Each event costs two index
 * reads and two writes, so 100 events stay far below a mutation's 16,000
 * document writes and 4,096 index ranges and run in a few milliseconds of the
 * 1 s a mutation may take. Bytes are bounded separately (MAX_BATCH_BYTES).
 */
export const MAX_BATCH_EVENTS = 100;

/**
 * Most bytes of events (as JSON, once bounded) one `recordEvents` call takes:
 * half of the 16 MiB a transaction may write, leaving room for the session
 * rows and Convex's own encoding overhead.
 */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;

const statusValidator = v.union(v.literal("recorded"), v.literal("duplicate"));
type Status = Infer<typeof statusValidator>;

// ---------------------------------------------------------------- events

type SessionFields = Omit<Doc<"sessions">, "_id" | "_creationTime">;

/** Metadata where the value carried by the newest event wins. */
const LATEST_METADATA = STRING_FIELDS;

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
  eventType: string,
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
 * What an event carries is read by `sessionFacts`, which also understands the
 * raw hook fields (`cwd`, SessionStart's `source`, SessionEnd's `reason`).
 */
export function foldEvent(
  prev: SessionFields | null,
  ev: SyncEvent,
): SessionFields {
  const p = sessionFacts(ev);
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
 * Stores one checked event unless its eventId is already stored, and folds
 * it into its session.
 */
async function applyEvent(ctx: MutationCtx, ev: SyncEvent): Promise<Status> {
  const seen = await ctx.db
    .query("events")
    .withIndex("by_event_id", (q) => q.eq("eventId", ev.eventId))
    .first();
  if (seen !== null) return "duplicate";

  await ctx.db.insert("events", ev);
  const session = await findSession(ctx, ev.sessionId);
  if (session === null) {
    await ctx.db.insert("sessions", foldEvent(null, ev));
  } else {
    const { _id, _creationTime, ...fields } = session;
    await ctx.db.replace(_id, foldEvent(fields, ev));
  }
  return "recorded";
}

/** A call whose shape is wrong as a whole (not one event's fields). */
function invalidArguments(message: string) {
  return new ConvexError({ code: "INVALID_ARGUMENTS", message });
}

function apiKeyArg(args: Record<string, unknown>): string | undefined {
  const { apiKey } = args;
  if (apiKey !== undefined && typeof apiKey !== "string") throw invalidArguments("apiKey must be a string");
  return apiKey;
}

function argsObject(args: unknown): Record<string, unknown> {
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    throw invalidArguments("the arguments must be an object");
  }
  return args as Record<string, unknown>;
}

/**
 * Records one event: `{apiKey?, sessionId, eventId, eventType, timestamp,
 * source, payload}` (docs/backend-protocols.md). Answers "duplicate" (and
 * changes nothing) for a known eventId. An event a known field of which has
 * the wrong type is refused with `ConvexError({code: "INVALID_EVENT",
 * eventId, reason, message})`, and nothing is written.
 */
export const recordEvent = mutation({
  // No argument validator on purpose: contract.ts checks the known fields and
  // keeps the unknown ones (a validator would refuse the whole call).
  handler: async (ctx, raw: Record<string, unknown>) => {
    const args = argsObject(raw);
    requireWriteKey(apiKeyArg(args));
    const checked = checkEvent(args);
    if (!checked.ok) {
      throw new ConvexError({
        code: "INVALID_EVENT",
        message: `event ${checked.eventId ?? "(no eventId)"} refused: ${checked.reason}`,
        eventId: checked.eventId ?? null,
        reason: checked.reason,
      });
    }
    const status = await applyEvent(ctx, checked.event);
    return { status, eventId: checked.event.eventId };
  },
});

/**
 * Records up to MAX_BATCH_EVENTS events (MAX_BATCH_BYTES of JSON) in one
 * transaction, each as `recordEvent` would, answering per event in input
 * order. A larger batch is refused whole, before anything is written, with
 * `ConvexError({code: "BATCH_TOO_LARGE", maxEvents, maxBytes})`: split it.
 *
 * A batch holding events with a known field of the wrong type is refused
 * whole, before anything is written, with `ConvexError({code:
 * "INVALID_EVENTS", rejected: [{index, eventId, reason}]})`: the client parks
 * those and sends the rest again. Storing the rest and answering "rejected"
 * for the bad ones would be one call less, but a client of the first contract
 * reads any status other than "duplicate" as stored, and would drop them.
 */
export const recordEvents = mutation({
  handler: async (ctx, raw: Record<string, unknown>) => {
    const args = argsObject(raw);
    requireWriteKey(apiKeyArg(args));
    const { events } = args;
    if (!Array.isArray(events)) throw invalidArguments("events must be an array of events");
    if (events.length > MAX_BATCH_EVENTS) throw batchTooLarge();
    const stored: SyncEvent[] = [];
    const rejected: { index: number; eventId: string | null; reason: string }[] = [];
    events.forEach((raw, index) => {
      const checked = checkEvent(raw);
      if (checked.ok) stored.push(checked.event);
      else rejected.push({ index, eventId: checked.eventId ?? null, reason: checked.reason });
    });
    if (rejected.length > 0) {
      const first = rejected[0];
      throw new ConvexError({
        code: "INVALID_EVENTS",
        message: `${rejected.length} of ${events.length} events refused (nothing stored); first, event ${first.eventId ?? `#${first.index}`}: ${first.reason}`,
        rejected,
      });
    }
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

/**
 * What a client needs to know before it sends: whether the deployment has a
 * key (never the key), whether this one is accepted, the contract version and
 * the event types it understands, and its batch limits. Answers anyone, key or
 * not: it holds no session data.
 */
export const healthCheck = query({
  args: { apiKey: v.optional(v.string()) },
  returns: v.object({
    ok: v.literal(true),
    /** A key is set: writes need it, reads are served with it. */
    keyConfigured: v.boolean(),
    /** Same as keyConfigured; the name the first contract's clients read. */
    keyRequired: v.boolean(),
    keyAccepted: v.boolean(),
    contractVersion: v.number(),
    eventTypes: v.array(v.string()),
    limits: v.object({ maxBatchEvents: v.number(), maxBatchBytes: v.number(), maxPayloadBytes: v.number() }),
  }),
  handler: async (_ctx, { apiKey }) => {
    const configured = configuredKey() !== undefined;
    return {
      ok: true as const,
      keyConfigured: configured,
      keyRequired: configured,
      keyAccepted: keyAccepted(apiKey),
      contractVersion: CONTRACT_VERSION,
      eventTypes: [...KNOWN_EVENT_TYPES],
      limits: { maxBatchEvents: MAX_BATCH_EVENTS, maxBatchBytes: MAX_BATCH_BYTES, maxPayloadBytes: MAX_PAYLOAD_BYTES },
    };
  },
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
    requireReadKey(apiKey);
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
    requireReadKey(apiKey);
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
    requireReadKey(apiKey);
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
    requireReadKey(apiKey);
    return await ctx.db
      .query("events")
      .withIndex("by_session", (q) => q.eq("sessionId", sessionId))
      .order("asc")
      .paginate(paginationOpts);
  },
});
