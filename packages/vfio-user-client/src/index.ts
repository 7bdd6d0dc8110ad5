/**
 * @emu/vfio-user-client — a vfio-user device consumed over a UNIX socket, as the `VfioDevice` of `@emu/vfio-device`,
 * plus a bus source for vfio-user sockets.
 */
export { VfioUserBusSource, type VfioUserBusSourceOptions } from "./bus-source.js";
export {
  CLIENT_VERSION,
  type ClientDmaBuffer,
  type DmaMapOptions,
  type NegotiatedSession,
  type RawReply,
  type RegionIoFds,
  type ServerDmaAccess,
  VfioUserClient,
  type VfioUserClientEvents,
  type VfioUserConnectOptions,
} from "./client.js";
export { errnoName, isVfioUserClientError, VfioUserClientError, type VfioUserClientErrorReason } from "./errors.js";
