// pnpm --filter @emu/vfio-user-server bench
//
// A trapped register access, as a VMM makes one for every guest MMIO access to a BAR that is not mmapped: a small C
// client (c/region-client.c) sends 4-byte REGION_READs of config space to our server (server.ts), at 1 in flight and
// at 32 in flight, beside the raw C ping-pong over a UNIX socket (@emu/bench-kit's c/pingpong.c, `sock-epoll`)
// measured in the same run. All three pinned to one CPU. Then, per message: the server's CPU time, its syscalls
// (strace -c), and what it allocates. See README.md here.
//
// EMU_BENCH_QUICK=1: 3 rounds of 3 short windows. EMU_BENCH_CPU=n: the CPU (default: the last one allowed).
// EMU_BENCH_REFERENCE="<command> {socket}": another vfio-user server measured in the same rounds (e.g. libvfio-user's
// gpio-pci-idio-16 sample, built outside this repository); it must serve one client per process.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { buildC, hasTaskset, median, PINGPONG_C, pinned, type Rates, runJson } from "@emu/bench-kit";

const HERE = import.meta.dirname;
const QUICK = process.env.EMU_BENCH_QUICK === "1";
const ROUNDS = QUICK ? 3 : 5;
const TIMING = QUICK ? { warmupMs: 200, windowMs: 200, windows: 3 } : { warmupMs: 300, windowMs: 400, windows: 3 };
const REFERENCE = process.env.EMU_BENCH_REFERENCE || undefined;
/** Messages of the per-message measurements (CPU time and syscalls; allocations use fewer, see `allocation`). */
const COUNT = { 1: QUICK ? 10_000 : 30_000, 32: QUICK ? 50_000 : 200_000 } as const;

const CPU = ((): number => {
  if (process.env.EMU_BENCH_CPU !== undefined) return Number(process.env.EMU_BENCH_CPU);
  try {
    const list = execFileSync("taskset", ["-pc", String(process.pid)], { encoding: "utf8" })
      .trim()
      .split(": ")[1];
    return Number(list?.split(",").pop()?.split("-").pop() ?? 0);
  } catch {
    return 0;
  }
})();

const dir = mkdtempSync(join(tmpdir(), "emu-server-bench-"));
const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function track(c: ChildProcess): ChildProcess {
  children.add(c);
  c.on("exit", () => children.delete(c));
  return c;
}

/** What server.ts answers over IPC after a "read": what the process spent since the "mark". */
interface Spent {
  userUs: number;
  systemUs: number;
  minorGcs: number;
  majorGcs: number;
}

/** What server.ts answers after "sampled": bytes allocated since "sample", and by which functions. */
interface Sampled {
  bytes: number;
  sites: [string, number][];
}

interface EmuServer {
  readonly pid: number;
  readonly socketPath: string;
  /** An IPC request to server.ts ("mark", "read", "sample", "sampled"), answered in order. */
  ask<T>(op: string): Promise<T>;
  stop(): Promise<void>;
}

let serial = 0;

/** Our server in its own process, pinned (taskset execs node, which keeps the IPC channel). */
async function startEmu(): Promise<EmuServer> {
  const socketPath = join(dir, `emu-${serial++}.sock`);
  const node = [process.execPath, "--import", "tsx", join(HERE, "server.ts"), socketPath];
  const [cmd, args] = pinned(CPU, node[0] as string, node.slice(1));
  const proc = track(spawn(cmd, args, { stdio: ["ignore", "inherit", "inherit", "ipc"], cwd: join(HERE, "..") }));
  const replies: ((m: unknown) => void)[] = [];
  proc.on("message", (m) => replies.shift()?.(m));
  const next = (): Promise<unknown> => new Promise((resolve) => replies.push(resolve));
  await Promise.race([
    next(),
    new Promise((_, reject) => proc.once("exit", (code) => reject(new Error(`server exited (${code})`)))),
  ]);
  return {
    pid: proc.pid as number,
    socketPath,
    ask: <T>(op: string) => {
      const r = next();
      proc.send({ op });
      return r as Promise<T>;
    },
    stop: async () => {
      const gone = new Promise((res) => proc.once("exit", res));
      proc.disconnect();
      await gone;
    },
  };
}

