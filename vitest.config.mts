import { defineConfig } from "vitest/config";

// convex-test runs the functions in Convex's edge-like runtime; the server
// test (tests/backend/*.test.mjs) runs with node:test instead.
export default defineConfig({
  test: {
    environment: "edge-runtime",
    include: ["convex/**/*.test.ts"],
    server: { deps: { inline: ["convex-test"] } },
  },
});
