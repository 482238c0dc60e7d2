// A local stand-in for a Convex deployment, for tests only: the project's real
// functions in convex/ run in one in-memory convex-test instance, served over
// Convex's HTTP function API (POST /api/query, /api/mutation, /api/action) on
// loopback with the same envelopes a deployment answers with, plus test-only
// routes under /_test/ to read tables, reset, change the deployment's
// environment and inject faults.
//
// Importing convex/*.ts needs a TypeScript loader: start.mjs registers tsx
// before importing this module.
import http from "node:http";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import { convexToJson, jsonToConvex } from "convex/values";
import { installIndexAccelerator } from "./index-accelerator.mjs";

const CONVEX_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../convex");

/** The deployment environment variable the functions read for the API key. */
export const API_KEY_ENV = "CLAUDE_SYNC_API_KEY";

/** Fault modes /_test/fault accepts; see README.md beside this file. */
export const FAULT_MODES = [
  "healthy",
  "http500",
  "rate_limited",
  "reset_half",
  "slow",
  "black_hole",
  "unauthorized",
  "lost_reply",
];

const UDF_TYPE_BY_ROUTE = { "/api/query": "query", "/api/mutation": "mutation", "/api/action": "action" };
const UDF_TYPE_NAME = { query: "Query", mutation: "Mutation", action: "Action" };

