// The dashboard page: plain ES modules, no framework, no build step. Every view and filter
// lives in the URL (?view=sessions&project=app&since=2026-11-01), so any view can be
// bookmarked, shared or reloaded. All text is put in the page as text nodes, never as HTML.

import { stackedDays, bar, legend, compact } from "/charts.js";

const FILTERS = ["source", "project", "branch", "model", "since", "until", "q"];
const main = document.getElementById("main");
const form = document.getElementById("filters");
let info = { remote: null };

// ---------------------------------------------------------------- helpers

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const state = () => new URLSearchParams(location.search);
const fmtInt = (n) => (n ?? 0).toLocaleString("en-US");
const fmtUsd = (n) => {
  const digits = (n ?? 0) < 1 ? 4 : 2;
  return "$" + (n ?? 0).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
};
const fmtPct = (r) => (r === null || r === undefined ? "–" : (r * 100).toFixed(1) + "%");
const fmtMs = (ms) => (ms === null || ms === undefined ? "–" : ms < 1000 ? Math.round(ms) + " ms" : (ms / 1000).toFixed(1) + " s");
const fmtTime = (iso) => (iso ? iso.slice(0, 16).replace("T", " ") : "–");
const tokensOf = (t) => (t ? t.input + t.output + t.cacheCreation + t.cacheRead : 0);

/** Cost of a set: priced sum, and the unpriced sessions named apart (never shown as $0). */
function costCell(cost, unpriced) {
  if (unpriced && !cost) return h("span", { class: "unpriced" }, "unpriced");
  return h("span", {}, fmtUsd(cost), unpriced ? h("span", { class: "unpriced" }, ` + ${unpriced} unpriced`) : null);
}

function apiParams(extra = {}) {
  const s = state();
  const p = new URLSearchParams();
  p.set("from", s.get("from") || (info.remoteFirst ? "remote" : "local"));
  for (const k of FILTERS) if (s.get(k)) p.set(k, s.get(k));
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p;
}

async function api(endpoint, extra) {
  const res = await fetch(`/api/${endpoint}?${apiParams(extra)}`, { headers: { Accept: "application/json" } });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

/** Moves to a URL of this page: the view re-renders from it. */
function go(params, replace = false) {
  const url = "/?" + params.toString();
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render();
}

function link(params, ...children) {
  const href = "/?" + params.toString();
  return h("a", { href, onclick: (e) => { if (e.button === 0 && !e.metaKey && !e.ctrlKey) { e.preventDefault(); go(params); } } }, ...children);
}

function withView(view, extra = {}) {
  const p = state();
  p.set("view", view);
  for (const k of ["id", "page"]) p.delete(k);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p;
}

/** A figure; `raw` (the exact number) goes in data-value so tests compare it with the store. */
function card(key, label, value, sub, raw) {
  return h("div", { class: "card", "data-kpi": key, "data-value": raw }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "sub" }, sub) : null);
}

function table(headers, rows, attrs = {}) {
  return h("table", attrs, h("thead", {}, h("tr", {}, headers.map((x) => h("th", { class: x.num ? "num" : "" }, x.label ?? x)))), h("tbody", {}, rows));
}

function section(title, ...children) {
  return h("section", {}, h("h2", {}, title), ...children);
}

// ---------------------------------------------------------------- views

function toolCard(tools) {
  return card("tool-failure-rate", "Tool failure rate", fmtPct(tools?.failureRate), tools ? `${fmtInt(tools.failures)} of ${fmtInt(tools.calls)} calls failed` : "counting…", tools?.failureRate);
}

