import { buildConfigSpace, isPciConfigError, type PciConfigImage } from "@emu/pci-config";
import { MigrationState, PCI_NUM_IRQS, PciIrq, PciRegion } from "@emu/vfio-user-proto";
import type { DeviceConfig, DeviceContext, DeviceIrqs, IrqChangeListener } from "../context.js";
import type { DeviceModel, DeviceModelSource, MaybePromise, ResetReason } from "../device.js";
import { refuse } from "../errno.js";
import { VfioUserServerError } from "../errors.js";
import type { DmaRegionInfo } from "../guest-memory.js";
import { ConfigSpace } from "./config-space.js";
import { DmaController } from "./dma.js";
import { IrqController } from "./irq.js";
import { isPromise } from "./is-promise.js";
import { migrationPath } from "./migration-fsm.js";
import { activateRegionFile, offerRegionFile, releaseOffered } from "./region-files.js";
import { buildRegions, type RegionSlot, releaseRegions } from "./regions.js";

/** The config-space image of a device, refused (InvalidDevice) when a client could not use it. */
function configImage(model: DeviceModel, limits: { readonly maxDataXferSize: number }): PciConfigImage {
  let image: PciConfigImage;
  try {
    image = buildConfigSpace(model.pci);
  } catch (e) {
    if (isPciConfigError(e)) throw new VfioUserServerError("InvalidDevice", e.message, { cause: e });
    throw e;
  }
  if (image.pcie !== undefined && image.size < 4096)
    throw new VfioUserServerError(
      "InvalidDevice",
      "a PCI Express capability needs 4096-byte config space (cloud-hypervisor reads the extended capabilities at " +
        "0x100 of every PCIe device): drop configSpaceSize 256",
    );
  if (image.rom !== undefined && image.rom.size > limits.maxDataXferSize)
    throw new VfioUserServerError(
      "InvalidDevice",
      `the expansion ROM (${image.rom.size} bytes) is larger than maxDataXferSize (${limits.maxDataXferSize}): ` +
        "QEMU reads the whole ROM with one REGION_READ",
    );
  return image;
}

type IrqCountList = [intx: number, msi: number, msix: number, err: number, req: number];

/** Vectors per IRQ index: the device's counts or the defaults of its PCI description; refused when inconsistent. */
function irqCounts(model: DeviceModel, image: PciConfigImage): IrqCountList {
  const ic = model.irqs ?? {};
  const pin = model.pci.interruptPin ?? 0;
  const counts: IrqCountList = [
    ic.intx ?? (pin > 0 ? 1 : 0),
    ic.msi ?? image.msi?.vectors ?? 0,
    ic.msix ?? image.msix?.tableSize ?? 0,
    ic.err ?? 1,
    ic.req ?? 1,
  ];
  for (const [i, c] of counts.entries()) {
    if (!Number.isInteger(c) || c < 0 || c > 2048)
      throw new VfioUserServerError("InvalidDevice", `IRQ count ${c} for index ${i}`);
  }
  if (image.msix && counts[PciIrq.MSIX] !== image.msix.tableSize)
    throw new VfioUserServerError("InvalidDevice", "MSI-X vector count must equal the MSI-X table size");
  // QEMU sets up INTx for a device whose config space has an interrupt pin, and fails to realize it when SET_IRQS
  // for INTx fails; a device with INTx vectors but no pin would never be asked for them.
  const intx = counts[PciIrq.INTX];
  if (pin > 0 && intx === 0)
    throw new VfioUserServerError(
      "InvalidDevice",
      `interruptPin ${pin} but irqs.intx is 0: give the device an INTx vector or drop the interrupt pin`,
    );
  if (pin === 0 && intx > 0)
    throw new VfioUserServerError(
      "InvalidDevice",
      `irqs.intx is ${intx} but the PCI description has no interruptPin: set interruptPin (1..4) or drop irqs.intx`,
    );
  return counts;
}

/**
 * The device side of the server, independent of any connection: the model, its config space, regions, interrupts,
 * DMA table and migration state. It outlives clients (reconnection keeps the device state).
 */
export class DeviceHost {
  readonly model: DeviceModel;
  readonly config: ConfigSpace;
  readonly irq: IrqController;
  readonly regions: RegionSlot[];
  readonly dma: DmaController;
  readonly context: DeviceContext;
  migrationState: number = MigrationState.RUNNING;
  connected = false;
  private readonly report: (e: unknown) => void;

