// What the main thread hands a forwarding lcore (a worker thread): structured-cloneable.
import type { MbufPoolDescription, PortDataDescription } from "@emu/port/data";
import type { FwdMode } from "./modes-list.js";

/** Control words (Int32Array over `control`). */
export const CTL_STATE = 0;
export const STATE_WAIT = 0;
export const STATE_RUN = 1;
export const STATE_STOP = 2;

export interface LcoreTask {
  readonly lcore: number;
  /** The CPUs the lcore's thread pins itself to when it starts (empty: not pinned). */
  readonly cpus: readonly number[];
  readonly pool: MbufPoolDescription;
  readonly ports: readonly {
    readonly id: number;
    readonly desc: PortDataDescription;
    readonly rxQueues: readonly number[];
    readonly txQueues: readonly number[];
  }[];
  readonly streams: readonly {
    readonly index: number;
    readonly rxPort: number;
    readonly rxQueue: number;
    readonly txPort: number;
    readonly txQueue: number;
    readonly txMac: Uint8Array;
    readonly peerMac: Uint8Array;
  }[];
  readonly mode: FwdMode;
  readonly burst: number;
  readonly txpkts: number;
  readonly flows: number;
  /** txonly/tx_first packets vary their source address (--txonly-multi-flow). */
  readonly txonlyMultiFlow: boolean;
  /** Bursts of txonly packets each stream sends before forwarding (start tx_first n). */
  readonly txFirst: number;
  readonly control: SharedArrayBuffer;
  readonly streamStats: SharedArrayBuffer;
}

/** Where a ready lcore runs: its kernel thread id and the CPUs it may run on (after pinning), and why it is not
 * pinned if pinning failed. */
export interface LcoreThread {
  readonly tid: number;
  readonly cpus: readonly number[];
  readonly unpinned?: string;
}

export type LcoreMessage =
  | ({ readonly kind: "ready" } & LcoreThread)
  | { readonly kind: "error"; readonly message: string };
