// A guest brings the NIC up the way the Linux iavf driver does (doc §4.8), against emu_iavf in another process.
import { AqFlag, PF_MINIMAL_CAPS, Reg, VfCap, VfrState, VirtchnlOp, VsiType } from "@emu/iavf-common";
import { describe, expect, it } from "vitest";
import { openDriver, serveIavf } from "./fixtures/harness.js";
import { GUEST, MEM } from "./fixtures/raw-driver.js";

describe("bring-up", () => {
  it("RSTAT VFACTIVE, admin queues, VERSION and GET_VF_RESOURCES", async () => {
    const dev = await serveIavf();
    const drv = await openDriver(dev.sock);
    expect((await drv.r32(Reg.VFGEN_RSTAT)) & 3).toBe(VfrState.VFACTIVE);
    await drv.initAdminQueues();
    const version = await drv.call({ kind: "VersionRequest", major: 1, minor: 1 });
    expect(version).toEqual({ kind: "VersionReply", major: 1, minor: 1 });
    const atq = drv.desc(MEM.ATQ, 0);
    expect(atq.flags & (AqFlag.DD | AqFlag.CMP)).toBe(AqFlag.DD | AqFlag.CMP);
    expect(atq.retval).toBe(0);
    expect(await drv.r32(Reg.VF_ATQH1)).toBe(1);
    const res = await drv.call({ kind: "GetVfResourcesRequest", capabilities: 0xffff_ffff });
    expect(res).toMatchObject({
      kind: "GetVfResourcesReply",
      numQueuePairs: 4,
      maxVectors: 17,
      maxMtu: 1500,
      capabilities: PF_MINIMAL_CAPS,
      rssKeySize: 52,
      rssLutSize: 64,
      vsis: [{ vsiId: 1, numQueuePairs: 4, vsiType: VsiType.SRIOV, defaultMac: "02:00:00:00:00:01" }],
    });
    const link = await drv.next();
    expect(link.desc.cookieHigh).toBe(VirtchnlOp.EVENT);
    expect((await dev.ask<{ capabilities: number }>("nic")).capabilities & VfCap.OFFLOAD_L2).toBe(1);
    expect(GUEST).toBeGreaterThan(0n);
  });
});
