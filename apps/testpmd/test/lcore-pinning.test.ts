// Forwarding lcores pinned as DPDK's EAL pins them: emu-testpmd in a process of its own with -l/--lcores, and what
// the kernel says about each of its threads (/proc/<pid>/task/<tid>/status, Cpus_allowed_list). The CPUs used are
// derived from this process's own affinity, so the tests hold on any machine with one CPU or more.
import { readdirSync, readFileSync } from "node:fs";
import { type RemoteTestpmd, spawnTestpmd } from "@emu/app-testpmd";
import { threadAffinity } from "@emu/sys";
import { reapAfterTest, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { session } from "./fixtures/session.js";

const NULLS = ["--vdev", "net_null0", "--vdev", "net_null1"];

/** "0-2,5" → [0, 1, 2, 5]. */
function cpuList(text: string): number[] {
  return text.split(",").flatMap((part) => {
    const [lo, hi] = part.split("-").map(Number) as [number, number | undefined];
    return Array.from({ length: (hi ?? lo) - lo + 1 }, (_, i) => lo + i);
  });
}

/** Every thread of `pid` with the CPUs the kernel lets it run on. */
function threadCpus(pid: number): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
    } catch {
      continue; // the thread ended between the listing and the read
    }
    const list = /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1];
    if (list !== undefined) out.set(Number(tid), cpuList(list));
  }
  return out;
}

/** EAL's "lcore N is ready (tid=T;cpuset=[…])" lines, by lcore id. */
function readyLines(text: string): Map<number, { tid: number; cpus: number[] }> {
  const out = new Map<number, { tid: number; cpus: number[] }>();
  for (const m of text.matchAll(/^EAL: lcore (\d+) is ready \(tid=(\d+);cpuset=\[([\d,]+)\]\)$/gm))
    out.set(Number(m[1]), { tid: Number(m[2]), cpus: m[3]!.split(",").map(Number) });
  return out;
}

async function testpmd(argv: readonly string[]): Promise<RemoteTestpmd> {
  const t = await spawnTestpmd(argv);
  reapAfterTest(t.process);
  return t;
}

/** Waits until port 0 has received packets (net_null's RX never runs dry): forwarding runs. */
async function forwards(t: RemoteTestpmd): Promise<void> {
  await until(
    async () => Number(/RX-packets: (\d+)/.exec(await t.ask("show port stats 0"))?.[1] ?? 0) > 0,
    10_000,
    "port 0 receiving",
  );
}

describe("forwarding lcores pinned to their CPUs", () => {
  it("--lcores 0@a,1@b: lcore 1's worker thread runs on exactly CPU b, the main thread and the others as before", async () => {
    const mine = threadAffinity();
    const target = mine[mine.length - 1]!;
    const t = await testpmd(["--lcores", `0@${mine[0]},1@${target}`, ...NULLS, "--", "-i"]);
    const pid = t.process.pid!;
    expect(t.banner).not.toContain("WARNING");
    for (const cpus of threadCpus(pid).values()) expect(cpus).toEqual(mine); // nothing pinned before start

    const started = await t.ask("start");
    const ready = readyLines(started);
    expect([...ready.keys()]).toEqual([1]);
    const lcore1 = ready.get(1)!;
    expect(lcore1.cpus).toEqual([target]);
    await forwards(t);
    const threads = threadCpus(pid);
    expect(threads.get(lcore1.tid)).toEqual([target]); // the kernel agrees with what the lcore printed
    expect(threads.get(pid)).toEqual(mine); // the main thread (tid = pid) is not pinned
    for (const [tid, cpus] of threads) if (tid !== lcore1.tid) expect(cpus).toEqual(mine);
    expect(await t.ask("dump_lcores")).toBe(
      `lcore 0, socket 0, role RTE, cpuset ${mine.join(",")}\nlcore 1, socket 0, role RTE, cpuset ${target}\n`,
    );

    expect(await t.ask("stop")).toContain("Accumulated forward statistics");
    expect(threadCpus(pid).has(lcore1.tid)).toBe(false); // the lcore's thread ended with the forwarding
    const again = readyLines(await t.ask("start")).get(1)!; // a new thread, pinned again
    expect(threadCpus(pid).get(again.tid)).toEqual([target]);
    await t.ask("stop");
    expect(await t.quit()).toBe(0);
  });

  it("-l with a CPU the process may not use: one warning at startup, that lcore unpinned, forwarding goes on", async () => {
    const mine = threadAffinity();
    const outside = Math.max(...mine) + 1;
    const t = await testpmd(["-l", `${mine[0]},${outside}`, ...NULLS, "--", "-i"]);
    const pid = t.process.pid!;
    const warning = new RegExp(
      `^EAL: WARNING: lcore ${outside}: CPU ${outside} is not available to this process \\(it may use [\\d,-]+\\); lcore ${outside} will not be pinned$`,
      "m",
    );
    expect(t.banner).toMatch(warning);
    const started = await t.ask("start");
    expect(started).toContain(`Logical Core ${outside} (socket 0) forwards packets on 2 streams:`);
    expect(readyLines(started).size).toBe(0); // nothing pinned: nothing to report
    await forwards(t);
    for (const cpus of threadCpus(pid).values()) expect(cpus).toEqual(mine);
    expect(await t.ask("dump_lcores")).toBe(
      `lcore ${mine[0]}, socket 0, role RTE, cpuset ${mine.join(",")}\nlcore ${outside}, socket 0, role RTE, cpuset ${mine.join(",")}\n`,
    );
    await t.ask("stop");
    expect(await t.quit()).toBe(0);
    expect(t.output().match(new RegExp(warning.source, "gm"))).toHaveLength(1);
  });

  it("without -l/--lcores no thread is pinned", async () => {
    const mine = threadAffinity();
    const t = await testpmd([...NULLS, "--", "-i"]);
    const started = await t.ask("start");
    expect(started).not.toContain("is ready");
    await forwards(t);
    const threads = threadCpus(t.process.pid!);
    expect(threads.size).toBeGreaterThan(1); // the lcore's worker thread among them
    for (const cpus of threads.values()) expect(cpus).toEqual(mine);
    await t.ask("stop");
    expect(await t.quit()).toBe(0);
  });

  it("lcore groups map to CPU sets as DPDK reads them (dump_lcores before start)", async () => {
    const mine = threadAffinity();
    const target = mine[mine.length - 1]!;
    const s = await session(["--lcores", `100@${mine[0]},(200-201)@${target}`, ...NULLS, "--", "-i"]);
    expect(await s.ask("dump_lcores")).toBe(
      [
        `lcore 100, socket 0, role RTE, cpuset ${threadAffinity().join(",")}`, // the main lcore: this thread, as it is
        `lcore 200, socket 0, role RTE, cpuset ${target}`,
        `lcore 201, socket 0, role RTE, cpuset ${target}`,
        "",
      ].join("\n"),
    );
    expect(threadAffinity()).toEqual(mine); // testpmd in-process left the calling thread alone
    expect((await s.quit()).status).toBe(0);
  });
});