/** A reference server from EMU_BENCH_REFERENCE, pinned; resolves once its socket exists. */
async function startReference(): Promise<{ socketPath: string; stop(): void }> {
  const socketPath = join(dir, `ref-${serial++}.sock`);
  const [bin, ...rest] = (REFERENCE as string).split(" ").map((a) => a.replace("{socket}", socketPath));
  const [cmd, args] = pinned(CPU, bin as string, rest);
  const proc = track(spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"] }));
  for (let i = 0; i < 500 && !existsSync(socketPath); i++) await new Promise((r) => setTimeout(r, 10));
  if (!existsSync(socketPath)) throw new Error(`${REFERENCE}: no socket at ${socketPath}`);
  return { socketPath, stop: () => proc.kill("SIGKILL") };
}

const timing = [TIMING.warmupMs, TIMING.windowMs, TIMING.windows].map(String);

/** The C client against a server: the median of its windows (messages/s). */
async function clientRate(bin: string, socketPath: string, inflight: number): Promise<number> {
  const [cmd, args] = pinned(CPU, bin, ["rate", socketPath, String(inflight), ...timing]);
  return median((await runJson<Rates>(cmd, args)).rates);
}

async function clientCount(bin: string, socketPath: string, inflight: number, n: number): Promise<number> {
  const [cmd, args] = pinned(CPU, bin, ["count", socketPath, String(inflight), String(n)]);
  return (await runJson<{ seconds: number }>(cmd, args)).seconds;
}

/** The raw C ping-pong (both of its processes pinned to CPU by the program itself). */
async function rawRate(bin: string, inflight: number): Promise<number> {
  const cpu = hasTaskset ? [String(CPU), String(CPU)] : [];
  return median((await runJson<Rates>(bin, ["sock-epoll", String(inflight), ...timing, ...cpu])).rates);
}

interface Rounds {
  raw1: number[];
  raw32: number[];
  emu1: number[];
  emu32: number[];
  ref1: number[];
  ref32: number[];
}

/** ROUNDS rounds, each measuring every row once, in turn, so that background load hits all alike. */
async function rounds(client: string, pingpong: string): Promise<Rounds> {
  const r: Rounds = { raw1: [], raw32: [], emu1: [], emu32: [], ref1: [], ref32: [] };
  for (let i = 0; i < ROUNDS; i++) {
    r.raw1.push(await rawRate(pingpong, 1));
    const emu = await startEmu();
    r.emu1.push(await clientRate(client, emu.socketPath, 1));
    r.emu32.push(await clientRate(client, emu.socketPath, 32));
    await emu.stop();
    if (REFERENCE !== undefined) {
      for (const [inflight, into] of [
        [1, r.ref1],
        [32, r.ref32],
      ] as const) {
        const ref = await startReference();
        into.push(await clientRate(client, ref.socketPath, inflight));
        ref.stop();
      }
    }
    r.raw32.push(await rawRate(pingpong, 32));
    process.stderr.write(`round ${i + 1}/${ROUNDS} done\n`);
  }
  return r;
}

/** The syscalls a process made while `run` ran (strace -c on all its threads): name → calls. */
async function syscalls(pid: number, run: () => Promise<unknown>): Promise<Map<string, number> | undefined> {
  const out = join(dir, `strace-${serial++}.txt`);
  const tids = readdirSync(`/proc/${pid}/task`).join(",");
  const strace = spawn("strace", ["-c", "-f", "-o", out, "-p", tids], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  const attached = new Promise<boolean>((resolve) => {
    strace.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      if (err.includes("attached")) resolve(true);
    });
    strace.once("error", () => resolve(false));
    strace.once("exit", () => resolve(false));
  });
  if (!(await attached)) return undefined;
  await new Promise((r) => setTimeout(r, 200)); // every thread attached
  await run();
  const done = new Promise((r) => strace.once("exit", r));
  strace.kill("SIGINT");
  await done;
  const calls = new Map<string, number>();
  for (const line of readFileSync(out, "utf8").split("\n")) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line);
    if (m && m[2] !== "total") calls.set(m[2] as string, Number(m[1]));
  }
  return calls;
}

