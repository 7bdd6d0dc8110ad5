// A fresh temporary directory per use, removed (recursively) after the test.
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterThisTest } from "./after-test.js";

export interface TempDirOptions {
  /** The start of the directory's name (default "emu-test-"). */
  readonly prefix?: string;
  /** Make it on tmpfs (/dev/shm) when that is writable: for trees of many small files, which a disk /tmp makes slow. */
  readonly tmpfs?: boolean;
}

function base(tmpfs: boolean): string {
  if (!tmpfs) return tmpdir();
  try {
    accessSync("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return tmpdir();
  }
}

/** A fresh temporary directory, removed after the test. */
export function tempDir(options: TempDirOptions = {}): string {
  const dir = mkdtempSync(join(base(options.tmpfs ?? false), options.prefix ?? "emu-test-"));
  afterThisTest(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
