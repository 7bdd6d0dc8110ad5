// pnpm --filter @emu/vfio-user-client bench
//
// vfio-user over a real socket, client in this process, server in another, against the raw @emu/sys ping-pong
// measured in the same run (see README.md here). Every figure: median of 5 windows of 500 ms after 300 ms warm-up
// (EMU_BENCH_QUICK=1: 3 windows of 200 ms).
import { type ChildProcess, execFileSync, fork, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measure, median, type Rates, rawClient } from "@emu/bench-kit";
import { UnixSocket } from "@emu/sys";
import { VfioUserClient } from "@emu/vfio-user-client";
import { encodeMessage } from "@emu/vfio-user-proto";

// Both processes share one CPU unless EMU_BENCH_PIN=0: across the vCPUs of a VM every round trip pays a wake-up of
// the other vCPU and the figures swing by 3× from run to run; on one CPU they measure the work (see README.md).
if (process.env.EMU_BENCH_PIN !== "0" && process.env.EMU_BENCH_PINNED !== "1") {
  const cpus = (() => {
    try {
      return (
        execFileSync("taskset", ["-pc", String(process.pid)], { encoding: "utf8" })
          .trim()
          .split(": ")[1] ?? ""
      );
    } catch {
      return "";
    }
  })();
  if (cpus !== "") {
    const last = cpus.split(",").pop()?.split("-").pop() ?? "0";
    const cpu = process.env.EMU_BENCH_CPU ?? last;
    const r = spawnSync("taskset", ["-c", cpu, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: "inherit",
      env: { ...process.env, EMU_BENCH_PINNED: "1" },
    });
    process.exit(r.status ?? 1);
  }
}
const QUICK = process.env.EMU_BENCH_QUICK === "1";
/** EMU_BENCH_PROFILE=<dir>: the server processes run with --cpu-prof into <dir> (run this one with --cpu-prof too). */
const PROFILE = process.env.EMU_BENCH_PROFILE;
/** EMU_BENCH_ONLY=lean|client-read|client-write|dma: one group of cases (no raw baselines). */
const ONLY = process.env.EMU_BENCH_ONLY || undefined;
const TIMING = QUICK ? { warmupMs: 200, windowMs: 200, windows: 3 } : { warmupMs: 300, windowMs: 500, windows: 5 };
const HERE = import.meta.dirname;
const PKG = join(HERE, "..");
const dir = mkdtempSync(join(tmpdir(), "emu-client-bench-"));
const children = new Set<ChildProcess>();