async function overview() {
  const o = await api("overview");
  if (o.toolsPending) {
    // Filled in when the tool statistics are ready; the rest of the overview does not wait.
    const seq = renderSeq;
    api("tools").then((r) => {
      const old = document.querySelector('[data-kpi="tool-failure-rate"]');
      if (seq === renderSeq && old) old.replaceWith(toolCard(r.summary));
    }).catch(() => {});
  }
  const t = o.totals;
  const tk = t.tokens;
  const tools = o.tools;
  const maxModelCost = Math.max(0, ...o.byModel.map((m) => m.cost));
  const maxProjectCost = Math.max(0, ...o.byProject.map((m) => m.cost));
  const group = (rows, key, max) =>
    rows.map((r) =>
      h("tr", { "data-row": r[key] },
        h("td", {}, key === "project" ? link(withView("sessions", { project: r[key] }), r[key]) : r[key]),
        h("td", { class: "num" }, fmtInt(r.sessions)),
        h("td", { class: "num" }, compact(tokensOf(r.tokens))),
        h("td", { class: "num" }, fmtPct(r.cacheHitRate)),
        h("td", { class: "num" }, costCell(r.cost, r.unpricedSessions)),
        h("td", {}, bar(r.cost, max)),
      ),
    );
  const heads = (first) => [first, { label: "Sessions", num: 1 }, { label: "Tokens", num: 1 }, { label: "Cache hits", num: 1 }, { label: "Cost", num: 1 }, ""];
  return [
    h("div", { class: "cards" },
      card("cost", "Cost (list-price estimate)", costCell(t.cost, t.unpricedSessions), t.unpricedSessions ? `${t.unpricedSessions} session(s) of unpriced models` : "every session priced", t.cost),
      card("tokens", "Tokens", compact(tokensOf(tk)), h("span", {}, `in ${compact(tk.input)} · out ${compact(tk.output)} · cache write ${compact(tk.cacheCreation)} · cache read ${compact(tk.cacheRead)}`), tokensOf(tk)),
      card("cache-hit-rate", "Cache hit rate", fmtPct(t.cacheHitRate), "cache reads / prompt tokens", t.cacheHitRate),
      card("sessions", "Sessions", fmtInt(t.sessions), null, t.sessions),
      card("prompts", "Prompts", fmtInt(t.prompts), null, t.prompts),
      card("tool-calls", "Tool calls", fmtInt(t.toolCalls), null, t.toolCalls),
      toolCard(tools),
    ),
    h("div", { class: "cards tokens" },
      card("input", "Input tokens", fmtInt(tk.input), null, tk.input),
      card("output", "Output tokens", fmtInt(tk.output), null, tk.output),
      card("cache-write", "Cache write tokens", fmtInt(tk.cacheCreation), null, tk.cacheCreation),
      card("cache-read", "Cache read tokens", fmtInt(tk.cacheRead), null, tk.cacheRead),
    ),
    section("Tokens per day", legend(), o.byDay.length ? stackedDays(o.byDay) : h("p", { class: "muted" }, "No sessions match.")),
    h("div", { class: "two" },
      section("By model (main model of each session)", table(heads("Model"), group(o.byModel, "model", maxModelCost), { "data-table": "by-model" })),
      section("By project", table(heads("Project"), group(o.byProject, "project", maxProjectCost), { "data-table": "by-project" })),
    ),
  ];
}

async function sessions() {
  const s = state();
  const page = Math.max(0, parseInt(s.get("page") || "0", 10) || 0);
  const limit = 50;
  const r = await api("sessions", { offset: page * limit, limit });
  const rows = r.sessions.map((x) =>
    h("tr", { "data-session-id": x.sessionId },
      h("td", {}, link(withView("session", { id: x.sessionId }), fmtTime(x.startedAt))),
      h("td", {}, x.projectName || "–"),
      h("td", {}, x.gitBranch || "–"),
      h("td", {}, x.models[0] || "–"),
      h("td", {}, x.source === "opencode" ? "OpenCode" : "Claude Code", x.machine ? h("span", { class: "muted" }, " · " + x.machine) : null),
      h("td", { class: "num" }, fmtInt(x.prompts)),
      h("td", { class: "num" }, fmtInt(x.toolCallCount)),
      h("td", { class: "num" }, compact(tokensOf(x.tokenUsage))),
      h("td", { class: "num" }, x.cost === null ? h("span", { class: "unpriced" }, "unpriced") : fmtUsd(x.cost)),
    ),
  );
  const pager = h("div", { class: "pager" },
    page > 0 ? link(withView("sessions", { page: page - 1 }), "← Newer") : h("span"),
    h("span", { class: "muted", "data-total": r.total }, `${fmtInt(r.offset + (r.total ? 1 : 0))}–${fmtInt(Math.min(r.total, r.offset + limit))} of ${fmtInt(r.total)} sessions · ${compact(tokensOf(r.totals.tokens))} tokens · `, costCell(r.totals.cost, r.totals.unpricedSessions)),
    r.offset + limit < r.total ? link(withView("sessions", { page: page + 1 }), "Older →") : h("span"),
  );
  return [
    pager,
    r.total
      ? table(["Started (UTC)", "Project", "Branch", "Model", "Source", { label: "Prompts", num: 1 }, { label: "Tools", num: 1 }, { label: "Tokens", num: 1 }, { label: "Cost", num: 1 }], rows, { "data-table": "sessions" })
      : h("p", { class: "muted", "data-empty": "" }, "No sessions match these filters."),
  ];
}

