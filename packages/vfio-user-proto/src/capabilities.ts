import { ProtoError } from "./errors.js";

/**
 * The `capabilities` object of the VERSION JSON (`{"capabilities": {...}}`), as sent: a field is present only if the
 * peer sent it. Use {@link effectiveCapabilities} for the values with the spec's defaults applied.
 */
export interface VersionCapabilities {
  /** `max_msg_fds`: most fds the sender of this JSON accepts in one message (default 1). */
  readonly maxMsgFds?: number;
  /** `max_data_xfer_size`: largest `count` of REGION/DMA READ/WRITE sent to the sender (default 1 MiB). */
  readonly maxDataXferSize?: number;
  /** `max_dma_maps`: DMA mappings valid at once (default 65535). libvfio-user neither sends nor reads it. */
  readonly maxDmaMaps?: number;
  /** `pgsizes`: bitmask of page sizes usable in DMA_MAP (default 4096). */
  readonly pgsizes?: number;
  /** `migration`: legacy (dropped from the spec in 2023), still sent by libvfio-user when migration is enabled. */
  readonly migration?: MigrationCapability;
  /** `twin_socket`: server→client commands on a second socket passed with the VERSION reply. */
  readonly twinSocket?: TwinSocketCapability;
  /** `write_multiple`: REGION_WRITE_MULTI accepted (default false). */
  readonly writeMultiple?: boolean;
  /** Capability keys this package does not know, with their JSON values, kept as received. */
  readonly unknown?: Readonly<Record<string, unknown>>;
}

/** Legacy `migration` capability: `{ "pgsize": n, "max_bitmap_size": n }`. */
export interface MigrationCapability {
  readonly pgsize?: number;
  readonly maxBitmapSize?: number;
}

/** `twin_socket`: `{ "supported": bool, "fd_index": n }` (`fd_index` only in a reply: index into its fds). */
export interface TwinSocketCapability {
  readonly supported?: boolean;
  readonly fdIndex?: number;
}

/** The values a receiver must assume for absent capabilities (spec "VFIO_USER_VERSION"). */
export const CapabilityDefaults = {
  maxMsgFds: 1,
  maxDataXferSize: 1048576,
  maxDmaMaps: 65535,
  pgsizes: 4096,
  writeMultiple: false,
  /** Default `migration.max_bitmap_size` (QEMU's client). */
  migrationMaxBitmapSize: 256 * 1024 * 1024,
} as const;

/** Capabilities with defaults applied. */
export interface EffectiveCapabilities {
  readonly maxMsgFds: number;
  readonly maxDataXferSize: number;
  readonly maxDmaMaps: number;
  readonly pgsizes: number;
  readonly writeMultiple: boolean;
  /** True only if `twin_socket.supported` is true. */
  readonly twinSocket: boolean;
  /** `twin_socket.fd_index`, when present. */
  readonly twinSocketFdIndex: number | undefined;
  /** The legacy migration capability, if sent (`pgsize` has no default: the host page size is meant). */
  readonly migration: { readonly pgsize: number | undefined; readonly maxBitmapSize: number } | undefined;
}

/** Applies the spec's defaults to the capabilities a peer sent. */
export function effectiveCapabilities(caps: VersionCapabilities): EffectiveCapabilities {
  return {
    maxMsgFds: caps.maxMsgFds ?? CapabilityDefaults.maxMsgFds,
    maxDataXferSize: caps.maxDataXferSize ?? CapabilityDefaults.maxDataXferSize,
    maxDmaMaps: caps.maxDmaMaps ?? CapabilityDefaults.maxDmaMaps,
    pgsizes: caps.pgsizes ?? CapabilityDefaults.pgsizes,
    writeMultiple: caps.writeMultiple ?? CapabilityDefaults.writeMultiple,
    twinSocket: caps.twinSocket?.supported === true,
    twinSocketFdIndex: caps.twinSocket?.fdIndex,
    migration:
      caps.migration === undefined
        ? undefined
        : {
            pgsize: caps.migration.pgsize,
            maxBitmapSize: caps.migration.maxBitmapSize ?? CapabilityDefaults.migrationMaxBitmapSize,
          },
  };
}

type Json = Record<string, unknown>;

function bad(message: string): never {
  throw new ProtoError("BadJson", `VERSION capabilities: ${message}`);
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function count(o: Json, key: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) bad(`"${key}" must be a non-negative integer`);
  return v;
}

function flag(o: Json, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") bad(`"${key}" must be a boolean`);
  return v;
}

function object(o: Json, key: string): Json | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!isObject(v)) bad(`"${key}" must be an object`);
  return v;
}

