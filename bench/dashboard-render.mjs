// Time to a rendered overview in headless Chromium (bench/dashboard.py runs this).
// Usage: node bench/dashboard-render.mjs URL [RUNS]
// Prints {"cold_ms": first load on this server, "warm_ms": [later loads]}: each load is a fresh
// browser context, timed from navigation start to body[data-ready="true"] (the overview's
// figures and chart in the page), as the page's own performance clock reports it.
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

const [url, runs = "5"] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(existsSync);
if (!executablePath) {
  console.error("chromium not found (apt-get install chromium, or set CHROMIUM)");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const times = [];
for (let i = 0; i < Number(runs) + 1; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  times.push(Number(await page.getAttribute("body", "data-ready-ms")));
  await context.close();
}
await browser.close();
console.log(JSON.stringify({ cold_ms: times[0], warm_ms: times.slice(1) }));
