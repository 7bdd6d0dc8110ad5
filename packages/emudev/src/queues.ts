// The device's queues as a data path sees them: ring IOVA, size, doorbell, interrupt vector, enabled. The driver
// fills them in from what the guest programs; the table checks each field and reports enable/disable changes.
import { EmudevError } from "./errors.js";

/** One queue (the seeds' `rte_emudev_q_info`). */
export interface QueueInfo {
  readonly id: number;
  /** Guest address (IOVA) of the ring; 0n until the guest programs it. */
  readonly base: bigint;
  /** Ring size in descriptors; 0 until programmed. */
  readonly size: number;
  /** The doorbell id (see `device.doorbell(id)`), or -1 for none. */
  readonly doorbell: number;
  /** The interrupt vector (see `device.irq(vector)`), or -1 for none (polling). */
  readonly irqVector: number;
  readonly enabled: boolean;
}

/** What a driver may change of a queue. */
export type QueueUpdate = Partial<Omit<QueueInfo, "id">>;

function check(id: number, u: QueueUpdate): void {
  const bad = (field: string, v: unknown, want: string): never => {
    throw new EmudevError("InvalidValue", `queue ${id}: ${field} ${String(v)} ${want}`);
  };
  if (u.base !== undefined && (typeof u.base !== "bigint" || u.base < 0n || u.base >= 1n << 64n))
    bad("base", u.base, "must be a 64-bit guest address");
  if (u.size !== undefined && (!Number.isSafeInteger(u.size) || u.size < 0)) bad("size", u.size, "must be >= 0");
  if (u.doorbell !== undefined && (!Number.isSafeInteger(u.doorbell) || u.doorbell < -1))
    bad("doorbell", u.doorbell, "must be an id or -1");
  if (u.irqVector !== undefined && (!Number.isSafeInteger(u.irqVector) || u.irqVector < -1))
    bad("irqVector", u.irqVector, "must be a vector or -1");
}

/** A fixed number of queues, all disabled at first and after `reset`. */
export class QueueTable {
  private readonly queues: QueueInfo[];

  constructor(
    readonly count: number,
    private readonly onState: (id: number, enabled: boolean) => void,
  ) {
    this.queues = Array.from({ length: count }, (_, id) => QueueTable.initial(id));
  }

  private static initial(id: number): QueueInfo {
    return { id, base: 0n, size: 0, doorbell: -1, irqVector: -1, enabled: false };
  }

  get(id: number): QueueInfo {
    const q = Number.isInteger(id) ? this.queues[id] : undefined;
    if (q === undefined) throw new EmudevError("UnknownResource", `no queue ${id} (the device has ${this.count})`);
    return q;
  }

  all(): readonly QueueInfo[] {
    return this.queues;
  }

  /** Applies an update; reports a change of `enabled`. */
  update(id: number, u: QueueUpdate): QueueInfo {
    const old = this.get(id);
    check(id, u);
    const q = { ...old, ...u, id };
    this.queues[id] = q;
    if (q.enabled !== old.enabled) this.onState(id, q.enabled);
    return q;
  }

  /** Every queue back to its initial state; enabled ones are reported disabled. */
  reset(): void {
    for (const q of this.queues) if (q.enabled) this.update(q.id, { enabled: false });
    for (let i = 0; i < this.count; i++) this.queues[i] = QueueTable.initial(i);
  }
}
