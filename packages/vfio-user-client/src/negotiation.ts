import { closeFds, MAX_FDS_PER_MESSAGE } from "@emu/sys";
import {
  type EffectiveCapabilities,
  effectiveCapabilities,
  encodeMessage,
  type Frame,
  maxMessageSizeFor,
  type VersionCapabilities,
} from "@emu/vfio-user-proto";
import { invalid, isVfioUserClientError, VfioUserClientError } from "./errors.js";
import type { Connection } from "./internal/connection.js";
import { decodeReply } from "./internal/decode-reply.js";

/** The protocol version this client proposes. */
export const CLIENT_VERSION = { major: 0, minor: 2 } as const;

export interface VfioUserConnectOptions {
  /** Offer `twin_socket`: server → client commands then travel on a socket of their own. Default false. */
  readonly twinSocket?: boolean;
  /**
   * Our `max_data_xfer_size`: the largest `count` the server may put in a DMA_READ/DMA_WRITE to us, and (with the
   * server's) the largest piece of a region or migration-data transfer. Default 1 MiB.
   */
  readonly maxDataXferSize?: number;
  /** Our `max_msg_fds`: most fds we accept with one message. Default 16 (1 to 253). */
  readonly maxMsgFds?: number;
  /** Offer `write_multiple` (REGION_WRITE_MULTI). Default true. */
  readonly writeMultiple?: boolean;
  /** The version to propose. Default 0.2 ({@link CLIENT_VERSION}). */
  readonly version?: { readonly major: number; readonly minor: number };
  /** How long to retry connect() while the server's backlog is full. Default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /** How long to wait for the VERSION reply. Default 10 000 ms. */
  readonly negotiationTimeoutMs?: number;
}

/** What VERSION settled. */
export interface NegotiatedSession {
  readonly major: number;
  readonly minor: number;
  /** The server's capabilities as sent. */
  readonly serverCapabilities: VersionCapabilities;
  /** The server's capabilities with the spec's defaults for the absent ones. */
  readonly server: EffectiveCapabilities;
  /** The server's VERSION JSON text as received (null when it sent none). */
  readonly serverJson: string | null;
  /** What we offered. */
  readonly offered: VersionCapabilities;
  /** Server commands come on a socket of their own. */
  readonly twinSocket: boolean;
  /** REGION_WRITE_MULTI may be used. */
  readonly writeMultiple: boolean;
  /** Largest data piece we send in one REGION_WRITE / MIG_DATA_WRITE (and ask for in one read). */
  readonly maxTransfer: number;
}

/** Our side's limits, offered in VERSION. */
export interface OurLimits {
  /** Our `max_data_xfer_size`. */
  readonly maxXfer: number;
  /** Our `max_msg_fds`. */
  readonly maxFds: number;
}

/** Our limits from the options (with their defaults); an "InvalidArgument" error for a bad one. */
export function ourLimits(options: VfioUserConnectOptions): OurLimits {
  const maxXfer = options.maxDataXferSize ?? 1048576;
  const maxFds = options.maxMsgFds ?? 16;
  if (!Number.isSafeInteger(maxXfer) || maxXfer < 1 || maxXfer > 0xffffffff - 64)
    throw invalid(`maxDataXferSize ${String(maxXfer)} is not a positive 32-bit size`);
  if (!Number.isInteger(maxFds) || maxFds < 0 || maxFds > MAX_FDS_PER_MESSAGE)
    throw invalid(`maxMsgFds ${String(maxFds)} is not in 0..${MAX_FDS_PER_MESSAGE}`);
  return { maxXfer, maxFds };
}

/**
 * VERSION: proposes our version and capabilities and checks the server's answer. A twin socket the server passes is
 * handed to `conn`, which from then on takes frames up to our `max_data_xfer_size`. Rejects with a "Negotiation"
 * error when the answer is not acceptable (or does not come within the timeout).
 */
