// What a VMM does to move a device between two servers with vfio-user migration v2: the destination put in RESUMING,
// pre-copy on the source while it runs (when both ends offer it: its data forwarded until it has none left, and the
// caller's own copying — guest memory, the dirty pages — done meanwhile), then stop-and-copy: the source stopped,
// its device state read and written to the destination and, still RESUMING, the VMM's share of the device state (PCI
// command register, MSI-X table and control, which QEMU's vfio-pci saves itself and restores in vfio_pci_load_config
// before it assigns the MSI-X eventfds) copied and the caller's `whileResuming` run (SET_IRQS there), then the vectors
// pending in the source's MSI-X PBA raised on the destination, the destination restored and running. Any failure
// before the destination runs puts the source back in RUNNING and rejects with the cause: the guest goes on at the
// source.
import { type DecodedMsix, decodeConfigSpace } from "@emu/pci-config";
import { MigrationFlags, MigrationState, PciIrq } from "@emu/vfio-user-proto";
import type { VfioUserClient } from "./client.js";
import { VfioUserClientError } from "./errors.js";

/** `migrateDevice` options. */
export interface MigrateOptions {
  /**
   * Runs while the source is still running, after its pre-copy data was forwarded (the VMM copies guest memory here,
   * e.g. the pages DMA logging reports dirty). The device is stopped only once it resolves.
   */
  readonly whileRunning?: () => Promise<void>;
  /**
   * Runs with the source stopped and the destination still RESUMING, its device state and PCI state (command register,
   * MSI-X table and enable) written: where QEMU's vfio-pci assigns the MSI-X eventfds (SET_IRQS) on the destination,
   * so that nothing the device raises once it runs is lost. The vectors pending at the source are raised on the
   * destination right after (so a SET_IRQS mask set here holds them pending too). Counted in the downtime.
   */
  readonly whileResuming?: () => Promise<void>;
  /**
   * Runs with both devices stopped, after the device state moved and before the destination runs (the VMM copies the
   * last dirty pages and moves its own use of the device here). Counted in the downtime.
   */
  readonly whileStopped?: () => Promise<void>;
  /**
   * Use PRE_COPY when both ends offer it (default true). The destination's flag counts too: a device that offers
   * PRE_COPY can load a stream that began while the source ran (QEMU's vfio asks the destination's own flag before it
   * takes pre-copy data; Linux's mlx5 offers PRE_COPY only where the device can load the state in several parts).
   */
  readonly preCopy?: boolean;
}

/** What a migration took. */
export interface MigrationReport {
  /** From the source leaving RUNNING/PRE_COPY to the destination RUNNING, in ms. */
  readonly downtimeMs: number;
  /**
   * When the source was told to stop (STOP_COPY), on `performance.now()`'s clock: a caller whose own switch-over goes
   * on after the destination runs (e.g. a driver handing its rings' doorbells over) measures the downtime its
   * traffic sees from here.
   */
  readonly stoppedAt: number;
  /** Bytes of device state read in STOP_COPY. */
  readonly deviceStateBytes: number;
  /** Bytes read in PRE_COPY (0 without it). */
  readonly preCopyBytes: number;
  readonly usedPreCopy: boolean;
}

const PCI_CONFIG_REGION = 7;
const PCI_COMMAND = 4;

function failed(step: string, cause: unknown): VfioUserClientError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new VfioUserClientError("ErrorReply", `migration failed at ${step}: ${why}`, {
    cause,
    ...(cause instanceof VfioUserClientError && cause.errno !== undefined ? { errno: cause.errno } : {}),
  });
}

/**
 * MIG_DATA_READ size: a server answers with the size asked for, zero-padded (libvfio-user's reply), so asking for
 * the whole transfer size would move a MiB per read for a device state of a few hundred bytes.
 */
const CHUNK = 64 * 1024;

/**
 * Reads in PRE_COPY at most (64 MiB of 64 KiB reads): a source that goes on producing pre-copy data cannot hold the
 * migration there for ever; what it has not sent yet follows in STOP_COPY (both states share one stream).
 */
const PRE_COPY_MAX_READS = 1024;

/**
 * Moves the source's migration data to `to`, read by read (each of CHUNK bytes, or the source's transfer size when
 * smaller: a full read of that is not the end); the bytes moved. A read shorter than asked ends the data the source
 * has now (the spec's "no more migration data to read"): that is the end in STOP_COPY, with the device stopped. In
 * PRE_COPY the source runs and may have more by the next read, so there (`untilEmpty`) reading goes on until a read
 * returns nothing — the kernel's "temporary end of stream"; vfio-user has no GET_PRECOPY_INFO to ask — or `maxReads`.
 */
async function forward(
  from: VfioUserClient,
  to: VfioUserClient,
  untilEmpty: boolean,
  maxReads = Number.POSITIVE_INFINITY,
): Promise<number> {
  const asked = Math.min(CHUNK, from.negotiated.maxTransfer);
  let total = 0;
  for (let reads = 0; reads < maxReads; reads++) {
    const data = await from.readMigrationData(asked);
    if (data.length > 0) await to.writeMigrationData(data);
    total += data.length;
    if (data.length === 0 || (!untilEmpty && data.length < asked)) break;
  }
  return total;
}

/** The MSI-X capability in a config space image, if any. */
function msixOf(config: Uint8Array): DecodedMsix | undefined {
  const d = decodeConfigSpace(config);
  if (!d.ok) return undefined;
  return d.value.capabilities.find((c): c is DecodedMsix => c.kind === "msix");
}

