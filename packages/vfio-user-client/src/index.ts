/**
 * @emu/vfio-user-client — a vfio-user device consumed over a UNIX socket, as the `VfioDevice` of `@emu/vfio-device`,
 * plus a bus source for vfio-user sockets.
 */
export { VfioUserBusSource, type VfioUserBusSourceOptions } from "./bus-source.js";
export { type KeptDmaMemory, type RawReply, VfioUserClient, type VfioUserClientEvents } from "./client.js";
export type { ClientDmaBuffer, DmaMapOptions } from "./dma-memory.js";
export type { ServerDmaAccess } from "./dma-service.js";
export { errnoName, isVfioUserClientError, VfioUserClientError, type VfioUserClientErrorReason } from "./errors.js";
export { type MigrateOptions, type MigrationReport, migrateDevice } from "./migrate.js";
export { CLIENT_VERSION, type NegotiatedSession, type VfioUserConnectOptions } from "./negotiation.js";
export type { RegionIoFds } from "./region-info.js";
