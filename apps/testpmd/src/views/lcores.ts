// Where the lcores run, in DPDK's layouts: EAL's "lcore N is ready" line for a started worker lcore, and dump_lcores.
import type { LcoreThread } from "../fwd/task.js";

/** A CPU set as DPDK writes one (eal_thread_dump_affinity): the CPUs one by one, comma-separated. */
function cpuset(cpus: readonly number[]): string {
  return cpus.join(",");
}

/**
 * What EAL logs when a worker lcore is up: `EAL: lcore 1 is ready (tid=4242;cpuset=[1])` — the tid here is the
 * kernel's thread id (DPDK prints its pthread id in hex), the cpuset what the thread may run on once pinned. An lcore
 * that could not pin itself gets a warning line first.
 */
export function lcoreReadyView(lcore: number, t: LcoreThread): string {
  const warning =
    t.unpinned === undefined
      ? ""
      : `EAL: WARNING: lcore ${lcore} could not be pinned (${t.unpinned}); it runs unpinned\n`;
  return `${warning}EAL: lcore ${lcore} is ready (tid=${t.tid};cpuset=[${cpuset(t.cpus)}])\n`;
}

/** dump_lcores (rte_lcore_dump): one line per lcore with the CPUs its thread runs on. */
export function dumpLcoresView(rows: readonly { lcore: number; cpus: readonly number[] }[]): string {
  return rows.map((r) => `lcore ${r.lcore}, socket 0, role RTE, cpuset ${cpuset(r.cpus)}\n`).join("");
}
