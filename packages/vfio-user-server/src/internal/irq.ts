import { PciMsix } from "@emu/pci-config";
import { closeFds, EventFd } from "@emu/sys";
import { IrqInfoFlags, IrqSetFlags, PCI_NUM_IRQS, PciIrq } from "@emu/vfio-user-proto";
import type { IrqChangeListener, TriggerResult } from "../context.js";
import { refuse } from "../errno.js";
import { VfioUserServerError } from "../errors.js";
import type { ConfigSpace } from "./config-space.js";
import { isPromise } from "./is-promise.js";

interface IndexState {
  readonly count: number;
  readonly trigger: (EventFd | undefined)[];
  /** MSI/MSI-X: signalled when the guest masks a vector. */
  readonly maskFd: (EventFd | undefined)[];
  /**
   * MSI/MSI-X: signalled when the guest unmasks a vector (the spec's wording). INTx: a resample fd the CLIENT
   * signals (KVM on the guest's EOI) and the server watches to unmask, as kernel VFIO treats it.
   */
  readonly unmaskFd: (EventFd | undefined)[];
  /** Masked with SET_IRQS ACTION_MASK (or INTx automask). */
  readonly irqMasked: boolean[];
  /** Pending where config space / PBA has no bit for it. */
  readonly pending: boolean[];
}

function makeIndex(count: number): IndexState {
  return {
    count,
    trigger: new Array(count).fill(undefined),
    maskFd: new Array(count).fill(undefined),
    unmaskFd: new Array(count).fill(undefined),
    irqMasked: new Array(count).fill(false),
    pending: new Array(count).fill(false),
  };
}

function closeAll(list: (EventFd | undefined)[]): void {
  for (let i = 0; i < list.length; i++) {
    list[i]?.close();
    list[i] = undefined;
  }
}

/** A decoded SET_IRQS request (proto's DeviceSetIrqsRequest fields the server needs). */
export interface SetIrqsArgs {
  readonly flags: number;
  readonly index: number;
  readonly start: number;
  readonly count: number;
  readonly data?: Uint8Array;
}

/**
 * Interrupts: per-index eventfds from SET_IRQS, masking (SET_IRQS, the MSI-X table and function mask, MSI per-vector
 * mask bits, COMMAND.INTX_DISABLE), pending bits (the PBA, MSI pending register, or internal for INTx/ERR/REQ) and
 * delivery on unmask. INTx is automasked after each delivery, as with kernel VFIO.
 */
export class IrqController {
  private readonly idx: IndexState[];
  private readonly config: ConfigSpace;
  /** MSI-X table (16 bytes per vector) and PBA, guest-visible through the BAR. */
  readonly msixTable: Uint8Array;
  readonly msixPba: Uint8Array;
  /**
   * Whether the client has written the MSI-X table since the last reset or client. QEMU and cloud-hypervisor emulate
   * the table themselves (they never forward table writes, only the MSI-X enable bit): for them the table's reset
   * state (every vector masked) must not gate delivery. A client that does write the table (a guest driver over our
   * client) gets the table's masks.
   */
  private msixTableWritten = false;
  /** Shared with the device context, where a model subscribes before the controller exists (in its constructor). */
  private readonly listeners: Set<IrqChangeListener>;
  /** Vectors whose delivery may have changed since the last `flushChanges`, per index (collected only while listened). */
  private readonly changed = new Map<number, Set<number>>();
  /** Where a listener's failure goes (it must not fail the client's request: the change itself took effect). */
  private readonly report: (e: unknown) => void;

  constructor(
    config: ConfigSpace,
    counts: readonly number[],
    report: (e: unknown) => void,
    listeners = new Set<IrqChangeListener>(),
  ) {
    this.config = config;
    this.report = report;
    this.listeners = listeners;
    this.idx = counts.map((c) => makeIndex(c));
    const msix = config.image.msix;
    this.msixTable = new Uint8Array((msix?.tableSize ?? 0) * PciMsix.ENTRY_SIZE);
    this.msixPba = new Uint8Array(msix?.pbaSize ?? 0);
    this.resetMsixTable();
  }

  private resetMsixTable(): void {
    this.msixTableWritten = false;
    this.msixTable.fill(0);
    this.msixPba.fill(0);
    // Every vector starts masked (PCI spec).
    for (let o = PciMsix.ENTRY_VECTOR_CTRL; o < this.msixTable.length; o += PciMsix.ENTRY_SIZE) this.msixTable[o] = 1;
  }

