/**
 * The one place this package meets the VFIO structs vfio-user shares with the kernel. Layouts and capability-chain
 * walking are `@emu/vfio-user-proto`'s; this module only turns its decoded values into `@emu/vfio-device` terms.
 */
import type { DeviceInfo, IrqInfo, RegionInfo, SetIrqsRequest } from "@emu/vfio-device";
import {
  DeviceFlags,
  decodeDeviceInfo,
  decodeIrqInfo,
  decodeRegionInfo,
  encodeEventfdData,
  encodeIrqSet,
  IRQ_INFO_SIZE,
  IRQ_SET_SIZE,
  IrqInfoFlags,
  IrqSetFlags,
  REGION_INFO_SIZE,
  type RegionCapability,
  RegionInfoFlags,
} from "@emu/vfio-user-proto";

export { IRQ_INFO_SIZE, REGION_INFO_SIZE };

/** The kernel's vfio_device_info is 20 bytes on 6.1 headers (cap_offset @16), 24 with the 2023 pad. */
export const DEVICE_INFO_ARGSZ = 24;

export function deviceInfoFromKernel(bytes: Uint8Array): DeviceInfo {
  const d = decodeDeviceInfo(bytes);
  return {
    flags: d.flags,
    resettable: (d.flags & DeviceFlags.RESET) !== 0,
    pci: (d.flags & DeviceFlags.PCI) !== 0,
    numRegions: d.numRegions,
    numIrqs: d.numIrqs,
  };
}

/** The argsz the kernel asked for (it sets argsz > our buffer, cap_offset 0, when the chain does not fit). */
export function regionInfoArgsz(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
}

export function regionInfoFromKernel(bytes: Uint8Array): RegionInfo {
  const r = decodeRegionInfo(bytes);
  let sparseAreas: Array<{ offset: bigint; size: bigint }> | undefined;
  let type: { type: number; subtype: number } | undefined;
  let msixMappable = false;
  const otherCapabilities: Array<{ id: number; version: number; data: Uint8Array }> = [];
  for (const c of r.capabilities as readonly RegionCapability[]) {
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

export function irqInfoFromKernel(bytes: Uint8Array): IrqInfo {
  const i = decodeIrqInfo(bytes);
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

/** A kernel vfio_irq_set: eventfds travel inline as s32s. */
export function irqSetForKernel(req: SetIrqsRequest): Uint8Array {
  const action =
    req.action === "mask"
      ? IrqSetFlags.ACTION_MASK
      : req.action === "unmask"
        ? IrqSetFlags.ACTION_UNMASK
        : IrqSetFlags.ACTION_TRIGGER;
  let dataFlag: number;
  let data: Uint8Array | undefined;
  let count = req.count;
  switch (req.data.kind) {
    case "none":
      dataFlag = IrqSetFlags.DATA_NONE;
      break;
    case "bool":
      dataFlag = IrqSetFlags.DATA_BOOL;
      data = Uint8Array.from(req.data.values, (b) => (b ? 1 : 0));
      break;
    case "eventfd":
      dataFlag = IrqSetFlags.DATA_EVENTFD;
      // An empty list de-assigns all `count` vectors: the kernel wants one -1 per vector.
      data = encodeEventfdData(req.data.fds.length === 0 ? new Array<number>(count).fill(-1) : req.data.fds);
      if (req.data.fds.length > 0) count = req.data.fds.length;
      break;
  }
  return encodeIrqSet({
    argsz: IRQ_SET_SIZE + (data?.length ?? 0),
    flags: dataFlag | action,
    index: req.index,
    start: req.start,
    count,
    ...(data === undefined ? {} : { data }),
  });
}