function toolItem(it) {
  if (it.kind === "tool") {
    const ok = it.outcome === "ok";
    const outcome = it.outcome ? h("span", { class: ok ? "ok" : "fail" }, ok ? "ok" : it.outcome) : h("span", { class: "muted" }, "no result");
    const input = it.input && typeof it.input === "object"
      ? Object.entries(it.input).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(" · ")
      : "";
    return h("li", { class: "item tool", "data-tool": it.tool },
      h("div", { class: "line" }, h("b", {}, it.tool || "tool"), " ", outcome, h("span", { class: "muted" }, " " + fmtMs(it.durationMs)), it.error ? h("span", { class: "fail" }, " " + it.error) : null),
      input ? h("div", { class: "input" }, input) : null,
      (it.subagents || []).map(subagent),
    );
  }
  if (it.kind === "subagent") return subagent(it);
  if (it.kind === "thinking") return h("li", { class: "item thinking" }, h("details", {}, h("summary", {}, "thinking"), h("pre", {}, it.text || "")));
  const who = it.role === "user" ? "user" : "assistant";
  return h("li", { class: `item text ${who}` }, h("pre", {}, it.text || ""));
}

function subagent(g) {
  return h("div", { class: "subagent", "data-agent": g.agentId }, h("div", { class: "muted" }, `subagent ${g.agentId}`), h("ol", {}, g.items.map(toolItem)));
}

async function session() {
  const id = state().get("id");
  const r = await api("session", { id });
  const x = r.session;
  const turns = r.turns.map((t, i) =>
    h("li", { class: "turn", "data-turn": i + 1 },
      h("div", { class: "turn-head" },
        h("span", { class: "muted" }, `Turn ${i + 1} · ${fmtTime(t.prompt.at)}`),
        h("span", { class: "muted" }, `${compact(tokensOf(t.tokens))} tokens (in ${compact(t.tokens.input)}, out ${compact(t.tokens.output)}, cache write ${compact(t.tokens.cacheCreation)}, cache read ${compact(t.tokens.cacheRead)}) · ≈ `, costCell(t.cost, t.unpricedMessages)),
      ),
      t.prompt.text ? h("pre", { class: "prompt" }, t.prompt.text) : null,
      h("ol", { class: "items" }, t.items.map(toolItem)),
    ),
  );
  return [
    h("p", {}, link(withView("sessions"), "← Sessions")),
    h("div", { class: "cards" },
      card("project", "Project", x.projectName || "–", x.workingDirectory || ""),
      card("started", "Started (UTC)", fmtTime(x.startedAt), x.endedAt ? "ended " + fmtTime(x.endedAt) : "open"),
      card("models", "Models", x.models.join(", ") || "–", x.gitBranch ? "branch " + x.gitBranch : ""),
      card("tokens", "Tokens", compact(tokensOf(x.tokenUsage)), `in ${fmtInt(x.tokenUsage.input)} · out ${fmtInt(x.tokenUsage.output)} · cache write ${fmtInt(x.tokenUsage.cacheCreation)} · cache read ${fmtInt(x.tokenUsage.cacheRead)}`),
      card("cost", "Cost", x.cost === null ? h("span", { class: "unpriced" }, "unpriced") : fmtUsd(x.cost), `${x.prompts} prompts · ${x.toolCallCount} tool calls`),
    ),
    h("p", { class: "muted" }, `Session ${x.sessionId}. Text as stored: redacted and truncated when recorded. Per-turn costs are list-price estimates.`),
    h("ol", { class: "timeline" }, turns),
  ];
}

