// The stand-in kernel's ioctls on a device file descriptor (group-obtained or cdev): the iommufd bind/attach a cdev
// needs first, device/region/IRQ info, SET_IRQS (eventfds, masking, software triggers) and reset.
import {
  decodeEventfdData,
  decodeIrqSet,
  encodeDeviceInfo,
  encodeIrqInfo,
  encodeRegionInfo,
  IrqSetFlags,
  type RegionCapability,
  RegionInfoFlags,
  regionInfoSize,
} from "@emu/vfio-user-proto";
import { decodeKernelStruct as k, type VfioIoctls } from "../internal/vfio-uapi.js";
import { fail, type LiveDevice, type OpenFile, type StandInEventFd } from "./stand-in-files.js";

type DeviceFile = Extract<OpenFile, { kind: "device" }>;

/** One ioctl on device file `f`; `fds` is the kernel's open-file table (iommufds and eventfds are looked up there). */
export function deviceIoctl(
  io: VfioIoctls,
  fds: ReadonlyMap<number, OpenFile>,
  f: DeviceFile,
  request: number,
  arg: Uint8Array | number | bigint | undefined,
): number {
  const d = f.device;
  const b = arg instanceof Uint8Array ? arg : undefined;
  if (f.cdev) {
    const handled = cdevIommufdIoctl(io, fds, f, request, b);
    if (handled !== undefined) return handled;
  }
  switch (request) {
    case io.DEVICE_GET_INFO:
      return getDeviceInfo(d, b);
    case io.DEVICE_GET_REGION_INFO:
      return getRegionInfo(d, b);
    case io.DEVICE_GET_IRQ_INFO:
      return getIrqInfo(d, b);
    case io.DEVICE_SET_IRQS:
      return setIrqs(fds, d, b ?? fail("EFAULT", "SET_IRQS needs a buffer"));
    case io.DEVICE_RESET:
      return reset(d);
  }
  return fail("ENOTTY", `device ioctl 0x${request.toString(16)}`);
}

/** A cdev's BIND_IOMMUFD and ATTACH_IOMMUFD_PT; undefined for any other request, which needs the cdev bound. */
function cdevIommufdIoctl(
  io: VfioIoctls,
  fds: ReadonlyMap<number, OpenFile>,
  f: DeviceFile,
  request: number,
  b: Uint8Array | undefined,
): number | undefined {
  if (request === io.DEVICE_BIND_IOMMUFD) {
    if (!b || b.length < 16) return fail("EFAULT", "bind");
    const ifd = fds.get(k.s32(b, 8));
    if (ifd?.kind !== "iommufd") return fail("EBADF", "not an iommufd");
    if (f.bound) return fail("EINVAL", "already bound");
    f.bound = true;
    k.setU32(b, 12, 1);
    return 0;
  }
  if (request === io.DEVICE_ATTACH_IOMMUFD_PT) {
    if (!f.bound) return fail("EINVAL", "attach before bind");
    f.attached = true;
    return 0;
  }
  if (!f.bound) return fail("EINVAL", "a cdev must be bound to an iommufd first");
  return undefined;
}

function getDeviceInfo(d: LiveDevice, b: Uint8Array | undefined): number {
  if (!b || b.length < 16 || k.u32(b, 0) < 16) return fail("EINVAL", "argsz < 16");
  b.set(
    encodeDeviceInfo({
      argsz: k.u32(b, 0),
      flags: d.spec.flags,
      numRegions: d.spec.numRegions,
      numIrqs: d.spec.numIrqs,
    }),
  );
  if (b.length >= 20) k.setU32(b, 16, 0);
  return 0;
}

