// emu-testpmd from argv to exit status: EAL-style setup (plugins, the mbuf pool, --vdev devices and ports), the ports
// started, then the interactive prompt or non-interactive forwarding, and the shutdown testpmd prints.
import { availableParallelism } from "node:os";
import type { CliIo } from "@emu/cli-kit";
import { EmudevRegistry } from "@emu/emudev";
import { builtinPortDrivers, emudevService, MbufPool, PortRegistry } from "@emu/port";
import { threadAffinity } from "@emu/sys";
import { describeError, Testpmd } from "./app.js";
import { parseArgs, type TestpmdOptions, USAGE } from "./args.js";
import { BUILTIN_PLUGINS } from "./builtin-plugins.js";
import { promptLoop } from "./cli/prompt.js";
import { Forwarding } from "./forwarding.js";
import { usableLcores } from "./lcores.js";
import { loadPlugin, type TestpmdPlugin } from "./plugins.js";
import { isUsageError } from "./usage-error.js";
import { ODD_PORTS_WARNING } from "./views/fwd.js";

export interface TestpmdIo extends CliIo {
  /** Where commands are read (process.stdin, or a stream in tests). */
  readonly stdin: NodeJS.ReadableStream;
  /** Readline terminal mode (echo, line editing, completion on tab). */
  readonly terminal?: boolean;
  /** Aborted by SIGINT/SIGTERM (the bin) or a test: testpmd stops and shuts down. */
  readonly signal?: AbortSignal;
  /** Plugins registered after the built-in ones and before -d ones. */
  readonly plugins?: readonly TestpmdPlugin[];
}

const MAX_POOL = 1_900_000;

/** The most memory the default pool takes (large `--mbuf-size` buffers make fewer of them). */
const DEFAULT_POOL_BYTES = 2 ** 30;

/**
 * Enough buffers to fill every queue of 8 ports, the lcores' caches and some in flight — at most 1 GiB of them (a
 * pool of 64 KiB buffers then has 16 thousand).
 */
function poolSize(o: TestpmdOptions): number {
  if (o.totalMbufs > 0) return o.totalMbufs;
  const perPort = o.rxq * Math.max(o.rxd, 1024) + o.txq * Math.max(o.txd, 1024);
  const wanted = Math.min(MAX_POOL, 8 * perPort + 1024 * o.lcores.length + 8192);
  return Math.min(wanted, Math.floor(DEFAULT_POOL_BYTES / (o.mbufSize + 128)));
}

function waitForLine(stdin: NodeJS.ReadableStream, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stdin.off("data", onData);
      stdin.off("end", done);
      signal?.removeEventListener("abort", done);
      if ("pause" in stdin) stdin.pause();
      resolve();
    };
    const onData = (d: Buffer | string) => {
      if (String(d).includes("\n")) done();
    };
    stdin.on("data", onData);
    stdin.once("end", done);
    signal?.addEventListener("abort", done, { once: true });
    if (signal?.aborted) done();
  });
}

function waitForAbort(signal: AbortSignal | undefined, tick: () => void, periodMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(tick, periodMs);
    const done = () => {
      clearInterval(timer);
      resolve();
    };
    if (signal === undefined || signal.aborted) return done();
    signal.addEventListener("abort", done, { once: true });
  });
}

