// Files offered for a region's mmap areas: a device model (or what stands on it, e.g. a data-path provider handing the
// client another device's doorbell page) names a file — an fd and the region's start in it — whose pages the client
// maps instead of the region's own memfd. The server keeps its own dup and mapping of it. An offer takes effect when a
// client connects (what a client mapped cannot move under it): from then on that client is sent the file with
// DEVICE_GET_REGION_INFO, and `regionMemory` / `regionMemfd` / REGION_READ/WRITE of the areas are that file — the
// memory the client really writes — until the next client connects.
import { closeFd, closeFds, dupFd, fileSize, type Mapping, mmap, pageSize } from "@emu/sys";
import type { RegionFileOffer } from "../context.js";
import { VfioUserServerError } from "../errors.js";
import type { OfferedFile, RegionSlot } from "./regions.js";

function refuse(message: string): never {
  throw new VfioUserServerError("InvalidFile", message);
}

function release(f: OfferedFile | undefined): void {
  if (f === undefined) return;
  f.mapping.unmap();
  closeFds([f.fd]);
}

/**
 * Offers `offer` (or withdraws the offer: undefined) for `slot`'s mmap areas, for the next client. Refused
 * (InvalidArgument) for a region without shared memory, a bad fd or offset, or a file shorter than the region.
 */
export function offerRegionFile(slot: RegionSlot, offer: RegionFileOffer | undefined): void {
  if (slot.own.memory === undefined) refuse(`region ${slot.index} has no shared memory to offer a file for`);
  let next: OfferedFile | undefined;
  if (offer !== undefined) {
    const { fd, offset } = offer;
    if (!Number.isSafeInteger(fd) || fd < 0) refuse(`bad fd ${String(fd)}`);
    if (typeof offset !== "bigint" || offset < 0n || offset % BigInt(pageSize) !== 0n)
      refuse(`file offset ${String(offset)} is not a page-aligned offset`);
    const length = Math.ceil(slot.size / pageSize) * pageSize;
    const dup = dupFd(fd);
    let mapping: Mapping;
    try {
      const size = fileSize(dup);
      // A device fd (kernel VFIO) reports size 0: the mmap itself says whether the range exists.
      if (size !== 0n && size < offset + BigInt(length))
        refuse(`the file holds ${size} bytes, the region needs ${length} from ${offset}`);
      mapping = mmap(dup, offset, length, "rw");
    } catch (e) {
      closeFd(dup);
      throw e instanceof VfioUserServerError ? e : new VfioUserServerError("InvalidFile", String(e), { cause: e });
    }
    next = { offer, fd: dup, mapping, memory: new Uint8Array(mapping.buffer, 0, slot.size) };
  }
  const old = slot.files.offered;
  slot.files.offered = next;
  if (old !== slot.files.active) release(old);
}

/** A client connected: it maps what is offered now (the previous client's file is released if nothing else holds it). */
export function activateRegionFile(slot: RegionSlot): void {
  const { offered, active } = slot.files;
  if (offered === active) return;
  if (active !== undefined && active !== offered) release(active);
  slot.files.active = offered;
  slot.memfd = offered?.fd ?? slot.own.memfd;
  slot.mapping = offered?.mapping ?? slot.own.mapping;
  slot.memory = offered?.memory ?? slot.own.memory;
  slot.fileOffset = offered?.offer.offset ?? 0n;
}

/** The server closes: every offered file released, the slot back on its own memory (released by the caller). */
export function releaseOffered(slot: RegionSlot): void {
  const { offered, active } = slot.files;
  release(active);
  if (offered !== active) release(offered);
  slot.files.offered = undefined;
  slot.files.active = undefined;
  slot.memfd = slot.own.memfd;
  slot.mapping = slot.own.mapping;
  slot.memory = slot.own.memory;
  slot.fileOffset = 0n;
}
