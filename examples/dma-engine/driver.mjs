// @ts-check
// A driver for the DMA engine, written against the VfioDevice interface (so it runs over any transport) plus the
// client's DMA buffers: programs the ring, submits copies, completes them on the MSI-X interrupt.

import { enableMsix, RegionIo } from "@emu/vfio-device";
import { PciIrq } from "@emu/vfio-user-proto";
import { CONTROL, DESC, ENGINE, ID_VALUE, REG, STATUS_PAGE } from "./device.mjs";

const RING_SIZE = 64;

/**
 * @typedef {import("@emu/vfio-device").VfioDevice} VfioDevice
 * @typedef {import("@emu/vfio-device").DmaBuffer} DmaBuffer
 */

/**
 * Opens the engine: checks its ID, maps the status page, puts the ring in DMA memory at `ringIova` (one page),
 * enables MSI-X vector 0 for completions.
 * @param {VfioDevice} device
 * @param {{ ringIova?: bigint, messageBased?: boolean }} [options]
 */
export async function openEngine(device, options = {}) {
  const bar0 = await RegionIo.open(device, 0);
  const id = await bar0.read32(BigInt(REG.ID));
  if (id !== ID_VALUE) throw new Error(`not a DMA engine: ID 0x${id.toString(16)}`);
  const ringIova = options.ringIova ?? 0x1000_0000n;
  // `messageBased` is the vfio-user client's option (no fd: the device reaches the ring with DMA_READ/DMA_WRITE);
  // other VfioDevice implementations ignore it.
  const ring = await device.dmaMap(
    ringIova,
    0x1000n,
    /** @type {any} */ ({ messageBased: options.messageBased === true }),
  );
  const view = new DataView(ring.bytes.buffer, ring.bytes.byteOffset, ring.bytes.byteLength);
  let tail = 0;
  let interrupts = 0;
  /** @type {Map<number, () => void>} */
  const waiting = new Map();
  const status = bar0.areas.find((a) => a.offset === BigInt(ENGINE.statusPage.offset));

  await enableMsix(device);
  // Completions: on each interrupt, finish every descriptor whose status the device has written.
  const binding = await device.enableIrqs(PciIrq.MSIX, 0, 1, () => {
    interrupts++;
    for (const [slot, done] of waiting) {
      if (view.getUint32(slot * ENGINE.descSize + DESC.STATUS, true) !== 0) {
        waiting.delete(slot);
        done();
      }
    }
  });
  await bar0.write32(BigInt(REG.RING_LO), Number(ringIova & 0xffffffffn));
  await bar0.write32(BigInt(REG.RING_HI), Number(ringIova >> 32n));
  await bar0.write32(BigInt(REG.RING_SIZE), RING_SIZE);
  await bar0.write32(BigInt(REG.IRQ_VECTOR), 0);
  await bar0.write32(BigInt(REG.CONTROL), CONTROL.ENABLE | CONTROL.IRQ_ENABLE);

  return {
    ring,
    get interrupts() {
      return interrupts;
    },
    /** The status page as the device last published it, read from the mapping (no message). */
    status() {
      if (status === undefined || status.bytes.length === 0) return undefined;
      const s = new DataView(status.bytes.buffer, status.bytes.byteOffset, 12);
      return {
        completed: s.getUint32(STATUS_PAGE.COMPLETED, true),
        head: s.getUint32(STATUS_PAGE.HEAD, true),
        errors: s.getUint32(STATUS_PAGE.ERRORS, true),
        mapped: true,
      };
    },
    /** Registers read through the slow path (REGION_READ). */
    async registers() {
      return {
        completed: await bar0.read32(BigInt(REG.COMPLETED)),
        errors: await bar0.read32(BigInt(REG.ERRORS)),
        head: await bar0.read32(BigInt(REG.HEAD)),
      };
    },
    /**
     * Copies `len` bytes from `src` to `dst` (device addresses); resolves with the descriptor status (1 done,
     * 2 failed) once the completion interrupt came.
     * @param {bigint} src @param {bigint} dst @param {number} len
     * @returns {Promise<number>}
     */
    copy(src, dst, len) {
      const slot = tail % RING_SIZE;
      if (waiting.has(slot)) return Promise.reject(new Error("ring full"));
      const at = slot * ENGINE.descSize;
      view.setBigUint64(at + DESC.SRC, src, true);
      view.setBigUint64(at + DESC.DST, dst, true);
      view.setUint32(at + DESC.LEN, len, true);
      view.setUint32(at + DESC.FLAGS, DESC.IRQ, true);
      view.setUint32(at + DESC.STATUS, 0, true);
      tail = (tail + 1) % (2 * RING_SIZE);
      const done = new Promise((resolve) => waiting.set(slot, () => resolve(view.getUint32(at + DESC.STATUS, true))));
      return bar0.write32(BigInt(REG.DOORBELL), tail).then(() => done);
    },
    async close() {
      await bar0.write32(BigInt(REG.CONTROL), 0);
      await binding.disable();
      bar0.close();
    },
  };
}