function cleanup(): void {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
process.on("exit", cleanup);

function tsx(script: string, args: string[], stdio: (string | number)[]): ChildProcess {
  const c = spawn(process.execPath, ["--import", "tsx", join(HERE, script), ...args], {
    stdio: stdio as ("ignore" | "inherit" | "pipe" | number)[],
    cwd: PKG,
  });
  children.add(c);
  c.on("exit", () => children.delete(c));
  return c;
}

/** Raw ping-pong, client here: requests of `req` bytes, replies of `rep` bytes. Messages/s. */
async function rawHere(req: number, rep: number, inflight: number): Promise<number> {
  const [a, b] = UnixSocket.pair();
  const peer = tsx("raw-peer.ts", ["server", String(req), String(rep)], ["ignore", "inherit", "inherit", b.fd]);
  b.close();
  const r = await rawClient(a, req, rep, inflight, TIMING);
  a.close();
  await new Promise((res) => peer.once("exit", res));
  return median(r.rates);
}

/** The memory the client serves DMA_READs from, and the raw baseline's stand-in for it. */
const DMA_MEMORY = 16 * 1048576;
/** Replies up to this size VfioUserClient copies into its send arena, one sendmsg per chunk (ARENA_COPY_MAX). */
const GATHER_MAX = 16384;

/**
 * The client's side of DMA_READ without vfio-user: every whole 32-byte request received is answered with a 32-byte
 * head and `n` bytes of memory (walking a 16 MiB buffer), sent as VfioUserClient sends its DMA_READ replies: up to
 * 16 KiB (the client's copy limit) the replies of one received chunk leave together in one sendmsg, larger ones in
 * one sendmsg each, head and data gathered. No decoding, no copy, nothing allocated per message but the data view.
 */
function rawDmaResponder(s: UnixSocket, n: number): void {
  const memory = new Uint8Array(DMA_MEMORY).fill(0x42);
  const head = new Uint8Array(32).fill(0x5a);
  let carry = 0;
  let at = 0;
  s.start({
    onData(chunk) {
      const total = carry + chunk.length;
      let k = (total / 32) | 0;
      carry = total - k * 32;
      const parts: Uint8Array[] = [];
      for (; k > 0; k--) {
        const data = memory.subarray(at, at + n);
        at = (at + n) % memory.length;
        if (n > GATHER_MAX) s.send([head, data]);
        else parts.push(head, data);
      }
      if (parts.length > 0) s.send(parts);
    },
    onClose: () => undefined,
  });
}

/**
 * The raw baseline of DMA_READ of `n` bytes: the requester in the child (as the server's device is), keeping
 * `inflight` 32-byte requests outstanding and sending those a chunk's replies free in one send (as the server sends the
 * DMA_READs issued in one tick in one sendmsg); the responder here, one gathered sendmsg per reply. Messages/s.
 */
async function rawDma(n: number, inflight: number): Promise<number> {
  const [a, b] = UnixSocket.pair();
  const t = [TIMING.warmupMs, TIMING.windowMs, TIMING.windows].map(String);
  const peer = tsx(
    "raw-peer.ts",
    ["client", "32", String(32 + n), String(inflight), ...t],
    ["ignore", "pipe", "inherit", b.fd],
  );
  b.close();
  rawDmaResponder(a, n);
  let out = "";
  peer.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  await new Promise((res) => peer.once("exit", res));
  a.close();
  return median((JSON.parse(out) as Rates).rates);
}

interface Server {
  readonly socketPath: string;
  call<T>(op: string, args: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const socketPath = join(dir, `dev-${Date.now()}-${Math.random().toString(16).slice(2)}.sock`);
  const proc = fork(join(HERE, "server.ts"), [socketPath], {
    execArgv: ["--import", "tsx", ...(PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE}`] : [])],
    serialization: "advanced",
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    cwd: PKG,
  });
  children.add(proc);
  proc.on("exit", () => children.delete(proc));
  let nextId = 1;
  const waiting = new Map<number, (m: { ok: boolean; value?: unknown; error?: string }) => void>();
  await new Promise<void>((resolve, reject) => {
    proc.on("message", (m: { ready?: true; id?: number; ok: boolean; value?: unknown; error?: string }) => {
      if (m.ready) return resolve();
      waiting.get(m.id as number)?.(m);
      waiting.delete(m.id as number);
    });
    proc.once("exit", (code) => reject(new Error(`server exited (${code})`)));
  });
  return {
    socketPath,
    call: <T>(op: string, args: Record<string, unknown>) =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, (m) => (m.ok ? resolve(m.value as T) : reject(new Error(m.error))));
        proc.send({ id, op, args });
      }),
    stop: async () => {
      const gone = new Promise((res) => proc.once("exit", res));
      proc.disconnect();
      await gone;
    },
  };
}

/** 4-byte REGION_READ/WRITE through VfioUserClient, `inflight` kept outstanding. Messages/s. */
async function clientLoop(kind: "read" | "write", inflight: number): Promise<number> {
  const server = await startServer();
  const c = await VfioUserClient.connect(server.socketPath);
  let done = 0;
  let stop = false;
  const data = Uint8Array.of(1, 2, 3, 4);
  const again = (): void => {
    done++;
    if (!stop) one();
  };
  const one = (): void => {
    (kind === "read" ? c.regionRead(2, 0x10n, 4) : c.regionWrite(2, 0x10n, data)).then(again, () => undefined);
  };
  for (let i = 0; i < inflight; i++) one();
  const r = await measure(() => done, TIMING.warmupMs, TIMING.windowMs, TIMING.windows);
  stop = true;
  await c.sync();
  await c.close();
  await server.stop();
  return median(r.rates);
}

/**
 * The server alone: a lean client (pre-encoded 32-byte REGION_READ frames, replies counted per chunk exactly as the
 * raw ping-pong does) against the vfio-user server. Messages/s.
 */
async function leanLoop(inflight: number): Promise<number> {
  const server = await startServer();
  const s = await UnixSocket.connect(server.socketPath);
  const version = encodeMessage({ kind: "VersionRequest", major: 0, minor: 2, capabilities: {} }, { msgId: 0 });
  const frame = encodeMessage({ kind: "RegionReadRequest", offset: 0x10n, region: 2, count: 4 }, { msgId: 0 });
  const REP = 16 + 16 + 4;
  const requests = new Uint8Array(Math.max(64, inflight) * frame.length);
  for (let i = 0; i < requests.length; i += frame.length) requests.set(frame, i);
  const views: Uint8Array[] = [];
  const view = (k: number): Uint8Array => (views[k] ??= requests.subarray(0, k * frame.length));
  let negotiated = false;
  let pendingVersion = new Uint8Array(0);
  let carry = 0;
  let done = 0;
  s.start({
    onData(chunk) {
      if (!negotiated) {
        const all = new Uint8Array(pendingVersion.length + chunk.length);
        all.set(pendingVersion);
        all.set(chunk, pendingVersion.length);
        pendingVersion = all;
        if (all.length < 16) return;
        const size = new DataView(all.buffer).getUint32(4, true);
        if (all.length < size) return;
        negotiated = true;
        carry = all.length - size;
        s.send(view(inflight));
        return;
      }
      const total = carry + chunk.length;
      const k = (total / REP) | 0;
      carry = total - k * REP;
      done += k;
      if (k > 0) s.send(view(k));
    },
    onClose: () => undefined,
  });
  s.send(version);
  const r = await measure(() => done, TIMING.warmupMs, TIMING.windowMs, TIMING.windows);
  s.close();
  await server.stop();
  return median(r.rates);
}

/** The server reads our memory with DMA_READ messages (mapped without an fd). Bytes/s. */
async function dmaRead(chunk: number, inflight: number): Promise<number> {
  const server = await startServer();
  const c = await VfioUserClient.connect(server.socketPath);
  const size = DMA_MEMORY;
  const buf = await c.dmaMap(0x10000000n, BigInt(size), { messageBased: true });
  buf.bytes.fill(0x42);
  const r = await server.call<Rates>("dmaReadRate", { iova: 0x10000000n, size, chunk, inflight, ...TIMING });
  await c.close();
  await server.stop();
  return median(r.rates);
}

const fmt = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB/s`;
const pct = (x: number, base: number): string => `${((x / base) * 100).toFixed(0)}%`;

const rows: string[][] = [];
/** One row of the one table, printed as soon as it is measured. */
const row = (...cells: string[]): void => {
  rows.push(cells);
  console.log(`| ${cells.join(" | ")} |`);
};
const size = (n: number): string => (n >= 1048576 ? `${n / 1048576} MiB` : `${n / 1024} KiB`);

console.log(`# @emu/vfio-user-client benchmark (${new Date().toISOString()}, Node ${process.version})\n`);
console.log("| case | in flight | messages/s | MB/s | vs its raw baseline | raw baseline |");
console.log("|---|---|---|---|---|---|");
const want = (group: string): boolean => ONLY === undefined || ONLY === group;
const PING = "raw ping-pong 16 B → 24 B";
let raw1 = Number.NaN;
let raw32 = Number.NaN;
if (ONLY === undefined) {
  raw1 = await rawHere(16, 24, 1);
  raw32 = await rawHere(16, 24, 32);
  row("raw @emu/sys ping-pong 16 B → 24 B", "1", fmt(raw1), "", "100%", "—");
  row("raw @emu/sys ping-pong 16 B → 24 B", "32", fmt(raw32), "", "100%", "—");
  const rawRead1 = await rawHere(32, 36, 1);
  const rawRead32 = await rawHere(32, 36, 32);
  row("raw ping-pong 32 B → 36 B (REGION_READ sizes)", "1", fmt(rawRead1), "", pct(rawRead1, raw1), PING);
  row("raw ping-pong 32 B → 36 B (REGION_READ sizes)", "32", fmt(rawRead32), "", pct(rawRead32, raw32), PING);
}
if (want("lean")) {
  for (const inflight of [1, 32]) {
    const v = await leanLoop(inflight);
    const base = inflight === 1 ? raw1 : raw32;
    row("REGION_READ 4 B, lean client → server (server alone)", String(inflight), fmt(v), "", pct(v, base), PING);
  }
}
for (const kind of ["read", "write"] as const) {
  if (!want(`client-${kind}`)) continue;
  for (const inflight of [1, 32]) {
    const v = await clientLoop(kind, inflight);
    const base = inflight === 1 ? raw1 : raw32;
    const name =
      kind === "read" ? "REGION_READ 4 B, VfioUserClient → server" : "REGION_WRITE 4 B, VfioUserClient → server";
    row(name, String(inflight), fmt(v), "", pct(v, base), PING);
  }
}
if (want("dma")) {
  for (const [chunk, inflight] of [
    [4096, 1],
    [4096, 32],
    [65536, 8],
    [1048576, 2],
  ] as const) {
    const shape = `raw 32 B → 32 B + ${size(chunk)}, sent as the client sends`;
    let raw = Number.NaN;
    if (ONLY === undefined) {
      raw = await rawDma(chunk, inflight);
      row(shape, String(inflight), fmt(raw), mb(raw * chunk), "100%", "—");
    }
    const msgs = (await dmaRead(chunk, inflight)) / chunk;
    row(
      `DMA_READ ${size(chunk)} (server → client)`,
      String(inflight),
      fmt(msgs),
      mb(msgs * chunk),
      pct(msgs, raw),
      shape,
    );
  }
}

const affinity = (() => {
  try {
    return execFileSync("taskset", ["-pc", String(process.pid)], { encoding: "utf8" })
      .trim()
      .split(": ")[1];
  } catch {
    return "unknown";
  }
})();
console.log(
  `\nCPUs allowed: ${affinity}. Target (the server loses < 30% to the raw ping-pong at 32 in flight): ` +
    `the server alone (lean client) reaches ${rows.find((r) => r[0]?.startsWith("REGION_READ 4 B, lean") && r[1] === "32")?.[4]} of raw.`,
);
process.exit(0);