  count(index: number): number {
    return this.idx[index]?.count ?? 0;
  }

  /** GET_IRQ_INFO flags for an index. */
  infoFlags(index: number): number {
    switch (index) {
      case PciIrq.INTX:
        return IrqInfoFlags.EVENTFD | IrqInfoFlags.MASKABLE | IrqInfoFlags.AUTOMASKED;
      case PciIrq.MSI:
        return IrqInfoFlags.EVENTFD | IrqInfoFlags.MASKABLE | IrqInfoFlags.NORESIZE;
      case PciIrq.MSIX:
        return IrqInfoFlags.EVENTFD | IrqInfoFlags.MASKABLE;
      default:
        return IrqInfoFlags.EVENTFD;
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Masking and pending

  /** The state of an IRQ index (callers checked it; a bad one is refused as SET_IRQS refuses it). */
  private state(index: number): IndexState {
    const s = this.idx[index];
    if (s === undefined) throw refuse("BadIndex", `IRQ index ${index}`);
    return s;
  }

  /** The effective mask of a vector. */
  masked(index: number, vector: number): boolean {
    const s = this.state(index);
    if (s.irqMasked[vector]) return true;
    const cfg = this.config;
    switch (index) {
      case PciIrq.INTX:
        return cfg.intxDisabled;
      case PciIrq.MSI:
        return cfg.msiEnabled && cfg.msiMasked(vector);
      case PciIrq.MSIX:
        // The function mask governs once the guest enabled MSI-X in config space; the vector masks of the emulated
        // table only once the client has written the table (QEMU and cloud-hypervisor emulate it themselves and
        // mask by switching eventfds or with ACTION_MASK).
        return cfg.msixEnabled && (cfg.msixFunctionMasked || (this.msixTableWritten && this.tableMasked(vector)));
      default:
        return false;
    }
  }

  private tableMasked(vector: number): boolean {
    return ((this.msixTable[vector * PciMsix.ENTRY_SIZE + PciMsix.ENTRY_VECTOR_CTRL] ?? 0) & 1) === 1;
  }

  pending(index: number, vector: number): boolean {
    if (index === PciIrq.MSIX) return ((this.msixPba[vector >> 3] ?? 0) & (1 << (vector & 7))) !== 0;
    if (index === PciIrq.MSI && this.config.image.msi?.pending !== undefined) return this.config.msiPending(vector);
    return this.state(index).pending[vector] === true;
  }

  private setPending(index: number, vector: number, on: boolean): void {
    if (index === PciIrq.MSIX) {
      const b = vector >> 3;
      const bit = 1 << (vector & 7);
      this.msixPba[b] = on ? (this.msixPba[b] ?? 0) | bit : (this.msixPba[b] ?? 0) & ~bit;
      return;
    }
    if (index === PciIrq.MSI && this.config.image.msi?.pending !== undefined) {
      this.config.setMsiPending(vector, on);
      return;
    }
    this.state(index).pending[vector] = on;
  }

  /** The index `trigger(vector)` uses: MSI-X, else MSI, else INTx, by what the client enabled. */
  activeIndex(): number {
    const cfg = this.config;
    if (this.count(PciIrq.MSIX) > 0 && (cfg.msixEnabled || this.anyTrigger(PciIrq.MSIX))) return PciIrq.MSIX;
    if (this.count(PciIrq.MSI) > 0 && (cfg.msiEnabled || this.anyTrigger(PciIrq.MSI))) return PciIrq.MSI;
    return PciIrq.INTX;
  }

  private anyTrigger(index: number): boolean {
    return this.state(index).trigger.some((t) => t !== undefined);
  }

  /**
   * Raises `vector` of `index` (default: the active index): delivered through its eventfd when unmasked, left
   * pending (PBA / MSI pending bit / internal) when masked, dropped when unmasked without an eventfd.
   */
  trigger(vector: number, index: number = this.activeIndex()): TriggerResult {
    const s = this.idx[index];
    if (s === undefined || !Number.isInteger(vector) || vector < 0 || vector >= s.count)
      throw new VfioUserServerError("BadVector", `IRQ index ${index} has no vector ${vector}`);
    if (index === PciIrq.MSI && this.config.msiEnabled && vector >= this.config.msiVectorsEnabled)
      throw new VfioUserServerError("BadVector", `MSI vector ${vector} is not enabled`);
    if (this.masked(index, vector)) {
      this.setPending(index, vector, true);
      return "pending";
    }
    return this.deliver(index, vector);
  }

  /** The trigger eventfd the client assigned to `vector` of `index` (SET_IRQS), or undefined. */
  eventfd(index: number, vector: number): number | undefined {
    const s = this.idx[index];
    if (s === undefined || !Number.isInteger(vector) || vector < 0 || vector >= s.count)
      throw new VfioUserServerError("BadVector", `IRQ index ${index} has no vector ${vector}`);
    const fd = s.trigger[vector];
    return fd === undefined || fd.closed ? undefined : fd.fd;
  }

  private deliver(index: number, vector: number): TriggerResult {
    const s = this.state(index);
    const fd = s.trigger[vector];
    if (fd === undefined || fd.closed) return "dropped";
    try {
      fd.signal(1);
    } catch {
      return "dropped"; // counter overflow or a dead fd: the client is not listening
    }
    if (index === PciIrq.INTX) this.quietly(() => this.changeIrqMask(index, vector, true)); // automask (level semantics)
    return "delivered";
  }

  /** Delivers what is pending and no longer masked; signals mask/unmask eventfds on transitions. */
  private settle(index: number, vector: number, wasMasked: boolean): void {
    const now = this.masked(index, vector);
    const s = this.state(index);
    if (now !== wasMasked) this.touch(index, vector);
    if (now !== wasMasked && !(index === PciIrq.INTX && !now)) {
      const fd = now ? s.maskFd[vector] : s.unmaskFd[vector];
      try {
        fd?.signal(1);
      } catch {
        // a dead notification fd is the client's problem
      }
    }
    if (!now && this.pending(index, vector)) {
      this.setPending(index, vector, false);
      this.deliver(index, vector);
    }
  }

  private changeIrqMask(index: number, vector: number, on: boolean): void {
    const s = this.state(index);
    const was = this.masked(index, vector);
    s.irqMasked[vector] = on;
    this.settle(index, vector, was);
  }

  /** Runs `change` and then settles every vector of the interrupt kinds config space affects. */
  withConfigChange(change: () => void): void {
    const cfg = this.config;
    const enabledBefore = [cfg.msiEnabled, cfg.msixEnabled];
    const before: boolean[][] = [];
    for (const index of [PciIrq.INTX, PciIrq.MSI, PciIrq.MSIX]) {
      const s = this.state(index);
      const m: boolean[] = [];
      for (let v = 0; v < s.count; v++) m.push(this.masked(index, v));
      before[index] = m;
    }
    change();
    // Enabling or disabling MSI / MSI-X moves every vector of that kind (and `activeIndex`), masked or not.
    if (enabledBefore[0] !== cfg.msiEnabled) this.touchAll(PciIrq.MSI);
    if (enabledBefore[1] !== cfg.msixEnabled) this.touchAll(PciIrq.MSIX);
    for (const index of [PciIrq.INTX, PciIrq.MSI, PciIrq.MSIX]) {
      const m = before[index] ?? [];
      for (let v = 0; v < m.length; v++) this.settle(index, v, m[v] === true);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Change notification: where or whether a vector is delivered (its trigger eventfd, its effective mask, its
  // kind's enable) changed. Collected while the change is applied, told to the listeners by `flushChanges`, which
  // the request's handler awaits before it replies (see DeviceIrqs.onChange).

  private touch(index: number, vector: number): void {
    if (this.listeners.size === 0 || this.quiet) return;
    let set = this.changed.get(index);
    if (set === undefined) {
      set = new Set();
      this.changed.set(index, set);
    }
    set.add(vector);
  }

  private touchAll(index: number): void {
    for (let v = 0; v < this.count(index); v++) this.touch(index, v);
  }

  /** INTx's automask and its resample unmask are the delivery itself, once per interrupt: not reported. */
  private quiet = false;
  private quietly(fn: () => void): void {
    const was = this.quiet;
    this.quiet = true;
    try {
      fn();
    } finally {
      this.quiet = was;
    }
  }

  /**
   * Tells the listeners what changed since the last call (one call per index, vectors ascending). Returns a promise
   * when a listener did (settled once all did; their failures are reported, never thrown), else undefined.
   */
  flushChanges(): void | Promise<void> {
    if (this.changed.size === 0) return;
    const batches = [...this.changed].map(([index, set]) => [index, [...set].sort((a, b) => a - b)] as const);
    this.changed.clear();
    const waits: Promise<void>[] = [];
    for (const listener of [...this.listeners]) {
      for (const [index, vectors] of batches) {
        try {
          const r = listener(index, vectors);
          if (r !== undefined && isPromise(r)) waits.push(r.catch((e: unknown) => this.report(e)));
        } catch (e) {
          this.report(e);
        }
      }
    }
    if (waits.length > 0) return Promise.all(waits).then(() => undefined);
  }

  // -------------------------------------------------------------------------------------------------------------
  // MSI-X table and PBA (the server traps these ranges of the BAR)

  readTable(offset: number, length: number, out: Uint8Array, at: number): void {
    out.set(this.msixTable.subarray(offset, offset + length), at);
  }

  writeTable(offset: number, data: Uint8Array): void {
    const first = Math.floor(offset / PciMsix.ENTRY_SIZE);
    const last = Math.floor((offset + data.length - 1) / PciMsix.ENTRY_SIZE);
    // The first write makes the table's masks govern every vector, not only the written ones.
    const lo = this.msixTableWritten ? first : 0;
    const hi = this.msixTableWritten ? last : Math.max(last, this.count(PciIrq.MSIX) - 1);
    const before: boolean[] = [];
    for (let v = lo; v <= hi; v++) before.push(this.masked(PciIrq.MSIX, v));
    this.msixTableWritten = true;
    this.msixTable.set(data, offset);
    // Vector control: only the mask bit is writable.
    for (let v = first; v <= last; v++) {
      const c = v * PciMsix.ENTRY_SIZE + PciMsix.ENTRY_VECTOR_CTRL;
      this.msixTable[c] = (this.msixTable[c] ?? 0) & PciMsix.ENTRY_CTRL_MASKBIT;
      this.msixTable.fill(0, c + 1, c + 4);
    }
    for (let v = lo; v <= hi; v++) {
      if (v < this.count(PciIrq.MSIX)) this.settle(PciIrq.MSIX, v, before[v - lo] === true);
    }
  }

  readPba(offset: number, length: number, out: Uint8Array, at: number): void {
    out.set(this.msixPba.subarray(offset, offset + length), at);
  }

  // -------------------------------------------------------------------------------------------------------------
  // SET_IRQS

  /**
   * Applies a SET_IRQS request. Takes ownership of `fds` (adopted or closed, also on error). Throws ReplyError for
   * requests the spec or the device does not allow.
   */
  setIrqs(req: SetIrqsArgs, fds: readonly number[]): void {
    const adopted: EventFd[] = [];
    try {
      this.validateAndApply(req, fds, adopted);
    } catch (e) {
      for (const ev of adopted) ev.close();
      throw e;
    }
  }

  private validateAndApply(req: SetIrqsArgs, fds: readonly number[], adopted: EventFd[]): void {
    const own = (): void => closeFds(fds);
    const fail = (reason: "Malformed" | "BadIndex" | "OutOfRange" | "NotSupported", msg: string): never => {
      own();
      throw refuse(reason, msg);
    };
    const { flags, index, start, count } = req;
    if (index >= PCI_NUM_IRQS) fail("BadIndex", `IRQ index ${index}`);
    const s = this.state(index);
    const dataType = flags & IrqSetFlags.DATA_TYPE_MASK;
    const action = flags & IrqSetFlags.ACTION_TYPE_MASK;
    if (flags & ~(IrqSetFlags.DATA_TYPE_MASK | IrqSetFlags.ACTION_TYPE_MASK))
      fail("Malformed", "unknown SET_IRQS flags");
    if (
      dataType !== IrqSetFlags.DATA_NONE &&
      dataType !== IrqSetFlags.DATA_BOOL &&
      dataType !== IrqSetFlags.DATA_EVENTFD
    )
      fail("Malformed", "SET_IRQS needs exactly one DATA_* flag");
    if (
      action !== IrqSetFlags.ACTION_MASK &&
      action !== IrqSetFlags.ACTION_UNMASK &&
      action !== IrqSetFlags.ACTION_TRIGGER
    )
      fail("Malformed", "SET_IRQS needs exactly one ACTION_* flag");
    if (fds.length > 0 && dataType !== IrqSetFlags.DATA_EVENTFD) fail("Malformed", "fds without DATA_EVENTFD");
    if (dataType === IrqSetFlags.DATA_EVENTFD && fds.length !== 0 && fds.length !== count)
      fail("Malformed", `DATA_EVENTFD with count ${count} but ${fds.length} fds`);
    if (dataType === IrqSetFlags.DATA_BOOL && (req.data?.length ?? 0) !== count)
      fail("Malformed", "DATA_BOOL needs one byte per vector");

    // count 0 + DATA_NONE + TRIGGER: disable every vector of the index.
    if (count === 0) {
      if (start !== 0 || dataType !== IrqSetFlags.DATA_NONE || action !== IrqSetFlags.ACTION_TRIGGER)
        fail("Malformed", "count 0 is only valid as DATA_NONE|ACTION_TRIGGER with start 0 (disable)");
      s.trigger.forEach((t, v) => {
        if (t !== undefined) this.touch(index, v);
      });
      closeAll(s.trigger);
      closeAll(s.maskFd);
      closeAll(s.unmaskFd);
      return;
    }
    if (s.count === 0) fail("BadIndex", `the device has no vectors of IRQ index ${index}`);
    if (start >= s.count || start + count > s.count)
      fail("OutOfRange", `vectors ${start}..${start + count - 1} outside 0..${s.count - 1}`);
    if ((index === PciIrq.ERR || index === PciIrq.REQ) && action !== IrqSetFlags.ACTION_TRIGGER)
      fail("NotSupported", "ERR and REQ support ACTION_TRIGGER only");

    if (dataType === IrqSetFlags.DATA_EVENTFD) {
      this.assignEventFds(index, start, count, action, fds, adopted);
      return;
    }

    for (let i = 0; i < count; i++) {
      if (dataType === IrqSetFlags.DATA_BOOL && req.data?.[i] === 0) continue;
      const v = start + i;
      if (action === IrqSetFlags.ACTION_TRIGGER) this.trigger(v, index);
      else this.changeIrqMask(index, v, action === IrqSetFlags.ACTION_MASK);
    }
  }

  /** DATA_EVENTFD: adopts the fds (closed on failure) and assigns them to the action's vectors (none: de-assigns). */
  private assignEventFds(
    index: number,
    start: number,
    count: number,
    action: number,
    fds: readonly number[],
    adopted: EventFd[],
  ): void {
    const s = this.state(index);
    for (const [i, fd] of fds.entries()) {
      try {
        adopted.push(EventFd.adopt(fd));
      } catch {
        // Not an eventfd: the ones adopted so far are closed by setIrqs, the rest here.
        closeFds(fds.slice(i));
        throw refuse("Malformed", "DATA_EVENTFD with an fd that is not an eventfd");
      }
    }
    const list =
      action === IrqSetFlags.ACTION_TRIGGER ? s.trigger : action === IrqSetFlags.ACTION_MASK ? s.maskFd : s.unmaskFd;
    for (let i = 0; i < count; i++) {
      list[start + i]?.close();
      list[start + i] = adopted[i]; // undefined when no fds: de-assign
      if (action === IrqSetFlags.ACTION_TRIGGER) this.touch(index, start + i);
    }
    adopted.length = 0;
    if (action === IrqSetFlags.ACTION_UNMASK && index === PciIrq.INTX) {
      for (let i = 0; i < count; i++) {
        const v = start + i;
        list[v]?.watch(() => this.quietly(() => this.changeIrqMask(PciIrq.INTX, v, false)));
      }
    }
    if (action === IrqSetFlags.ACTION_TRIGGER) {
      // A vector left pending while it had no eventfd is delivered now if unmasked.
      for (let i = 0; i < count; i++) {
        const v = start + i;
        if (s.trigger[v] !== undefined && !this.masked(index, v) && this.pending(index, v)) {
          this.setPending(index, v, false);
          this.deliver(index, v);
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * The client went away: close its eventfds and forget its SET_IRQS masks. Table, PBA and pending bits stay; whether
   * the table's masks govern is up to the next client (see `msixTableWritten`).
   */
  dropClient(): void {
    this.msixTableWritten = false;
    for (const [index, s] of this.idx.entries()) {
      // Every vector: its eventfd is gone and its masks may be too.
      if (s.count > 0) this.touchAll(index);
      closeAll(s.trigger);
      closeAll(s.maskFd);
      closeAll(s.unmaskFd);
      s.irqMasked.fill(false);
    }
  }

  /** Device reset: MSI-X table masked, nothing pending; the client's eventfds stay assigned. */
  reset(): void {
    this.resetMsixTable();
    for (const s of this.idx) {
      s.pending.fill(false);
      s.irqMasked.fill(false);
    }
  }

  /** Number of eventfds currently held (for tests and diagnostics). */
  get eventFdCount(): number {
    let n = 0;
    for (const s of this.idx) {
      for (const l of [s.trigger, s.maskFd, s.unmaskFd]) for (const e of l) if (e !== undefined) n++;
    }
    return n;
  }
}
