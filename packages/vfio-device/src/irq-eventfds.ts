import type { InterruptListener, IrqBinding, SetIrqsRequest } from "./device.js";

/** An eventfd an IRQ vector is bound to: its fd for SET_IRQS, a watcher for its signals, and close. */
export interface IrqEventfd {
  readonly fd: number;
  /** Calls `listener` with the counter each time the eventfd is signalled (the counter is consumed). */
  watch(listener: (count: bigint) => void): void;
  close(): void;
}

/** What {@link IrqEventfds} needs from its device. */
export interface IrqEventfdsOptions {
  /** The device's SET_IRQS. */
  setIrqs(request: SetIrqsRequest): Promise<void>;
  /** A new eventfd (`@emu/sys`'s EventFd, or a kernel seam's). */
  createEventfd(): IrqEventfd;
  /** Whether the device can still be told to de-assign (open, connected); when not, disabling only closes. */
  canSetIrqs(): boolean;
  /** What an `enable` whose SET_IRQS completes after `closeAll` rejects with (its eventfds are closed). */
  closedError?(): unknown;
}

/**
 * The eventfds a `VfioDevice` binds its IRQ vectors to, per IRQ index: `enable` creates one eventfd per vector,
 * assigns them with ACTION_TRIGGER and watches them; `disable` de-assigns the index (count 0, DATA_NONE) and closes
 * its eventfds; `closeAll` closes every eventfd without asking the device (it is going away). Enabling an index again
 * replaces its eventfds. `enable` and `disable` run one at a time, in call order (two enables of one index in flight
 * at once would otherwise both keep their eventfds), and an `enable` still in flight at `closeAll` closes its own.
 */
export class IrqEventfds {
  private readonly byIndex = new Map<number, IrqEventfd[]>();
  /** The last enable/disable: the next one starts when it has settled. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: IrqEventfdsOptions) {}

  enable(index: number, start: number, count: number, listener: InterruptListener): Promise<IrqBinding> {
    return this.inTurn(() => this.enableNow(index, start, count, listener));
  }

  disable(index: number): Promise<void> {
    return this.inTurn(() => this.disableNow(index));
  }

  private inTurn<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async enableNow(
    index: number,
    start: number,
    count: number,
    listener: InterruptListener,
  ): Promise<IrqBinding> {
    if (this.byIndex.has(index)) await this.disableNow(index);
    const fds: IrqEventfd[] = [];
    try {
      for (let i = 0; i < count; i++) fds.push(this.options.createEventfd());
      await this.options.setIrqs({
        index,
        action: "trigger",
        start,
        count,
        data: { kind: "eventfd", fds: fds.map((f) => f.fd) },
      });
    } catch (e) {
      for (const f of fds) f.close();
      throw e;
    }
    if (this.closed) {
      for (const f of fds) f.close();
      throw this.options.closedError?.() ?? new Error("the device was closed while its IRQs were being enabled");
    }
    this.byIndex.set(index, fds);
    for (const [i, f] of fds.entries()) f.watch((n) => listener(start + i, n));
    return { index, start, count, disable: () => this.disable(index) };
  }

  private async disableNow(index: number): Promise<void> {
    const fds = this.byIndex.get(index);
    this.byIndex.delete(index);
    try {
      if (this.options.canSetIrqs())
        await this.options.setIrqs({ index, action: "trigger", start: 0, count: 0, data: { kind: "none" } });
    } finally {
      for (const f of fds ?? []) f.close();
    }
  }

  /** The IRQ indexes that have eventfds bound. */
  indexes(): number[] {
    return [...this.byIndex.keys()];
  }

  /** Closes every eventfd without de-assigning (the device is closing or gone). */
  closeAll(): void {
    this.closed = true;
    for (const fds of this.byIndex.values()) for (const f of fds) f.close();
    this.byIndex.clear();
  }
}
