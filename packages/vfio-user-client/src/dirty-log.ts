import { DeviceFeature, DeviceFeatureFlags, type DmaLoggingRange, dirtyBitmapSize } from "@emu/vfio-user-proto";
import { invalid } from "./errors.js";
import { u64 } from "./internal/arguments.js";
import { deviceFeature } from "./internal/device-feature.js";
import type { ClientSession } from "./internal/session.js";

const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * DMA dirty-page logging: DMA_LOGGING_START/STOP/REPORT over DEVICE_FEATURE, plus the pages the server wrote with
 * DMA_WRITE messages while logging runs (the server cannot see those writes: the client tracks them and ORs them into
 * the reports).
 */
export class DirtyLog {
  private readonly session: ClientSession;
  private pageSize = 0n;
  /** While logging runs: pages (of `pageSize`) the server wrote with DMA_WRITE messages. */
  private messageDirty: Set<bigint> | undefined;

  constructor(session: ClientSession) {
    this.session = session;
  }

  /** The server wrote [address, address + count) of our memory with a DMA_WRITE message. */
  noteMessageWrite(address: bigint, count: bigint): void {
    const dirty = this.messageDirty;
    if (dirty === undefined || count === 0n) return;
    const ps = this.pageSize;
    for (let p = address / ps; p <= (address + count - 1n) / ps; p++) dirty.add(p);
  }

  /** See {@link VfioUserClient.startDmaLogging}. */
  async start(pageSize: bigint, ranges: readonly DmaLoggingRange[]): Promise<bigint> {
    u64(pageSize, "page size");
    const r = await deviceFeature(
      this.session,
      DeviceFeature.DMA_LOGGING_START | DeviceFeatureFlags.SET,
      8 + 16 + 16 * ranges.length,
      {
        type: "DmaLogging",
        pageSize,
        ranges,
      },
    );
    const chosen = r.data.type === "DmaLogging" && r.data.pageSize > 0n ? r.data.pageSize : pageSize;
    this.pageSize = chosen > 0n ? chosen : 4096n;
    this.messageDirty = new Set();
    return chosen;
  }

  /** See {@link VfioUserClient.stopDmaLogging}. */
  async stop(): Promise<void> {
    this.messageDirty = undefined;
    await deviceFeature(this.session, DeviceFeature.DMA_LOGGING_STOP | DeviceFeatureFlags.SET, 24, {
      type: "DmaLogging",
      pageSize: this.pageSize,
      ranges: [],
    });
  }

  /** See {@link VfioUserClient.reportDirtyPages}. */
  async report(iova: bigint, len: bigint, pageSize: bigint): Promise<Uint8Array> {
    u64(iova, "iova");
    u64(len, "length");
    u64(pageSize, "page size");
    let bytes: number;
    try {
      bytes = dirtyBitmapSize(len, pageSize);
    } catch (e) {
      throw invalid((e as Error).message);
    }
    const r = await deviceFeature(
      this.session,
      DeviceFeature.DMA_LOGGING_REPORT | DeviceFeatureFlags.GET,
      8 + 24 + bytes,
      {
        type: "DmaLoggingReport",
        iova,
        length: len,
        pageSize,
      },
    );
    if (r.data.type !== "DmaLoggingReport" || r.data.bitmap === undefined)
      throw this.session.protocol("DMA_LOGGING_REPORT reply without a bitmap");
    const bitmap = r.data.bitmap.slice();
    if (len > 0n) this.takeMessageDirty(bitmap, iova, len, pageSize);
    return bitmap;
  }

  /** ORs the pages of [iova, iova + len) written by DMA_WRITE messages into `bitmap` (of `pageSize` pages), and forgets them. */
  private takeMessageDirty(bitmap: Uint8Array, iova: bigint, len: bigint, pageSize: bigint): void {
    const dirty = this.messageDirty;
    if (dirty === undefined || dirty.size === 0) return;
    // Our pages are `this.pageSize` pages; the report's may be larger or smaller.
    const ps = this.pageSize;
    for (const p of [...dirty]) {
      const start = p * ps;
      const end = start + ps;
      if (end <= iova || start >= iova + len) continue;
      dirty.delete(p);
      const from = (start > iova ? start - iova : 0n) / pageSize;
      const to = (minBig(end, iova + len) - iova - 1n) / pageSize;
      for (let b = from; b <= to; b++) {
        const i = Number(b >> 3n);
        const byte = bitmap[i];
        if (byte !== undefined) bitmap[i] = byte | (1 << Number(b & 7n));
      }
    }
  }
}
