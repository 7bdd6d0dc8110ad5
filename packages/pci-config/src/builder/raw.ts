import { wr8 } from "../internal/bytes.js";
import type { ConfigBuffers } from "./buffers.js";
import { checkInt, invalid } from "./checks.js";
import type { RawCapabilityDescription } from "./description.js";

/** Writes any other standard capability at `o`: id, next, then the data. */
export function writeRaw(buf: ConfigBuffers, o: number, cap: RawCapabilityDescription): void {
  const { bytes, wmask } = buf;
  checkInt("capability id", cap.id, 1, 0xff);
  wr8(bytes, o, cap.id);
  bytes.set(cap.data, o + 2);
  if (cap.writeMask) {
    if (cap.writeMask.length !== cap.data.length) invalid("raw capability writeMask length differs from data");
    wmask.set(cap.writeMask, o + 2);
  }
}
