// The device the server is fuzzed with: something of everything a device can be, so that hostile input reaches every
// part of the server — shared memory with an mmappable page and an ioeventfd (BAR0), asynchronous callbacks that do
// DMA every way the API offers (BAR1, the doorbells), the MSI-X table and PBA (BAR2), a ROM, a device-specific region,
// every IRQ index, migration with PRE_COPY, reset. Its callbacks fail only with DeviceErrors: anything untagged the
// server reports is the server's.

import type { DeviceShape } from "@emu/fuzz-kit/vfio-user";
import { MigrationState } from "@emu/vfio-user-proto";
import { type DeviceContext, DeviceError, type DeviceModel, isDmaError } from "@emu/vfio-user-server";

const BAR0 = 0x10000;
const BAR1 = 0x1000;

/** Doorbells of BAR1: a u64 write of an IOVA starts the named DMA. */
export const Doorbell = {
  /** Read a 16-byte descriptor {src u64, dst u64} at the IOVA, copy 64 bytes src → dst, raise MSI-X/MSI/INTx 0. */
  COPY: 0x00,
  /** The same, always with DMA_READ/DMA_WRITE messages. */
  COPY_MESSAGE: 0x08,
  /** A direct view of 4 KiB at the IOVA, written through and released. */
  VIEW: 0x10,
  /** Mark 4 KiB at the IOVA dirty. */
  DIRTY: 0x18,
  /** Fail with a DeviceError (EIO). */
  FAIL: 0x20,
} as const;

/** The shape the request generator aims at. */
export const FUZZ_DEVICE_SHAPE: DeviceShape = {
  regions: [
    { index: 0, size: BAR0 },
    { index: 1, size: BAR1 },
    { index: 2, size: 0x1000 },
    { index: 6, size: 0x1000 },
    { index: 7, size: 4096 },
    { index: 9, size: 0x1000 },
  ],
  irqs: [1, 4, 4, 1, 1],
  hotspots: [
    { region: 1, offset: 0, size: 0x28 },
    { region: 2, offset: 0, size: 0x40 }, // MSI-X table
    { region: 2, offset: 0x800, size: 8 }, // PBA
    { region: 7, offset: 0x04, size: 4 }, // COMMAND
    { region: 7, offset: 0x10, size: 0x18 }, // BARs
    { region: 0, offset: 0x40, size: 4 }, // the ioeventfd doorbell
  ],
};

function u64(data: Uint8Array, at: number): bigint {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return data.length >= at + 8 ? v.getBigUint64(at, true) : BigInt(data.length >= at + 4 ? v.getUint32(at, true) : 0);
}

/** A DMA failure becomes an EFAULT-like DeviceError; anything else goes up as it is. */
function dmaFailure(e: unknown): never {
  if (isDmaError(e)) throw new DeviceError("BadAddress", `DMA failed: ${e.reason}`);
  throw e;
}

async function doorbell(ctx: DeviceContext, offset: number, data: Uint8Array): Promise<void> {
  const iova = u64(data, 0);
  try {
    if (offset === Doorbell.COPY || offset === Doorbell.COPY_MESSAGE) {
      const via = offset === Doorbell.COPY ? "auto" : "message";
      const desc = await ctx.dma.read(iova, 16, { via });
      const bytes = await ctx.dma.read(u64(desc, 0), 64, { via });
      await ctx.dma.write(u64(desc, 8), bytes, { via });
      ctx.irq.trigger(0);
    } else if (offset === Doorbell.VIEW) {
      const view = ctx.dma.map(iova, 4096, "rw");
      view.bytes.fill(0xa5, 0, Math.min(64, view.bytes.length));
      view.release();
    } else if (offset === Doorbell.DIRTY) ctx.dma.markDirty(iova, 4096);
    else if (offset === Doorbell.FAIL) throw new DeviceError("IoError", "the fuzz device refuses this doorbell");
  } catch (e) {
    dmaFailure(e);
  }
}

export function fuzzDevice(counts: Record<string, number>): (ctx: DeviceContext) => DeviceModel {
  const bump = (k: string): void => {
    counts[k] = (counts[k] ?? 0) + 1;
  };
  return (ctx) => {
    const regs = new Uint8Array(BAR0);
    const bar1 = new Uint8Array(BAR1);
    let saved = new Uint8Array(0);
    let savedAt = 0;
    return {
      pci: {
        vendorId: 0x1af4,
        deviceId: 0x10f0,
        classCode: 0xff0000,
        interruptPin: 1,
        bars: [
          { index: 0, kind: "memory32", size: BAR0 },
          { index: 1, kind: "memory32", size: BAR1 },
          { index: 2, kind: "memory64", size: 0x1000, prefetchable: true },
        ],
        rom: { size: 0x1000 },
        capabilities: [
          { kind: "pm" },
          { kind: "msi", vectors: 4, perVectorMask: true },
          { kind: "msix", tableSize: 4, tableBar: 2, tableOffset: 0, pbaBar: 2, pbaOffset: 0x800 },
          { kind: "pcie", flr: true },
        ],
      },
      regions: {
        0: {
          memory: true,
          mmap: [{ offset: 0x1000, size: 0x1000 }],
          read: (offset, length) => regs.slice(offset, offset + length),
          write: (offset, data) => {
            regs.set(data, offset);
          },
          ioEventFds: [{ offset: 0x40, size: 4, onSignal: () => bump("ioeventfd") }],
        },
        1: {
          // Asynchronous both ways: every access holds the commands behind it until it settles.
          read: async (offset, length) => bar1.slice(offset, offset + length),
          write: async (offset, data) => {
            bar1.set(data, offset);
            if (offset < 0x28 && offset % 8 === 0) await doorbell(ctx, offset, data);
          },
        },
        2: {},
        9: { size: 0x1000, type: { type: 0x8086, subtype: 1 }, memory: true },
      },
      reset: () => {
        bump("reset");
        regs.fill(0);
      },
      migration: {
        preCopy: true,
        transition: (_from, to) => {
          if (to === MigrationState.STOP_COPY || to === MigrationState.PRE_COPY) {
            saved = regs.slice(0, 256);
            savedAt = 0;
          }
        },
        read: (max) => {
          const out = saved.slice(savedAt, savedAt + Math.min(max, 64));
          savedAt += out.length;
          return out;
        },
        write: (data) => {
          if (data.length > 4096) throw new DeviceError("InvalidArgument", "migration chunk too large");
        },
      },
      onDmaMap: () => bump("dmaMap"),
      onDmaUnmap: () => bump("dmaUnmap"),
      onConnect: () => bump("connect"),
      onDisconnect: () => bump("disconnect"),
    };
  };
}
