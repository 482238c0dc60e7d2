/**
 * The wire contract of `sync:recordEvent` and `sync:recordEvents`, checked
 * here by hand instead of by Convex's argument validators. A validator refuses
 * a whole call for one field it does not know, so every field a newer client
 * adds would be a hard rejection on every older deployment, and the client
 * would park those events until someone noticed. Here what is known is
 * checked by type, and what is not known is stored as sent.
 *
 * docs/backend-protocols.md states the same contract for people; change both
 * together, and raise CONTRACT_VERSION when a field or event type is added.
 */

/**
 * The contract this deployment speaks. 1 was the first, strict contract (no
 * version reported); 2 stores unknown fields and event types, understands the
 * raw hook fields, and refuses reads without a key.
 */
export const CONTRACT_VERSION = 2;

/** Event types this deployment understands; any other is stored as sent. */
export const KNOWN_EVENT_TYPES = [
  "session_start",
  "user_prompt",
  "tool_use",
  "tool_failure",
  "response_complete",
  "subagent_stop",
  "pre_compact",
  "session_end",
  "manual_sync",
  "message",
] as const;

/** Which product recorded the session (decides where a dashboard shows it). */
export const SOURCES = ["claude-code", "opencode"] as const;
export type Source = (typeof SOURCES)[number];

/**
 * Contract payload fields holding text: the session's metadata, where the
 * newest event carrying one wins. Then those holding a number.
 */
export const STRING_FIELDS = [
  "projectName",
  "workingDirectory",
  "gitBranch",
  "model",
  "startType",
  "endReason",
] as const;
const NUMBER_FIELDS = ["messageCount", "toolCallCount", "promptCount", "cost", "durationMs"] as const;
const TOKEN_FIELDS = ["input", "output", "cacheCreation", "cacheRead"] as const;
const REQUIRED_TOKEN_FIELDS = ["input", "output"] as const;

/** Payload fields the contract defines; every other payload field is kept as sent. */
export const KNOWN_PAYLOAD_FIELDS = [...STRING_FIELDS, ...NUMBER_FIELDS, "tokenUsage", "detail"] as const;

/** Top-level fields of an event; others are kept under the stored event's `extra`. */
const EVENT_FIELDS = new Set(["sessionId", "eventId", "eventType", "timestamp", "source", "payload"]);

/**
 * Longest id and longest metadata text accepted. An id is an index key; a
 * metadata text is copied onto the session row, which every list query reads.
 */
export const MAX_ID_CHARS = 1024;
export const MAX_TEXT_CHARS = 8192;

/**
 * Largest payload field other than the metadata (`detail`, or a field the
 * deployment does not know) stored as sent. A bigger one (the client is meant
 * to truncate long before this) is replaced by a note of its size, so one
 * oversized event can neither exceed Convex's 1 MiB document limit nor block
 * the rest of a session behind it forever.
 */
export const MAX_DETAIL_BYTES = 256 * 1024;

/**
 * Largest payload stored, and largest set of unknown top-level fields: the
 * largest fields become notes until each fits. With the ids and metadata, an
 * event stays well inside Convex's 1 MiB document limit.
 */
export const MAX_PAYLOAD_BYTES = 512 * 1024;
export const MAX_EXTRA_BYTES = 128 * 1024;

export type TokenUsage = { input: number; output: number; cacheCreation?: number; cacheRead?: number };

/** An event that passed `checkEvent`, as it is stored. */
export type SyncEvent = {
  sessionId: string;
  eventId: string;
  eventType: string;
  timestamp: number;
  source: Source;
  payload: Record<string, unknown>;
  /** Top-level fields this deployment does not know. */
  extra?: Record<string, unknown>;
};

export type Checked = { ok: true; event: SyncEvent } | { ok: false; eventId?: string; reason: string };

