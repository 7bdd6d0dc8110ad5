import { defineConfig } from "vitest/config";

// One root config, one project per package (each package's vitest.config.ts names itself).
export default defineConfig({
  test: {
    projects: [
      "packages/*/vitest.config.ts",
      "apps/*/vitest.config.ts",
      "examples/*/vitest.config.ts",
      "tooling/fuzz-kit/vitest.config.ts",
    ],
    reporters: ["default"],
  },
});
