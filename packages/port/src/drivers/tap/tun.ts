// The Linux TUN/TAP interface through /dev/net/tun, with @emu/sys's general ioctl: a TAP device (Ethernet frames, no
// packet-information prefix) with one fd per queue (IFF_MULTI_QUEUE), optionally with a virtio-net header before
// each frame (IFF_VNET_HDR) and checksum offload (TUNSETOFFLOAD TUN_F_CSUM: the kernel then leaves L4 checksums to
// us, and takes ours unfinished), and the interface flags (IFF_UP) and hardware address as `ip link` sees them. struct ifreq is 40 bytes: the name (16), then a union (flags: a short; hwaddr: a
// sockaddr whose data starts 2 bytes in).
import { closeSync, constants, openSync } from "node:fs";
import { ioctl, UnixSocket } from "@emu/sys";
import { VNET_HDR } from "./vnet-header.js";

const TUNSETIFF = 0x400454ca; // _IOW('T', 202, int)
const TUNSETOFFLOAD = 0x400454d0; // _IOW('T', 208, unsigned int), the flags by value
const TUNSETVNETHDRSZ = 0x400454d8; // _IOW('T', 216, int), by pointer
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;
const TUN_F_TSO6 = 0x04;
const IFF_VNET_HDR = 0x4000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const SIOCGIFHWADDR = 0x8927;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_MULTI_QUEUE = 0x0100;
const IFF_UP = 0x1;
const IFREQ_SIZE = 40;
/** IFNAMSIZ - 1 */
export const MAX_IFNAME = 15;

function ifreq(name: string): Uint8Array {
  const r = new Uint8Array(IFREQ_SIZE);
  r.set(new TextEncoder().encode(name));
  return r;
}

/**
 * Opens one queue of TAP interface `name` (made if it does not exist): a non-blocking fd. Returns it. With `offload`,
 * every frame read or written is preceded by a virtio-net header (all queues of an interface must agree) and the
 * interface offers the kernel checksum offload, and with `tso` TCP segmentation too (the kernel then sends TCP
 * packets of up to 64 KiB for the port to cut).
 */
export function openTapQueue(name: string, offload = false, tso = false): number {
  const fd = openSync("/dev/net/tun", constants.O_RDWR | constants.O_NONBLOCK);
  try {
    const r = ifreq(name);
    new DataView(r.buffer).setUint16(16, IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE | (offload ? IFF_VNET_HDR : 0), true);
    ioctl(fd, TUNSETIFF, r);
    if (offload) {
      // The header's size is the interface's (a persistent TAP may keep another one, e.g. 12 from a VMM): ours is 10.
      const size = new Uint8Array(4);
      new DataView(size.buffer).setInt32(0, VNET_HDR, true);
      ioctl(fd, TUNSETVNETHDRSZ, size);
      ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | (tso ? TUN_F_TSO4 | TUN_F_TSO6 : 0));
    }
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** Interface ioctls need a socket of any family: an AF_UNIX pair, closed after. */
function withSocket<T>(f: (fd: number) => T): T {
  const [a, b] = UnixSocket.pair();
  try {
    return f(a.fd);
  } finally {
    a.close();
    b.close();
  }
}

/** Sets or clears IFF_UP on interface `name` (`ip link set <name> up|down`). */
export function setInterfaceUp(name: string, up: boolean): void {
  withSocket((s) => {
    const r = ifreq(name);
    ioctl(s, SIOCGIFFLAGS, r);
    const v = new DataView(r.buffer);
    const flags = v.getUint16(16, true);
    v.setUint16(16, up ? flags | IFF_UP : flags & ~IFF_UP, true);
    ioctl(s, SIOCSIFFLAGS, r);
  });
}

/** The interface's own (kernel-side) MAC address. */
export function interfaceMac(name: string): Uint8Array {
  return withSocket((s) => {
    const r = ifreq(name);
    ioctl(s, SIOCGIFHWADDR, r);
    return r.slice(18, 24);
  });
}
