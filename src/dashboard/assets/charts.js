// Hand-drawn SVG charts: a stacked bar chart by day and horizontal bars. No library: the page
// must work offline and under a CSP that allows nothing but this server.

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

export const TOKEN_SERIES = [
  { key: "input", label: "Input", cls: "s-input" },
  { key: "output", label: "Output", cls: "s-output" },
  { key: "cacheCreation", label: "Cache write", cls: "s-write" },
  { key: "cacheRead", label: "Cache read", cls: "s-read" },
];

/** Compact number: 1234 -> 1.2k. */
export function compact(n) {
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(1) + "B";
  if (a >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (a >= 1e3) return (n / 1e3).toFixed(1) + "k";
  return String(Math.round(n));
}

/**
 * Bars per day, stacked by token type. `days`: [{day, tokens: {input, ...}}].
 * Each segment carries a <title> so hovering shows the exact figure.
 */
export function stackedDays(days, { width = 900, height = 220 } = {}) {
  const pad = { l: 48, r: 8, t: 8, b: 28 };
  const w = width - pad.l - pad.r;
  const h = height - pad.t - pad.b;
  const totals = days.map((d) => TOKEN_SERIES.reduce((s, k) => s + (d.tokens[k.key] || 0), 0));
  const max = Math.max(1, ...totals);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": "Tokens per day by type" });
  for (let i = 0; i <= 4; i++) {
    const y = pad.t + h - (h * i) / 4;
    root.append(svg("line", { x1: pad.l, x2: pad.l + w, y1: y, y2: y, class: "grid" }));
    const label = svg("text", { x: pad.l - 6, y: y + 4, class: "axis", "text-anchor": "end" });
    label.textContent = compact((max * i) / 4);
    root.append(label);
  }
  const step = w / Math.max(1, days.length);
  const barW = Math.max(2, Math.min(40, step * 0.8));
  days.forEach((d, i) => {
    let y = pad.t + h;
    const x = pad.l + i * step + (step - barW) / 2;
    const g = svg("g", { class: "bar", "data-day": d.day });
    for (const s of TOKEN_SERIES) {
      const v = d.tokens[s.key] || 0;
      if (!v) continue;
      const bh = (v / max) * h;
      y -= bh;
      const rect = svg("rect", { x, y, width: barW, height: Math.max(bh, 0.5), class: s.cls });
      const t = svg("title");
      t.textContent = `${d.day} · ${s.label}: ${v.toLocaleString("en-US")}`;
      rect.append(t);
      g.append(rect);
    }
    root.append(g);
    const every = Math.ceil(days.length / 8);
    if (i % every === 0) {
      const label = svg("text", { x: x + barW / 2, y: height - 8, class: "axis", "text-anchor": "middle" });
      label.textContent = d.day.slice(5);
      root.append(label);
    }
  });
  return root;
}

/** A thin horizontal bar for `value` out of `max`, for table cells. */
export function bar(value, max, cls = "s-cost") {
  const width = 70;
  const root = svg("svg", { viewBox: `0 0 ${width} 10`, class: "minibar", width, height: 10 });
  root.append(svg("rect", { x: 0, y: 0, width, height: 10, class: "track" }));
  root.append(svg("rect", { x: 0, y: 0, width: max > 0 ? Math.max(1, (value / max) * width) : 0, height: 10, class: cls }));
  return root;
}

/** The legend of the token series. */
export function legend() {
  const root = document.createElement("div");
  root.className = "legend";
  for (const s of TOKEN_SERIES) {
    const item = document.createElement("span");
    const sw = svg("svg", { width: 10, height: 10, viewBox: "0 0 10 10" }, svg("rect", { width: 10, height: 10, class: s.cls }));
    item.append(sw, " " + s.label);
    root.append(item);
  }
  return root;
}
