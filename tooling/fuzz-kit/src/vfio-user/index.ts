/**
 * @emu/fuzz-kit/vfio-user — what every vfio-user fuzz target needs: the golden frames as seeds (`goldenFrames`),
 * requests from the codecs aimed at a device's shape (`randomRequest`, `versionRequest`), real fds where they belong
 * and where they do not (`makeFd`, `makeFds`), the peer's framing of what we send (`Mirror`), and a hostile peer's
 * socket (`FramePeer`).
 */
export { type FdKind, makeFd, makeFds } from "./fds.js";
export { type GoldenFrame, goldenFrames } from "./golden.js";
export { Mirror, type MirroredHeader } from "./mirror.js";
export { FramePeer } from "./peer.js";
export { dmaCommand, encodeReply, type Reply, replyFor } from "./replies.js";
export {
  type DeviceShape,
  encodeRequest,
  type Request,
  type RequestState,
  randomRequest,
  versionRequest,
} from "./requests.js";
