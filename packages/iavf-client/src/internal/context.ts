/** What the bring-up and reset steps share: the driver's resources and what the PF told it. */
import type { GetVfResourcesReply, VsiResource } from "@emu/iavf-common";
import type { VfioDevice } from "@emu/vfio-device";
import type { AdminQueue } from "../adminq.js";
import type { Bar0 } from "../bar0.js";
import type { DataPath } from "../data-path.js";
import type { DmaPool } from "../dma-pool.js";
import type { Interrupts } from "../interrupts.js";
import type { Mailbox } from "../mailbox.js";
import type { ResolvedOptions } from "../options.js";
import type { QueuePair } from "../queues.js";

export interface DriverContext {
  /** The device (another one after a live migration). */
  device: VfioDevice;
  readonly options: ResolvedOptions;
  readonly bar: Bar0;
  readonly pool: DmaPool;
  readonly adminq: AdminQueue;
  readonly mailbox: Mailbox;
  /** Present in interrupt mode once the vector count is known. */
  irqs: Interrupts | undefined;
  /** The PF's VERSION reply. */
  pfVersion: { readonly major: number; readonly minor: number } | undefined;
  resources: GetVfResourcesReply | undefined;
  /** The SR-IOV VSI of `resources`. */
  vsi: VsiResource | undefined;
  mac: string;
  /** MSI-X vectors in use: vector 0 (mailbox) + the queue vectors. */
  vectors: number;
  pairs: QueuePair[];
  /** The RSS key and LUT sent (Linux: a random key, LUT[i] = i mod queues). */
  rssKey: Uint8Array | undefined;
  /** The driver's own packet I/O (`ownBuffers`), restarted whenever the rings are configured. */
  dataPath: DataPath | undefined;
  /** Whether the driver is RUNNING in Linux's sense: link-up events count from then on. */
  running: boolean;
}
