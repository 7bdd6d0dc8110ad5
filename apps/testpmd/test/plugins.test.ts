// The hooks later drivers plug into: -d plugins register emudev and port drivers; --vdev of an emudev driver makes
// and serves an emudev device; a port driver finds that device through testpmd's emudev registry.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestpmdPlugin } from "@emu/app-testpmd";
import { tempDir } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { session } from "./fixtures/session.js";

const plugin = fileURLToPath(new URL("./fixtures/fake-plugin.mjs", import.meta.url));

describe("plugins", () => {
  it("-d registers an emudev driver and a port driver; the port finds its emudev device", async () => {
    const sock = join(tempDir(), "fake.sock");
    const s = await session([
      "-l",
      "0-1",
      "-d",
      plugin,
      "--vdev",
      `fakedev0,sock=${sock}`,
      "--vdev",
      "net_null0",
      "--",
      "-i",
    ]);
    expect(s.banner).toContain("EMUDEV: device fakedev0 (driver fakedev) created and started\n");
    expect(existsSync(sock)).toBe(true); // served over vfio-user
    expect(await s.ask("port attach net_fakebe0,emu=fakedev0")).toBe(
      "Attaching a new port...\nPort 1 is attached. Now total ports is 2\nDone\n",
    );
    expect(await s.ask("show port info 1")).toContain(
      "Driver name: net_fakebe\nDevargs: emu=fakedev0\nEmu: fakedev0 (fake, started)\n",
    );
    expect(await s.ask("port attach net_fakebe1,emu=nope0")).toBe(
      "Attaching a new port...\nnet_fakebe1: no emudev device nope0 (make it with --vdev nope0,sock=<path>)\n",
    );
    expect(await s.ask(`port attach fakedev1,sock=${join(tempDir(), "b.sock")}`)).toBe(
      "EMUDEV: device fakedev1 (driver fakedev) created and started\n",
    );
    await s.ask("port start 1");
    await s.ask("start");
    expect(await s.ask("stop")).toMatch(/Forward statistics for port 1 /);
    const { status, tail } = await s.quit();
    expect(status).toBe(0);
    expect(tail).toContain("\nEMUDEV: device fakedev0 closed\n");
    expect(existsSync(sock)).toBe(false);
  });

  it("a plugin whose registration fails stops the start with the reason", async () => {
    const twice: TestpmdPlugin = {
      register: ({ ports }) => ports.registerDriver({ name: "net_null", args: {}, create: () => ({}) as never }),
    };
    const s = await session(["--", "-i"], [twice]);
    expect(await s.exited).toBe(1);
    expect(s.stderr()).toBe("testpmd: a plugin failed to register: port driver net_null is already registered\n");
  });

  it("a plugin that cannot load or registers nothing is a usage error", async () => {
    const s = await session(["-d", "./no/such/plugin.mjs", "--", "-i"]);
    expect(await s.exited).toBe(2);
    expect(s.stderr()).toMatch(/^emu-testpmd: -d \.\/no\/such\/plugin\.mjs: cannot load it: /);
    const t = await session(["-d", fileURLToPath(new URL("./fixtures/packets.ts", import.meta.url)), "--", "-i"]);
    expect(await t.exited).toBe(2);
  });

  it("a --vdev nobody can make stops the start with the reason", async () => {
    const s = await session(["--vdev", "net_null0", "--vdev", "net_null0", "--", "-i"]);
    expect(await s.exited).toBe(1);
    expect(s.stderr()).toBe("EAL: port net_null0 already exists\n");
    const t = await session(["-d", plugin, "--vdev", "fakedev0", "--", "-i"]);
    expect(await t.exited).toBe(1);
    expect(t.stderr()).toBe('EAL: devargs "fakedev0": missing key "sock" (socket path)\n');
  });
});
