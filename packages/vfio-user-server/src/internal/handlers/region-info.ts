import {
  type DeviceGetRegionInfoRequest,
  type DeviceGetRegionIoFdsRequest,
  type Header,
  IoeventfdFlags,
  IoFdType,
  type Message,
  type RegionCapability,
  RegionInfoFlags,
  regionInfoSize,
  regionIoFdsSize,
  SubRegionLayout,
} from "@emu/vfio-user-proto";
import { refuse } from "../../errno.js";
import { type RegionSlot, regionFlags } from "../regions.js";
import type { Session } from "../session.js";

/** DEVICE_GET_REGION_INFO and DEVICE_GET_REGION_IO_FDS: what a region is, and the fds that come with it. */

function slotOf(s: Session, index: number): RegionSlot {
  const slot = s.host.slot(index);
  if (slot === undefined) throw refuse("BadIndex", `region ${index}`);
  return slot;
}

/** The capabilities of a region's info: sparse mmap areas, the device-specific type. */
function capabilitiesOf(slot: RegionSlot, flags: number): RegionCapability[] {
  const caps: RegionCapability[] = [];
  if ((flags & RegionInfoFlags.MMAP) !== 0 && !slot.mmapWhole) {
    caps.push({
      kind: "SparseMmap",
      areas: slot.mmapAreas.map((a) => ({ offset: BigInt(a.offset), size: BigInt(a.size) })),
    });
  }
  if (slot.type !== undefined) caps.push({ kind: "Type", type: slot.type.type, subtype: slot.type.subtype });
  return caps;
}

export function regionInfo(s: Session, h: Header, msg: DeviceGetRegionInfoRequest): void {
  const slot = slotOf(s, msg.index);
  const canSendFds = s.negotiated.clientMaxFds >= 1;
  let flags = regionFlags(slot, canSendFds);
  const caps = capabilitiesOf(slot, flags);
  const argsz = regionInfoSize(caps);
  const complete = msg.argsz >= argsz;
  if (complete && caps.length > 0) flags |= RegionInfoFlags.CAPS;
  const reply: Message = {
    kind: "DeviceGetRegionInfoReply",
    argsz,
    flags,
    index: msg.index,
    size: BigInt(slot.size),
    // Where the region starts in the fd sent with it: 0 in the server's own memfd, the offer's offset in a file offered.
    offset: slot.fileOffset,
    capabilities: complete ? caps : [],
  };
  // The fd travels only with a complete reply (as libvfio-user does); a client retries with the argsz it got.
  if (complete && (flags & RegionInfoFlags.MMAP) !== 0 && slot.memfd !== undefined) s.send(h, reply, [slot.memfd]);
  else s.send(h, reply);
}

export function regionIoFds(s: Session, h: Header, msg: DeviceGetRegionIoFdsRequest): void {
  // The spec: flags and count "must be 0" in the request; libvfio-user refuses anything else with EINVAL too.
  if (msg.flags !== undefined || msg.count !== undefined)
    throw refuse("Malformed", `GET_REGION_IO_FDS flags ${msg.flags ?? 0} count ${msg.count ?? 0} (both must be 0)`);
  const slot = slotOf(s, msg.index);
  // Never more fds than the client accepts in one message.
  const list = slot.ioEventFds.slice(0, Math.max(0, s.negotiated.clientMaxFds));
  const argsz = regionIoFdsSize(list.length, SubRegionLayout.SPEC);
  const complete = msg.argsz >= argsz;
  s.send(
    h,
    {
      kind: "DeviceGetRegionIoFdsReply",
      argsz,
      flags: 0,
      index: msg.index,
      count: list.length,
      entrySize: SubRegionLayout.SPEC,
      subRegions: complete
        ? list.map((io, i) => ({
            offset: BigInt(io.desc.offset),
            size: BigInt(io.desc.size),
            fdIndex: i,
            type: IoFdType.IOEVENTFD,
            flags: io.desc.datamatch !== undefined ? IoeventfdFlags.DATAMATCH : 0,
            datamatch: io.desc.datamatch ?? 0n,
          }))
        : [],
    },
    complete ? list.map((io) => io.efd.fd) : undefined,
  );
}
