import { defineConfig } from "vitest/config";

// convex-test runs the functions in Convex's edge-like runtime; the server
// test (tests/backend/*.test.mjs) runs with node:test instead.
export default defineConfig({
  plugins: [
    {
      // The same exports tests/backend/expose-hooks.mjs adds under Node, so a
      // test can install tests/backend/index-accelerator.mjs (convex-test
      // answers index lookups by scanning the table; a 10,000-event test would
      // take minutes).
      name: "expose-convex-test-internals",
      transform(code, id) {
        if (!/\/node_modules\/convex-test\/dist\/index\.js$/.test(id)) return undefined;
        return (
          code +
          "\nexport { DatabaseFake as __DatabaseFake, evaluateQueryValue as __evaluateQueryValue, evaluateFieldPath as __evaluateFieldPath };\n"
        );
      },
    },
  ],
  test: {
    environment: "edge-runtime",
    include: ["convex/**/*.test.ts"],
    server: { deps: { inline: ["convex-test"] } },
  },
});
