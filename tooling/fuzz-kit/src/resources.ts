// What a process holds, read from /proc/<pid>: open fds, memory mappings (all, and those of memfds: the shared memory
// a vfio-user peer maps), resident memory. A leak shows as one of these not coming back after the peer went away.
import { readdirSync, readFileSync } from "node:fs";

export interface Resources {
  /** Entries of /proc/<pid>/fd. */
  readonly fds: number;
  /** Lines of /proc/<pid>/maps. */
  readonly maps: number;
  /** Mappings of memfds ("/memfd:" in /proc/<pid>/maps). */
  readonly memfdMaps: number;
  /** VmRSS, bytes. */
  readonly rss: number;
}

export function probe(pid: number): Resources {
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const maps = readFileSync(`/proc/${pid}/maps`, "utf8").split("\n");
  let count = 0;
  let memfd = 0;
  for (const line of maps) {
    if (line === "") continue;
    count++;
    if (line.includes("/memfd:")) memfd++;
  }
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? "0");
  return { fds, maps: count, memfdMaps: memfd, rss: rssKiB * 1024 };
}

/**
 * How far the end may be from the start (both after a settle: no peer, full garbage collections) and still count as
 * "back": fds and memfd mappings exactly (they are the peers' resources, never the runtime's); the V8 heap in use (live
 * JS objects) within `heap`; all mappings and RSS within what V8's committed heap, its code space and the C
 * allocator's arenas move by on their own, which they do not give back (measured over 10^6 and 10^7 messages: see
 * the server's README, "Reliability"). A leak of JS objects shows in `heap` long before RSS.
 */
export interface Tolerance {
  readonly maps: number;
  readonly rss: number;
  readonly heap: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { maps: 96, rss: 32 * 1048576, heap: 4 * 1048576 };

/** The ways `end` is not back at `start`, as sentences; empty when it is. */
export function leaks(
  start: Resources,
  end: Resources,
  tolerance: Tolerance = DEFAULT_TOLERANCE,
  heap?: { readonly start: number; readonly end: number },
): string[] {
  const out: string[] = [];
  if (heap !== undefined && heap.end - heap.start > tolerance.heap)
    out.push(`V8 heap in use ${mib(heap.start)} -> ${mib(heap.end)} (more than +${mib(tolerance.heap)})`);
  if (end.fds !== start.fds) out.push(`fds ${start.fds} -> ${end.fds}`);
  if (end.memfdMaps !== start.memfdMaps) out.push(`memfd mappings ${start.memfdMaps} -> ${end.memfdMaps}`);
  if (end.maps - start.maps > tolerance.maps)
    out.push(`mappings ${start.maps} -> ${end.maps} (more than +${tolerance.maps})`);
  if (end.rss - start.rss > tolerance.rss)
    out.push(`RSS ${mib(start.rss)} -> ${mib(end.rss)} (more than +${mib(tolerance.rss)})`);
  return out;
}

export const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;
