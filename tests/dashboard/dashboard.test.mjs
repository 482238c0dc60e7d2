// The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core)
// against the real binary serving a store built from the real Claude Code transcripts in
// tests/fixtures and examples/ (imported with `sync-now --all` in a temporary HOME).
//
// Run: npm run test:dashboard   (builds the binary, then node --test tests/dashboard/)
// Needs: chromium (apt-get install chromium) or CHROMIUM=/path/to/chrome, and npm ci.
// Without Chromium the tests are skipped, and fail under CI=true.
// Screenshots of each view: target/dashboard-screenshots/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, basename } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = process.env.CCS_BIN || join(ROOT, "target", "debug", "claude-code-sync");
const SHOTS = join(ROOT, "target", "dashboard-screenshots");
const CHROMIUM = (process.env.CHROMIUM ? [process.env.CHROMIUM] : ["/usr/bin/chromium", "/usr/bin/chromium-browser"]).find(existsSync);
const CI = process.env.CI === "true";

let skip = false;
if (!CHROMIUM) {
  if (CI) throw new Error("Chromium is required under CI=true: apt-get install chromium (or set CHROMIUM)");
  skip = "Chromium not found (apt-get install chromium, or set CHROMIUM): browser tests SKIPPED";
  console.log(`# SKIPPED: ${skip}`);
  // Counted and listed by the test command with the Rust tests' skips (tests/common/sandbox.rs).
  const dir = join(ROOT, "target", "tmp", "skipped");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "dashboard-browser-tests"), skip);
}

let home, env, server, base, browser, sessions, backend;
const KEY = "dashboard-browser-test-key-0123456789";

/** The project's real Convex functions on loopback (tests/backend/start.mjs), with a key. */
async function startBackend() {
  const child = spawn(process.execPath, [join(ROOT, "tests/backend/start.mjs"), "--port", "0", "--exit-with-stdin"], {
    cwd: ROOT,
    env: { ...process.env, CLAUDE_SYNC_API_KEY: KEY },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`backend exited ${code}`)));
  });
  return { child, url: line.replace("LISTENING ", "").trim() };
}

