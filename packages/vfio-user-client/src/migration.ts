import { DeviceFeature, DeviceFeatureFlags, type MigrationState } from "@emu/vfio-user-proto";
import { invalid, isVfioUserClientError } from "./errors.js";
import { length, u32 } from "./internal/arguments.js";
import { deviceFeature } from "./internal/device-feature.js";
import type { ClientSession } from "./internal/session.js";

/** Live migration: DEVICE_FEATURE (probe, MIGRATION, MIG_DEVICE_STATE) and MIG_DATA_READ/WRITE. */
export class Migration {
  private readonly session: ClientSession;

  constructor(session: ClientSession) {
    this.session = session;
  }

  /** See {@link VfioUserClient.probeFeature}. */
  async probeFeature(feature: number, ops: number): Promise<boolean> {
    u32(feature, "feature");
    const flags = ((feature & DeviceFeatureFlags.MASK) | ops | DeviceFeatureFlags.PROBE) >>> 0;
    try {
      await deviceFeature(this.session, flags, 8, { type: "None" });
      return true;
    } catch (e) {
      if (isVfioUserClientError(e) && e.reason === "ErrorReply") return false;
      throw e;
    }
  }

  /** See {@link VfioUserClient.getMigrationFlags}. */
  async getMigrationFlags(): Promise<bigint> {
    const r = await deviceFeature(this.session, DeviceFeature.MIGRATION | DeviceFeatureFlags.GET, 16, {
      type: "None",
    });
    if (r.data.type !== "Migration") throw this.session.protocol("GET MIGRATION reply without flags");
    return r.data.flags;
  }

  /** See {@link VfioUserClient.getMigrationState}. */
  async getMigrationState(): Promise<MigrationState> {
    const r = await deviceFeature(this.session, DeviceFeature.MIG_DEVICE_STATE | DeviceFeatureFlags.GET, 16, {
      type: "None",
    });
    if (r.data.type !== "MigDeviceState") throw this.session.protocol("GET MIG_DEVICE_STATE reply without a state");
    return r.data.deviceState as MigrationState;
  }

  /** See {@link VfioUserClient.setMigrationState}. */
  async setMigrationState(state: MigrationState): Promise<void> {
    u32(state, "migration state");
    await deviceFeature(this.session, DeviceFeature.MIG_DEVICE_STATE | DeviceFeatureFlags.SET, 16, {
      type: "MigDeviceState",
      deviceState: state,
      dataFd: -1,
    });
  }

  /** See {@link VfioUserClient.readMigrationData}. */
  async readMigrationData(max?: number): Promise<Uint8Array> {
    const session = this.session;
    session.live();
    const size = Math.min(length(max ?? session.negotiated.maxTransfer, "max"), session.negotiated.maxTransfer);
    const r = await session.call({ kind: "MigDataReadRequest", argsz: 8 + size, size }, "MigDataReadReply");
    if (r.data.length > size) throw session.protocol(`MIG_DATA_READ of ${size} returned ${r.data.length} byte(s)`);
    return r.data.slice();
  }

  /** See {@link VfioUserClient.readAllMigrationData}. */
  async readAllMigrationData(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let total = 0;
    const max = this.session.negotiated.maxTransfer;
    for (;;) {
      const p = await this.readMigrationData(max);
      parts.push(p);
      total += p.length;
      if (p.length < max) break;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** See {@link VfioUserClient.writeMigrationData}. */
  async writeMigrationData(data: Uint8Array): Promise<void> {
    const session = this.session;
    session.live();
    if (!(data instanceof Uint8Array)) throw invalid("data must be a Uint8Array");
    const max = session.negotiated.maxTransfer;
    const pieces: Promise<unknown>[] = [];
    for (let at = 0; at < data.length || (at === 0 && data.length === 0); at += max) {
      const piece = data.subarray(at, Math.min(data.length, at + max));
      pieces.push(
        session.call({ kind: "MigDataWriteRequest", argsz: 8 + piece.length, data: piece }, "MigDataWriteReply"),
      );
      if (data.length === 0) break;
    }
    await Promise.all(pieces);
  }
}
