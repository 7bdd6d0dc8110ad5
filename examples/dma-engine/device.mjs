// @ts-check
// A DMA engine ("memcpy engine"): the device model, written against @emu/vfio-user-server's public API only.
//
// BAR0 (8 KiB): page 0 holds trapped registers and the MSI-X table; page 1 is a status page in shared memory that
// the driver may mmap and poll without a message. The driver puts 32-byte descriptors in a ring in its own memory,
// programs the ring's address and size, and writes the ring tail to the doorbell. The device walks the ring with
// DMA (the server's translation: direct for memory the client passed an fd for, DMA_READ/DMA_WRITE messages
// otherwise), copies `len` bytes from `src` to `dst`, writes each descriptor's status back, updates the status page
// and raises its completion interrupt (MSI-X vector, else MSI, else INTx).
import { createServer } from "@emu/vfio-user-server";

export const ENGINE = /** @type {const} */ ({
  vendorId: 0x1234,
  deviceId: 0x11ec,
  bar0Size: 0x2000,
  statusPage: { offset: 0x1000, size: 0x1000 },
  msixTable: 0x800,
  msixPba: 0xc00,
  msixVectors: 2,
  descSize: 32,
});

/** Register offsets in BAR0. */
export const REG = /** @type {const} */ ({
  ID: 0x00, // RO "DMAE"
  VERSION: 0x04, // RO 1
  CONTROL: 0x08, // RW bit 0 ENABLE, bit 1 IRQ_ENABLE
  STATUS: 0x0c, // RO bit 0 BUSY, bit 1 ERROR
  RING_LO: 0x10, // RW ring IOVA
  RING_HI: 0x14,
  RING_SIZE: 0x18, // RW descriptors, a power of two, 1..4096
  HEAD: 0x1c, // RO next descriptor the device will take
  DOORBELL: 0x20, // WO the ring tail: the device processes HEAD..tail-1
  COMPLETED: 0x24, // RO descriptors done since reset
  ERRORS: 0x28, // RO descriptors failed since reset
  IRQ_VECTOR: 0x2c, // RW the MSI-X/MSI vector raised on completion
});
export const ID_VALUE = 0x45414d44; // "DMAE" little-endian
export const CONTROL = /** @type {const} */ ({ ENABLE: 1, IRQ_ENABLE: 2 });
/** Descriptor: src u64 @0, dst u64 @8, len u32 @16, flags u32 @20 (bit 0: interrupt when done), status u32 @24. */
export const DESC = /** @type {const} */ ({
  SRC: 0,
  DST: 8,
  LEN: 16,
  FLAGS: 20,
  STATUS: 24,
  IRQ: 1,
  DONE: 1,
  FAILED: 2,
});
/** Status page (shared memory, BAR0 + 0x1000): completed u32 @0, head u32 @4, errors u32 @8. */
export const STATUS_PAGE = /** @type {const} */ ({ COMPLETED: 0, HEAD: 4, ERRORS: 8 });

/**
 * The device model, for createServer's `device` option.
 * @param {import("@emu/vfio-user-server").DeviceContext} ctx
 * @returns {import("@emu/vfio-user-server").DeviceModel}
 */
