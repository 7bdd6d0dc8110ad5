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
  /** Bursts of txonly packets each stream sends before forwarding (start tx_first n). */
  readonly txFirst: number;
  readonly control: SharedArrayBuffer;
  readonly streamStats: SharedArrayBuffer;
}

export type LcoreMessage = { readonly kind: "ready" } | { readonly kind: "error"; readonly message: string };
