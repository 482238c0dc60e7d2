// Writes convex/_generated/ exactly as `npx convex codegen` would for this
// project (JavaScript + .d.ts flavour, with a schema), using the code
// templates and prettier of the pinned `convex` package. `npx convex codegen`
// itself refuses to run without a deployment; this needs none.
// Usage: node scripts/convex-codegen-offline.mjs [--check]
import { readdirSync, readFileSync, writeFileSync, mkdirSync, mkdtempSync, existsSync } from "node:fs";
import os from "node:os";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const functionsDir = path.join(root, "convex");
const codegenDir = path.join(functionsDir, "_generated");
const templates = path.join(root, "node_modules/convex/dist/esm/cli/codegen_templates");
const load = (name) => import(pathToFileURL(path.join(templates, name)).href);

// dataModel.js also imports the CLI's component helpers, which need packages
// only bundled into the CLI; the schema template does not use them. Load a
// copy without that import, its other imports pointed back at the package.
async function loadDataModelTemplate() {
  const source = readFileSync(path.join(templates, "dataModel.js"), "utf8")
    .replace(/import\s*\{\s*toComponentDefinitionPath\s*\}\s*from\s*"[^"]+";/, "")
    .replace(/from "\.\/([^"]+)"/g, (_, f) => `from "${pathToFileURL(path.join(templates, f)).href}"`);
  const copy = path.join(mkdtempSync(path.join(os.tmpdir(), "convex-codegen-")), "dataModel.mjs");
  writeFileSync(copy, source);
  return import(pathToFileURL(copy).href);
}

const { apiCodegen } = await load("api.js");
const { serverCodegen } = await load("server.js");
const { dynamicDataModelDTS } = await loadDataModelTemplate();
const { compareModulePaths } = await load("common.js");
const prettier = createRequire(import.meta.url)("prettier");

// The same entry-point rules as the convex bundler (src/bundler/index.ts).
const modulePaths = readdirSync(functionsDir, { withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => e.name)
  .filter((n) => /\.(ts|tsx|js|jsx|mjs|cjs)$/.test(n))
  .filter((n) => !n.startsWith(".") && !n.startsWith("#"))
  .filter((n) => n !== "schema.ts" && n !== "schema.js")
  .filter((n) => (n.match(/\./g) || []).length === 1)
  .sort(compareModulePaths);

const api = apiCodegen(modulePaths, { useTypeScript: false });
const server = serverCodegen({ useTypeScript: false, envVars: undefined });
const files = {
  "dataModel.d.ts": dynamicDataModelDTS(),
  "server.js": server.JS,
  "server.d.ts": server.DTS,
  "api.js": api.JS,
  "api.d.ts": api.DTS,
};

const check = process.argv.includes("--check");
mkdirSync(codegenDir, { recursive: true });
let stale = [];
for (const [name, contents] of Object.entries(files)) {
  const formatted = await prettier.format(contents, { parser: "typescript", pluginSearchDirs: false });
  const dest = path.join(codegenDir, name);
  const existing = existsSync(dest) ? readFileSync(dest, "utf8") : undefined;
  if (existing === formatted) continue;
  if (check) stale.push(name);
  else writeFileSync(dest, formatted);
}
if (check && stale.length > 0) {
  console.error(`convex/_generated is stale: ${stale.join(", ")} (run node scripts/convex-codegen-offline.mjs)`);
  process.exit(1);
}
console.log(check ? "convex/_generated is up to date" : `wrote convex/_generated for ${modulePaths.join(", ")}`);
