// EAL core lists: `-l 0-3`, `-l 0,2,4`, and `--lcores 0@0,1@0,(2-3)@1` (lcore ids with the CPUs they run on), read
// as DPDK's EAL reads them: the CPUs after @, else the lcore's own id (`1-3`: lcore n on CPU n), else for a group
// without @ the whole group (`(0,6)`: lcores 0 and 6 both on CPUs 0 and 6). Each forwarding lcore's worker thread
// pins itself to its CPUs when it starts (fwd/lcore.ts); the main lcore's thread is left as it is (testpmd also runs
// inside tests and other programs). A CPU the process may not use is warned about once at startup and its lcore left
// unpinned (DPDK's EAL refuses such a list instead).
import { UsageError } from "./usage-error.js";

export interface Lcore {
  readonly id: number;
  /** The CPUs this lcore's thread is pinned to (empty: not pinned, as without -l/--lcores). */
  readonly cpus: readonly number[];
}

const MAX_LCORE = 1023;

function range(text: string, what: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (m === null) throw new UsageError(`bad ${what} "${text}": expected N or N-M`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (hi < lo || hi > MAX_LCORE) throw new UsageError(`bad ${what} "${text}": ids are 0..${MAX_LCORE}, low to high`);
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

/** Splits at commas outside parentheses. */
function items(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of list) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function group(text: string, what: string): number[] {
  const inner = text.startsWith("(") && text.endsWith(")") ? text.slice(1, -1) : text;
  return inner.split(",").flatMap((r) => range(r, what));
}

/** Reads `-l` (plain ids and ranges) or `--lcores` (with @cpus); lcores sorted, each once. */
export function parseLcores(list: string): Lcore[] {
  const seen = new Map<number, Lcore>();
  for (const item of items(list)) {
    const at = item.indexOf("@");
    const ids = group(at < 0 ? item : item.slice(0, at), "lcore");
    const cpus = at >= 0 ? group(item.slice(at + 1), "CPU") : item.startsWith("(") ? ids : undefined;
    for (const id of ids) {
      if (seen.has(id)) throw new UsageError(`lcore ${id} is given twice in "${list}"`);
      seen.set(id, { id, cpus: cpus ?? [id] });
    }
  }
  return [...seen.values()].sort((a, b) => a.id - b.id);
}

/** CPU numbers as a list of ranges, as the kernel writes them (Cpus_allowed_list): `0-3,6`. */
function cpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const lo = sorted[i]!;
    while (i + 1 < sorted.length && sorted[i + 1] === sorted[i]! + 1) i++;
    parts.push(lo === sorted[i] ? String(lo) : `${lo}-${sorted[i]}`);
  }
  return parts.join(",");
}

/**
 * The forwarding lcores (all but the first) checked against the CPUs the process may use (`allowed`: the main
 * thread's affinity at startup, which the kernel already limits to online CPUs of its cpuset): an lcore with a CPU
 * outside them is left unpinned, with a warning line. The main lcore is returned as given (it is never pinned).
 */
export function usableLcores(
  lcores: readonly Lcore[],
  allowed: readonly number[],
): { lcores: Lcore[]; warnings: string[] } {
  const ok = new Set(allowed);
  const warnings: string[] = [];
  const checked = lcores.map((l, i) => {
    const bad = l.cpus.filter((c) => !ok.has(c));
    if (i === 0 || bad.length === 0) return l;
    const what = bad.length === 1 ? `CPU ${bad[0]} is` : `CPUs ${cpuList(bad)} are`;
    warnings.push(
      `EAL: WARNING: lcore ${l.id}: ${what} not available to this process (it may use ${cpuList(allowed)}); lcore ${l.id} will not be pinned\n`,
    );
    return { id: l.id, cpus: [] };
  });
  return { lcores: checked, warnings };
}
