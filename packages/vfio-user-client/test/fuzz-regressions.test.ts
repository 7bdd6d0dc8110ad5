// What the fuzzer (fuzz/, `pnpm --filter @emu/vfio-user-client fuzz`) found, each kept as the smallest reproducer.
import { VfioUserClient } from "@emu/vfio-user-client";
import { PciIrq } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { fdCount, startDevice } from "./helpers.js";

describe("found by fuzzing", () => {
  // Two enableIrqs of one index in flight at once both kept their eventfds: the first ones leaked (3 eventfds after a
  // session, seed 1 session 41). They now run in turn, the second replacing the first.
  it("enableIrqs of one index twice at once leaves the second's eventfds only, and none after close", async () => {
    const dev = await startDevice();
    const before = fdCount();
    const c = await VfioUserClient.connect(dev.socketPath);
    const fired: number[] = [];
    await Promise.all([
      c.enableIrqs(PciIrq.MSIX, 0, 2, () => fired.push(0)),
      c.enableIrqs(PciIrq.MSIX, 0, 1, (v) => fired.push(v)),
    ]);
    const withIrqs = fdCount();
    await c.close();
    expect(fdCount()).toBe(before);
    // The socket and one eventfd were open, not three.
    expect(withIrqs - before).toBe(2);
  });

  // A region access split into more pieces than there are free msg_ids threw in the middle of sending them: the pieces
  // already sent were awaited by nobody, and their rejections crashed the process (seed 1 session 797: a server
  // advertising max_data_xfer_size 1, a read of 70000 bytes).
  it("an access needing more messages than free msg_ids rejects with InvalidArgument and leaves nothing unhandled", async () => {
    const dev = await startDevice();
    const c = await VfioUserClient.connect(dev.socketPath, { maxDataXferSize: 1 });
    await expect(c.regionRead(7, 0n, 70000)).rejects.toMatchObject({ reason: "InvalidArgument" });
    // Two at once: the second runs out of msg_ids part way through its 40000 pieces.
    const [a, b] = await Promise.allSettled([c.regionRead(7, 0n, 40000), c.regionWrite(7, 0n, new Uint8Array(40000))]);
    expect(a).toMatchObject({ status: "rejected", reason: { _tag: "VfioUserClientError", reason: "ErrorReply" } });
    expect(b).toMatchObject({ status: "rejected", reason: { _tag: "VfioUserClientError", reason: "InvalidArgument" } });
    await c.sync(); // the orphaned pieces' replies have come and gone
    await c.close();
  });

  it("an enableIrqs in flight when the client closes closes its eventfds and rejects with Closed", async () => {
    const dev = await startDevice();
    const before = fdCount();
    const c = await VfioUserClient.connect(dev.socketPath);
    const p = c.enableIrqs(PciIrq.MSIX, 0, 4, () => undefined);
    await c.close();
    await expect(p).rejects.toMatchObject({ _tag: "VfioUserClientError", reason: "Closed" });
    expect(fdCount()).toBe(before);
  });
});