/** Copies a real transcript as another session: new id, project folder and cwd, times shifted. */
function variant(src, outDir, { sessionId, cwd, shiftDays }) {
  const shift = shiftDays * 86_400_000;
  const lines = readFileSync(src, "utf8").split("\n").filter(Boolean).map((line) => {
    // Message and tool-use ids name recorded items too: the copy gets its own.
    const v = JSON.parse(line.replaceAll('"msg_', '"msg_copy_').replaceAll('"toolu_', '"toolu_copy_'));
    if (v.sessionId) v.sessionId = sessionId;
    // Item ids make event ids: the copy's must differ from the original's.
    for (const k of ["uuid", "parentUuid"]) if (typeof v[k] === "string") v[k] = "c0" + v[k].slice(2);
    if (v.cwd) v.cwd = cwd;
    if (typeof v.timestamp === "string") v.timestamp = new Date(Date.parse(v.timestamp) - shift).toISOString();
    return JSON.stringify(v);
  });
  const dir = join(outDir, cwd.replaceAll("/", "-"));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${sessionId}.jsonl`), lines.join("\n") + "\n");
  return dir;
}

function cli(...args) {
  return execFileSync(BIN, args, { env, encoding: "utf8" });
}

async function startServer() {
  const child = spawn(BIN, ["dashboard", "--no-open", "--port", "0"], { env, stdio: ["ignore", "pipe", "inherit"] });
  const first = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`dashboard exited ${code}`)));
  });
  return { child, url: first.trim() };
}

before(async () => {
  if (skip) return;
  assert.ok(existsSync(BIN), `build the binary first (cargo build): ${BIN}`);
  home = mkdtempSync(join(tmpdir(), "ccs-dashboard-"));
  env = { ...process.env, HOME: home, CLAUDE_SYNC_DATA_DIR: join(home, "data"), CLAUDE_CONFIG_DIR: join(home, "claude") };
  for (const k of Object.keys(env)) if (k.startsWith("CLAUDE_SYNC_") && !["CLAUDE_SYNC_DATA_DIR"].includes(k)) delete env[k];
  // A deployment every session is also delivered to: the page's "All machines" reads it back.
  backend = await startBackend();
  writeFileSync(join(home, ".claude-code-sync.json"), JSON.stringify({ convex_url: backend.url, api_key: KEY }), { mode: 0o600 });
  // A second project, three days earlier, from the same real transcript.
  const extra = join(home, "extra");
  const multi = join(ROOT, "tests/fixtures/claude-code/transcripts/multi-tools/-home-dev-work/3c420acd-f7ce-4f4d-a482-4af2de79d118.jsonl");
  variant(multi, extra, { sessionId: "0d5b2a8e-1111-4c3d-9e8f-000000000001", cwd: "/home/dev/other-app", shiftDays: 3 });
  cli("sync-now", "--all", join(ROOT, "tests/fixtures/claude-code/transcripts"), join(ROOT, "examples/transcripts"), extra);
  sessions = JSON.parse(cli("sessions", "--json"));
  assert.ok(sessions.length >= 3, `fixture store has ${sessions.length} sessions`);
  const projects = new Set(sessions.map((s) => s.projectName));
  assert.ok(projects.size >= 2, "fixture store spans two projects");
  server = await startServer();
  base = server.url;
  assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.child.kill("SIGINT");
  backend?.child.stdin.end();
  backend?.child.kill();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** A page that records console errors and every request, for the checks at the end. */
async function openPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => requests.push(r.url()));
  return { page, errors, requests, context };
}

async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]');
}

const value = async (page, kpi) => Number(await page.getAttribute(`[data-kpi="${kpi}"]`, "data-value"));
const sum = (rows, f) => rows.reduce((a, r) => a + f(r), 0);
const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

test("overview totals equal the store's sessions --json", { skip }, async () => {
  const { page, errors, requests, context } = await openPage();
  await page.goto(base);
  await ready(page);
  assert.equal(await value(page, "sessions"), sessions.length);
  assert.equal(await value(page, "prompts"), sum(sessions, (s) => s.prompts));
  assert.equal(await value(page, "tool-calls"), sum(sessions, (s) => s.toolCallCount));
  assert.equal(await value(page, "input"), sum(sessions, (s) => s.tokenUsage.input));
  assert.equal(await value(page, "output"), sum(sessions, (s) => s.tokenUsage.output));
  assert.equal(await value(page, "cache-write"), sum(sessions, (s) => s.tokenUsage.cacheCreation));
  assert.equal(await value(page, "cache-read"), sum(sessions, (s) => s.tokenUsage.cacheRead));
  const cost = sum(sessions, (s) => s.cost ?? 0);
  assert.ok(Math.abs((await value(page, "cost")) - cost) < 1e-9, "cost");
  const shown = Number((await page.textContent('[data-kpi="cost"] .value')).match(/\$([\d.,]+)/)[1].replaceAll(",", ""));
  assert.ok(Math.abs(shown - cost) < 0.005, `cost on screen ${shown}, store ${cost}`);
  // The per-day chart draws one bar group per day with sessions.
  const days = new Set(sessions.map((s) => s.startedAt.slice(0, 10)));
  assert.equal(await page.locator("svg.chart g.bar:has(rect)").count(), days.size);
  await shot(page, "overview");
  assert.deepEqual(errors, []);
  assert.deepEqual(requests.filter((u) => !u.startsWith(base)), [], "no request leaves 127.0.0.1");
  await context.close();
});

test("source, project and date filters change the rows and the URL", { skip }, async () => {
  const { page, errors, requests, context } = await openPage();
  await page.goto(base + "?view=sessions");
  await ready(page);
  const rows = () => page.locator("tr[data-session-id]").count();
  assert.equal(await rows(), sessions.length);

  const project = sessions[sessions.length - 1].projectName;
  const inProject = JSON.parse(cli("sessions", "--json", "--project", project));
  await page.selectOption('select[name="project"]', project);
  await page.waitForURL((u) => u.searchParams.get("project") === project);
  await ready(page);
  assert.equal(await rows(), inProject.length);
  assert.ok(inProject.length < sessions.length);
  await shot(page, "sessions-project-filter");
  await page.click("#clear");
  await page.waitForURL((u) => !u.searchParams.get("project"));
  await ready(page);
  assert.equal(await rows(), sessions.length);

  // From the newest day: the older copy drops out.
  const newest = sessions.map((s) => s.startedAt.slice(0, 10)).sort().at(-1);
  const since = JSON.parse(cli("sessions", "--json", "--since", newest));
  await page.fill('input[name="since"]', newest);
  await page.dispatchEvent('input[name="since"]', "change");
  await page.waitForURL((u) => u.searchParams.get("since") === newest);
  await ready(page);
  assert.equal(await rows(), since.length);
  assert.ok(since.length < sessions.length);
  await page.click("#clear");
  await ready(page);

  await page.selectOption('select[name="source"]', "opencode");
  await page.waitForURL((u) => u.searchParams.get("source") === "opencode");
  await ready(page);
  assert.equal(await rows(), 0, "every local session is Claude Code's");
  await page.selectOption('select[name="source"]', "claude-code");
  await page.waitForURL((u) => u.searchParams.get("source") === "claude-code");
  await ready(page);
  assert.equal(await rows(), sessions.length);

  // A bookmarked filter opens as it was left.
  await page.goto(`${base}?view=overview&project=${encodeURIComponent(project)}`);
  await ready(page);
  assert.equal(await value(page, "sessions"), inProject.length);
  assert.equal(await page.inputValue('select[name="project"]'), project);

  assert.deepEqual(errors, []);
  assert.deepEqual(requests.filter((u) => !u.startsWith(base)), []);
  await context.close();
});

test("text search finds a session by its prompt", { skip }, async () => {
  const { page, errors, context } = await openPage();
  await page.goto(base + "?view=sessions");
  await ready(page);
  await page.fill('input[name="q"]', "spawn a subagent");
  await page.press('input[name="q"]', "Enter");
  await page.waitForURL((u) => u.searchParams.get("q") === "spawn a subagent");
  await ready(page);
  const expected = JSON.parse(cli("sessions", "--json", "--search", "spawn a subagent"));
  assert.equal(expected.length, 1);
  assert.deepEqual(await page.locator("tr[data-session-id]").evaluateAll((rs) => rs.map((r) => r.dataset.sessionId)), [expected[0].sessionId]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("session detail: timeline with tool outcomes and the subagent nested under its call", { skip }, async () => {
  const { page, errors, requests, context } = await openPage();
  const withAgent = JSON.parse(cli("sessions", "--json", "--search", "spawn a subagent"))[0];
  await page.goto(base + "?view=sessions");
  await ready(page);
  await page.click(`tr[data-session-id="${withAgent.sessionId}"] a`);
  await page.waitForURL((u) => u.searchParams.get("view") === "session" && u.searchParams.get("id") === withAgent.sessionId);
  await ready(page);
  assert.ok((await page.locator("li.turn").count()) >= 1);
  const agentCall = page.locator('li.item.tool[data-tool="Agent"]');
  assert.equal(await agentCall.count(), 1);
  assert.equal(await agentCall.locator(".subagent li.item.tool[data-tool=Bash]").count(), 1, "the subagent's Bash call sits under the Agent call");
  assert.ok((await page.locator("li.item.tool .ok").count()) >= 2);
  await shot(page, "session");
  // Another session, with the multi-tool timeline.
  const multi = JSON.parse(cli("sessions", "--json", "--search", "multi tool scenario"))[0];
  await page.goto(`${base}?view=session&id=${multi.sessionId}`);
  await ready(page);
  for (const tool of ["Bash", "Write", "Read", "Edit"]) {
    assert.ok((await page.locator(`li.item.tool[data-tool="${tool}"]`).count()) >= 1, tool);
  }
  await shot(page, "session-multi-tools");
  assert.deepEqual(errors, []);
  assert.deepEqual(requests.filter((u) => !u.startsWith(base)), []);
  await context.close();
});

test("tools view and exports agree with the store", { skip }, async () => {
  const { page, errors, requests, context } = await openPage();
  await page.goto(base + "?view=tools");
  await ready(page);
  assert.equal(await value(page, "tool-calls"), sum(sessions, (s) => s.toolCallCount));
  assert.ok((await page.locator('table[data-table="tools"] tr[data-row="Bash"]').count()) === 1);
  await shot(page, "tools");
  const csv = await (await page.request.get(base + "api/export?format=csv")).text();
  assert.equal(csv.trim().split("\r\n").length, sessions.length + 1);
  const jsonl = await (await page.request.get(base + "api/export?format=jsonl")).text();
  assert.deepEqual(jsonl.trim().split("\n").map((l) => JSON.parse(l)), sessions);
  assert.deepEqual(errors, []);
  assert.deepEqual(requests.filter((u) => !u.startsWith(base)), []);
  await context.close();
});

test("the page's switch shows the deployment's sessions, in the same shape, without the key", { skip }, async () => {
  const { page, errors, requests, context } = await openPage();
  const bodies = [];
  page.on("response", async (r) => { try { bodies.push(await r.text()); } catch {} });
  await page.goto(base);
  await ready(page);
  assert.equal(await value(page, "sessions"), sessions.length);
  await page.click("#where a:has-text('All machines')");
  await page.waitForURL((u) => u.searchParams.get("from") === "remote");
  await ready(page);
  assert.equal(await value(page, "sessions"), sessions.length);
  assert.equal(await value(page, "input"), sum(sessions, (s) => s.tokenUsage.input));
  assert.equal(await value(page, "cache-read"), sum(sessions, (s) => s.tokenUsage.cacheRead));
  await page.waitForFunction(() => !document.querySelector('[data-kpi="tool-failure-rate"] .sub')?.textContent.includes("counting"));
  await shot(page, "overview-remote");
  await page.goto(`${base}?view=sessions&from=remote`);
  await ready(page);
  assert.equal(await page.locator("tr[data-session-id]").count(), sessions.length);
  assert.deepEqual(errors, []);
  assert.deepEqual(requests.filter((u) => !u.startsWith(base)), [], "the browser never calls the deployment");
  assert.ok(bodies.length > 0 && bodies.every((b) => !b.includes(KEY)), "the key never reaches the page");
  await context.close();
});
