import { defineProject } from "vitest/config";

// A project of the root vitest config (examples/*/vitest.config.ts). It uses the built packages by name, so run
// `pnpm build` first (`pnpm test` does).
export default defineProject({
  test: {
    name: "emudev-uppercase",
    include: ["test/**/*.test.mjs"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
