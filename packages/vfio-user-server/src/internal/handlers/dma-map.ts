import { closeFds } from "@emu/sys";
import {
  DMA_UNMAP_SIZE,
  type DmaMapRequest,
  DmaUnmapFlags,
  type DmaUnmapRequest,
  type Header,
} from "@emu/vfio-user-proto";
import { isReplyError, refuse } from "../../errno.js";
import { DmaMapError } from "../../errors.js";
import type { Session } from "../session.js";

/** DMA_MAP and DMA_UNMAP: the client's guest memory entering and leaving the DMA table. */

/** DMA_MAP. Takes the fds (at most one: the memory's file; closed in every case). */
export function dmaMap(s: Session, h: Header, msg: DmaMapRequest, fds: readonly number[]): void {
  if (fds.length > 1) {
    closeFds(fds);
    const e = refuse("Malformed", "DMA_MAP with more than one fd");
    reportMapRefused(s, msg.address, msg.size, true, e);
    throw e;
  }
  try {
    s.host.dma.add(msg.flags, msg.offset, msg.address, msg.size, fds[0]);
  } catch (e) {
    reportMapRefused(s, msg.address, msg.size, fds.length > 0, e);
    throw e;
  }
  s.send(h, { kind: "DmaMapReply" });
}

export function dmaUnmap(s: Session, h: Header, msg: DmaUnmapRequest): void {
  if ((msg.flags & DmaUnmapFlags.GET_DIRTY_BITMAP) !== 0)
    throw refuse("NotSupported", "DMA_UNMAP GET_DIRTY_BITMAP (migration v1) is not supported: use DMA logging");
  if ((msg.flags & ~DmaUnmapFlags.ALL) !== 0) throw refuse("Malformed", `DMA_UNMAP flags 0x${msg.flags.toString(16)}`);
  if ((msg.flags & DmaUnmapFlags.ALL) !== 0) {
    if (msg.address !== 0n || msg.size !== 0n) throw refuse("Malformed", "DMA_UNMAP ALL needs address and size 0");
    s.host.dma.removeAll();
  } else s.host.dma.remove(msg.address, msg.size);
  s.send(h, {
    kind: "DmaUnmapReply",
    argsz: DMA_UNMAP_SIZE,
    flags: msg.flags,
    address: msg.address,
    size: msg.size,
  });
}

/** A refused DMA_MAP: its error reply follows, and `onError` learns of it (QEMU and cloud-hypervisor only log it). */
function reportMapRefused(s: Session, iova: bigint, size: bigint, withFd: boolean, e: unknown): void {
  if (!isReplyError(e)) return; // anything else is reported with its error reply
  const range = `0x${iova.toString(16)}+0x${size.toString(16)}`;
  s.report(new DmaMapError(iova, size, e.errno, withFd, `DMA_MAP ${range} refused (errno ${e.errno}): ${e.message}`));
}