export function dmaEngine(ctx) {
  const regs = new DataView(new ArrayBuffer(0x40));
  let tail = 0;
  let running = false;
  const r32 = (/** @type {number} */ o) => regs.getUint32(o, true);
  const w32 = (/** @type {number} */ o, /** @type {number} */ v) => regs.setUint32(o, v >>> 0, true);
  const clear = () => {
    for (let o = 0; o < 0x40; o += 4) w32(o, 0);
    w32(REG.ID, ID_VALUE);
    w32(REG.VERSION, 1);
    tail = 0;
  };
  clear(); // (the context's memory is not there yet while the server builds the model)
  const reset = () => {
    clear();
    ctx.regionMemory(0)?.fill(0);
  };

  const publish = () => {
    const page = ctx.regionMemory(0);
    if (page === undefined) return;
    const v = new DataView(page.buffer, page.byteOffset + ENGINE.statusPage.offset, 12);
    v.setUint32(STATUS_PAGE.COMPLETED, r32(REG.COMPLETED), true);
    v.setUint32(STATUS_PAGE.ERRORS, r32(REG.ERRORS), true);
    v.setUint32(STATUS_PAGE.HEAD, r32(REG.HEAD), true); // last: the driver polls it
  };

  /** Walks the ring from HEAD to the tail; runs on its own, the doorbell write has long been answered. */
  const run = async () => {
    if (running) return;
    running = true;
    w32(REG.STATUS, 1);
    try {
      while ((r32(REG.CONTROL) & CONTROL.ENABLE) !== 0 && r32(REG.HEAD) !== tail) {
        const size = r32(REG.RING_SIZE);
        const ring = (BigInt(r32(REG.RING_HI)) << 32n) | BigInt(r32(REG.RING_LO));
        const head = r32(REG.HEAD);
        const at = ring + BigInt((head % size) * ENGINE.descSize);
        let status = DESC.DONE;
        let irq = false;
        try {
          const d = await ctx.dma.read(at, ENGINE.descSize);
          const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
          irq = (v.getUint32(DESC.FLAGS, true) & DESC.IRQ) !== 0;
          const len = v.getUint32(DESC.LEN, true);
          const data = await ctx.dma.read(v.getBigUint64(DESC.SRC, true), len);
          await ctx.dma.write(v.getBigUint64(DESC.DST, true), data);
          w32(REG.COMPLETED, r32(REG.COMPLETED) + 1);
        } catch {
          // A descriptor naming memory the driver did not map (or a driver that went away): report, go on.
          status = DESC.FAILED;
          w32(REG.ERRORS, r32(REG.ERRORS) + 1);
          w32(REG.STATUS, r32(REG.STATUS) | 2);
        }
        await ctx.dma.write(at + BigInt(DESC.STATUS), Uint8Array.of(status, 0, 0, 0)).catch(() => undefined);
        w32(REG.HEAD, (head + 1) % (2 * size)); // wraps at 2 × size: full and empty stay distinct
        publish();
        if (irq && (r32(REG.CONTROL) & CONTROL.IRQ_ENABLE) !== 0) {
          try {
            ctx.irq.trigger(r32(REG.IRQ_VECTOR));
          } catch {
            // no such vector: the driver misprogrammed IRQ_VECTOR
          }
        }
      }
    } finally {
      w32(REG.STATUS, r32(REG.STATUS) & ~1);
      running = false;
    }
  };

  return {
    pci: {
      vendorId: ENGINE.vendorId,
      deviceId: ENGINE.deviceId,
      subsystemVendorId: ENGINE.vendorId,
      subsystemId: 0x0001,
      revision: 1,
      classCode: 0x088000, // system peripheral
      interruptPin: 1,
      bars: [{ index: 0, kind: "memory32", size: ENGINE.bar0Size }],
      capabilities: [
        { kind: "pm" },
        {
          kind: "msix",
          tableSize: ENGINE.msixVectors,
          tableBar: 0,
          tableOffset: ENGINE.msixTable,
          pbaBar: 0,
          pbaOffset: ENGINE.msixPba,
        },
        { kind: "pcie", link: { maxSpeed: 1, maxWidth: 1 } },
      ],
    },
    regions: {
      0: {
        memory: true,
        mmap: [ENGINE.statusPage],
        read(offset, length) {
          const out = new Uint8Array(length);
          for (let i = 0; i < length; i++) out[i] = offset + i < 0x40 ? regs.getUint8(offset + i) : 0;
          return out;
        },
        write(offset, data) {
          if (offset === REG.DOORBELL && data.length === 4) {
            tail = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
            void run();
            return;
          }
          const writable = [REG.CONTROL, REG.RING_LO, REG.RING_HI, REG.RING_SIZE, REG.IRQ_VECTOR];
          if (data.length !== 4 || !writable.includes(/** @type {any} */ (offset))) return; // ignored, as hardware
          let v = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
          if (offset === REG.RING_SIZE && (v === 0 || v > 4096 || (v & (v - 1)) !== 0)) v = 0;
          w32(offset, v);
          if (offset === REG.CONTROL && (v & CONTROL.ENABLE) !== 0) void run();
        },
      },
    },
    reset,
    onDisconnect: () => {
      // The driver's memory is gone: stop, keep the registers (a reconnecting driver reprograms the ring).
      w32(REG.CONTROL, r32(REG.CONTROL) & ~CONTROL.ENABLE);
    },
  };
}

/**
 * Serves a DMA engine on `socketPath`.
 * @param {string} socketPath
 */
export function serveDmaEngine(socketPath) {
  return createServer({ socketPath, device: dmaEngine });
}