/** Whether an MSI-X table is as reset leaves it: each entry's address and data 0, its vector control Mask (1). */
function untouchedTable(table: Uint8Array): boolean {
  for (let at = 0; at < table.length; at += 16)
    for (let i = 0; i < 16; i++) if (table[at + i] !== (i === 12 ? 1 : 0)) return false;
  return true;
}

/**
 * The VMM's share of the device state: the PCI command register, the MSI-X table and control (enable, mask). Returns
 * the MSI-X vectors pending in the source's PBA, for `raisePending` (the source is stopped: its PBA is final).
 */
async function copyPciState(from: VfioUserClient, to: VfioUserClient): Promise<number[]> {
  const config = await from.regionRead(PCI_CONFIG_REGION, 0n, 256);
  await to.regionWrite(PCI_CONFIG_REGION, BigInt(PCI_COMMAND), config.subarray(PCI_COMMAND, PCI_COMMAND + 2));
  const msix = msixOf(config);
  if (msix === undefined) return [];
  const table = await from.regionRead(msix.tableBar, BigInt(msix.tableOffset), msix.tableSize * 16);
  // A client that never wrote the table (QEMU and cloud-hypervisor emulate it themselves and mask with SET_IRQS)
  // leaves it as reset made it: every vector masked, nothing else. Written to the destination, those masks would be
  // enforced there and every interrupt held pending: such a table does not move.
  if (!untouchedTable(table)) await to.regionWrite(msix.tableBar, BigInt(msix.tableOffset), table);
  const control = msix.offset + 2;
  await to.regionWrite(PCI_CONFIG_REGION, BigInt(control), config.subarray(control, control + 2));
  // The PBA: one bit per vector, in QWORDs (PCI spec).
  const pba = await from.regionRead(msix.pbaBar, BigInt(msix.pbaOffset), Math.ceil(msix.tableSize / 64) * 8);
  const pending: number[] = [];
  for (let v = 0; v < msix.tableSize; v++) if (((pba[v >> 3] ?? 0) & (1 << (v & 7))) !== 0) pending.push(v);
  return pending;
}

/**
 * Raises on the destination the MSI-X vectors that were pending at the source. The PBA is read-only to software, so
 * it cannot be copied as the table is: what sets a bit of it is the vector raised while masked, which the client may
 * do itself (SET_IRQS ACTION_TRIGGER with DATA_BOOL). The destination has the source's masks by now (the table and
 * control copied, the caller's SET_IRQS in `whileResuming`), so each vector is left pending there and fires when the
 * guest unmasks it; one the caller left unmasked fires at once, as a pending vector does when unmasked.
 */
async function raisePending(to: VfioUserClient, pending: readonly number[]): Promise<void> {
  const first = pending[0];
  const last = pending.at(-1);
  if (first === undefined || last === undefined) return;
  const values = Array.from({ length: last - first + 1 }, (_, i) => pending.includes(first + i));
  await to.setIrqs({
    index: PciIrq.MSIX,
    action: "trigger",
    start: first,
    count: values.length,
    data: { kind: "bool", values },
  });
}

/**
 * Moves the device behind `source` to `destination` (a server of the same device type, its guest memory already
 * DMA-mapped by the caller): pre-copy if both offer it, stop-and-copy, resume. Resolves with the downtime and the
 * bytes moved; on failure the source runs again and the promise rejects with a VfioUserClientError naming the step.
 */
export async function migrateDevice(
  source: VfioUserClient,
  destination: VfioUserClient,
  options: MigrateOptions = {},
): Promise<MigrationReport> {
  const [sf, df] = await Promise.all([source.getMigrationFlags(), destination.getMigrationFlags()]);
  if ((sf & df & MigrationFlags.STOP_COPY) === 0n)
    throw new VfioUserClientError("Unsupported", "both devices must offer migration (STOP_COPY)");
  const usedPreCopy = options.preCopy !== false && (sf & df & MigrationFlags.PRE_COPY) !== 0n;
  let step = "RESUMING at the destination";
  let stoppedAt = 0;
  let preCopyBytes = 0;
  let deviceStateBytes = 0;
  try {
    await destination.setMigrationState(MigrationState.RESUMING);
    if (usedPreCopy) {
      step = "PRE_COPY";
      await source.setMigrationState(MigrationState.PRE_COPY);
      preCopyBytes = await forward(source, destination, true, PRE_COPY_MAX_READS);
    }
    step = "the caller's copy while running";
    await options.whileRunning?.();
    step = "STOP_COPY";
    stoppedAt = performance.now();
    await source.setMigrationState(MigrationState.STOP_COPY);
    deviceStateBytes = await forward(source, destination, false);
    step = "STOP at the source";
    await source.setMigrationState(MigrationState.STOP);
    step = "the PCI state";
    const pending = await copyPciState(source, destination);
    step = "the caller's work while resuming";
    await options.whileResuming?.();
    step = "the pending MSI-X vectors";
    await raisePending(destination, pending);
    step = "restoring the device state at the destination";
    await destination.setMigrationState(MigrationState.STOP);
    step = "the caller's copy while stopped";
    await options.whileStopped?.();
    step = "RUNNING at the destination";
    await destination.setMigrationState(MigrationState.RUNNING);
  } catch (e) {
    await source.setMigrationState(MigrationState.RUNNING).catch(() => undefined);
    throw failed(step, e);
  }
  return { downtimeMs: performance.now() - stoppedAt, stoppedAt, deviceStateBytes, preCopyBytes, usedPreCopy };
}