const utf8 = new TextEncoder();
export const jsonBytes = (value: unknown) => utf8.encode(JSON.stringify(value) ?? "").length;

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof ArrayBuffer);
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Why `value` is not a valid `payload.tokenUsage`, or undefined when it is. */
function tokenUsageProblem(value: unknown): string | undefined {
  if (!isPlainObject(value)) return `payload.tokenUsage must be an object, got ${typeName(value)}`;
  for (const f of TOKEN_FIELDS) {
    const v = value[f];
    if (v === undefined || v === null) {
      if ((REQUIRED_TOKEN_FIELDS as readonly string[]).includes(f)) return `payload.tokenUsage.${f} is required`;
    } else if (!isNumber(v)) {
      return `payload.tokenUsage.${f} must be a number, got ${typeName(v)}`;
    }
  }
  return undefined;
}

/**
 * Checks one event as a client sent it. Known fields must have their type (a
 * `null` counts as absent); unknown payload fields, unknown top-level fields
 * and unknown event types are accepted. Answers the event as it is stored, or
 * the one reason it is refused.
 */
export function checkEvent(raw: unknown): Checked {
  if (!isPlainObject(raw)) return { ok: false, reason: `an event must be an object, got ${typeName(raw)}` };
  const eventId = typeof raw.eventId === "string" ? raw.eventId : undefined;
  const refuse = (reason: string): Checked => ({ ok: false, eventId, reason });

  for (const f of ["sessionId", "eventId", "eventType"] as const) {
    const v = raw[f];
    if (typeof v !== "string") return refuse(`${f} must be a string, got ${typeName(v)}`);
    if (v === "") return refuse(`${f} must not be empty`);
    if (v.length > MAX_ID_CHARS) return refuse(`${f} is longer than ${MAX_ID_CHARS} characters`);
  }
  if (!isNumber(raw.timestamp)) return refuse(`timestamp must be a number (ms since epoch), got ${typeName(raw.timestamp)}`);
  if (!(SOURCES as readonly unknown[]).includes(raw.source)) {
    return refuse(`source must be one of ${SOURCES.join(", ")}, got ${JSON.stringify(raw.source) ?? "nothing"}`);
  }
  const payload = raw.payload ?? {};
  if (!isPlainObject(payload)) return refuse(`payload must be an object, got ${typeName(payload)}`);

  for (const f of STRING_FIELDS) {
    const v = payload[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string") return refuse(`payload.${f} must be a string, got ${typeName(v)}`);
    if (v.length > MAX_TEXT_CHARS) return refuse(`payload.${f} is longer than ${MAX_TEXT_CHARS} characters`);
  }
  for (const f of NUMBER_FIELDS) {
    const v = payload[f];
    if (v !== undefined && v !== null && !isNumber(v)) return refuse(`payload.${f} must be a number, got ${typeName(v)}`);
  }
  if (payload.tokenUsage !== undefined && payload.tokenUsage !== null) {
    const problem = tokenUsageProblem(payload.tokenUsage);
    if (problem) return refuse(problem);
  }

  const extraEntries = Object.entries(raw).filter(([k, v]) => !EVENT_FIELDS.has(k) && k !== "apiKey" && v !== undefined);
  const event: SyncEvent = {
    sessionId: raw.sessionId as string,
    eventId: raw.eventId as string,
    eventType: raw.eventType as string,
    timestamp: raw.timestamp as number,
    source: raw.source as Source,
    payload: withoutNulls(payload),
  };
  if (extraEntries.length > 0) event.extra = Object.fromEntries(extraEntries);
  return { ok: true, event: bounded(event) };
}

/** Contract fields sent as `null` are absent: store them so. */
function withoutNulls(payload: Record<string, unknown>): Record<string, unknown> {
  const known = KNOWN_PAYLOAD_FIELDS as readonly string[];
  return Object.fromEntries(Object.entries(payload).filter(([k, v]) => !(v === null && known.includes(k)) && v !== undefined));
}

/** A note stored in place of a field too large to keep. */
const omitted = (bytes: number) => ({ omitted: "too_large", bytes });

/**
 * `fields` with every field not in `keep` that is over MAX_DETAIL_BYTES
 * replaced by a note of its size, then the largest of them replaced too until
 * the whole fits in `maxBytes`.
 */
function boundFields(fields: Record<string, unknown>, keep: readonly string[], maxBytes: number): Record<string, unknown> {
  const sizes = Object.entries(fields)
    .filter(([k]) => !keep.includes(k))
    .map(([k, v]) => [k, jsonBytes(v)] as const);
  if (sizes.every(([, n]) => n <= MAX_DETAIL_BYTES) && jsonBytes(fields) <= maxBytes) return fields;
  const out = { ...fields };
  for (const [k, n] of sizes) if (n > MAX_DETAIL_BYTES) out[k] = omitted(n);
  for (const [k, n] of [...sizes].sort((a, b) => b[1] - a[1])) {
    if (jsonBytes(out) <= maxBytes) break;
    if (n > 64) out[k] = omitted(n);
  }
  return out;
}

/** The event as stored: oversized detail or unknown fields become notes of their size. */
export function bounded(ev: SyncEvent): SyncEvent {
  const metadata = KNOWN_PAYLOAD_FIELDS.filter((f) => f !== "detail");
  const payload = boundFields(ev.payload, metadata, MAX_PAYLOAD_BYTES);
  const extra = ev.extra && boundFields(ev.extra, [], MAX_EXTRA_BYTES);
  if (payload === ev.payload && extra === ev.extra) return ev;
  return extra === undefined ? { ...ev, payload } : { ...ev, payload, extra };
}

/** What an event says about its session, once the raw hook fields are understood. */
export type SessionFacts = {
  projectName?: string;
  workingDirectory?: string;
  gitBranch?: string;
  model?: string;
  startType?: string;
  endReason?: string;
  messageCount?: number;
  toolCallCount?: number;
  promptCount?: number;
  tokenUsage?: TokenUsage;
  cost?: number;
  durationMs?: number;
};

/** The last part of a path, either separator, trailing ones ignored ("/" has none). */
export function lastPathPart(path: string): string | undefined {
  const part = path.replace(/[\\/]+$/, "").split(/[\\/]/).pop();
  return part === "" ? undefined : part;
}

const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);

