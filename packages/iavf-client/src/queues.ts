/**
 * The VF's queue pairs as the driver sets them up: ring memory in DMA space, the tail doorbell of each ring and the
 * MSI-X vector that serves the pair, plus the virtchnl messages that describe them to the PF (CONFIG_VSI_QUEUES,
 * CONFIG_IRQ_MAP as `iavf_map_queues` builds it). Packet I/O on these rings is in `datapath/`.
 */
import {
  type ConfigIrqMap,
  type ConfigVsiQueues,
  qrxTail,
  qtxTail,
  RX_DESCRIPTOR_SIZE,
  TX_DESCRIPTOR_SIZE,
} from "@emu/iavf-common";
import type { FileRange } from "@emu/vfio-device";
import type { Bar0, DoorbellFile } from "./bar0.js";
import type { DmaPool, DmaRegion } from "./dma-pool.js";

/** One descriptor ring: where it lives (for the device and for us) and how the device is told of new work. */
export interface Ring {
  readonly kind: "tx" | "rx";
  readonly queue: number;
  /** Descriptors in the ring. */
  readonly size: number;
  /** 16 (TX) or 32 (RX, legacy write-back format). */
  readonly descriptorSize: number;
  /** IOVA of descriptor 0 (`dma_ring_addr`). */
  readonly iova: bigint;
  /** The ring memory (shared with the device). */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** BAR0 offset of the ring's tail register (QTX_TAIL1 / QRX_TAIL1). */
  readonly tailOffset: number;
  /** Whether tail writes are plain stores into the mmapped doorbell area (else a region write each). */
  readonly doorbellMapped: boolean;
  /** Writes the tail doorbell: done at once when mapped (returns undefined), else the write's promise. */
  writeTail(value: number): Promise<void> | undefined;
  /** The file holding the ring memory (a worker thread maps the ring from it), when the device says. */
  readonly file: FileRange | undefined;
  /** The file holding the tail register, when the doorbell page is mapped and the device says which file it is. */
  readonly doorbellFile: DoorbellFile | undefined;
}

/** A queue pair: its TX and RX rings and the MSI-X vector CONFIG_IRQ_MAP gave it. */
export interface QueuePair {
  readonly id: number;
  readonly vector: number;
  readonly tx: Ring;
  readonly rx: Ring;
}

/** Ring memory is allocated in whole pages, 4 KiB aligned, as Linux does (`ALIGN(size, 4096)`). */
const RING_ALIGN = 4096;

function makeRing(
  kind: "tx" | "rx",
  queue: number,
  size: number,
  region: DmaRegion,
  bar: Bar0,
  descriptorSize: number,
): Ring {
  const tailOffset = kind === "tx" ? qtxTail(queue) : qrxTail(queue);
  return {
    kind,
    queue,
    size,
    descriptorSize,
    iova: region.iova,
    bytes: region.bytes.subarray(0, size * descriptorSize),
    view: new DataView(region.bytes.buffer, region.bytes.byteOffset, size * descriptorSize),
    tailOffset,
    doorbellMapped: bar.isMapped(tailOffset),
    writeTail: bar.doorbell(tailOffset),
    file: region.file,
    doorbellFile: bar.doorbellFile(tailOffset),
  };
}

/**
 * Allocates the rings of `count` pairs; pair q is served by vector 1 + (q mod queueVectors) (Linux's round-robin
 * `iavf_map_rings_to_vectors`).
 */
export async function allocateQueuePairs(
  pool: DmaPool,
  bar: Bar0,
  count: number,
  txSize: number,
  rxSize: number,
  queueVectors: number,
): Promise<{ readonly pairs: QueuePair[]; readonly regions: DmaRegion[] }> {
  const pairs: QueuePair[] = [];
  const regions: DmaRegion[] = [];
  for (let q = 0; q < count; q++) {
    const txMem = await pool.alloc(Math.ceil((txSize * TX_DESCRIPTOR_SIZE) / RING_ALIGN) * RING_ALIGN, RING_ALIGN);
    const rxMem = await pool.alloc(Math.ceil((rxSize * RX_DESCRIPTOR_SIZE) / RING_ALIGN) * RING_ALIGN, RING_ALIGN);
    regions.push(txMem, rxMem);
    pairs.push({
      id: q,
      vector: 1 + (q % queueVectors),
      tx: makeRing("tx", q, txSize, txMem, bar, TX_DESCRIPTOR_SIZE),
      rx: makeRing("rx", q, rxSize, rxMem, bar, RX_DESCRIPTOR_SIZE),
    });
  }
  return { pairs, regions };
}

/** CONFIG_VSI_QUEUES as `iavf_configure_queues` fills it (no head write-back, legacy RX descriptors). */
export function vsiQueuesMessage(
  vsiId: number,
  pairs: readonly QueuePair[],
  rxBufferSize: number,
  maxPacketSize: number,
): ConfigVsiQueues {
  return {
    kind: "ConfigVsiQueues",
    vsiId,
    queuePairs: pairs.map((p) => ({
      txq: {
        vsiId,
        queueId: p.id,
        ringLen: p.tx.size,
        headwbEnabled: 0,
        dmaRingAddr: p.tx.iova,
        dmaHeadwbAddr: 0n,
      },
      rxq: {
        vsiId,
        queueId: p.id,
        ringLen: p.rx.size,
        hdrSize: 0,
        splithdrEnabled: 0,
        databufferSize: rxBufferSize,
        maxPktSize: maxPacketSize,
        crcDisable: 0,
        rxdid: 0,
        flags: 0,
        dmaRingAddr: p.rx.iova,
        rxSplitPos: 0,
      },
    })),
  };
}

/**
 * CONFIG_IRQ_MAP as `iavf_map_queues` builds it: one entry per queue vector (its rings in both maps, RX ITR 0, TX
 * ITR 1), then vector 0 with empty maps; `num_vectors` = every MSI-X vector in use.
 */
export function irqMapMessage(vsiId: number, pairs: readonly QueuePair[], queueVectors: number): ConfigIrqMap {
  const vectors = [];
  for (let v = 1; v <= queueVectors; v++) {
    let mask = 0;
    for (const p of pairs) if (p.vector === v) mask |= 1 << p.id;
    vectors.push({ vsiId, vectorId: v, rxqMap: mask, txqMap: mask, rxitrIdx: 0, txitrIdx: 1 });
  }
  vectors.push({ vsiId, vectorId: 0, rxqMap: 0, txqMap: 0, rxitrIdx: 0, txitrIdx: 0 });
  return { kind: "ConfigIrqMap", vectors };
}
