/**
 * Who may call what. The deployment's key is the environment variable
 * CLAUDE_SYNC_API_KEY; clients send it as the `apiKey` argument (a bearer
 * header would be read by Convex as a user JWT and refused).
 *
 * - Writes (`recordEvent`, `recordEvents`) need the key once one is set. A
 *   deployment without one takes writes from anyone with its URL, so a first
 *   install works before a key exists; the client's `status` warns about it.
 * - Reads of session data fail closed: they need the key, and a deployment
 *   without one refuses them, since Convex URLs are not secret and events hold
 *   prompts and tool inputs. Every query returning session data starts with
 *   `requireReadKey(apiKey)`.
 *
 * Rejections are `ConvexError`s whose `data.code` a client switches on:
 * `UNAUTHORIZED` (missing or wrong key) or `NO_KEY_CONFIGURED` (a read on a
 * deployment without a key; `data.command` says how to set one). The key is
 * never echoed, logged or stored.
 */
import { ConvexError } from "convex/values";

export const API_KEY_ENV = "CLAUDE_SYNC_API_KEY";

/** The command that sets a key on a deployment, as the error and the docs show it. */
export const SET_KEY_COMMAND = `npx convex env set ${API_KEY_ENV} <key>`;

/** The deployment's key, or undefined when none is configured (open mode). */
export function configuredKey(): string | undefined {
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

/** Whether `apiKey` opens writes: the configured key, or anything in open mode. */
export function keyAccepted(apiKey: unknown): boolean {
  const expected = configuredKey();
  if (expected === undefined) return true;
  return typeof apiKey === "string" && constantTimeEqual(apiKey, expected);
}

function unauthorized(apiKey: unknown): ConvexError<{ code: string; message: string }> {
  return new ConvexError({
    code: "UNAUTHORIZED",
    message:
      apiKey === undefined
        ? "This deployment requires an API key and none was sent"
        : "The API key was not accepted by this deployment",
  });
}

/** Guards a write: throws UNAUTHORIZED unless `keyAccepted(apiKey)`. */
export function requireWriteKey(apiKey: unknown): void {
  if (!keyAccepted(apiKey)) throw unauthorized(apiKey);
}

/**
 * Guards a read of session data: throws NO_KEY_CONFIGURED when the deployment
 * has no key, UNAUTHORIZED when `apiKey` is not it. Call it first in every
 * query that returns sessions or events.
 */
export function requireReadKey(apiKey: unknown): void {
  if (configuredKey() === undefined) {
    throw new ConvexError({
      code: "NO_KEY_CONFIGURED",
      message:
        `This deployment has no ${API_KEY_ENV}, so it serves no session data. ` +
        `Set one with \`${SET_KEY_COMMAND}\` (\`claude-code-sync login --generate-key\` makes a key and prints the command).`,
      command: SET_KEY_COMMAND,
    });
  }
  if (!keyAccepted(apiKey)) throw unauthorized(apiKey);
}