export async function negotiate(
  conn: Connection,
  limits: OurLimits,
  options: VfioUserConnectOptions,
): Promise<NegotiatedSession> {
  const version = options.version ?? CLIENT_VERSION;
  const offered: VersionCapabilities = {
    maxMsgFds: limits.maxFds,
    maxDataXferSize: limits.maxXfer,
    ...(options.twinSocket === true ? { twinSocket: { supported: true } } : {}),
    ...((options.writeMultiple ?? true) ? { writeMultiple: true } : {}),
  };
  const frame = encodeMessage(
    { kind: "VersionRequest", major: version.major, minor: version.minor, capabilities: offered },
    { msgId: 0 },
  );
  const reply = await versionReply(conn, frame, options.negotiationTimeoutMs ?? 10_000);
  const fds = [...reply.fds];
  try {
    const m = decodeReply(reply, "VersionReply");
    if (m.major !== version.major)
      throw new VfioUserClientError("Negotiation", `the server speaks major version ${m.major}, we ${version.major}`);
    if (m.minor > version.minor)
      throw new VfioUserClientError(
        "Negotiation",
        `the server answered minor version ${m.minor}, above the ${version.minor} we proposed`,
      );
    const caps = m.capabilities;
    const server = effectiveCapabilities(caps);
    if (server.writeMultiple && offered.writeMultiple !== true)
      throw new VfioUserClientError("Negotiation", "the server enabled write_multiple, which we did not offer");
    const twin = caps.twinSocket?.supported === true;
    if (twin) {
      if (offered.twinSocket === undefined)
        throw new VfioUserClientError("Negotiation", "the server enabled twin_socket, which we did not offer");
      adoptTwinSocket(conn, takeTwinFd(fds, caps.twinSocket?.fdIndex), limits.maxFds);
    }
    conn.maxMessageSize = maxMessageSizeFor(limits.maxXfer);
    return {
      major: m.major,
      minor: m.minor,
      serverCapabilities: caps,
      server,
      serverJson: m.jsonText ?? null,
      offered,
      twinSocket: twin,
      writeMultiple: server.writeMultiple && offered.writeMultiple === true,
      maxTransfer: Math.max(1, Math.min(server.maxDataXferSize, limits.maxXfer)),
    };
  } finally {
    closeFds(fds);
  }
}

/** Sends VERSION and waits for the reply; a refusal or no reply within `timeoutMs` is a "Negotiation" error. */
async function versionReply(conn: Connection, frame: Uint8Array, timeoutMs: number): Promise<Frame> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new VfioUserClientError("Negotiation", `no VERSION reply within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([conn.request(frame), timeout]);
  } catch (e) {
    if (isVfioUserClientError(e) && e.reason === "ErrorReply")
      throw new VfioUserClientError("Negotiation", `the server refused VERSION: ${e.code}`, {
        errno: e.errno ?? 0,
        cause: e,
      });
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Takes the twin socket's fd (`fdIndex` of the VERSION reply's `fds`) out of `fds` and adopts it as a socket. */
function takeTwinFd(fds: number[], fdIndex: number | undefined): number {
  const fd = fdIndex === undefined ? undefined : fds[fdIndex];
  if (fdIndex === undefined || fd === undefined)
    throw new VfioUserClientError(
      "Negotiation",
      `twin_socket fd_index ${String(fdIndex)} but the VERSION reply carried ${fds.length} fd(s)`,
    );
  fds.splice(fdIndex, 1);
  return fd;
}

/** Server commands arrive on the twin socket `fd` from now on too; an fd that is not a socket is closed. */
function adoptTwinSocket(conn: Connection, fd: number, maxRecvFds: number): void {
  try {
    conn.adoptTwin(fd, maxRecvFds);
  } catch (e) {
    closeFds([fd]);
    throw new VfioUserClientError("Negotiation", `the twin_socket fd is not a socket: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
