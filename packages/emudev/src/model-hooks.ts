// The driver's device model with emudev's hooks added: reset, DMA map/unmap, connection and migration become emudev
// events. The driver's own callbacks run first (for an unmap: after the event, so a data path stops using the memory
// before the driver and the server let it go).
import { MigrationState } from "@emu/vfio-user-proto";
import type { DeviceModel, DmaRegionInfo, MigrationCallbacks, ResetReason } from "@emu/vfio-user-server";

/** What the device does on each hook. */
export interface ModelHooks {
  reset(reason: ResetReason): void;
  dmaMapped(region: DmaRegionInfo): void;
  dmaUnmapping(region: DmaRegionInfo): void;
  connection(connected: boolean): void;
  migrationDone(): void;
}

function isThenable(v: unknown): v is Promise<void> {
  return typeof (v as { then?: unknown } | undefined)?.then === "function";
}

function hookMigration(m: MigrationCallbacks, hooks: ModelHooks): MigrationCallbacks {
  const after = (from: MigrationState): void => {
    if (from === MigrationState.RESUMING) hooks.migrationDone();
  };
  return {
    ...(m.preCopy === undefined ? {} : { preCopy: m.preCopy }),
    transition(from, to) {
      const r = m.transition(from, to);
      if (isThenable(r)) return r.then(() => after(from));
      after(from);
    },
    read: (max) => m.read(max),
    write: (data) => m.write(data),
  };
}

/** `model` seen through a prototype link (class-based models keep their methods), with the hooks in front. */
export function hookModel(model: DeviceModel, hooks: ModelHooks): DeviceModel {
  const hooked: Partial<Record<keyof DeviceModel, unknown>> = {
    reset(reason: ResetReason) {
      const r = model.reset?.(reason);
      if (isThenable(r)) return r.then(() => hooks.reset(reason));
      hooks.reset(reason);
    },
    onDmaMap(region: DmaRegionInfo) {
      model.onDmaMap?.(region);
      hooks.dmaMapped(region);
    },
    onDmaUnmap(region: DmaRegionInfo) {
      hooks.dmaUnmapping(region);
      model.onDmaUnmap?.(region);
    },
    onConnect() {
      model.onConnect?.();
      hooks.connection(true);
    },
    onDisconnect() {
      model.onDisconnect?.();
      hooks.connection(false);
    },
  };
  if (model.migration !== undefined) hooked.migration = hookMigration(model.migration, hooks);
  // Called on the model itself, so a class-based model keeps its `this` (and its #private fields).
  if (model.onConfigWrite !== undefined)
    hooked.onConfigWrite = (offset: number, data: Uint8Array) => model.onConfigWrite?.(offset, data);
  return Object.assign(Object.create(model) as DeviceModel, hooked);
}
