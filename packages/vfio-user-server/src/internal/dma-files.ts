import { fstatSync } from "node:fs";
import { closeFds } from "@emu/sys";
import { refuse } from "../errno.js";

/**
 * Distinct files behind the DMA table at once. A VMM maps guest RAM from a handful of memory backends (QEMU: one
 * memfd per backend), so this is generous; without a bound a client could make the server hold one fd per DMA_MAP
 * and run it out of fds (RLIMIT_NOFILE), after which it could not even receive the next message's fds.
 */
const MAX_DMA_FILES = 1024;

interface Kept {
  readonly fd: number;
  refs: number;
}

/**
 * The files behind fd-backed DMA mappings, kept open while a mapping uses them (so a thread of the device can map the
 * same memory: `Dma.file`): one fd per distinct file (device and inode), however many mappings and fds name it.
 */
export class DmaFiles {
  private readonly byIdentity = new Map<string, Kept>();

  get count(): number {
    return this.byIdentity.size;
  }

  /**
   * Takes ownership of `fd`: returns the fd kept for its file (this one, or one already kept for the same file, this
   * one then closed) and a key to `release` it by. Throws ReplyError NoSpace past MAX_DMA_FILES (the fd then still
   * the caller's).
   */
  keep(fd: number): { readonly fd: number; readonly key: string } {
    let key: string;
    try {
      const st = fstatSync(fd, { bigint: true });
      key = `${st.dev}:${st.ino}`;
    } catch {
      throw refuse("Malformed", "DMA_MAP fd cannot be inspected");
    }
    const kept = this.byIdentity.get(key);
    if (kept !== undefined) {
      kept.refs++;
      if (kept.fd !== fd) closeFds([fd]);
      return { fd: kept.fd, key };
    }
    if (this.byIdentity.size >= MAX_DMA_FILES)
      throw refuse("NoSpace", `DMA_MAP with an fd: the DMA table already maps ${MAX_DMA_FILES} distinct files`);
    this.byIdentity.set(key, { fd, refs: 1 });
    return { fd, key };
  }

  /** One mapping less uses the file: its fd is closed with the last one. */
  release(key: string): void {
    const kept = this.byIdentity.get(key);
    if (kept === undefined) return;
    if (--kept.refs > 0) return;
    this.byIdentity.delete(key);
    closeFds([kept.fd]);
  }
}
