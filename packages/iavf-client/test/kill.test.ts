// The device outlives a driver killed with SIGKILL (its client vanishes mid-life) and serves a new one.
import { join } from "node:path";
import { IavfDriver } from "@emu/iavf-client";
import { afterThisTest, forkChild } from "@emu/test-kit";
import { expect, it } from "vitest";
import { PACKAGE_DIR, serveIavf } from "./fixtures/device.js";

const here = new URL(".", import.meta.url).pathname;

function driverChild(sock: string, queues: number) {
  const proc = forkChild(join(here, "fixtures/driver-child.ts"), [sock, String(queues)], { cwd: PACKAGE_DIR });
  return {
    proc,
    ready: new Promise<{ mac: string; queues: number; link: { up: boolean } }>((resolve, reject) => {
      proc.on("message", (m: { ready?: boolean; mac: string; queues: number; link: { up: boolean } }) => {
        if (m.ready) resolve(m);
      });
      proc.on("exit", (code) => reject(new Error(`driver child exited (${code})`)));
    }),
  };
}

it("a driver killed with SIGKILL, then a new one attaches and reaches link-up", async () => {
  const served = await serveIavf({ queues: 4, link: true });
  for (const queues of [4, 1]) {
    const child = driverChild(served.sock, queues);
    const seen = await child.ready;
    expect(seen).toMatchObject({ mac: served.mac, queues, link: { up: true } });
    const exited = new Promise((r) => child.proc.once("exit", r));
    child.proc.kill("SIGKILL");
    await exited;
  }
  const client = await served.connect();
  const nic = await IavfDriver.attach(client, { queuePairs: 4 });
  afterThisTest(() => nic.close());
  expect((await nic.waitForLink(5000)).up).toBe(true);
  expect((await nic.stats()).txBytes).toBe(0n);
}, 60_000);