const KNOWN = new Set([
  "max_msg_fds",
  "max_data_xfer_size",
  "max_dma_maps",
  "pgsizes",
  "migration",
  "twin_socket",
  "write_multiple",
]);

/**
 * Parses the VERSION JSON text (without its NUL). Throws `ProtoError("BadJson")` for invalid JSON, a top level that
 * is not an object, or a known key of the wrong type. Unknown capability keys are kept in `unknown`; unknown keys at
 * the top level or inside `migration`/`twin_socket` are ignored.
 */
export function parseCapabilitiesJson(text: string): VersionCapabilities {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    bad(`not JSON (${(e as Error).message})`);
  }
  if (!isObject(root)) bad("top level must be an object");
  const caps = object(root, "capabilities");
  if (caps === undefined) return {};
  const out: { -readonly [K in keyof VersionCapabilities]: VersionCapabilities[K] } = {};
  const maxMsgFds = count(caps, "max_msg_fds");
  if (maxMsgFds !== undefined) out.maxMsgFds = maxMsgFds;
  const maxDataXferSize = count(caps, "max_data_xfer_size");
  if (maxDataXferSize !== undefined) out.maxDataXferSize = maxDataXferSize;
  const maxDmaMaps = count(caps, "max_dma_maps");
  if (maxDmaMaps !== undefined) out.maxDmaMaps = maxDmaMaps;
  const pgsizes = count(caps, "pgsizes");
  if (pgsizes !== undefined) out.pgsizes = pgsizes;
  const migration = object(caps, "migration");
  if (migration !== undefined) {
    const m: { pgsize?: number; maxBitmapSize?: number } = {};
    const pgsize = count(migration, "pgsize");
    if (pgsize !== undefined) m.pgsize = pgsize;
    const maxBitmapSize = count(migration, "max_bitmap_size");
    if (maxBitmapSize !== undefined) m.maxBitmapSize = maxBitmapSize;
    out.migration = m;
  }
  const twin = object(caps, "twin_socket");
  if (twin !== undefined) {
    const t: { supported?: boolean; fdIndex?: number } = {};
    const supported = flag(twin, "supported");
    if (supported !== undefined) t.supported = supported;
    const fdIndex = count(twin, "fd_index");
    if (fdIndex !== undefined) t.fdIndex = fdIndex;
    out.twinSocket = t;
  }
  const writeMultiple = flag(caps, "write_multiple");
  if (writeMultiple !== undefined) out.writeMultiple = writeMultiple;
  // Object.fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
  const unknown = Object.entries(caps).filter(([key]) => !KNOWN.has(key));
  if (unknown.length > 0) out.unknown = Object.fromEntries(unknown);
  return out;
}

/**
 * Serialises capabilities as compact JSON, `{"capabilities":{...}}`, keys in spec order, unknown keys last.
 * Throws `ProtoError("OutOfRange")` for numbers that are not non-negative integers.
 */
export function formatCapabilitiesJson(caps: VersionCapabilities): string {
  const c: Json = {};
  const num = (key: string, v: number | undefined): void => {
    if (v === undefined) return;
    if (!Number.isSafeInteger(v) || v < 0)
      throw new ProtoError("OutOfRange", `capability ${key} = ${v} is not a non-negative integer`);
    c[key] = v;
  };
  num("max_msg_fds", caps.maxMsgFds);
  num("max_data_xfer_size", caps.maxDataXferSize);
  num("max_dma_maps", caps.maxDmaMaps);
  num("pgsizes", caps.pgsizes);
  if (caps.migration !== undefined) {
    const m: Json = {};
    if (caps.migration.pgsize !== undefined) m.pgsize = caps.migration.pgsize;
    if (caps.migration.maxBitmapSize !== undefined) m.max_bitmap_size = caps.migration.maxBitmapSize;
    c.migration = m;
  }
  if (caps.twinSocket !== undefined) {
    const t: Json = {};
    if (caps.twinSocket.supported !== undefined) t.supported = caps.twinSocket.supported;
    if (caps.twinSocket.fdIndex !== undefined) t.fd_index = caps.twinSocket.fdIndex;
    c.twin_socket = t;
  }
  if (caps.writeMultiple !== undefined) c.write_multiple = caps.writeMultiple;
  const entries = Object.entries(c);
  if (caps.unknown !== undefined) {
    for (const [k, v] of Object.entries(caps.unknown)) if (!KNOWN.has(k)) entries.push([k, v]);
  }
  return JSON.stringify({ capabilities: Object.fromEntries(entries) });
}
