/**
 * Tables written by Claude Code sessions (and, for `sessions`, by OpenCode
 * sessions of an OpenSync-style deployment).
 *
 * Field names follow the seed's "Backend Setup" so its instructions stay true.
 * `source` is optional in the schema on purpose: a deployment that already holds
 * OpenCode sessions without `source` must accept this schema before
 * `migrations:addSourceToExisting` fills it in. Writers always set it.
 */
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export const sourceValidator = v.union(
  v.literal("opencode"),
  v.literal("claude-code"),
);

/** Token figures of a session; cache figures are absent when unknown. */
export const tokenUsageValidator = v.object({
  input: v.number(),
  output: v.number(),
  cacheCreation: v.optional(v.number()),
  cacheRead: v.optional(v.number()),
});

/**
 * An event's payload as stored: the contract's fields (checked by type in
 * contract.ts before anything is written) beside any field this deployment
 * does not know, kept as sent.
 */
export const payloadValidator = v.record(v.string(), v.any());

export default defineSchema({
  sessions: defineTable({
    sessionId: v.string(),
    source: v.optional(sourceValidator),
    projectName: v.optional(v.string()),
    workingDirectory: v.optional(v.string()),
    gitBranch: v.optional(v.string()),
    /** Earliest event time seen for the session (ms since epoch). */
    startedAt: v.optional(v.number()),
    /** Time of the session_end event (ms since epoch). */
    endedAt: v.optional(v.number()),
    startType: v.optional(v.string()),
    endReason: v.optional(v.string()),
    messageCount: v.optional(v.number()),
    toolCallCount: v.optional(v.number()),
    promptCount: v.optional(v.number()),
    tokenUsage: v.optional(tokenUsageValidator),
    model: v.optional(v.string()),
    /** USD; absent while unpriced. */
    cost: v.optional(v.number()),
    durationMs: v.optional(v.number()),
    /** Latest event time seen: decides whether an event's metadata is newer. */
    lastEventAt: v.optional(v.number()),
    /** Time of the event whose exact figures were last applied. */
    figuresAt: v.optional(v.number()),
    /** Distinct events recorded for the session. */
    eventCount: v.optional(v.number()),
  })
    .index("by_session_id", ["sessionId"])
    .index("by_source", ["source"])
    .index("by_project", ["projectName"]),

  events: defineTable({
    eventId: v.string(),
    sessionId: v.string(),
    /** One of contract.ts's KNOWN_EVENT_TYPES, or a newer client's type, stored as sent. */
    eventType: v.string(),
    timestamp: v.number(),
    source: sourceValidator,
    payload: payloadValidator,
    /** Top-level event fields this deployment does not know, as sent. */
    extra: v.optional(v.record(v.string(), v.any())),
  })
    .index("by_event_id", ["eventId"])
    .index("by_session", ["sessionId", "timestamp"]),
});
