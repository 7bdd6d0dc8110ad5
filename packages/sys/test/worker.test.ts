import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { closeFd, memfdCreate, mmap, UnixSocket } from "@emu/sys";
import { tempDir, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { fdCount, sleep } from "./helpers.js";

const WORKER = new URL("./fixtures/worker.mjs", import.meta.url);

describe("worker threads", () => {
  for (const how of ["exits", "is terminated"] as const) {
    it(`works in a worker that ${how} with sockets, watchers and mappings still open: no crash, no fd leak`, async () => {
      const baseline = fdCount();
      const [a, b] = UnixSocket.pair();
      const memfd = memfdCreate("worker", 4096);
      const w = new Worker(WORKER, {
        workerData: { sock: b.fd, memfd, path: join(tempDir(), "w.sock"), exit: how === "exits" },
      });
      const exited = new Promise<number>((r) => w.on("exit", r));
      await new Promise((r) => w.once("message", r));
      // The worker's mapping wrote into the shared memfd.
      const m = mmap(memfd, 0, 4096);
      expect(new Uint8Array(m.buffer)[0]).toBe(42);
      m.unmap();
      const echoed: Uint8Array[] = [];
      let closed = false;
      a.start({
        onData: (c) => echoed.push(c),
        onClose: () => {
          closed = true;
        },
      });
      a.send(new Uint8Array([1, 2, 3]));
      await until(() => echoed.length > 0);
      if (how === "is terminated") await w.terminate();
      await exited;
      await until(() => closed); // the worker's end was closed by its teardown
      closeFd(memfd);
      await sleep(50); // the worker's own event-loop fds
      expect(fdCount()).toBe(baseline);
    });
  }
});
