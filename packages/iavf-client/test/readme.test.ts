/** The README's example, run against emu_iavf served by a child process whose test provider loops frames back. */
import { IavfDriver } from "@emu/iavf-client";
import { VfioUserClient } from "@emu/vfio-user-client";
import { expect, it } from "vitest";
import { serveLoop, frame as testFrame } from "./fixtures/loop.js";

it("the README's example brings the VF up, sees the link, reads stats, moves a packet, resets and closes", async () => {
  const served = await serveLoop(4, "loop");
  const lines: unknown[][] = [];
  const console = { log: (...a: unknown[]) => lines.push(a) };
  const frame = testFrame(7);

  const dev = await VfioUserClient.connect(served.sock); // or a VF from @emu/mdev-pci's bus
  const nic = await IavfDriver.attach(dev, { queuePairs: 4 }); // reset wait, AQ, VERSION … ENABLE_QUEUES
  nic.on("link", (l) => console.log(l.up ? `link up ${l.speedMbps} Mb/s` : "link down"));
  await nic.waitForLink();
  console.log(nic.mac, nic.queueCount, await nic.stats()); // GET_STATS
  nic.io.txBurst(0, [frame]); // copied into a DMA buffer, one descriptor, one tail store
  if (await nic.io.waitRx(0, 1000)) console.log(nic.io.rxBurst(0)); // [{ data, ptype, rssHash }]
  await nic.reset(); // RESET_VF, then the whole configuration again (RX buffers posted again)
  await nic.close(); // DISABLE_QUEUES, DEL_ETH_ADDR, RESET_VF, AQ shutdown; `dev` stays open

  expect(lines[0]?.[1]).toBe(4);
  const rx = lines[1]?.[0] as { data: Uint8Array; ptype: number }[];
  expect(rx.map((f) => [...f.data])).toEqual([[...frame]]);
  expect(lines).toContainEqual(["link down"]); // the reset took the link down …
  await dev.close();
});
