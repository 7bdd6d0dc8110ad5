import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { isSysError, setThreadAffinity, threadAffinity } from "@emu/sys";
import { describe, expect, it } from "vitest";

/** Cpus_allowed_list of one thread of this process, as the kernel reports it. */
function allowedList(tid: number): string {
  const status = readFileSync(`/proc/self/task/${tid}/status`, "utf8");
  return /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? "";
}

describe("thread affinity", () => {
  it("a worker thread pins itself; the kernel sees that thread pinned and the main thread untouched", async () => {
    const mine = threadAffinity();
    expect(mine.length).toBeGreaterThan(0);
    const target = mine[mine.length - 1] as number;
    const w = new Worker(new URL("./fixtures/pin-worker.mjs", import.meta.url), { workerData: { cpu: target } });
    const r = await new Promise<{ before: number[]; after: number[]; tid: number }>((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
    expect(r.before).toEqual(mine);
    expect(r.after).toEqual([target]);
    expect(allowedList(r.tid)).toBe(String(target));
    expect(threadAffinity()).toEqual(mine);
    w.postMessage("done");
    await new Promise((resolve) => w.once("exit", resolve));
  });

  it("refuses an empty list, a CPU number out of range, and CPUs the process may not use", () => {
    expect(() => setThreadAffinity([])).toThrow(/at least one CPU/);
    expect(() => setThreadAffinity([-1])).toThrow(/cpu/);
    expect(() => setThreadAffinity([1.5])).toThrow(/cpu/);
    const before = threadAffinity();
    let err: unknown;
    try {
      setThreadAffinity([1023]); // no machine here has CPU 1023 online
    } catch (e) {
      err = e;
    }
    expect(isSysError(err) && err.code).toBe("EINVAL");
    expect(threadAffinity()).toEqual(before);
  });
});
