// Starts tests/backend/start.mjs as a child process and waits for its
// LISTENING line: the one way the server tests and the ingest benchmark
// start the local backend (the Rust tests have their own helper with the
// same steps).
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const START = path.join(path.dirname(fileURLToPath(import.meta.url)), "start.mjs");

/**
 * options.apiKey: the deployment's CLAUDE_SYNC_API_KEY (absent = open mode).
 * options.args: extra arguments, e.g. ["--without", "recordEvents"].
 * Resolves to { url, child, stop(), call(kind, path, args), test(route, body?) }.
 */
export async function startBackend(options = {}) {
  const env = { ...process.env };
  delete env.CLAUDE_SYNC_API_KEY;
  if (options.apiKey !== undefined) env.CLAUDE_SYNC_API_KEY = options.apiKey;
  const child = spawn(process.execPath, [START, "--port", "0", "--exit-with-stdin", ...(options.args ?? [])], {
    env,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  let stdout = "";
  const url = await new Promise((resolve, reject) => {
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const m = /^LISTENING (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`backend exited (${code}) before listening: ${stdout}`)));
  });

  const post = async (route, body) => {
    const res = await fetch(url + route, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: await res.json() };
  };
  return {
    url,
    child,
    exited,
    /** Everything the server printed on stdout so far. */
    stdout: () => stdout,
    /** POST /api/<kind> {path, args, format: "json"}; resolves to {status, headers, body}. */
    call: (kind, fn, args = {}) => post(`/api/${kind}`, { path: fn, args, format: "json" }),
    post,
    /** GET (no body) or POST (body) a /_test/ route; resolves to the JSON answer. */
    test: async (route, body) => {
      const res = body === undefined ? await fetch(`${url}/_test/${route}`) : await post(`/_test/${route}`, body);
      return body === undefined ? res.json() : res.body;
    },
    /** Closes stdin (the server's cue to stop) and waits for it to exit. */
    stop: async () => {
      child.stdin.end();
      return exited;
    },
  };
}
