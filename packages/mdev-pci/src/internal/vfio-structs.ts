/**
 * The one place this package meets the VFIO structs vfio-user shares with the kernel. Layouts and capability-chain
 * walking are `@emu/vfio-user-proto`'s; this module only turns its decoded values into `@emu/vfio-device` terms.
 */
import {
  type DeviceInfo,
  type IrqInfo,
  irqSetFlags,
  type RegionInfo,
  type SetIrqsRequest,
  toDeviceInfo,
  toIrqInfo,
  toRegionInfo,
} from "@emu/vfio-device";
import {
  decodeDeviceInfo,
  decodeIrqInfo,
  decodeRegionInfo,
  encodeEventfdData,
  encodeIrqSet,
  IRQ_INFO_SIZE,
  IRQ_SET_SIZE,
  REGION_INFO_SIZE,
} from "@emu/vfio-user-proto";
import { LITTLE_ENDIAN } from "@emu/vfio-user-proto/wire";

export { IRQ_INFO_SIZE, REGION_INFO_SIZE };

/** The kernel's vfio_device_info is 20 bytes on 6.1 headers (cap_offset @16), 24 with the 2023 pad. */
export const DEVICE_INFO_ARGSZ = 24;

export function deviceInfoFromKernel(bytes: Uint8Array): DeviceInfo {
  return toDeviceInfo(decodeDeviceInfo(bytes));
}

export function regionInfoArgsz(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, LITTLE_ENDIAN);
}

export function regionInfoFromKernel(bytes: Uint8Array): RegionInfo {
  return toRegionInfo(decodeRegionInfo(bytes));
}

export function irqInfoFromKernel(bytes: Uint8Array): IrqInfo {
  return toIrqInfo(decodeIrqInfo(bytes));
}

/** A kernel vfio_irq_set: eventfds travel inline as s32s. */
export function irqSetForKernel(req: SetIrqsRequest): Uint8Array {
  let data: Uint8Array | undefined;
  let count = req.count;
  switch (req.data.kind) {
    case "none":
      break;
    case "bool":
      data = Uint8Array.from(req.data.values, (b) => (b ? 1 : 0));
      break;
    case "eventfd":
      // An empty list de-assigns all `count` vectors: the kernel wants one -1 per vector.
      data = encodeEventfdData(req.data.fds.length === 0 ? new Array<number>(count).fill(-1) : req.data.fds);
      if (req.data.fds.length > 0) count = req.data.fds.length;
      break;
  }
  return encodeIrqSet({
    argsz: IRQ_SET_SIZE + (data?.length ?? 0),
    flags: irqSetFlags(req),
    index: req.index,
    start: req.start,
    count,
    ...(data === undefined ? {} : { data }),
  });
}
