/**
 * One-off data migrations, run by a maintainer with `npx convex run`.
 *
 * `addSourceToExisting` gives every session without `source` one (sessions
 * written before the field existed are OpenCode sessions). A single Convex
 * mutation may write at most 16,000 documents and 16 MiB, so it works in
 * bounded batches: each run patches one batch found through the `by_source`
 * index (documents lacking the field are indexed under `undefined`), then
 * schedules itself for the next batch until none is left. Because it only
 * ever looks at rows that still lack `source`, it needs no cursor, survives
 * being interrupted, and running it again is harmless.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import { internalMutation } from "./_generated/server";
import { sourceValidator } from "./schema";

/** Rows per transaction by default: small sessions rows, far under the limits. */
const DEFAULT_BATCH_SIZE = 500;
/** Largest batch accepted; keeps one transaction well inside 16 MiB of writes. */
const MAX_BATCH_SIZE = 4000;

export const addSourceToExisting = internalMutation({
  args: {
    source: v.optional(sourceValidator),
    batchSize: v.optional(v.number()),
  },
  returns: v.object({ patched: v.number(), continuing: v.boolean() }),
  handler: async (ctx, args) => {
    const source = args.source ?? "opencode";
    const batchSize = Math.max(
      1,
      Math.min(Math.floor(args.batchSize ?? DEFAULT_BATCH_SIZE), MAX_BATCH_SIZE),
    );
    const batch = await ctx.db
      .query("sessions")
      .withIndex("by_source", (q) => q.eq("source", undefined))
      .take(batchSize);
    for (const session of batch) {
      await ctx.db.patch(session._id, { source });
    }
    // A full batch may mean more rows are waiting: continue in a new
    // transaction. A short batch means this one was the last.
    const continuing = batch.length === batchSize;
    if (continuing) {
      await ctx.scheduler.runAfter(0, internal.migrations.addSourceToExisting, {
        source,
        batchSize,
      });
    }
    return { patched: batch.length, continuing };
  },
});
