/** The README's example, run against emu_iavf served by a child process (link up from its devargs). */
import { IavfDriver } from "@emu/iavf-client";
import { VfioUserClient } from "@emu/vfio-user-client";
import { expect, it } from "vitest";
import { serveIavf } from "./fixtures/device.js";

it("the README's example brings the VF up, sees the link, reads stats, resets and closes", async () => {
  const served = await serveIavf({ queues: 4, link: true });
  const lines: unknown[][] = [];
  const console = { log: (...a: unknown[]) => lines.push(a) };

  const dev = await VfioUserClient.connect(served.sock); // or a VF from @emu/mdev-pci's bus
  const nic = await IavfDriver.attach(dev, { queuePairs: 4 }); // reset wait, AQ, VERSION … ENABLE_QUEUES
  nic.on("link", (l) => console.log(l.up ? `link up ${l.speedMbps} Mb/s` : "link down"));
  await nic.waitForLink();
  console.log(nic.mac, nic.queueCount, await nic.stats()); // GET_STATS
  const [pair] = nic.queuePairs; // ring bytes, IOVA, tail doorbell (a plain store when mmapped)
  console.log(pair?.tx.iova, pair?.rx.size, pair?.tx.doorbellMapped);
  await nic.reset(); // RESET_VF, then the whole configuration again
  await nic.close(); // DISABLE_QUEUES, DEL_ETH_ADDR, RESET_VF, AQ shutdown; `dev` stays open

  expect(lines[0]?.slice(0, 2)).toEqual([served.mac, 4]);
  expect(lines[1]).toEqual([pair?.tx.iova, 512, true]);
  expect(lines).toContainEqual(["link down"]); // the reset took the link down …
  await dev.close();
});
