// @emu/sys benchmark: two-process ping-pongs through the addon against the same ping-pongs in C, measured in the
// same run, plus the cost of single calls into the addon. See bench/README.md for what is measured and excluded.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { buildC, hasTaskset, median, PINGPONG_C } from "@emu/bench-kit";
import { closeFd, dupFd, EventFd, ioctl, memfdCreate, mmap, UnixSocket } from "@emu/sys";
import { Bench } from "tinybench";

const here = import.meta.dirname;
const WARMUP_MS = 150;
const WINDOW_MS = 250;
const quick = process.argv.includes("--quick");
const windows = quick ? 3 : 4;
/** Each configuration runs this many times, alternating addon and C, so that background load hits both alike. */
const TRIALS = quick ? 1 : 2;

const twoCpus = cpus().length >= 2;

function collectRates(child: ChildProcess): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
    });
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (code === 0 && line) resolve((JSON.parse(line) as { rates: number[] }).rates);
      else reject(new Error(`benchmark peer exited with ${code}: ${out}`));
    });
  });
}

function spawnPeer(cpu: number | undefined, args: string[], fds: number[]): ChildProcess {
  const node = [process.execPath, "--import", "tsx", join(here, "peer.ts"), ...args];
  const [cmd, ...argv] = hasTaskset && cpu !== undefined ? ["taskset", "-c", String(cpu), ...node] : node;
  return spawn(cmd!, argv, { stdio: ["ignore", "pipe", "inherit", ...fds] });
}

const timing = [String(WARMUP_MS), String(WINDOW_MS), String(windows)];

async function addonSock(inflight: number, cpus: [number, number] | undefined): Promise<number[]> {
  const [a, b] = UnixSocket.pair();
  const server = spawnPeer(cpus?.[1], ["server"], [a.fd]);
  const client = spawnPeer(cpus?.[0], ["client", String(inflight), ...timing], [b.fd]);
  a.close();
  b.close();
  try {
    return await collectRates(client);
  } finally {
    server.kill("SIGKILL");
  }
}

async function addonEvfd(cpus: [number, number] | undefined): Promise<number[]> {
  const aToB = EventFd.create();
  const bToA = EventFd.create();
  const b = spawnPeer(cpus?.[1], ["evfd-b"], [aToB.fd, bToA.fd]);
  const a = spawnPeer(cpus?.[0], ["evfd-a", ...timing], [aToB.fd, bToA.fd]);
  aToB.close();
  bToA.close();
  try {
    return await collectRates(a);
  } finally {
    b.kill("SIGKILL");
  }
}

async function cRun(bin: string, args: string[], cpus: [number, number] | undefined): Promise<number[]> {
  const pin = cpus ? cpus.map(String) : [];
  return collectRates(spawn(bin, [...args, ...pin], { stdio: ["ignore", "pipe", "inherit"] }));
}

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "emu-sys-bench-"));
  try {
    const bin = buildC(PINGPONG_C, dir);
    console.log(
      `@emu/sys ping-pong: two processes, median of ${TRIALS} × ${windows} windows of ${WINDOW_MS} ms (after ` +
        `${WARMUP_MS} ms warm-up), addon and C alternating, both processes pinned with taskset; ` +
        `node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)}` +
        (hasTaskset ? "" : " (taskset missing: not pinned)"),
    );
    const same: [number, number] = [0, 0];
    const cross: [number, number] = [0, 1];
    type Row = [
      name: string,
      addon: () => Promise<number[]>,
      cEpoll: () => Promise<number[]>,
      cBlocking: () => Promise<number[]>,
    ];
    const sockRow = (name: string, inflight: number, pin: [number, number]): Row => [
      name,
      () => addonSock(inflight, pin),
      () => cRun(bin, ["sock-epoll", String(inflight), ...timing], pin),
      () => cRun(bin, ["sock", String(inflight), ...timing], pin),
    ];
    const rows: Row[] = [
      sockRow("16 B req / 24 B reply, 1 in flight (round trips/s), same CPU", 1, same),
      sockRow("same, 32 in flight (messages/s), same CPU", 32, same),
      [
        "eventfd ping-pong (round trips/s), same CPU",
        () => addonEvfd(same),
        () => cRun(bin, ["evfd-epoll", ...timing], same),
        () => cRun(bin, ["evfd", ...timing], same),
      ],
    ];
    if (twoCpus) {
      rows.push(
        sockRow("1 in flight, across CPUs 0 and 1", 1, cross),
        sockRow("32 in flight, across CPUs 0 and 1", 32, cross),
      );
    }
    const cell = (xs: number[]) => `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;
    const pct = (a: number[], b: number[]) => `${((median(a) / median(b)) * 100).toFixed(0)}%`;
    const table: Record<string, Record<string, string>> = {};
    for (const [name, addon, cEpoll, cBlocking] of rows) {
      const runs: [number[], number[], number[]] = [[], [], []];
      for (let t = 0; t < TRIALS; t++) {
        runs[0].push(...(await addon()));
        runs[1].push(...(await cEpoll()));
        runs[2].push(...(await cBlocking()));
      }
      const [a, e, b] = runs;
      table[name] = {
        "addon (window range)": cell(a),
        "C, epoll wait": cell(e),
        "C, blocking read": cell(b),
        "addon / C epoll": pct(a, e),
        "addon / C blocking": pct(a, b),
      };
    }
    console.table(table);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // Single calls into the addon, in this process.
  const bench = new Bench({ time: quick ? 150 : 400, warmupTime: 100 });
  const e = EventFd.create();
  const [s1, s2] = UnixSocket.pair();
  s1.send(new Uint8Array(37));
  const fionread = new Uint8Array(4);
  const memfd = memfdCreate("bench", 65536);
  bench
    .add("eventfd signal + tryRead", () => {
      e.signal();
      e.tryRead();
    })
    .add("ioctl FIONREAD (Uint8Array by pointer)", () => {
      ioctl(s2.fd, 0x541b, fionread);
    })
    .add("dupFd + closeFd", () => closeFd(dupFd(memfd)))
    .add("mmap + unmap 64 KiB of a memfd", () => mmap(memfd, 0, 65536).unmap())
    .add("memfdCreate + closeFd", () => closeFd(memfdCreate("b")));
  await bench.run();
  console.table(
    bench.tasks.map((t) => ({
      "in-process call": t.name,
      "ops/s": fmt(t.result!.throughput.mean),
      "mean (µs)": (t.result!.latency.mean * 1000).toFixed(2),
    })),
  );
  e.close();
  s1.close();
  s2.close();
  closeFd(memfd);
}

await main();
