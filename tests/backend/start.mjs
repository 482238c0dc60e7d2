// Starts the local test backend (see server.mjs) and prints exactly one line
// on stdout when it is ready: `LISTENING http://127.0.0.1:<port>`.
//
//   node tests/backend/start.mjs [--port N] [--without recordEvents] [--exit-with-stdin]
//                                [--no-index-accelerator]
//
// --port 0 (the default) picks a free port. --no-index-accelerator serves
// with convex-test's plain table scans (see index-accelerator.mjs). --without recordEvents mimics a
// deployment older than the batch function. --exit-with-stdin stops the
// server when its stdin closes, so a test harness that dies (a panicking
// Rust test) cannot leave it running. The deployment's API key comes from
// the environment variable CLAUDE_SYNC_API_KEY, never from an argument.
import { register as registerHooks } from "node:module";
import { register } from "tsx/esm/api";

function parseArgs(argv) {
  const opts = { port: 0, withoutRecordEvents: false, exitWithStdin: false, indexAccelerator: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--port") opts.port = Number(argv[++i]);
    else if (arg.startsWith("--port=")) opts.port = Number(arg.slice(7));
    else if (arg === "--without") {
      const what = argv[++i];
      if (what !== "recordEvents") usage(`unknown --without ${what}`);
      opts.withoutRecordEvents = true;
    } else if (arg === "--without=recordEvents") opts.withoutRecordEvents = true;
    else if (arg === "--exit-with-stdin") opts.exitWithStdin = true;
    else if (arg === "--no-index-accelerator") opts.indexAccelerator = false;
    else usage(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage("bad --port");
  return opts;
}

function usage(problem) {
  console.error(`${problem}\nusage: node tests/backend/start.mjs [--port N] [--without recordEvents] [--exit-with-stdin] [--no-index-accelerator]`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
// convex-test validates a union by trying each member and catching the
// error; capturing a stack trace for each of those throws was most of the
// server's time. Answers carry no stack traces, so capture none.
Error.stackTraceLimit = 0;
registerHooks("./expose-hooks.mjs", import.meta.url);
register();
const { createBackendServer } = await import("./server.mjs");
const server = await createBackendServer({
  withoutRecordEvents: opts.withoutRecordEvents,
  indexAccelerator: opts.indexAccelerator,
  apiKey: process.env.CLAUDE_SYNC_API_KEY || undefined,
});

const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
if (opts.exitWithStdin) {
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
}

server.listen(opts.port, "127.0.0.1", () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}\n`);
});
