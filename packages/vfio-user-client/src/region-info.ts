import { closeFds } from "@emu/sys";
import type { RegionInfo } from "@emu/vfio-device";
import { toRegionInfo } from "@emu/vfio-device";
import { Command, REGION_INFO_SIZE, type SubRegionIoFd } from "@emu/vfio-user-proto";
import { u32 } from "./internal/arguments.js";
import { type ClientSession, frameOf } from "./internal/session.js";

/** GET_REGION_IO_FDS result. The fds are yours (close them); `subRegions[i].fdIndex` indexes `fds`. */
export interface RegionIoFds {
  readonly index: number;
  readonly subRegions: readonly SubRegionIoFd[];
  readonly fds: readonly number[];
}

/** A region's info as fetched once, with the region fd that came with it. */
export interface CachedRegion {
  readonly info: RegionInfo;
  /** The region fd that came with the full reply (MMAP regions). */
  readonly fd: number | undefined;
}

/** How often a GET_REGION_INFO / GET_REGION_IO_FDS is asked again with the larger argsz the server wants. */
const ARGSZ_ATTEMPTS = 8;

/**
 * What the server says about its regions: GET_REGION_INFO (with its capability chain, cached per region with the
 * region fd of an mmappable region until `close()`) and GET_REGION_IO_FDS.
 */
export class RegionInfoCache {
  private readonly session: ClientSession;
  private readonly regions = new Map<number, Promise<CachedRegion>>();

  constructor(session: ClientSession) {
    this.session = session;
  }

  /** See {@link VfioUserClient.getRegionInfo}. */
  getRegionInfo(index: number): Promise<RegionInfo> {
    try {
      this.session.live();
      u32(index, "region index");
    } catch (e) {
      return Promise.reject(e);
    }
    return this.region(index).then((r) => r.info);
  }

  /** The cached info and fd of region `index` (fetched on first use; a failed fetch is not cached). */
  region(index: number): Promise<CachedRegion> {
    let p = this.regions.get(index);
    if (p === undefined) {
      p = this.fetchRegion(index);
      this.regions.set(index, p);
      p.catch(() => this.regions.delete(index));
    }
    return p;
  }

  private async fetchRegion(index: number): Promise<CachedRegion> {
    const session = this.session;
    let argsz = REGION_INFO_SIZE;
    for (let attempt = 0; attempt < ARGSZ_ATTEMPTS; attempt++) {
      session.live();
      const reply = await session.conn.request(frameOf({ kind: "DeviceGetRegionInfoRequest", argsz, index }));
      const fds = [...reply.fds];
      try {
        const m = session.decode(reply, "DeviceGetRegionInfoReply");
        if (m.argsz > argsz) {
          // Truncated to the fixed part (no capabilities, no fd): ask again with room for everything.
          argsz = m.argsz;
          continue;
        }
        if (m.index !== index)
          throw this.session.protocol(`asked for region ${index}, got the info of region ${m.index}`, {
            command: Command.DEVICE_GET_REGION_INFO,
          });
        const info = toRegionInfo(m);
        const fd = info.mmappable ? fds.shift() : undefined;
        if (session.closed) {
          if (fd !== undefined) closeFds([fd]);
          throw session.closedError();
        }
        return { info, fd };
      } finally {
        closeFds(fds);
      }
    }
    throw this.session.protocol(`region ${index}: the server kept asking for a larger argsz`, {
      command: Command.DEVICE_GET_REGION_INFO,
    });
  }

  /** See {@link VfioUserClient.getRegionIoFds}. */
  async getRegionIoFds(index: number): Promise<RegionIoFds> {
    const session = this.session;
    session.live();
    u32(index, "region index");
    let argsz = 16 + 8 * 48;
    for (let attempt = 0; attempt < ARGSZ_ATTEMPTS; attempt++) {
      session.live();
      const reply = await session.conn.request(frameOf({ kind: "DeviceGetRegionIoFdsRequest", argsz, index }));
      const fds = [...reply.fds];
      let keep = false;
      try {
        const m = session.decode(reply, "DeviceGetRegionIoFdsReply");
        if (m.argsz > argsz) {
          argsz = m.argsz;
          continue;
        }
        for (const s of m.subRegions)
          if (s.fdIndex >= fds.length)
            throw this.session.protocol(`sub-region fd_index ${s.fdIndex} but ${fds.length} fd(s) came`, {
              command: Command.DEVICE_GET_REGION_IO_FDS,
            });
        keep = true;
        return { index: m.index, subRegions: m.subRegions, fds };
      } finally {
        if (!keep) closeFds(fds);
      }
    }
    throw this.session.protocol(`region ${index}: GET_REGION_IO_FDS kept asking for a larger argsz`);
  }

  /** Forgets every region and closes the region fds (after the fetches under way have settled). */
  async close(): Promise<void> {
    const regions = [...this.regions.values()];
    this.regions.clear();
    for (const p of regions) {
      try {
        const r = await p;
        if (r.fd !== undefined) closeFds([r.fd]);
      } catch {
        // failed lookups hold no fd
      }
    }
  }
}
