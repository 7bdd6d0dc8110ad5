import { isSysError, UnixServer, type UnixSocket } from "@emu/sys";
import type { DeviceContext } from "./context.js";
import type { DeviceModelSource } from "./device.js";
import { VfioUserServerError } from "./errors.js";
import { Admission } from "./internal/admission.js";
import { Connection } from "./internal/connection.js";
import { DeviceHost } from "./internal/device-host.js";
import { DEFAULT_MAX_DIRECT_BYTES } from "./internal/dma.js";
import type { ServerLimits } from "./internal/session.js";

export interface ServerOptions {
  /**
   * Where to listen. A socket file nobody listens on (left by a server that died) is replaced; a path where a server
   * listens, or that is not a socket (a file, a directory, a symlink), is refused (`VfioUserServerError`
   * "SocketPath") and left as it is.
   */
  readonly socketPath: string;
  readonly device: DeviceModelSource;
  /** Mode of the socket file. Default 0o600. */
  readonly mode?: number;
  /** Our max_data_xfer_size: the largest REGION_READ/WRITE `count` we accept. Default 1 MiB. */
  readonly maxDataXferSize?: number;
  /**
   * Most fds we accept in one message (SET_IRQS eventfds). Default 64 (1..253). The VERSION reply advertises at most
   * 16 whatever this is, because QEMU's client refuses a larger max_msg_fds; cloud-hypervisor sends up to 16 fds per
   * message whatever we advertise, so keep this at 16 or more to serve it.
   */
  readonly maxMsgFds?: number;
  /** Most DMA mappings at once (the client's max_dma_maps lowers it). Default 65535. */
  readonly maxDmaMaps?: number;
  /**
   * Most bytes of guest memory mapped with fds at once (each DMA_MAP with an fd is mmapped by the server); a DMA_MAP
   * past it is refused with ENOSPC. Default 4 TiB. The server also keeps its fd-backed mappings under half of
   * vm.max_map_count (a process at that limit cannot allocate at all).
   */
  readonly maxMappedGuestMemory?: bigint;
  /**
   * The layout of DMA_READ/DMA_WRITE, the messages that reach guest memory the client mapped without an fd:
   * - `"spec"`: the spec's and libvfio-user's (u64 `count`, data at payload offset 16, DMA_WRITE reply echoes address
   *   and count);
   * - `"qemu"`: QEMU's client's (u32 `count`, data at payload offset 12 followed by 4 padding bytes, DMA_WRITE
   *   answered with the bare header). The frames are the same size as the spec's, so the wrong choice corrupts guest
   *   memory silently (the data lands 4 bytes off) where it is not refused;
   * - `"auto"` (default): per client, QEMU's when its VERSION proposal looks like QEMU's — minor version 0 together
   *   with a `migration` object carrying `max_bitmap_size` (QEMU 10.x always sends it; libvfio-user proposes minor 2,
   *   cloud-hypervisor minor 1 without it; `write_multiple` alone proves nothing, our own client offers it) — else
   *   the spec's.
   *
   * Set it when a client is misjudged, e.g. `"spec"` for a client that proposes 0.0 with QEMU's migration keys.
   */
  readonly dmaMessageLayout?: "spec" | "qemu" | "auto";
  /**
   * How long a MIG_DATA_READ reply is:
   * - `"padded"` (default): 16 + 8 + the requested `size` bytes, zero-padded after the data the device returned, with
   *   the real count in `size` and `argsz` — what libvfio-user sends, and what its client requires (it takes a shorter
   *   reply for a broken connection);
   * - `"exact"`: 16 + 8 + the bytes returned, nothing after them, for a peer that insists on it.
   */
  readonly migDataReadReply?: "padded" | "exact";
  /**
   * How long a DMA_READ/DMA_WRITE we send waits for the client's reply, in ms. Past it the access fails with
   * `DmaError("Timeout")` (and every other one outstanding) and the connection is closed: a client that does not
   * answer cannot be trusted with the device. Default 5000, as QEMU's own reply timeout.
   */
  readonly dmaReplyTimeoutMs?: number;
  /**
   * Failures that cannot become an error reply (a device notification threw, a socket error, a malformed frame that
   * ended a connection), and DMA_MAP requests the server refused (`DmaMapError`: QEMU and cloud-hypervisor only log
   * or ignore the error reply, so nobody else learns that guest memory stays out of the device's reach). Default: a
   * process warning.
   */
  readonly onError?: (err: unknown) => void;
}

/** A device served over vfio-user on a UNIX socket, one client at a time. */
export interface VfioUserServer {
  readonly socketPath: string;
  /** The same context a device factory gets: interrupts, DMA, region memory, config space. */
  readonly context: DeviceContext;
  /** A client is connected (it may not have finished VERSION yet). */
  readonly connected: boolean;
  /** Clients served so far (a refused second client is not counted). */
  readonly clientCount: number;
  /** Resolves when the current client (if any) has gone and its resources are released. */
  disconnected(): Promise<void>;
  /** Closes the client, stops listening, unlinks the socket, releases region memory and eventfds. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_MAX_DATA_XFER = 1048576;
const DEFAULT_DMA_REPLY_TIMEOUT_MS = 5000;
/** setTimeout's largest delay. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** Frames up to this size are read whole even when over the negotiated limit (answered with EMSGSIZE); beyond it the connection is closed. */
const HARD_MAX_MESSAGE = 16 * 1048576;
/** DMA page sizes we accept: 4 KiB, 2 MiB, 1 GiB. */
const PGSIZES = 0x1000 | 0x200000 | 0x40000000;

class Server implements VfioUserServer {
  readonly socketPath: string;
  readonly host: DeviceHost;
  private readonly listener: UnixServer;
  private readonly limits: ServerLimits;
  private readonly report: (e: unknown) => void;
  private readonly admission: Admission;
  private current: Connection | undefined;
  private waiters: (() => void)[] = [];
  private closing: Promise<void> | undefined;
  clientCount = 0;