  /** `maxDataXferSize`: the server's, which the expansion ROM must fit (QEMU reads it with one REGION_READ). */
  constructor(source: DeviceModelSource, report: (e: unknown) => void, limits: { readonly maxDataXferSize: number }) {
    this.report = report;
    const late: { host?: DeviceHost } = {};
    const host = (): DeviceHost => {
      if (late.host === undefined) throw new VfioUserServerError("Closed", "the device context is not ready yet");
      return late.host;
    };
    const irqListeners = new Set<IrqChangeListener>();
    const irqs: DeviceIrqs = {
      trigger: (vector, index) =>
        index === undefined ? host().irq.trigger(vector) : host().irq.trigger(vector, index),
      masked: (vector, index) => host().irq.masked(index, vector),
      pending: (vector, index) => host().irq.pending(index, vector),
      eventfd: (vector, index) => host().irq.eventfd(index, vector),
      activeIndex: () => host().irq.activeIndex(),
      onChange: (listener) => {
        irqListeners.add(listener); // the model may subscribe in its constructor, before the controller exists
        return () => {
          irqListeners.delete(listener);
        };
      },
    };
    const config: DeviceConfig = {
      read: (offset, length) => host().config.state.slice(offset, offset + length),
      get command() {
        return host().config.command;
      },
      get busMaster() {
        return host().config.busMaster;
      },
      get msiEnabled() {
        return host().config.msiEnabled;
      },
      get msixEnabled() {
        return host().config.msixEnabled;
      },
      barAddress: (index) => host().config.barAddress(index),
    };
    this.context = {
      irq: irqs,
      get dma() {
        return host().dma;
      },
      config,
      regionMemory: (index) => host().regions[index]?.memory,
      regionMemfd: (index) => host().regions[index]?.memfd,
      offerRegionFile: (index, offer) => {
        const slot = host().regions[index];
        if (slot === undefined) throw new VfioUserServerError("InvalidFile", `no region ${index}`);
        offerRegionFile(slot, offer);
      },
      regionFileOffer: (index) => host().regions[index]?.files.active?.offer,
      get migrationState() {
        return host().migrationState as MigrationState;
      },
      get connected() {
        return host().connected;
      },
    };

    this.model = typeof source === "function" ? source(this.context) : source;
    const image = configImage(this.model, limits);
    this.config = new ConfigSpace(image);
    const counts = irqCounts(this.model, image);
    this.irq = new IrqController(this.config, counts, report, irqListeners);
    this.regions = buildRegions(image, this.model.regions ?? {});
    this.dma = new DmaController(
      (r) => this.notify(() => this.model.onDmaMap?.(r)),
      (r: DmaRegionInfo) => this.notify(() => this.model.onDmaUnmap?.(r)),
    );
    for (const slot of this.regions) {
      for (const io of slot.ioEventFds) {
        io.efd.watch((count) => this.notify(() => io.desc.onSignal(count)), { onError: (e) => this.report(e) });
        io.efd.unref();
      }
    }
    late.host = this;
  }

  /** Runs a device notification; its exceptions are reported, never thrown into the protocol. */
  notify(fn: () => unknown): void {
    try {
      const r = fn();
      if (isPromise(r as MaybePromise<unknown>)) (r as Promise<unknown>).catch((e) => this.report(e));
    } catch (e) {
      this.report(e);
    }
  }

