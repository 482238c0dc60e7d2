/// <reference types="vite/client" />
import { convexTest } from "convex-test";
import schema from "./schema";
// The function modules convex-test loads (the file name has two dots, so the
// Convex bundler does not deploy it).
export const modules = import.meta.glob("./**/*.*s");

/** A fresh in-memory deployment of this project's functions, with Convex's transaction limits. */
export function setup() {
  return convexTest({ schema, modules, transactionLimits: true });
}

/** Every stored session and event. */
export async function tables(t: ReturnType<typeof setup>) {
  return await t.run(async (ctx) => ({
    sessions: await ctx.db.query("sessions").collect(),
    events: await ctx.db.query("events").collect(),
  }));
}

/** One event as a client sends it to recordEvent (fields a newer client adds included). */
export type SentEvent = {
  sessionId: string;
  eventId: string;
  eventType: string;
  timestamp: number;
  source: "claude-code" | "opencode";
  payload: Record<string, unknown>;
  [extra: string]: unknown;
};
