import { convexTest } from "convex-test";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { internal } from "./_generated/api";
import schema from "./schema";
import { modules } from "./test.setup";

const LEGACY = 5000;
const CLAUDE = 300;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A deployment holding thousands of OpenCode sessions written before `source` existed. */
async function legacyDeployment() {
  const t = convexTest({ schema, modules, transactionLimits: true });
  await t.run(async (ctx) => {
    for (let i = 0; i < LEGACY; i++) {
      await ctx.db.insert("sessions", {
        sessionId: `old-${i}`,
        projectName: `project-${i % 13}`,
        messageCount: i % 50,
        tokenUsage: { input: i, output: 2 * i },
      });
    }
    for (let i = 0; i < CLAUDE; i++) {
      await ctx.db.insert("sessions", { sessionId: `cc-${i}`, source: "claude-code" });
    }
  });
  return t;
}

async function bySource(t: Awaited<ReturnType<typeof legacyDeployment>>) {
  return await t.run(async (ctx) => {
    const all = await ctx.db.query("sessions").collect();
    const count: Record<string, number> = {};
    for (const s of all) count[s.source ?? "missing"] = (count[s.source ?? "missing"] ?? 0) + 1;
    return { count, all };
  });
}

test("addSourceToExisting fills source on thousands of rows in bounded batches", async () => {
  const t = await legacyDeployment();
  const before = await bySource(t);

  // One call is one bounded transaction that patches a batch and schedules the rest.
  const first = await t.mutation(internal.migrations.addSourceToExisting, {});
  expect(first).toEqual({ patched: 500, continuing: true });
  expect((await bySource(t)).count).toEqual({ missing: LEGACY - 500, opencode: 500, "claude-code": CLAUDE });

  await t.finishAllScheduledFunctions(vi.runAllTimers);
  const after = await bySource(t);
  expect(after.count).toEqual({ opencode: LEGACY, "claude-code": CLAUDE });

  // Only `source` changed: every other field of every row is as it was.
  const strip = ({ source, ...rest }: Record<string, unknown>) => rest;
  expect(after.all.map(strip)).toEqual(before.all.map(strip));
});

test("running the migration again changes nothing", async () => {
  const t = await legacyDeployment();
  await t.mutation(internal.migrations.addSourceToExisting, { batchSize: 4000 });
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  const once = await bySource(t);
  expect(await t.mutation(internal.migrations.addSourceToExisting, {})).toEqual({ patched: 0, continuing: false });
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  expect(await bySource(t)).toEqual(once);
});

test("the largest batch size stays inside Convex's per-transaction limits", async () => {
  const t = await legacyDeployment();
  // transactionLimits: true makes convex-test enforce the deployment's limits;
  // a request above the cap is clamped to it.
  expect(await t.mutation(internal.migrations.addSourceToExisting, { batchSize: 1e9 })).toEqual({
    patched: 4000,
    continuing: true,
  });
});