/**
 * The session metadata an event carries. The contract's own fields win; when
 * absent, a client that sends the hook's input as Claude Code wrote it is
 * understood: `cwd` is the working directory and its last part the project,
 * and a SessionStart's `source` and `model` and a SessionEnd's `reason` are
 * the start type, model and end reason.
 */
export function sessionFacts(ev: SyncEvent): SessionFacts {
  const p = ev.payload;
  const hook = str(p.hook_event_name);
  const isStart = ev.eventType === "session_start" || hook === "SessionStart";
  const isEnd = ev.eventType === "session_end" || hook === "SessionEnd";
  const cwd = str(p.cwd);
  const facts: SessionFacts = {
    projectName: str(p.projectName) ?? (cwd && lastPathPart(cwd)),
    workingDirectory: str(p.workingDirectory) ?? cwd,
    gitBranch: str(p.gitBranch),
    model: str(p.model),
    startType: str(p.startType) ?? (isStart ? str(p.source) : undefined),
    endReason: str(p.endReason) ?? (isEnd ? str(p.reason) : undefined),
  };
  for (const f of NUMBER_FIELDS) if (isNumber(p[f])) facts[f] = p[f];
  const usage = p.tokenUsage as TokenUsage | undefined;
  if (usage !== undefined) {
    // Only the fields the session row knows: a newer client's extra token
    // figures stay in the stored event.
    facts.tokenUsage = { input: usage.input, output: usage.output };
    if (isNumber(usage.cacheCreation)) facts.tokenUsage.cacheCreation = usage.cacheCreation;
    if (isNumber(usage.cacheRead)) facts.tokenUsage.cacheRead = usage.cacheRead;
  }
  for (const k of Object.keys(facts) as (keyof SessionFacts)[]) if (facts[k] === undefined) delete facts[k];
  return facts;
}
