// emu-lspci's view of a device that is not ours: the client's scripted peer answering with replies captured from
// libvfio-user's gpio sample (packages/vfio-user-client/test/fixtures/scripted-server.ts).
import { join } from "node:path";
import { formatLspci, readDeviceReport } from "@emu/app-emu-lspci";
import { tempDir } from "@emu/test-kit";
import { VfioUserClient } from "@emu/vfio-user-client";
import { afterEach, describe, expect, it } from "vitest";
import { CLIENT_FIXTURES, forkFixture } from "./helpers.js";

const clients: VfioUserClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

describe("libvfio-user's gpio sample", () => {
  it("emu-lspci's report of the gpio sample's config space", async () => {
    const socketPath = join(tempDir(), "peer.sock");
    await forkFixture(join(CLIENT_FIXTURES, "scripted-server.ts"), [socketPath, "libvfio-user"]);
    const c = await VfioUserClient.connect(socketPath);
    clients.push(c);
    const text = formatLspci(await readDeviceReport(c), { verbose: 2 });
    expect(text.split("\n")[0]).toBe("00:00.0 Non-VGA unclassified device: Device 494f:0dc8");
    expect(text).toContain("\tRegion 0: I/O ports at <unassigned> [disabled]");
    expect(text).toContain("\tvfio-user: ");
    expect(text).toContain("Region 1 (BAR1): size=0x4000 [size=16K], offset=0x0, flags=0xf <READ WRITE MMAP CAPS>");
    expect(text).toContain("\t\tSparse mmap: [0x0+0x1000] [0x2000+0x1000]");
  });
});
