import { MigrationState } from "@emu/vfio-user-proto";

type State = number;

const { ERROR, STOP, RUNNING, STOP_COPY, RESUMING, PRE_COPY } = MigrationState;

/** The direct arcs a vfio-user server must support (spec "Direct State Transitions"), P2P states left out. */
const ARCS: readonly (readonly [State, State])[] = [
  [RUNNING, STOP],
  [STOP_COPY, STOP],
  [RESUMING, STOP],
  [PRE_COPY, RUNNING],
  [STOP, RUNNING],
  [RUNNING, PRE_COPY],
  [STOP, STOP_COPY],
  [PRE_COPY, STOP_COPY],
  [STOP, RESUMING],
];

const SAVING = new Set<State>([PRE_COPY, STOP_COPY]);

/** States a client may request, given PRE_COPY support. */
function settableStates(preCopy: boolean): ReadonlySet<State> {
  return new Set(preCopy ? [STOP, RUNNING, STOP_COPY, RESUMING, PRE_COPY] : [STOP, RUNNING, STOP_COPY, RESUMING]);
}

/**
 * The arcs to walk from `from` to `to`: the shortest path over the direct arcs whose interior has no saving-group
 * state (PRE_COPY, STOP_COPY). Returns `[]` for from === to, `undefined` when the request is not allowed: ERROR as
 * either end, P2P states, PRE_COPY without support, and STOP_COPY -> PRE_COPY (explicitly forbidden).
 */
export function migrationPath(from: State, to: State, preCopy: boolean): State[][] | undefined {
  const ok = settableStates(preCopy);
  if (from === ERROR || !ok.has(from) || !ok.has(to)) return undefined;
  if (from === to) return [];
  if (from === STOP_COPY && to === PRE_COPY) return undefined;
  const arcs = ARCS.filter(([a, b]) => ok.has(a) && ok.has(b));
  // Breadth-first search; interior nodes may not be saving states.
  const prev = new Map<State, State>();
  const queue: State[] = [from];
  const seen = new Set<State>([from]);
  for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
    if (s !== from && SAVING.has(s)) continue; // cannot pass through
    for (const [a, b] of arcs) {
      if (a !== s || seen.has(b)) continue;
      seen.add(b);
      prev.set(b, s);
      if (b === to) {
        const path: State[][] = [];
        let cur = to;
        for (let p = prev.get(cur); p !== undefined && cur !== from; p = prev.get(cur)) {
          path.unshift([p, cur]);
          cur = p;
        }
        return path;
      }
      queue.push(b);
    }
  }
  return undefined;
}
