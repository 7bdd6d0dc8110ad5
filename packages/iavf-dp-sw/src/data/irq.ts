// Interrupt causes as a worker raises them. The worker never writes an eventfd: whether a cause becomes an interrupt
// depends on the guest's INTENA (trapped registers) and MSI-X masks, and on eventfds the server may close and reuse at
// any SET_IRQS — all main-thread state. So a cause is a bit in a shared word, and the main thread is woken only when
// the queue's vector is armed (a mirror it keeps exact); a cause for an unarmed vector waits there until the guest
// arms it. The guest's ITR is honoured here: a queue raises at most once per ITR interval, the rest is deferred to the
// interval's end (checked at each burst).
import { AT, H_ARMED, H_CAUSES, H_WAKE, MAX_PAIRS, Q_ITR_US } from "../layout.js";
import type { WorkerState } from "./state.js";

export class IrqRaiser {
  /** Per queue: when (performance.now() ms) it may raise again. */
  readonly #next = new Float64Array(2 * MAX_PAIRS);
  #deferred = 0;

  constructor(private readonly s: WorkerState) {}

  /** Queue `id` completed work the guest should hear about. */
  raise(id: number): void {
    // A cause of this queue still pending covers this work as well: the guest hears of the ring when the vector
    // fires, and then finds all of it. A polling guest never arms its vectors, so its causes stay pending and each
    // burst pays one load here instead of a clock read (with an ITR set) and two atomic updates.
    if ((Atomics.load(this.s.ctl, H_CAUSES) & (1 << id)) !== 0) return;
    const itrUs = this.s.ctl[AT.queue(id) + Q_ITR_US]!;
    if (itrUs > 0) {
      const now = performance.now();
      if (now < this.#next[id]!) {
        this.#deferred |= 1 << id;
        return;
      }
      this.#next[id] = now + itrUs / 1000;
    }
    this.post(1 << id);
  }

  /** Raises deferred causes whose ITR interval is over (call at each burst). */
  poll(): void {
    if (this.#deferred === 0) return;
    const now = performance.now();
    let due = 0;
    for (let d = this.#deferred; d !== 0; d &= d - 1) {
      const id = 31 - Math.clz32(d & -d);
      if (now >= this.#next[id]!) {
        due |= 1 << id;
        this.#next[id] = now + this.s.ctl[AT.queue(id) + Q_ITR_US]! / 1000;
      }
    }
    if (due === 0) return;
    this.#deferred &= ~due;
    this.post(due);
  }

  private post(bits: number): void {
    const ctl = this.s.ctl;
    const old = Atomics.or(ctl, H_CAUSES, bits);
    if ((bits & ~old & Atomics.load(ctl, H_ARMED)) === 0) return;
    Atomics.add(ctl, H_WAKE, 1);
    Atomics.notify(ctl, H_WAKE);
  }
}
