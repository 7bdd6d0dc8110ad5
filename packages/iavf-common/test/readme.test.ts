/** The README's example, run. */
import { decodeVirtchnl, encodeVirtchnl, PF_MINIMAL_CAPS, VfCap, VirtchnlStatus, VsiType } from "@emu/iavf-common";
import { expect, it } from "vitest";

function answer(opcode: number, bytes: Uint8Array): { status: number; payload: Uint8Array } {
  const none = new Uint8Array(0);
  const r = decodeVirtchnl(opcode, bytes, "request");
  if (!r.ok) return { status: r.error.status, payload: none };
  const m = r.value;
  if (m.kind === "Unknown") return { status: VirtchnlStatus.ERR_NOT_SUPPORTED, payload: none };
  if (m.kind !== "GetVfResourcesRequest") return { status: VirtchnlStatus.SUCCESS, payload: none };
  const vsi = { vsiId: 0, numQueuePairs: 4, vsiType: VsiType.SRIOV, qsetHandle: 0, defaultMac: "02:00:00:00:00:01" };
  const capabilities = (m.capabilities ?? VfCap.OFFLOAD_L2) & PF_MINIMAL_CAPS;
  const reply = encodeVirtchnl({
    kind: "GetVfResourcesReply",
    numQueuePairs: 4,
    maxVectors: 17,
    maxMtu: 1500,
    capabilities,
    rssKeySize: 52,
    rssLutSize: 64,
    vsis: [vsi],
  });
  return { status: VirtchnlStatus.SUCCESS, payload: reply.payload };
}

it("the README's PF answers GET_VF_RESOURCES, bad lengths, EVENT and unknown opcodes", () => {
  const linuxCaps = encodeVirtchnl({ kind: "GetVfResourcesRequest", capabilities: 0xffff_ffff }).payload;
  const res = answer(3, linuxCaps);
  expect(res.status).toBe(0);
  expect(res.payload.length).toBe(52);
  const d = decodeVirtchnl(3, res.payload, "reply");
  expect(d.ok && d.value.kind === "GetVfResourcesReply" && d.value.capabilities).toBe(PF_MINIMAL_CAPS);
  expect(answer(8, new Uint8Array(11)).status).toBe(VirtchnlStatus.ERR_OPCODE_MISMATCH);
  expect(answer(17, new Uint8Array(16)).status).toBe(VirtchnlStatus.ERR_PARAM);
  expect(answer(51, new Uint8Array(0)).status).toBe(VirtchnlStatus.ERR_NOT_SUPPORTED);
  expect(answer(1, Uint8Array.of(1, 0, 0, 0, 1, 0, 0, 0)).status).toBe(0);
});
