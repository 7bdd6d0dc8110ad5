// Real file descriptors to attach to messages, where they belong (a memfd for DMA_MAP, eventfds for SET_IRQS) and
// where they do not: memfds of odd sizes, eventfds, sockets, a plain file. Every one is a raw fd the caller closes
// (`closeFds`) once the message has been sent (the kernel holds its own reference in flight).
import { openSync } from "node:fs";
import { dupFd, EventFd, memfdCreate, UnixSocket } from "@emu/sys";
import type { Rng } from "../rng.js";

export type FdKind = "memfd" | "eventfd" | "socket" | "file";

/** Sizes a memfd is given: page multiples, and sizes that are not. */
const MEMFD_SIZES = [0, 1, 4095, 4096, 0x2000, 0x10000, 0x100000] as const;

export function makeFd(rng: Rng, kind: FdKind, memfdSize?: number): number {
  switch (kind) {
    case "memfd":
      return memfdCreate("fuzz", memfdSize ?? rng.pick(MEMFD_SIZES));
    case "eventfd": {
      const e = EventFd.create();
      const fd = dupFd(e.fd);
      e.close();
      return fd;
    }
    case "socket": {
      const [a, b] = UnixSocket.pair();
      const fd = dupFd(a.fd);
      a.close();
      b.close();
      return fd;
    }
    case "file":
      return openSync("/dev/null", "r");
  }
}

/** `n` fds of random kinds. */
export function makeFds(rng: Rng, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(makeFd(rng, rng.pick(["memfd", "eventfd", "socket", "file"] as const)));
  return out;
}