  get numIrqs(): number {
    return PCI_NUM_IRQS;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Region access. The caller checked index, bounds and count. Permissions behave as on hardware (and as
  // cloud-hypervisor needs: it ignores the ERROR flag, so an error reply would desync its stream): a read of a region
  // that is not readable returns all-ones, a write to one that is not writable is dropped.

  /**
   * Reads [offset, offset + count) of a region as bytes the caller consumes at once (encodes into a reply): a view of
   * config space or shared memory, or what the device's callback returned — no intermediate copy on the hot path.
   */
  readView(slot: RegionSlot, offset: number, count: number): Uint8Array | Promise<Uint8Array> {
    const source = this.readSource(slot, offset, count);
    if (source !== undefined) return source.subarray(offset, offset + count);
    if (!slot.readable) return new Uint8Array(count).fill(0xff);
    if (!needsSplit(slot, offset, count)) {
      if (slot.read !== undefined) {
        const r = slot.read(offset, count);
        if (isPromise(r)) return r.then((data) => fitRead(data, count));
        return fitRead(r, count);
      }
      return new Uint8Array(count);
    }
    const out = new Uint8Array(count);
    const r = this.read(slot, offset, count, out, 0);
    return r === undefined ? out : r.then(() => out);
  }

  /**
   * The array a read of [offset, offset + count) is a plain copy of, at the same offsets: config space, or the shared
   * memory of a region read without a callback (or inside an mmap area); undefined when a callback or a split decides.
   * The fast read path copies from it without a view per access.
   */
  readSource(slot: RegionSlot, offset: number, count: number): Uint8Array | undefined {
    if (slot.isConfig) return this.config.state;
    const mem = slot.memory;
    if (mem === undefined || !slot.readable || needsSplit(slot, offset, count)) return undefined;
    return slot.read === undefined || insideArea(slot, offset, count) ? mem : undefined;
  }

  /** Reads [offset, offset + count) of a region into `out` at `at`. */
  read(slot: RegionSlot, offset: number, count: number, out: Uint8Array, at: number): void | Promise<void> {
    if (slot.isConfig) {
      this.config.readInto(offset, count, out, at);
      return;
    }
    if (!slot.readable) {
      out.fill(0xff, at, at + count);
      return;
    }
    if (needsSplit(slot, offset, count)) {
      const t = slot.msixTable;
      const p = slot.msixPba;
      return this.splitTrapped(slot, offset, count, (kind, o, n, pos) => {
        if (kind === "table") this.irq.readTable(o - (t as { start: number }).start, n, out, at + pos);
        else if (kind === "pba") this.irq.readPba(o - (p as { start: number }).start, n, out, at + pos);
        else return this.readPlain(slot, o, n, out, at + pos);
        return undefined;
      });
    }
    return this.readPlain(slot, offset, count, out, at);
  }

  private readPlain(
    slot: RegionSlot,
    offset: number,
    count: number,
    out: Uint8Array,
    at: number,
  ): void | Promise<void> {
    const mem = slot.memory;
    if (mem !== undefined && (slot.read === undefined || insideArea(slot, offset, count))) {
      out.set(mem.subarray(offset, offset + count), at);
      return;
    }
    if (slot.read !== undefined) {
      const r = slot.read(offset, count);
      if (isPromise(r)) return r.then((data) => copyRead(data, count, out, at));
      copyRead(r, count, out, at);
      return;
    }
    out.fill(0, at, at + count);
  }

  /** Writes `data` to a region at `offset` (dropped if the region is not writable). */
  write(slot: RegionSlot, offset: number, data: Uint8Array): void | Promise<void> {
    if (slot.isConfig) return this.configWrite(offset, data);
    if (!slot.writable) return;
    if (needsSplit(slot, offset, data.length)) {
      const t = slot.msixTable;
      return this.splitTrapped(slot, offset, data.length, (kind, o, n, pos) => {
        if (kind === "table") {
          this.irq.writeTable(o - (t as { start: number }).start, data.subarray(pos, pos + n));
          return this.irq.flushChanges(); // the reply waits for whoever follows the masks
        }
        if (kind === "plain") return this.writePlain(slot, o, data.subarray(pos, pos + n));
        // PBA is read-only: writes are dropped.
        return undefined;
      });
    }
    return this.writePlain(slot, offset, data);
  }

  private writePlain(slot: RegionSlot, offset: number, data: Uint8Array): void | Promise<void> {
    const mem = slot.memory;
    if (mem !== undefined && (slot.write === undefined || insideArea(slot, offset, data.length))) {
      mem.set(data, offset);
      return;
    }
    if (slot.write !== undefined) {
      const r = slot.write(offset, data);
      if (isPromise(r)) return r;
    }
  }

  /**
   * Cuts an access into table / PBA / plain pieces at the MSI-X and mmap-area boundaries and runs them in order
   * (awaiting async plain pieces); a plain piece then lies wholly inside one mmap area (shared memory) or outside all.
   */
  private splitTrapped(
    slot: RegionSlot,
    offset: number,
    count: number,
    run: (kind: "table" | "pba" | "plain", off: number, n: number, pos: number) => void | Promise<void> | undefined,
  ): void | Promise<void> {
    const cuts = new Set<number>([offset, offset + count]);
    const ranges: { start: number; end: number }[] = [];
    if (slot.msixTable) ranges.push(slot.msixTable);
    if (slot.msixPba) ranges.push(slot.msixPba);
    if (slot.memory !== undefined)
      for (const a of slot.mmapAreas) ranges.push({ start: a.offset, end: a.offset + a.size });
    for (const r of ranges) {
      if (r.start > offset && r.start < offset + count) cuts.add(r.start);
      if (r.end > offset && r.end < offset + count) cuts.add(r.end);
    }
    const points = [...cuts].sort((a, b) => a - b);
    const pieces: [kind: "table" | "pba" | "plain", off: number, n: number][] = [];
    for (const [i, e] of points.entries()) {
      const s = points[i - 1];
      if (s === undefined) continue;
      const inT = slot.msixTable && s >= slot.msixTable.start && e <= slot.msixTable.end;
      const inP = slot.msixPba && s >= slot.msixPba.start && e <= slot.msixPba.end;
      pieces.push([inT ? "table" : inP ? "pba" : "plain", s, e - s]);
    }
    const step = (i: number): void | Promise<void> => {
      for (let piece = pieces[i]; piece !== undefined; piece = pieces[++i]) {
        const [k, o, n] = piece;
        const r = run(k, o, n, o - offset);
        if (r !== undefined && isPromise(r)) {
          const next = i + 1;
          return r.then(() => step(next));
        }
      }
    };
    return step(0);
  }

  private configWrite(offset: number, data: Uint8Array): void | Promise<void> {
    let flr = false;
    this.irq.withConfigChange(() => {
      flr = this.config.write(offset, data);
    });
    const followed = this.irq.flushChanges(); // the reply waits for whoever follows the masks and enables
    const model = this.model;
    if (model.onConfigWrite) this.notify(() => model.onConfigWrite?.(offset, data));
    if (!flr) return followed;
    if (followed === undefined) return this.reset("flr");
    return followed.then(() => this.reset("flr"));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Reset and migration

  /** Device reset: the model's reset, then config space and MSI-X state back to their reset values. */
  reset(reason: ResetReason): void | Promise<void> {
    const finish = (): void | Promise<void> => {
      this.irq.withConfigChange(() => {
        this.config.reset();
        this.irq.reset();
      });
      // Leaving ERROR needs a reset (spec); a reset returns the device to RUNNING.
      this.migrationState = MigrationState.RUNNING;
      return this.irq.flushChanges();
    };
    const r = this.model.reset?.(reason);
    if (r !== undefined && isPromise(r)) return r.then(finish);
    return finish();
  }

  /** DEVICE_FEATURE SET MIG_DEVICE_STATE: walks the arcs, calling the model for each. Throws ReplyError. */
  async setMigrationState(target: number): Promise<void> {
    const mig = this.model.migration;
    if (mig === undefined) throw refuse("NotSupported", "the device does not support migration");
    const path = migrationPath(this.migrationState, target, mig.preCopy ?? false);
    if (path === undefined)
      throw refuse("WrongState", `no migration transition from state ${this.migrationState} to ${target}`);
    if (path.length > 0) await mig.request?.(this.migrationState as MigrationState, target as MigrationState);
    for (const [from, to] of path) {
      await mig.transition(from as MigrationState, to as MigrationState);
      this.migrationState = to as number;
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Lifecycle

  /** A client finished negotiation. */
  attach(): void {
    this.connected = true;
    for (const slot of this.regions) activateRegionFile(slot); // what this client will map
    const model = this.model;
    if (model.onConnect) this.notify(() => model.onConnect?.());
  }

  /** The client went away: unmap its DMA, close its eventfds, stop DMA logging; the device state stays. */
  detach(): void {
    const wasConnected = this.connected;
    this.connected = false;
    this.dma.transport = undefined;
    this.dma.removeAll();
    this.dma.log = undefined;
    this.irq.dropClient();
    this.notify(() => this.irq.flushChanges()); // nobody to reply to
    const model = this.model;
    if (wasConnected && model.onDisconnect) this.notify(() => model.onDisconnect?.());
  }

  close(): void {
    this.detach();
    for (const slot of this.regions) releaseOffered(slot);
    releaseRegions(this.regions);
  }

  slot(index: number): RegionSlot | undefined {
    return this.regions[index];
  }

  static readonly CONFIG_INDEX = PciRegion.CONFIG;
}

/**
 * True when an access cannot go to one place: it overlaps the MSI-X table or PBA, or (with both shared memory and a
 * callback) it straddles an mmap area boundary, so the bytes inside the area must reach the memory the client maps.
 */
function needsSplit(slot: RegionSlot, offset: number, count: number): boolean {
  const end = offset + count;
  const t = slot.msixTable;
  const p = slot.msixPba;
  if ((t && offset < t.end && t.start < end) || (p && offset < p.end && p.start < end)) return true;
  if (slot.memory === undefined || (slot.read === undefined && slot.write === undefined)) return false;
  for (const a of slot.mmapAreas) {
    const aEnd = a.offset + a.size;
    if (offset < aEnd && a.offset < end && !(offset >= a.offset && end <= aEnd)) return true;
  }
  return false;
}

function insideArea(slot: RegionSlot, offset: number, count: number): boolean {
  for (const a of slot.mmapAreas) if (offset >= a.offset && offset + count <= a.offset + a.size) return true;
  return false;
}

/** Exactly `count` bytes of what a read callback returned (zero-padded if it returned fewer). */
function fitRead(data: Uint8Array, count: number): Uint8Array {
  if (data.length === count) return data;
  if (data.length > count) return data.subarray(0, count);
  const out = new Uint8Array(count);
  out.set(data);
  return out;
}

function copyRead(data: Uint8Array, count: number, out: Uint8Array, at: number): void {
  if (data.length >= count) out.set(data.length === count ? data : data.subarray(0, count), at);
  else {
    out.set(data, at);
    out.fill(0, at + data.length, at + count);
  }
}
