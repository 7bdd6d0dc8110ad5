// `port attach <address>,dpa=1,emu=emu_iavf0` with each kind of bus address, when the delegate cannot be had: a BDF
// and an mdev UUID this host does not have (the sysfs source), a socket nobody serves and one that serves a device
// that is not an iavf VF (the vfio-user source). The port is made (it chooses the delegated path) and `port start`,
// which opens the delegate, says which address and which bus source; the port stays stopped, emu_iavf0 stays free for
// another provider, and testpmd quits cleanly with its sockets gone. A malformed address is refused at `port attach`
// with what is wrong with it. (Kernel-VFIO delegates that exist are tested in @emu/iavf-dp-dpa, on the stand-in
// kernel of @emu/mdev-pci.)
import { randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type RemoteTestpmd, spawnTestpmd } from "@emu/app-testpmd";
import { reapAfterTest, tempDir } from "@emu/test-kit";
import { describe, expect, it } from "vitest";

const plugin = fileURLToPath(new URL("./fixtures/fake-plugin.mjs", import.meta.url));

async function testpmd(argv: readonly string[]): Promise<RemoteTestpmd> {
  const t = await spawnTestpmd(argv);
  reapAfterTest(t.process);
  return t;
}

/** `s` as a regular expression that matches it literally. */
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("port attach <address>,dpa=1 when the delegate cannot be had", () => {
  it("a missing BDF, mdev or socket and a non-iavf device: clear errors at port start; malformed addresses refused", async () => {
    const dir = tempDir();
    const [front, fake, absent] = [join(dir, "front.sock"), join(dir, "fake.sock"), join(dir, "absent.sock")];
    const t = await testpmd([
      "-l",
      "0-1",
      "-d",
      plugin,
      "--vdev",
      `emu_iavf0,sock=${front},queues=1`,
      "--vdev",
      `fakedev0,sock=${fake}`,
      "--",
      "-i",
    ]);
    // Addresses no machine has: a PCI domain of 0xabcd, a fresh UUID.
    const bdf = "abcd:ef:1f.7";
    const uuid = randomUUID();
    const cases: Array<[address: string, error: RegExp]> = [
      [
        bdf,
        new RegExp(
          `^net_iavf_dpa0: no delegate: cannot open ${bdf} through the bus source "sysfs": no PCI device ${bdf} \\(/sys/bus/pci/devices/${bdf} does not exist\\)$`,
        ),
      ],
      [
        uuid.toUpperCase(),
        new RegExp(
          `^net_iavf_dpa1: no delegate: cannot open ${uuid} through the bus source "sysfs": no mediated device ${uuid} \\(/sys/bus/mdev/devices/${uuid} does not exist\\)$`,
        ),
      ],
      [
        `vfio-user:${absent}`,
        new RegExp(
          `^net_iavf_dpa2: no delegate: cannot open vfio-user:${literal(absent)} through the bus source "vfio-user": cannot connect to ${literal(absent)}: .*ENOENT`,
        ),
      ],
      [
        fake,
        new RegExp(
          `^net_iavf_dpa3: the delegate vfio-user:${literal(fake)} cannot serve emu_iavf0: BAR0 must be a readable and writable region of at least 0x10000 bytes \\(it is 0x1000,`,
        ),
      ],
    ];
    for (const [id, [address, error]] of cases.entries()) {
      expect(await t.ask(`port attach ${address},dpa=1,emu=emu_iavf0`)).toContain(`Port ${id} is attached`);
      const out = await t.ask(`port start ${id}`);
      expect(out.split("\n")[0]).toBe(`Configuring Port ${id} (socket 0)`);
      expect(out.split("\n")[1]).toMatch(error);
      const info = await t.ask(`show port info ${id}`);
      expect(info).toContain("Port state: stopped");
      expect(info).toContain("Delegate: none (port stopped)");
      expect(info).toContain("Emu: emu_iavf0 (started, guest absent)");
    }
    // The refused device's connection was closed: fakedev0 serves one client at a time, and takes the next attempt.
    expect((await t.ask("port start 3")).split("\n")[1]).toMatch(cases[3]![1]);

    // Malformed: refused at attach with what is wrong, no port made.
    const malformed: Array<[text: string, error: string]> = [
      ["0000:zz:01.0", '"0000:zz:01.0" is not a PCI address (dddd:bb:dd.f), an mdev UUID or a vfio-user socket'],
      ["0000:3b:20.0", '"0000:3b:20.0" is not a PCI address: its device is 0x20, not 0..0x1f'],
      ["5e1f0a2b-3c4d-4e5f-8a9b", '"5e1f0a2b-3c4d-4e5f-8a9b" is not a PCI address (dddd:bb:dd.f), an mdev UUID'],
      ["vfio-user:", 'empty vfio-user socket path in "vfio-user:"'],
    ];
    for (const [text, error] of malformed) {
      expect(await t.ask(`port attach ${text},dpa=1,emu=emu_iavf0`)).toMatch(new RegExp(`^${literal(error)}`));
    }
    expect(await t.ask("show port summary all")).toContain("Number of available ports: 4\n");

    // None of the failures bound emu_iavf0: the software back-end takes it.
    for (const id of [0, 1, 2, 3]) expect(await t.ask(`port detach ${id}`)).toContain(`Port ${id} is detached`);
    expect(await t.ask("port attach net_iavfbe,emu=emu_iavf0")).toContain("Port 0 is attached");
    expect(await t.ask("port start 0")).toMatch(/^Configuring Port 0 \(socket 0\)\nPort 0: [0-9A-F:]{17}\n/);

    expect(await t.quit()).toBe(0); // within 10 s: nothing left holding the process open
    expect(t.output()).not.toMatch(/\(node:\d+\)|unexpected failure|EMUDEV: .*(rror|refused)/);
    expect(readdirSync(dir)).toEqual([]); // both servers' sockets removed, none made for the absent one
  });
});
