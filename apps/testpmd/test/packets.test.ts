// The generators' frames: a flow's patch, made once per flow, writes what setFlow writes (address and checksum).
import { inetChecksum } from "@emu/port";
import { describe, expect, it } from "vitest";
import { FlowPatches, setFlow, udpTemplate } from "../src/fwd/packets.js";

const dst = Uint8Array.of(2, 0, 0, 0, 0, 2);
const src = Uint8Array.of(2, 0, 0, 0, 0, 1);

describe("FlowPatches", () => {
  for (const field of ["source", "destination"] as const)
    it(`patches the ${field} address and the IPv4 checksum as setFlow does`, () => {
      const template = udpTemplate(64, dst, src);
      const flows = 300;
      const patches = new FlowPatches(template, flows, field);
      const mem = new Uint8Array(4096);
      for (const at of [128, 1001]) {
        for (const flow of [0, 1, 255, 299]) {
          mem.set(template, at);
          patches.apply(mem, at, flow);
          const want = template.slice();
          setFlow(want, 0, flow, field);
          expect(Array.from(mem.subarray(at, at + 64))).toEqual(Array.from(want));
          expect(inetChecksum(mem, at + 14, 20)).toBe(0); // the header sums to 0 with its checksum
        }
        const addr = field === "source" ? 26 : 30;
        expect(Array.from(mem.subarray(at + addr, at + addr + 4))).toEqual([198, 18, 1, field === "source" ? 44 : 45]);
      }
    });
});
