// The typed view of an emu_iavf device for a data-path provider (and the application): what the guest configured
// that emudev's generic queue info does not carry — RX buffer sizes, RSS, filters — the VSI counters a provider adds
// to, queue interrupts that honour the guest's interrupt controls, the link, and a PF-initiated reset. It travels as
// the device's read-only attribute "iavf", so a provider needs nothing but the emudev API.
import type { EmudevResources } from "@emu/emudev";
import type { EthStats } from "@emu/iavf-common";
import type { VectorResult } from "./interrupts.js";
import type {
  IavfCounters,
  IavfFilters,
  IavfRss,
  IavfRxQueueConfig,
  IavfStatsDelta,
  IavfTxQueueConfig,
} from "./nic-state.js";

/** The link as the VF is told (LINK_CHANGE events). */
export interface IavfLink {
  readonly up: boolean;
  readonly speedMbps: number;
}

/** The data path's ring heads (the next descriptor it processes), by emudev queue id: saved and restored with the NIC. */
export interface RingHeads {
  read(queueId: number): number;
  write(queueId: number, head: number): void;
}

/** An emu_iavf device, NIC-side. Queue pair q is emudev queue `rxQueueId(q)` (RX) and `txQueueId(q)` (TX). */
export interface IavfNic {
  readonly _tag: "IavfNic";
  readonly queuePairs: number;
  /** The VSI id the VF was given. */
  readonly vsiId: number;
  /** The MAC the PF assigned (GET_VF_RESOURCES). */
  readonly defaultMac: string;
  /** The `vf_cap_flags` granted by the last GET_VF_RESOURCES (0 before, and after a reset). */
  readonly capabilities: number;
  readonly link: IavfLink;
  /** Sets the link (and speed in Mbps, unchanged if omitted); a change is sent to the VF as a LINK_CHANGE event. */
  setLink(up: boolean, speedMbps?: number): void;
  /** RX queue `q` as configured (undefined: not configured). */
  rxQueue(q: number): IavfRxQueueConfig | undefined;
  txQueue(q: number): IavfTxQueueConfig | undefined;
  /** The ITR index (0..2, 3 none) CONFIG_IRQ_MAP gave queue `q`'s interrupts. */
  queueItrIndex(q: number, dir: "rx" | "tx"): number;
  rss(): IavfRss;
  filters(): IavfFilters;
  /** Whether a frame to `dst` (6 bytes at `at`) with VLAN `vlan` passes the MAC/VLAN filters and promisc modes. */
  accepts(dst: Uint8Array, at?: number, vlan?: number): boolean;
  /** The VSI counters GET_STATS reports. */
  stats(): EthStats;
  /** Adds to the counters (a provider counts what it moved); throws RangeError for a negative delta. */
  addStats(delta: IavfStatsDelta): void;
  /**
   * Raises MSI-X `vector` for queue work: delivered only if the guest armed it (DYN_CTLN1 INTENA, which firing
   * clears until the guest re-arms), else held and delivered on re-arm. "dropped" when the device is not running.
   */
  interrupt(vector: number): VectorResult;
  /** Whether the guest armed `vector` (INTENA set). */
  interruptArmed(vector: number): boolean;
  /**
   * Calls `listener(vector, armed)` whenever a vector's INTENA changes — the guest armed or disarmed it, or it fired —
   * so a data path in another thread can keep a shared mirror and raise a vector only when it would be delivered (a
   * reset clears every INTENA without telling: re-read `interruptArmed` after a `reset` event). Returns the unsubscribe.
   */
  watchInterrupts(listener: (vector: number, armed: boolean) => void): () => void;
  /**
   * Calls `listener(vector, value)` at every guest write of a vector's VFINT_DYN_CTL01 / VFINT_DYN_CTLN1, with the value
   * written — INTENA, SWINT_TRIG, the ITR index and interval as the guest wrote them: for a data path that hands the
   * vector to another device and passes the guest's writes on. Returns the unsubscribe.
   */
  watchDynCtl(listener: (vector: number, value: number) => void): () => void;
  /** ITR `index` (0..2) of `vector`, in 2 µs units (a provider may moderate with it). */
  itr(vector: number, index: number): number;
  /** Whether DYN_CTLN1(vector − 1) asks for descriptor write-back on ITR without an interrupt. */
  wbOnItr(vector: number): boolean;
  /** Guest input the device ignored or refused without a reply, by kind. */
  counters(): IavfCounters;
  /** A PF-initiated reset: RESET_IMPENDING is posted to the VF, then the VF is reset; resolves once it is active. */
  pfReset(): Promise<void>;
  /**
   * Migration: the data path keeps the rings' heads (the next descriptor it processes); binding them lets the device
   * save them with its state (read once the data path stopped) and restore them (written after the queues are set up
   * again, before `migrationDone`). One binding at a time; returns the unbind.
   */
  bindRingHeads(heads: RingHeads): () => void;
}

/** The name of the attribute that carries the view. */
export const IAVF_ATTRIBUTE = "iavf";

/** The NIC view of an emu_iavf device (its "iavf" attribute). Throws TypeError for a device of another driver. */
export function iavf(dev: Pick<EmudevResources, "attribute" | "name">): IavfNic {
  let v: unknown;
  try {
    v = dev.attribute(IAVF_ATTRIBUTE);
  } catch (e) {
    throw new TypeError(`${dev.name} is not an emu_iavf device`, { cause: e });
  }
  if ((v as { _tag?: unknown } | undefined)?._tag !== "IavfNic")
    throw new TypeError(`${dev.name} is not an emu_iavf device`);
  return v as IavfNic;
}
