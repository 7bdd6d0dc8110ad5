// The generators' frames: each flow's frame, made once per flow, is what setFlow makes of the template (address and
// checksum), whole for a short frame and as headers + the template's rest for a long one.
import { inetChecksum } from "@emu/port";
import { describe, expect, it } from "vitest";
import { FlowFrames, setFlow, udpTemplate } from "../src/fwd/packets.js";

const dst = Uint8Array.of(2, 0, 0, 0, 0, 2);
const src = Uint8Array.of(2, 0, 0, 0, 0, 1);

/** Flow `flow`'s frame as a generator copies it: its head, then the template's bytes after the head. */
function frameOf(frames: FlowFrames, length: number, flow: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(frames.bytes.subarray(frames.headAt(flow), frames.headAt(flow) + frames.head));
  out.set(frames.bytes.subarray(frames.head, length), frames.head);
  return out;
}

describe("FlowFrames", () => {
  for (const field of ["source", "destination"] as const)
    for (const length of [42, 64, 100])
      it(`gives each flow the ${field} address and IPv4 checksum setFlow writes (${length}-byte frames)`, () => {
        const template = udpTemplate(length, dst, src);
        const flows = 300;
        const frames = new FlowFrames(template, flows, field);
        expect(frames.head).toBe(Math.min(length, 64));
        expect(frames.bytes.length).toBe(length + flows * frames.head);
        for (const flow of [0, 1, 255, 299]) {
          const want = template.slice();
          setFlow(want, 0, flow, field);
          const got = frameOf(frames, length, flow);
          expect(Array.from(got)).toEqual(Array.from(want));
          expect(inetChecksum(got, 14, 20)).toBe(0); // the header sums to 0 with its checksum
        }
        const addr = field === "source" ? 26 : 30;
        expect(Array.from(frameOf(frames, length, 299).subarray(addr, addr + 4))).toEqual([
          198,
          18,
          1,
          field === "source" ? 44 : 45,
        ]);
        // The template itself is left as it was, at the start.
        expect(Array.from(frames.bytes.subarray(0, length))).toEqual(Array.from(template));
      });
});
