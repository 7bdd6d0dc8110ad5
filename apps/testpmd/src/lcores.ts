// EAL core lists: `-l 0-3`, `-l 0,2,4`, and `--lcores 0@0,1@0,(2-3)@1` (lcore ids with the CPUs they would run on).
// Worker threads cannot be pinned from Node, so the CPU part is read, checked and shown, not applied.
import { UsageError } from "./usage-error.js";

export interface Lcore {
  readonly id: number;
  /** The CPUs named after @ (empty: any). */
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
    const cpus = at < 0 ? [] : group(item.slice(at + 1), "CPU");
    for (const id of ids) {
      if (seen.has(id)) throw new UsageError(`lcore ${id} is given twice in "${list}"`);
      seen.set(id, { id, cpus });
    }
  }
  return [...seen.values()].sort((a, b) => a.id - b.id);
}
