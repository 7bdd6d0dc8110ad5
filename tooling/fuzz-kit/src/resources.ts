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
 * How far the end may be from the start (after a settle) and still count as "back": fds and memfd mappings exactly
 * (they are the peer's resources, never the runtime's); all mappings and RSS within what V8's heap and code space
 * move by on their own (measured: see the README of the package that runs it).
 */
export interface Tolerance {
  readonly maps: number;
  readonly rss: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { maps: 64, rss: 24 * 1048576 };

/** The ways `end` is not back at `start`, as sentences; empty when it is. */
export function leaks(start: Resources, end: Resources, tolerance: Tolerance = DEFAULT_TOLERANCE): string[] {
  const out: string[] = [];
  if (end.fds !== start.fds) out.push(`fds ${start.fds} -> ${end.fds}`);
  if (end.memfdMaps !== start.memfdMaps) out.push(`memfd mappings ${start.memfdMaps} -> ${end.memfdMaps}`);
  if (end.maps - start.maps > tolerance.maps)
    out.push(`mappings ${start.maps} -> ${end.maps} (more than +${tolerance.maps})`);
  if (end.rss - start.rss > tolerance.rss)
    out.push(`RSS ${mib(start.rss)} -> ${mib(end.rss)} (more than +${mib(tolerance.rss)})`);
  return out;
}

export const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;