/** The modules convex-test loads, keyed like `import.meta.glob` would key them. */
function convexModules() {
  const modules = {};
  const add = (file) => {
    // Memoized: convex-test loads the module on every call, and each dynamic
    // import() would cross the module-hook thread again.
    let loaded;
    modules[path.join(CONVEX_DIR, file)] = () => (loaded ??= import(pathToFileURL(path.join(CONVEX_DIR, file)).href));
  };
  for (const name of readdirSync(CONVEX_DIR)) {
    // Function modules, by the bundler's rule: one dot, no test files.
    if (/^[^.#][^.]*\.(ts|js)$/.test(name) && name !== "schema.ts") add(name);
  }
  for (const name of readdirSync(path.join(CONVEX_DIR, "_generated"))) {
    if (name.endsWith(".js")) add(path.join("_generated", name));
  }
  return modules;
}

/** "sync:recordEvent", "sync.js:recordEvent", "sync" -> ["sync", "recordEvent" | "default"]. */
function parseFunctionPath(udfPath) {
  const [file, name = "default"] = udfPath.split(":");
  return [file.replace(/\.(js|ts)$/, ""), name];
}

function missingFunctionMessage(modulePath, name) {
  const shown = name === "default" ? modulePath : `${modulePath}:${name}`;
  return `Could not find public function for '${shown}'. Did you forget to run \`npx convex dev\` or \`npx convex deploy\`?`;
}

function requestId() {
  return randomBytes(8).toString("hex");
}

/** The body Convex answers a failed function call with (HTTP 200). */
function functionError(message, errorData) {
  const body = { status: "error", errorMessage: `[Request ID: ${requestId()}] Server Error\n${message}` };
  if (errorData !== undefined) body.errorData = errorData;
  return body;
}

/** Turns what a convex-test call threw into Convex's error envelope. */
function thrownToEnvelope(e) {
  if (e && typeof e === "object" && Symbol.for("ConvexError") in e) {
    const data = e.data;
    return functionError(`Uncaught ConvexError: ${typeof data === "string" ? data : JSON.stringify(convexToJson(data))}`, convexToJson(data));
  }
  const msg = e instanceof Error ? e.message : String(e);
  if (/^Validator error/.test(msg) || /^ArgumentValidationError/.test(msg)) {
    return functionError(`ArgumentValidationError: ${msg}`);
  }
  return functionError(`Uncaught Error: ${msg}`);
}

/**
 * Creates the server (not yet listening).
 * options.withoutRecordEvents: answer for `sync:recordEvents` as a deployment
 *   that predates it does (the "could not find public function" error).
 * options.apiKey: initial value of CLAUDE_SYNC_API_KEY (undefined = unset).
 * options.indexAccelerator: false serves with convex-test's table scans.
 */
export async function createBackendServer(options = {}) {
  if (options.indexAccelerator !== false) await installIndexAccelerator();
  const schema = (await import(pathToFileURL(path.join(CONVEX_DIR, "schema.ts")).href)).default;
  const modules = convexModules();
  const hidden = new Set(options.withoutRecordEvents ? ["sync:recordEvents"] : []);

  if (options.apiKey === undefined) delete process.env[API_KEY_ENV];
  else process.env[API_KEY_ENV] = options.apiKey;

  let t = convexTest({ schema, modules, transactionLimits: true });
  const fault = { mode: "healthy", delayMs: 0, retryAfterSeconds: 1, remaining: undefined, seen: 0 };
  const stats = { requests: 0, byFunction: {} };
  // The arguments of the latest function calls, apiKey left out: what a
  // client sent, for tests and for capturing fixtures of a client's payloads.
  const calls = [];
  const blackHoled = new Set();

  // One function at a time, like the serializable order of a deployment:
  // convex-test's fake database is not meant for interleaved transactions.
  let queue = Promise.resolve();
  const serialized = (fn) => {
    const run = queue.then(fn, fn);
    queue = run.then(() => undefined, () => undefined);
    return run;
  };

  async function loadFunction(modulePath, name) {
    const load = modules[path.join(CONVEX_DIR, `${modulePath}.ts`)] ?? modules[path.join(CONVEX_DIR, `${modulePath}.js`)];
    if (!load) return undefined;
    return (await load())[name];
  }

  /** Runs one public function call; resolves to [httpStatus, body]. */
  async function callFunction(udfType, body) {
    if (typeof body?.path !== "string" || body.args === undefined) {
      return [400, { code: "BadJsonBody", message: "Failed to deserialize request body: missing field `path` or `args`" }];
    }
    const [modulePath, name] = parseFunctionPath(body.path);
    const canonical = `${modulePath}:${name}`;
    stats.byFunction[canonical] = (stats.byFunction[canonical] ?? 0) + 1;
    const func = hidden.has(canonical) ? undefined : await loadFunction(modulePath, name);
    if (!func || !func.isPublic) return [200, functionError(missingFunctionMessage(modulePath, name))];
    const actual = func.isQuery ? "query" : func.isMutation ? "mutation" : "action";
    if (actual !== udfType) {
      return [200, functionError(`Trying to execute ${canonical} as ${UDF_TYPE_NAME[udfType]}, but it is defined as ${UDF_TYPE_NAME[actual]}.`)];
    }
    // The HTTP API takes the arguments object alone or wrapped in an array.
    const rawArgs = Array.isArray(body.args) ? body.args[0] ?? {} : body.args;
    let args;
    try {
      args = jsonToConvex(rawArgs);
    } catch (e) {
      return [200, functionError(`ArgumentValidationError: ${e.message}`)];
    }
    if (calls.length >= MAX_RECORDED_CALLS) calls.shift();
    const { apiKey: _key, ...shown } = typeof rawArgs === "object" && rawArgs !== null ? rawArgs : {};
    calls.push({ kind: udfType, path: canonical, args: shown });
    const ref = makeFunctionReference(canonical);
    try {
      const value = await serialized(() => t[udfType](ref, args));
      return [200, { status: "success", value: convexToJson(value === undefined ? null : value) }];
    } catch (e) {
      return [200, thrownToEnvelope(e)];
    }
  }

  /** Applies the current fault; true when the request was consumed by it. */
  async function applyFault(req, res) {
    if (fault.mode === "healthy") return false;
    if (fault.remaining !== undefined) {
      if (fault.remaining <= 0) {
        fault.mode = "healthy";
        fault.remaining = undefined;
        return false;
      }
      fault.remaining -= 1;
    }
    fault.seen += 1;
    switch (fault.mode) {
      case "http500":
        send(res, 500, { code: "InternalServerError", message: "Your request couldn't be completed. Try again later." });
        return true;
      case "rate_limited":
        res.setHeader("Retry-After", String(fault.retryAfterSeconds));
        send(res, 429, { code: "RateLimited", message: "Too many requests. Try again later." });
        return true;
      case "reset_half":
        if (fault.seen % 2 === 1) {
          req.socket.resetAndDestroy?.() ?? req.socket.destroy();
          return true;
        }
        return false;
      case "slow":
        await new Promise((r) => setTimeout(r, fault.delayMs));
        return false;
      case "black_hole":
        blackHoled.add(req.socket);
        return true;
      case "unauthorized":
        send(res, 200, functionError('Uncaught ConvexError: {"code":"UNAUTHORIZED"}', { code: "UNAUTHORIZED", message: "Injected fault" }));
        return true;
      case "lost_reply":
        // The function runs and commits; the answer is lost on the way back (the
        // connection resets). The client cannot tell this from a failed call, so
        // its re-send must be recognised as a duplicate.
        req.loseReply = true;
        return false;
    }
    return false;
  }

  async function handleTest(req, res, url) {
    const route = url.pathname.slice("/_test/".length);
    if (req.method === "GET" && route.startsWith("tables/")) {
      const table = decodeURIComponent(route.slice("tables/".length));
      if (!(table in schema.tables)) return send(res, 404, { error: `no table ${table}` });
      const docs = await serialized(() => t.run((ctx) => ctx.db.query(table).collect()));
      return send(res, 200, convexToJson(docs));
    }
    if (req.method === "POST" && route === "reset") {
      await serialized(() => {
        t = convexTest({ schema, modules, transactionLimits: true });
      });
      Object.assign(fault, { mode: "healthy", remaining: undefined, seen: 0 });
      stats.requests = 0;
      stats.byFunction = {};
      calls.length = 0;
      return send(res, 200, { ok: true });
    }
    if (route === "env") {
      if (req.method === "POST") {
        const body = await readJson(req);
        if (!body || !(API_KEY_ENV in body)) return send(res, 400, { error: `body must set ${API_KEY_ENV}` });
        const value = body[API_KEY_ENV];
        if (value === null) delete process.env[API_KEY_ENV];
        else if (typeof value === "string") process.env[API_KEY_ENV] = value;
        else return send(res, 400, { error: `${API_KEY_ENV} must be a string or null` });
      }
      return send(res, 200, { keyRequired: Boolean(process.env[API_KEY_ENV]) });
    }
    if (route === "fault") {
      if (req.method === "POST") {
        const body = await readJson(req);
        if (!body || !FAULT_MODES.includes(body.mode)) {
          return send(res, 400, { error: `mode must be one of ${FAULT_MODES.join(", ")}` });
        }
        Object.assign(fault, {
          mode: body.mode,
          delayMs: Number.isFinite(body.delayMs) ? body.delayMs : 2000,
          retryAfterSeconds: Number.isFinite(body.retryAfterSeconds) ? body.retryAfterSeconds : 1,
          remaining: Number.isInteger(body.count) ? body.count : undefined,
          seen: 0,
        });
      }
      const { mode, delayMs, retryAfterSeconds, remaining, seen } = fault;
      return send(res, 200, { mode, delayMs, retryAfterSeconds, remaining: remaining ?? null, faulted: seen });
    }
    if (req.method === "GET" && route === "stats") return send(res, 200, stats);
    if (req.method === "GET" && route === "calls") return send(res, 200, calls);
    return send(res, 404, { error: "no such test route" });
  }

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, "http://127.0.0.1");
      if (url.pathname.startsWith("/_test/")) return await handleTest(req, res, url);

      const udfType = UDF_TYPE_BY_ROUTE[url.pathname];
      if (!udfType) return send(res, 404, { code: "NotFound", message: "No route found" });
      if (req.method !== "POST") return send(res, 405, { code: "MethodNotAllowed", message: "Use POST" });
      stats.requests += 1;
      if (await applyFault(req, res)) return;

      const auth = req.headers.authorization;
      if (auth !== undefined) {
        // The product sends its key as an argument; a deployment reads a
        // bearer token as a user JWT and "Convex <key>" as an admin key.
        return auth.startsWith("Convex ")
          ? send(res, 401, { code: "BadAdminKey", message: "The provided admin key was invalid for this instance" })
          : send(res, 401, { code: "NoAuthProvider", message: "No auth provider found matching the given token" });
      }
      const client = req.headers["convex-client"];
      if (client !== undefined && !/^[a-z0-9-]+-\d+\.\d+\.\d+/.test(client)) {
        return send(res, 400, { code: "InvalidClientVersion", message: `Invalid Convex-Client header: ${client}` });
      }
      let body;
      try {
        body = JSON.parse(await readBody(req));
      } catch (e) {
        return send(res, 400, { code: "BadJsonBody", message: `Failed to parse JSON body: ${e.message}` });
      }
      const [status, reply] = await callFunction(udfType, body);
      if (req.loseReply) {
        req.socket.resetAndDestroy?.() ?? req.socket.destroy();
        return;
      }
      return send(res, status, reply);
    } catch (e) {
      return send(res, 500, { code: "InternalServerError", message: String(e?.message ?? e) });
    }
  });
  server.keepAliveTimeout = 30_000;

  const close = server.close.bind(server);
  server.close = (cb) => {
    for (const socket of blackHoled) socket.destroy();
    server.closeAllConnections?.();
    return close(cb);
  };
  return server;
}

/** Function calls /_test/calls remembers (the oldest are forgotten first). */
const MAX_RECORDED_CALLS = 20_000;

/** Request bodies above Convex's 16 MiB limit are refused like a deployment does. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("request body exceeds 16 MiB"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function readJson(req) {
  try {
    return JSON.parse(await readBody(req));
  } catch {
    return undefined;
  }
}

function send(res, status, body) {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}