function getRegionInfo(d: LiveDevice, b: Uint8Array | undefined): number {
  if (!b || b.length < 32 || k.u32(b, 0) < 32) return fail("EINVAL", "argsz < 32");
  const argsz = Math.min(k.u32(b, 0), b.length);
  const index = k.u32(b, 8);
  const r = d.regions.get(index)?.spec;
  if (!r && index >= d.spec.numRegions) return fail("EINVAL", `region ${index}`);
  const caps: RegionCapability[] = [];
  if (r?.sparseAreas) caps.push({ kind: "SparseMmap", areas: r.sparseAreas });
  if (r?.type) caps.push({ kind: "Type", type: r.type.type, subtype: r.type.subtype });
  if (r?.msixMappable) caps.push({ kind: "MsixMappable" });
  const flags = (r?.flags ?? 0) | (caps.length > 0 ? RegionInfoFlags.CAPS : 0);
  const size = r?.size ?? 0n;
  const offset = r?.offset ?? 0n;
  const needed = regionInfoSize(caps);
  if (argsz < needed) {
    // Too small for the chain: say how much is needed, with no cap_offset. Not an error.
    b.set(encodeRegionInfo({ argsz: needed, flags, index, size, offset, capabilities: [] }));
    return 0;
  }
  b.set(encodeRegionInfo({ argsz, flags, index, size, offset, capabilities: caps }));
  return 0;
}

function getIrqInfo(d: LiveDevice, b: Uint8Array | undefined): number {
  if (!b || b.length < 16 || k.u32(b, 0) < 16) return fail("EINVAL", "argsz < 16");
  const index = k.u32(b, 8);
  if (index >= d.spec.numIrqs) return fail("EINVAL", `IRQ index ${index}`);
  const irq = d.spec.irqs.find((i) => i.index === index);
  b.set(encodeIrqInfo({ argsz: k.u32(b, 0), flags: irq?.flags ?? 0, index, count: irq?.count ?? 0 }));
  return 0;
}

function reset(d: LiveDevice): number {
  d.resets++;
  // Registers with an initial image (config space) come back; memory such as VRAM or an aperture keeps its bytes.
  for (const r of d.regions.values()) {
    if (!r.spec.initial) continue;
    r.memory.fill(0);
    r.memory.set(r.spec.initial.subarray(0, r.memory.length));
  }
  return 0;
}

function setIrqs(fds: ReadonlyMap<number, OpenFile>, d: LiveDevice, b: Uint8Array): number {
  let set: ReturnType<typeof decodeIrqSet>;
  try {
    set = decodeIrqSet(b);
  } catch {
    return fail("EINVAL", "malformed vfio_irq_set");
  }
  if (set.index >= d.spec.numIrqs) return fail("EINVAL", `IRQ index ${set.index}`);
  const irq = d.spec.irqs.find((i) => i.index === set.index);
  const total = irq?.count ?? 0;
  const dataType = set.flags & IrqSetFlags.DATA_TYPE_MASK;
  const action = set.flags & IrqSetFlags.ACTION_TYPE_MASK;
  if (action === IrqSetFlags.ACTION_TRIGGER && dataType === IrqSetFlags.DATA_NONE && set.count === 0) {
    d.triggers.delete(set.index);
    d.masked.delete(set.index);
    return 0;
  }
  if (set.start + set.count > total) return fail("EINVAL", `vectors ${set.start}+${set.count} of ${total}`);
  if (action === IrqSetFlags.ACTION_TRIGGER && dataType === IrqSetFlags.DATA_EVENTFD) {
    const eventfds = decodeEventfdData(set.data ?? new Uint8Array(0));
    const map = d.triggers.get(set.index) ?? new Map<number, StandInEventFd>();
    eventfds.forEach((fd, i) => {
      if (fd === -1) {
        map.delete(set.start + i);
        return;
      }
      const e = fds.get(fd);
      if (e?.kind !== "eventfd") fail("EBADF", `fd ${fd} is not an eventfd`);
      map.set(set.start + i, (e as Extract<OpenFile, { kind: "eventfd" }>).event);
    });
    d.triggers.set(set.index, map);
    return 0;
  }
  if (action === IrqSetFlags.ACTION_MASK || action === IrqSetFlags.ACTION_UNMASK) {
    if (irq && (irq.flags & 2) === 0) return fail("EINVAL", "IRQ is not maskable");
    const masked = d.masked.get(set.index) ?? new Set<number>();
    for (let v = set.start; v < set.start + set.count; v++) {
      if (action === IrqSetFlags.ACTION_MASK) masked.add(v);
      else masked.delete(v);
    }
    d.masked.set(set.index, masked);
    return 0;
  }
  if (action === IrqSetFlags.ACTION_TRIGGER) {
    for (let v = set.start; v < set.start + set.count; v++) d.triggers.get(set.index)?.get(v)?.signal();
    return 0;
  }
  return fail("EINVAL", "unsupported SET_IRQS");
}
