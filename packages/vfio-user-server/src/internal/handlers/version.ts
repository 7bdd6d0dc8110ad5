import {
  type EffectiveCapabilities,
  effectiveCapabilities,
  type Header,
  type Message,
  type VersionCapabilities,
  type VersionRequest,
} from "@emu/vfio-user-proto";
import { errnoOfFailure, refuse } from "../../errno.js";
import type { DmaCommands } from "../dma-commands.js";
import type { Session } from "../session.js";

/** VERSION: the client's capabilities against ours; the twin socket; the DMA table's limits. */

/** The protocol version we speak: 0.2 (as libvfio-user). */
const VERSION_MAJOR = 0;
const VERSION_MINOR = 2;
/** The most fds a VERSION reply may advertise before QEMU's client rejects it (VFIO_USER_MAX_MAX_FDS). */
const ADVERTISED_MAX_MSG_FDS = 16;

type Capabilities = { -readonly [K in keyof VersionCapabilities]: VersionCapabilities[K] };

/**
 * Does a VERSION proposal look like QEMU's client? QEMU 10.x proposes 0.0 with `migration: { pgsize,
 * max_bitmap_size }`, `max_msg_fds`, `max_data_xfer_size`, `pgsizes`, `max_dma_maps` and `write_multiple: true`
 * (hw/vfio-user/proxy.c); libvfio-user proposes 0.2 and cloud-hypervisor 0.1 with `migration: { pgsize }` only.
 */
function looksLikeQemu(msg: VersionRequest): boolean {
  // `write_multiple` alone is not a sign: other clients (ours among them) offer it at 0.0 and use the spec's layout.
  return msg.minor === 0 && msg.capabilities.migration?.maxBitmapSize !== undefined;
}

export function version(s: Session, dma: DmaCommands, h: Header, msg: VersionRequest): void {
  if (s.negotiated.done) throw refuse("Malformed", "VERSION was already negotiated");
  if (msg.major !== VERSION_MAJOR) {
    // The spec: a server that cannot support the proposed major closes the connection.
    s.send(h, { kind: "ErrorReply", command: h.command, errno: errnoOfFailure(refuse("NotSupported", "")) });
    s.end();
    return;
  }
  const c = effectiveCapabilities(msg.capabilities);
  const limits = s.limits;
  s.negotiated.clientMaxFds = c.maxMsgFds;
  // DMA messages fit both limits: QEMU refuses a DMA_READ above the max_data_xfer_size of our reply (E2BIG) and
  // skips a DMA_WRITE above it without reading its body (its stream desyncs), whatever it proposed itself.
  dma.maxDataXferSize = Math.max(1, Math.min(c.maxDataXferSize, limits.maxDataXferSize));
  const mode = limits.dmaMessageLayout;
  dma.layout = mode === "auto" ? (looksLikeQemu(msg) ? "qemu" : "spec") : mode;
  const both = c.pgsizes & limits.pgsizes;
  const pgsizes = both === 0 ? 4096 : both;
  const caps = replyCapabilities(s, msg.capabilities, c, pgsizes);
  const twin = c.twinSocket && c.maxMsgFds >= 1 ? dma.openTwin(limits.hardMaxMessageSize, limits.maxMsgFds) : undefined;
  if (twin !== undefined) caps.twinSocket = { supported: true, fdIndex: 0 };
  const table = s.host.dma;
  table.maxMaps = Math.min(c.maxDmaMaps, limits.maxDmaMaps);
  table.pageSize = BigInt(pgsizes & -pgsizes);
  s.negotiated.done = true;
  const reply: Message = {
    kind: "VersionReply",
    major: VERSION_MAJOR,
    minor: Math.min(msg.minor, VERSION_MINOR),
    capabilities: caps,
  };
  if (twin !== undefined) {
    s.send(h, reply, [twin.fd]);
    twin.close(); // send() dup'd it
  } else s.send(h, reply);
  table.transport = dma;
  s.host.attach();
}

/** Our capabilities: the two limits always, the others only when the client proposed them (a subset). */
function replyCapabilities(
  s: Session,
  offered: VersionCapabilities,
  c: EffectiveCapabilities,
  pgsizes: number,
): Capabilities {
  const limits = s.limits;
  const caps: Capabilities = {
    // QEMU refuses a VERSION reply whose max_msg_fds exceeds 16 (VFIO_USER_MAX_MAX_FDS): advertise at most that,
    // and keep accepting up to our own limit (cloud-hypervisor sends 16 fds whatever we advertise).
    maxMsgFds: Math.min(limits.maxMsgFds, ADVERTISED_MAX_MSG_FDS),
    maxDataXferSize: limits.maxDataXferSize,
  };
  if (offered.maxDmaMaps !== undefined) caps.maxDmaMaps = Math.min(c.maxDmaMaps, limits.maxDmaMaps);
  if (offered.pgsizes !== undefined) caps.pgsizes = pgsizes;
  if (offered.writeMultiple === true) {
    caps.writeMultiple = true;
    s.negotiated.writeMultiple = true;
  }
  return caps;
}
