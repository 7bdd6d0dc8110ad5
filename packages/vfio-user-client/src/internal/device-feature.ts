import type { DeviceFeatureData, MessageOf } from "@emu/vfio-user-proto";
import type { ClientSession } from "./session.js";

/** A DEVICE_FEATURE request (migration, DMA logging) and its decoded reply. */
export function deviceFeature(
  session: ClientSession,
  flags: number,
  argsz: number,
  data: DeviceFeatureData,
): Promise<MessageOf<"DeviceFeatureReply">> {
  return session.call({ kind: "DeviceFeatureRequest", argsz, flags, data }, "DeviceFeatureReply");
}