async function setup(
  given: TestpmdOptions,
  io: TestpmdIo,
  out: (s: string) => void,
): Promise<{ app: Testpmd; fwd: Forwarding } | number> {
  out(`EAL: Detected CPU lcores: ${availableParallelism()}\n`);
  const usable = usableLcores(given.lcores, threadAffinity());
  for (const w of usable.warnings) out(w);
  const o: TestpmdOptions = { ...given, lcores: usable.lcores };
  if (o.lcores.length < 2) {
    io.stderr.write("testpmd: No cores defined for forwarding\nCheck the core mask argument\n");
    return 1;
  }
  if (o.nbCores > o.lcores.length - 1) {
    io.stderr.write(`testpmd: The nb-cores must be >= 1 and <= ${o.lcores.length - 1}\n`);
    return 1;
  }
  const registry = new PortRegistry(builtinPortDrivers);
  const emudev = new EmudevRegistry({ onError: (e) => out(`EMUDEV: ${describeError(e)}\n`) });
  registry.provide(emudevService, emudev);
  const addressClaims = new Map<string, string>();
  const claimAddress = (key: string, driver: string) => addressClaims.set(key, driver);
  const plugins = [...BUILTIN_PLUGINS, ...(io.plugins ?? []), ...(await Promise.all(o.plugins.map(loadPlugin)))];
  for (const p of plugins) {
    try {
      await p.register({ ports: registry, emudev, claimAddress });
    } catch (e) {
      io.stderr.write(`testpmd: a plugin failed to register: ${describeError(e)}\n`);
      return 1;
    }
  }
  if (o.interactive) out("Interactive-mode selected\n");
  else if (o.forwardMode !== "io") out(`Set ${o.forwardMode} packet forwarding mode\n`);
  if (o.autoStart) out("Auto-start selected\n");
  const n = poolSize(o);
  const pool = MbufPool.create(`${o.filePrefix}:mb_pool_0`, { count: n, dataRoom: o.mbufSize });
  out(`testpmd: create a new mbuf pool <mb_pool_0>: n=${n}, size=${pool.bufSize}, socket=0\n`);
  let fwd: Forwarding | undefined;
  const app = new Testpmd(o, registry, emudev, pool, out, () => fwd?.running ?? false, addressClaims);
  fwd = new Forwarding(app);
  try {
    for (const a of o.allow)
      out(`EAL: PCI device ${a}: no PCI port driver is registered (load one with -d): ignored\n`);
    for (const v of o.vdevs) await app.attach(v, true);
    if (app.entries().length % 2 === 1) out(ODD_PORTS_WARNING);
    if (app.entries().length > 0) await app.startPorts(app.entries().map(([id]) => id));
  } catch (e) {
    io.stderr.write(`EAL: ${describeError(e)}\n`);
    await app.shutdown().catch(() => undefined);
    pool.close();
    return 1;
  }
  return { app, fwd };
}

export async function runTestpmd(argv: readonly string[], io: TestpmdIo): Promise<number> {
  let o: TestpmdOptions;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (!isUsageError(e)) throw e;
    io.stderr.write(`emu-testpmd: ${e.message}\nTry emu-testpmd --help\n`);
    return 2;
  }
  if (o.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const out = (s: string) => void io.stdout.write(s);
  let made: { app: Testpmd; fwd: Forwarding } | number;
  try {
    made = await setup(o, io, out);
  } catch (e) {
    if (!isUsageError(e)) throw e;
    io.stderr.write(`emu-testpmd: ${e.message}\n`);
    return 2;
  }
  if (typeof made === "number") return made;
  return run(made.app, made.fwd, o, io, out);
}

async function run(
  app: Testpmd,
  fwd: Forwarding,
  o: TestpmdOptions,
  io: TestpmdIo,
  out: (s: string) => void,
): Promise<number> {
  try {
    if (!o.interactive) out("No commandline core given, start packet forwarding\n");
    if (!o.interactive || o.autoStart) await fwd.start(o.txFirst ? 1 : 0);
    if (o.interactive) {
      const hints = (name: string) =>
        name === "devargs"
          ? [...app.registry.driverNames(), ...app.emudev.driverNames()]
          : name === "path"
            ? []
            : app.entries().map(([id]) => String(id));
      await promptLoop(
        { app, fwd },
        { input: io.stdin, output: io.stdout as NodeJS.WritableStream, terminal: io.terminal ?? false },
        hints,
        io.signal,
      );
    } else if (o.statsPeriod > 0) {
      await waitForAbort(
        io.signal,
        () => {
          out("\x1b[2J\x1b[1;1H\nPort statistics ====================================");
          app.showStats(app.entries().map(([id]) => id));
        },
        o.statsPeriod * 1000,
      );
    } else {
      out("Press enter to exit\n");
      await waitForLine(io.stdin, io.signal);
    }
    if (io.signal?.aborted) out("\nSignal received, preparing to exit...\n");
    if (fwd.running) await fwd.stop();
    await app.shutdown();
    out("\nBye...\n");
    return 0;
  } catch (e) {
    io.stderr.write(`testpmd: ${describeError(e)}\n`);
    if (fwd.running) await fwd.stop().catch(() => undefined);
    await app.shutdown().catch(() => undefined);
    return 1;
  } finally {
    app.pool.close();
  }
}
