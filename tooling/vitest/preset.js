// Shared vitest settings for every package project. Two-process tests spawn real children over real sockets,
// so timeouts are generous; every test makes its own temporary directory for sockets and memfds.
import { defineProject } from "vitest/config";

/** @param {string} name the package name, used as the vitest project name */
export function emuProject(name, extra = {}) {
  return defineProject({
    test: {
      name,
      include: ["test/**/*.test.ts"],
      testTimeout: 30_000,
      hookTimeout: 30_000,
      pool: "forks",
      ...extra,
    },
  });
}