/** Per message at `inflight`: CPU time, syscalls and allocations of the server. */
async function perMessage(client: string, emu: EmuServer, inflight: 1 | 32): Promise<string[]> {
  const n = COUNT[inflight];
  await emu.ask("mark");
  await clientCount(client, emu.socketPath, inflight, n);
  const spent = await emu.ask<Spent>("read");
  const cpuUs = `${((spent.userUs + spent.systemUs) / n).toFixed(2)} (${(spent.userUs / n).toFixed(2)} + ${(spent.systemUs / n).toFixed(2)})`;
  const sys = await syscalls(emu.pid, () => clientCount(client, emu.socketPath, inflight, n));
  let sysCell = "strace not available";
  if (sys !== undefined) {
    let total = 0;
    for (const c of sys.values()) total += c;
    const top = [...sys.entries()]
      .sort((a, b) => b[1] - a[1])
      .filter(([, c]) => c / n >= 0.01)
      .map(([name, c]) => `${name} ${(c / n).toFixed(2)}`);
    sysCell = `${(total / n).toFixed(2)} (${top.join(", ")})`;
  }
  await emu.ask("sample");
  await clientCount(client, emu.socketPath, inflight, n);
  const alloc = await emu.ask<Sampled>("sampled");
  const sites = alloc.sites
    .slice(0, 3)
    .map(([site, bytes]) => `${(bytes / n).toFixed(1)} ${site}`)
    .join("; ");
  const gcs = `${((spent.minorGcs * 100_000) / n).toFixed(1)} / ${((spent.majorGcs * 100_000) / n).toFixed(1)}`;
  return [String(inflight), cpuUs, sysCell, `${(alloc.bytes / n).toFixed(1)} B (${sites})`, gcs];
}

const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(1)}k`);
const cell = (xs: number[]): string => `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;
const pct = (a: number[], b: number[]): string => `${((median(a) / median(b)) * 100).toFixed(0)}%`;
const times = (a: number[], b: number[]): string => `${(median(a) / median(b)).toFixed(2)}x`;

function printRates(r: Rounds): void {
  console.log(
    "| server | round trips/s, 1 in flight (range) | vs raw C | messages/s, 32 in flight (range) | vs raw C at 1 in flight |" +
      (REFERENCE ? " vs the reference at 32 |" : ""),
  );
  console.log(`|---|---|---|---|---|${REFERENCE ? "---|" : ""}`);
  const refCol = (x: number[]): string => (REFERENCE ? ` ${times(x, r.ref32)} |` : "");
  console.log(
    `| raw C ping-pong over a UNIX socket (pingpong sock-epoll, 16 B → 24 B) | ${cell(r.raw1)} | 100% | ` +
      `${cell(r.raw32)} (not one request per reply: per chunk) | ${times(r.raw32, r.raw1)} |${refCol(r.raw32)}`,
  );
  console.log(
    `| emu (@emu/vfio-user-server), REGION_READ 4 B of config space | ${cell(r.emu1)} | ${pct(r.emu1, r.raw1)} | ` +
      `${cell(r.emu32)} | ${times(r.emu32, r.raw1)} |${refCol(r.emu32)}`,
  );
  if (REFERENCE)
    console.log(
      `| reference: ${REFERENCE.replace(/\s*\{socket\}/, "")} | ${cell(r.ref1)} | ${pct(r.ref1, r.raw1)} | ` +
        `${cell(r.ref32)} | ${times(r.ref32, r.raw1)} |${refCol(r.ref32)}`,
    );
}

async function main(): Promise<void> {
  const client = buildC(join(HERE, "c", "region-client.c"), dir);
  const pingpong = buildC(PINGPONG_C, dir);
  console.log(
    `# @emu/vfio-user-server benchmark: a trapped register access (${new Date().toISOString()}, Node ` +
      `${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0]?.toFixed(2)})\n\n` +
      `Medians of ${ROUNDS} alternating rounds (each the median of ${TIMING.windows} windows of ${TIMING.windowMs} ms ` +
      `after ${TIMING.warmupMs} ms), every process pinned to CPU ${CPU}` +
      `${hasTaskset ? "" : " (taskset missing: NOT pinned)"}.\n`,
  );
  printRates(await rounds(client, pingpong));
  console.log(
    "\n| emu, per message | in flight | server CPU µs (user + system) | syscalls (strace -c, all threads) | " +
      "V8 heap bytes allocated (top sites, B/message; sampled, one connection included) | GCs per 100k messages (minor / major) |",
  );
  console.log("|---|---|---|---|---|---|");
  const emu = await startEmu();
  await clientCount(client, emu.socketPath, 32, COUNT[32]); // warm
  for (const inflight of [1, 32] as const)
    console.log(`| REGION_READ 4 B | ${(await perMessage(client, emu, inflight)).join(" | ")} |`);
  await emu.stop();
}

await main();
process.exit(0);
