import { native } from "./internal/native.js";

/**
 * Pins the calling thread (the main thread, or the worker thread that calls it) to the listed CPUs:
 * sched_setaffinity of this thread only, as a DPDK lcore pins itself. Throws SysError EINVAL when none of them is
 * available to the process (offline, or outside its cpuset); SysArgumentError for an empty list or a bad number.
 */
export function setThreadAffinity(cpus: readonly number[]): void {
  native.setThreadAffinity([...cpus]);
}

/** The CPUs the calling thread may run on, ascending (sched_getaffinity of this thread). */
export function threadAffinity(): number[] {
  return native.threadAffinity();
}