async function tools() {
  const r = await api("tools");
  const rows = (list, key) =>
    list.map((t) =>
      h("tr", { "data-row": t[key] },
        h("td", {}, t[key]),
        h("td", { class: "num" }, fmtInt(t.calls)),
        h("td", { class: "num" }, fmtInt(t.failures)),
        h("td", { class: "num" }, fmtPct(t.failureRate)),
        h("td", { class: "num" }, fmtMs(t.p50Ms)),
        h("td", { class: "num" }, fmtMs(t.p95Ms)),
      ),
    );
  const heads = (first) => [first, { label: "Calls", num: 1 }, { label: "Failures", num: 1 }, { label: "Failure rate", num: 1 }, { label: "p50", num: 1 }, { label: "p95", num: 1 }];
  const s = r.summary;
  return [
    h("div", { class: "cards" },
      card("tool-calls", "Tool calls", fmtInt(s?.calls), null, s?.calls),
      card("tool-failures", "Failures", fmtInt(s?.failures)),
      card("tool-failure-rate", "Failure rate", fmtPct(s?.failureRate)),
      card("tool-p95", "p95 duration", fmtMs(s?.p95Ms), "p50 " + fmtMs(s?.p50Ms)),
    ),
    section("Per tool", r.tools.length ? table(heads("Tool"), rows(r.tools, "tool"), { "data-table": "tools" }) : h("p", { class: "muted" }, "No tool calls match.")),
    section("Per MCP server", r.servers.length ? table(heads("Server"), rows(r.servers, "server"), { "data-table": "servers" }) : h("p", { class: "muted" }, "No MCP tool calls match.")),
  ];
}

const VIEWS = { overview, sessions, session, tools };

// ---------------------------------------------------------------- chrome

let renderSeq = 0;
let facetsFrom = null;
async function render() {
  const s = state();
  const view = VIEWS[s.get("view")] ? s.get("view") : "overview";
  for (const a of document.querySelectorAll("#tabs a")) {
    a.classList.toggle("active", a.dataset.view === view || (view === "session" && a.dataset.view === "sessions"));
    a.href = "/?" + withView(a.dataset.view).toString();
  }
  for (const k of FILTERS) if (form.elements[k]) form.elements[k].value = s.get(k) || "";
  const exportParams = apiParams();
  document.getElementById("export-csv").href = `/api/export?${exportParams}&format=csv`;
  document.getElementById("export-jsonl").href = `/api/export?${exportParams}&format=jsonl`;
  renderWhere();
  const from = apiParams().get("from");
  if (from !== facetsFrom) {
    facetsFrom = from;
    loadFacets();
  }
  const seq = ++renderSeq;
  document.body.dataset.view = view;
  document.body.dataset.ready = "false";
  try {
    const content = await VIEWS[view]();
    if (seq !== renderSeq) return;
    main.replaceChildren(...content);
  } catch (e) {
    if (seq !== renderSeq) return;
    main.replaceChildren(h("p", { class: "error" }, String(e.message || e)));
  }
  document.body.dataset.readyMs = String(Math.round(performance.now()));
  document.body.dataset.ready = "true";
}

function renderWhere() {
  const where = document.getElementById("where");
  if (!info.remote) {
    where.replaceChildren(h("span", { class: "muted" }, "This machine"));
    return;
  }
  const from = state().get("from") || (info.remoteFirst ? "remote" : "local");
  const choice = (value, label) => {
    const p = state();
    p.set("from", value);
    p.delete("page");
    return link(p, h("span", { class: from === value ? "on" : "" }, label));
  };
  where.replaceChildren(h("span", { class: "switch" }, choice("local", "This machine"), choice("remote", `All machines (${info.remote})`)));
}

async function loadFacets() {
  try {
    const f = await api("facets");
    for (const [name, values] of [["project", f.projects], ["branch", f.branches], ["model", f.models]]) {
      const select = form.elements[name];
      const current = state().get(name) || "";
      select.replaceChildren(h("option", { value: "" }, "All"), ...values.map((v) => h("option", { value: v }, v)));
      if (current && !values.includes(current)) select.append(h("option", { value: current }, current));
      select.value = current;
    }
  } catch (e) {
    // The view itself reports errors; menus stay at "All".
  }
}

function onFilterChange() {
  const p = state();
  for (const k of FILTERS) {
    const v = (form.elements[k].value || "").trim();
    if (v) p.set(k, v);
    else p.delete(k);
  }
  p.delete("page");
  if (p.get("view") === "session") p.set("view", "sessions");
  p.delete("id");
  go(p);
}

form.addEventListener("change", onFilterChange);
form.addEventListener("submit", (e) => { e.preventDefault(); onFilterChange(); });
document.getElementById("clear").addEventListener("click", () => {
  const p = new URLSearchParams();
  const s = state();
  p.set("view", s.get("view") === "session" ? "sessions" : s.get("view") || "overview");
  if (s.get("from")) p.set("from", s.get("from"));
  go(p);
});
window.addEventListener("popstate", render);

(async () => {
  try {
    info = await (await fetch("/api/info")).json();
  } catch (e) {
    info = { remote: null };
  }
  await render();
})();