  constructor(options: ServerOptions) {
    this.socketPath = options.socketPath;
    this.report =
      options.onError ??
      ((e: unknown) => process.emitWarning(e instanceof Error ? e.message : String(e), "VfioUserServerWarning"));
    const maxData = options.maxDataXferSize ?? DEFAULT_MAX_DATA_XFER;
    const maxFds = options.maxMsgFds ?? 64;
    if (!Number.isInteger(maxData) || maxData < 4096 || maxData > HARD_MAX_MESSAGE / 2)
      throw new VfioUserServerError("InvalidDevice", `maxDataXferSize ${maxData} must be 4096..8 MiB`);
    if (!Number.isInteger(maxFds) || maxFds < 1 || maxFds > 253)
      throw new VfioUserServerError("InvalidDevice", `maxMsgFds ${maxFds} must be 1..253`);
    const dmaLayout = options.dmaMessageLayout ?? "auto";
    if (dmaLayout !== "auto" && dmaLayout !== "spec" && dmaLayout !== "qemu")
      throw new VfioUserServerError(
        "InvalidDevice",
        `dmaMessageLayout ${String(dmaLayout)} must be spec, qemu or auto`,
      );
    const migDataReadReply = options.migDataReadReply ?? "padded";
    if (migDataReadReply !== "padded" && migDataReadReply !== "exact")
      throw new VfioUserServerError(
        "InvalidDevice",
        `migDataReadReply ${String(migDataReadReply)} must be padded or exact`,
      );
    const maxMapped = options.maxMappedGuestMemory ?? DEFAULT_MAX_DIRECT_BYTES;
    if (typeof maxMapped !== "bigint" || maxMapped < 0n)
      throw new VfioUserServerError("InvalidDevice", `maxMappedGuestMemory ${String(maxMapped)} must be a bigint ≥ 0`);
    const dmaTimeout = options.dmaReplyTimeoutMs ?? DEFAULT_DMA_REPLY_TIMEOUT_MS;
    if (typeof dmaTimeout !== "number" || !(dmaTimeout > 0 && dmaTimeout <= MAX_TIMEOUT_MS))
      throw new VfioUserServerError("InvalidDevice", `dmaReplyTimeoutMs ${String(dmaTimeout)} must be 1..2^31-1 ms`);
    this.limits = {
      maxDataXferSize: maxData,
      maxMsgFds: maxFds,
      maxDmaMaps: options.maxDmaMaps ?? 65535,
      pgsizes: PGSIZES,
      hardMaxMessageSize: HARD_MAX_MESSAGE,
      dmaMessageLayout: dmaLayout,
      padMigDataRead: migDataReadReply === "padded",
      dmaReplyTimeoutMs: dmaTimeout,
    };
    this.host = new DeviceHost(options.device, this.report, { maxDataXferSize: maxData });
    this.host.dma.maxDirectBytes = maxMapped;
    this.admission = new Admission({
      busy: () => this.current !== undefined,
      serve: (sock) => this.serve(sock),
      report: this.report,
      path: options.socketPath,
    });
    try {
      this.listener = UnixServer.listen(options.socketPath, (sock) => this.admission.offer(sock), {
        mode: options.mode ?? 0o600,
        onError: (e) => this.report(e),
      });
    } catch (e) {
      this.host.close();
      throw socketPathError(options.socketPath, e);
    }
  }

  get context(): DeviceContext {
    return this.host.context;
  }

  get connected(): boolean {
    return this.current !== undefined;
  }

  /** The device is free: `sock` is its client now (see `Admission` for the others). */
  private serve(sock: UnixSocket): void {
    this.clientCount++;
    const c = new Connection(this.host, sock, this.limits, (gone) => this.closed(gone), this.report);
    this.current = c;
    c.start();
  }

  private closed(c: Connection): void {
    if (this.current === c) this.current = undefined;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
    if (this.closing === undefined) this.admission.freed();
  }

  disconnected(): Promise<void> {
    if (this.current === undefined) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.listener.close();
      this.admission.close();
      const c = this.current;
      if (c !== undefined) {
        const gone = this.disconnected();
        c.close();
        await gone;
      }
      this.host.close();
    })();
    return this.closing;
  }
}

/** The listener's refusal of `path` as a clear error: taken by a live server, or not a socket. Other errors pass. */
function socketPathError(path: string, e: unknown): unknown {
  if (!isSysError(e)) return e;
  if (e.code === "EADDRINUSE")
    return new VfioUserServerError("SocketPath", `${path}: another server is listening there`, { cause: e });
  if (e.code === "EEXIST")
    return new VfioUserServerError(
      "SocketPath",
      `${path} exists and is not a socket: it is left as it is (remove it, or choose another socketPath)`,
      { cause: e },
    );
  return e;
}

/**
 * Listens on `socketPath` (mode 0600) and serves `device` to one client at a time; a second client is refused with
 * EBUSY (see `Admission`). A client that goes away loses its DMA mappings and IRQ eventfds; the device state stays
 * for the next client.
 *
 * Throws `VfioUserServerError`: "InvalidDevice" for a device description it cannot serve, "SocketPath" when another
 * server listens on the path or the path is not a socket (left alone); other OS errors as `SysError`.
 */
export async function createServer(options: ServerOptions): Promise<VfioUserServer> {
  return new Server(options);
}
