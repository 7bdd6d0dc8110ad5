import { Command, type Frame } from "@emu/vfio-user-proto";
import { VfioUserClientError } from "../errors.js";
import { decodeReply } from "./decode-reply.js";

/**
 * The value of a successful REGION_READ/WRITE reply that is not the plain one (another size, fds): decoded and
 * judged. REGION_READ: the `count` bytes read (a view of the reply); REGION_WRITE: undefined. Throws the client error
 * the request fails with ("Protocol": does not decode, or a read returned another number of bytes). Pure: the reply's
 * fds are left to the caller.
 */
export function judgeAccessReply(reply: Frame, count: number): Uint8Array | undefined {
  if (reply.header.command === Command.REGION_WRITE) {
    decodeReply(reply, "RegionWriteReply");
    return undefined;
  }
  const m = decodeReply(reply, "RegionReadReply");
  if (m.data.length !== count && !(count === 0 && m.bare === true))
    throw new VfioUserClientError("Protocol", `REGION_READ of ${count} byte(s) returned ${m.data.length}`, {
      command: Command.REGION_READ,
    });
  return m.data;
}
