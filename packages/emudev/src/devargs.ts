// Devargs: "emu_iavf0,sock=/tmp/x.sock,queues=2,mac=02:00:00:00:00:01" — a device name (driver name + instance
// number) and key=value pairs, checked against the keys the driver declares.
import { EmudevError } from "./errors.js";

/** A devargs string split, before any key is checked. */
export interface Devargs {
  /** The device name, e.g. "emu_iavf0". */
  readonly name: string;
  /** The driver name: the device name without its instance number, e.g. "emu_iavf". */
  readonly driver: string;
  readonly instance: number;
  /** key → value, in the order given. */
  readonly pairs: ReadonlyMap<string, string>;
}

/** How one key's value is read. `parse` throws (any error) to refuse a value; its message is quoted. */
export interface ArgSpec<T> {
  parse(value: string): T;
  /** Used when the key is absent. Without it the key is required. */
  readonly default?: T;
  /** One line for error messages and help, e.g. "number of queue pairs, 1..16". */
  readonly help?: string;
}

/** The keys a driver accepts. */
export type DevargsSchema = Readonly<Record<string, ArgSpec<unknown>>>;

/** The values of a schema's keys. */
export type ArgsOf<S extends DevargsSchema> = { readonly [K in keyof S]: S[K] extends ArgSpec<infer T> ? T : never };

const NAME = /^([a-z][a-z0-9_]*?)(\d+)$/;
const KEY = /^[a-z][a-z0-9_-]*$/;

function fail(devargs: string, what: string): never {
  throw new EmudevError("Devargs", `devargs "${devargs}": ${what}`);
}

/** Splits devargs into the device name and its pairs. Throws EmudevError "Devargs" naming what is wrong. */
export function parseDevargs(devargs: string): Devargs {
  if (typeof devargs !== "string" || devargs.trim() === "") fail(String(devargs), "empty");
  const [head = "", ...rest] = devargs.split(",");
  const m = NAME.exec(head);
  if (m === null)
    fail(devargs, `device name "${head}" must be a driver name followed by an instance number, e.g. emu_iavf0`);
  const pairs = new Map<string, string>();
  for (const item of rest) {
    const eq = item.indexOf("=");
    if (eq < 0) fail(devargs, `"${item}" is not key=value`);
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (!KEY.test(key)) fail(devargs, `bad key "${key}" in "${item}"`);
    if (pairs.has(key)) fail(devargs, `key "${key}" given twice`);
    if (value === "") fail(devargs, `key "${key}" has an empty value`);
    pairs.set(key, value);
  }
  return { name: head, driver: m[1] as string, instance: Number(m[2]), pairs };
}

/** Reads `pairs` against `schema`: unknown keys, missing required keys and refused values name the key and value. */
export function readArgs<S extends DevargsSchema>(devargs: Devargs, schema: S, source = devargs.name): ArgsOf<S> {
  const out: Record<string, unknown> = {};
  for (const key of devargs.pairs.keys())
    if (!Object.hasOwn(schema, key))
      fail(source, `unknown key "${key}" for ${devargs.driver} (accepted: ${Object.keys(schema).join(", ")})`);
  for (const [key, spec] of Object.entries(schema)) {
    const value = devargs.pairs.get(key);
    if (value === undefined) {
      if (!("default" in spec)) fail(source, `missing key "${key}"${spec.help ? ` (${spec.help})` : ""}`);
      out[key] = spec.default;
      continue;
    }
    try {
      out[key] = spec.parse(value);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      fail(source, `bad value "${value}" for key "${key}": ${why}`);
    }
  }
  return out as ArgsOf<S>;
}

/** Value readers for the usual kinds of key. */
export const arg = {
  /** Any non-empty string (a socket path, a name). */
  string(options: { default?: string; help?: string } = {}): ArgSpec<string> {
    return { parse: (v) => v, ...options };
  },
  /** A decimal or 0x integer in [min, max]. */
  uint(min: number, max: number, options: { default?: number; help?: string } = {}): ArgSpec<number> {
    return {
      parse(v) {
        if (!/^(0x[0-9a-f]+|\d+)$/i.test(v)) throw new Error("not an unsigned integer");
        const n = Number(v);
        if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`must be ${min}..${max}`);
        return n;
      },
      help: `${min}..${max}`,
      ...options,
    };
  },
  /** 0/1, true/false, yes/no, on/off. */
  bool(options: { default?: boolean; help?: string } = {}): ArgSpec<boolean> {
    return {
      parse(v) {
        const l = v.toLowerCase();
        if (["1", "true", "yes", "on"].includes(l)) return true;
        if (["0", "false", "no", "off"].includes(l)) return false;
        throw new Error("must be 0/1, true/false, yes/no or on/off");
      },
      ...options,
    };
  },
  /** A MAC address xx:xx:xx:xx:xx:xx, as 6 bytes. */
  mac(options: { default?: Uint8Array; help?: string } = {}): ArgSpec<Uint8Array> {
    return {
      parse(v) {
        if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v)) throw new Error("not a MAC address xx:xx:xx:xx:xx:xx");
        return Uint8Array.from(v.split(":"), (h) => Number.parseInt(h, 16));
      },
      ...options,
    };
  },
} as const;
