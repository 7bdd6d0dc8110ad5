/**
 * From VFIO's structs (decoded by @emu/vfio-user-proto, whether they came from the kernel's ioctls or from vfio-user
 * messages) to the terms of this interface, and back for SET_IRQS: the one place both implementations share.
 */
import {
  DeviceFlags,
  IrqInfoFlags,
  IrqSetFlags,
  RegionInfoFlags,
  type DeviceInfo as WireDeviceInfo,
  type IrqInfo as WireIrqInfo,
  type RegionInfo as WireRegionInfo,
} from "@emu/vfio-user-proto";
import type { DeviceInfo, IrqInfo, SetIrqsRequest } from "./device.js";
import type { RawRegionCapability, RegionInfo, SparseArea } from "./region.js";

export function toDeviceInfo(d: WireDeviceInfo): DeviceInfo {
  return {
    flags: d.flags,
    resettable: (d.flags & DeviceFlags.RESET) !== 0,
    pci: (d.flags & DeviceFlags.PCI) !== 0,
    numRegions: d.numRegions,
    numIrqs: d.numIrqs,
  };
}

/**
 * A region's info with its capability chain read out: the first sparse-mmap and type capabilities win (a chain
 * carries each once), MSI-X mappable is a flag, anything else is kept raw (copied, so it outlives the frame).
 */
export function toRegionInfo(r: WireRegionInfo): RegionInfo {
  let sparseAreas: SparseArea[] | undefined;
  let type: { type: number; subtype: number } | undefined;
  let msixMappable = false;
  const otherCapabilities: RawRegionCapability[] = [];
  for (const c of r.capabilities) {
    switch (c.kind) {
      case "SparseMmap":
        sparseAreas ??= c.areas.map((a) => ({ offset: a.offset, size: a.size }));
        break;
      case "Type":
        type ??= { type: c.type, subtype: c.subtype };
        break;
      case "MsixMappable":
        msixMappable = true;
        break;
      case "Unknown":
        otherCapabilities.push({ id: c.id, version: c.version, data: c.data.slice() });
        break;
    }
  }
  return {
    index: r.index,
    flags: r.flags,
    readable: (r.flags & RegionInfoFlags.READ) !== 0,
    writable: (r.flags & RegionInfoFlags.WRITE) !== 0,
    mmappable: (r.flags & RegionInfoFlags.MMAP) !== 0,
    size: r.size,
    offset: r.offset,
    ...(sparseAreas === undefined ? {} : { sparseAreas }),
    ...(type === undefined ? {} : { type }),
    msixMappable,
    otherCapabilities,
  };
}

export function toIrqInfo(i: WireIrqInfo): IrqInfo {
  return {
    index: i.index,
    flags: i.flags,
    count: i.count,
    eventfd: (i.flags & IrqInfoFlags.EVENTFD) !== 0,
    maskable: (i.flags & IrqInfoFlags.MASKABLE) !== 0,
    automasked: (i.flags & IrqInfoFlags.AUTOMASKED) !== 0,
    noresize: (i.flags & IrqInfoFlags.NORESIZE) !== 0,
  };
}

/** The VFIO_IRQ_SET_* flag word of a request: one ACTION_* bit and one DATA_* bit. */
export function irqSetFlags(req: SetIrqsRequest): number {
  const action =
    req.action === "mask"
      ? IrqSetFlags.ACTION_MASK
      : req.action === "unmask"
        ? IrqSetFlags.ACTION_UNMASK
        : IrqSetFlags.ACTION_TRIGGER;
  const data =
    req.data.kind === "none"
      ? IrqSetFlags.DATA_NONE
      : req.data.kind === "bool"
        ? IrqSetFlags.DATA_BOOL
        : IrqSetFlags.DATA_EVENTFD;
  return action | data;
}
