import { spawnSync } from "node:child_process";
import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { tempDir } from "@emu/test-kit";
import { describe, expect, it } from "vitest";

const PKG = join(import.meta.dirname, "..");

describe("the addon was not built", () => {
  it("importing the package names the fix instead of a bare 'Cannot find module'", () => {
    // The package as installed when its build script did not run (pnpm 10 before approve-builds): dist, no build/.
    const root = join(tempDir(), "sys");
    cpSync(join(PKG, "package.json"), join(root, "package.json"));
    cpSync(join(PKG, "dist"), join(root, "dist"), { recursive: true });
    expect(existsSync(join(root, "build"))).toBe(false);

    const entry = pathToFileURL(join(root, "dist", "index.js")).href;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(entry)})`], {
      encoding: "utf8",
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("@emu/sys: its native addon is not built");
    expect(r.stderr).toContain(join(root, "build", "Release", "emu_sys.node"));
    expect(r.stderr).toContain("pnpm approve-builds");
    expect(r.stderr).toContain("onlyBuiltDependencies");
    expect(r.stderr).toContain("npm rebuild @emu/sys");
  });
});
