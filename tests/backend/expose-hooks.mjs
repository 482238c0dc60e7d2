// Node module hook (registered by start.mjs): when convex-test's bundle is
// loaded, also export the in-memory database class and two of its helpers,
// which index-accelerator.mjs needs and convex-test does not export.
export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!/\/node_modules\/convex-test\/dist\/index\.js$/.test(url)) return result;
  const source = typeof result.source === "string" ? result.source : Buffer.from(result.source).toString("utf8");
  return {
    ...result,
    source:
      source +
      "\nexport { DatabaseFake as __DatabaseFake, evaluateQueryValue as __evaluateQueryValue, evaluateFieldPath as __evaluateFieldPath };\n",
  };
}
