// The driver's device model with emudev's hooks added: reset, DMA map/unmap, connection and migration become emudev
// events; entering a state that saves or loads the device state first asks the provider whether it can be migrated,
// leaving RUNNING/PRE_COPY stops the provider before the driver saves its state, entering them starts it after
// the driver restored it. The driver's own callbacks run first (for an unmap: after the event, so a data path stops using the memory
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
  /**
   * The device stops running (`false`: before the arc, no DMA after it returns; throws when it cannot: the arc is
   * refused) or runs again (`true`: after it).
   */
  migrationRunning(running: boolean): void;
  /** The device is about to save or load its state (throws when its data path cannot be migrated: the arc is refused). */
  migrationTransfer(): void;
}

/** States in which the device runs (does DMA, raises interrupts): RUNNING and PRE_COPY. */
function runs(s: MigrationState): boolean {
  return s === MigrationState.RUNNING || s === MigrationState.PRE_COPY;
}

/** States in which the device's state is saved or loaded: a migration, where a plain STOP is only a pause. */
function transfers(s: MigrationState): boolean {
  return s === MigrationState.PRE_COPY || s === MigrationState.STOP_COPY || s === MigrationState.RESUMING;
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
    // Asked once per request, before the server walks its arcs: a refusal leaves the device as it was, running if it
    // ran (asked per arc, RUNNING → STOP_COPY would have taken its RUNNING → STOP before the refusal).
    request(from, target) {
      if (transfers(target)) hooks.migrationTransfer();
      return m.request?.(from, target);
    },
    transition(from, to) {
      const stopping = runs(from) && !runs(to);
      const starting = !runs(from) && runs(to);
      const done = (): void => {
        after(from);
        if (starting) hooks.migrationRunning(true);
      };
      // A refused arc (by the data path that cannot stop, or by the driver) leaves the device running if it was.
      const undo = (e: unknown): never => {
        if (stopping) hooks.migrationRunning(true);
        throw e;
      };
      let r: ReturnType<MigrationCallbacks["transition"]>;
      try {
        if (stopping) hooks.migrationRunning(false);
        r = m.transition(from, to);
      } catch (e) {
        return undo(e);
      }
      if (isThenable(r)) return r.then(done, undo);
      done();
    },
    read: (max) => m.read(max),
    write: (data) => m.write(data),
  };
}

/**
 * `model` with the hooks in front: a plain object of the model's fields (read once) and callbacks (called on the model
 * itself, so a class-based model keeps its `this` and its #private fields).
 */
export function hookModel(model: DeviceModel, hooks: ModelHooks): DeviceModel {
  const { pci, regions, irqs, migration } = model;
  return {
    pci,
    ...(regions === undefined ? {} : { regions }),
    ...(irqs === undefined ? {} : { irqs }),
    ...(migration === undefined ? {} : { migration: hookMigration(migration, hooks) }),
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
    ...(model.onConfigWrite === undefined
      ? {}
      : { onConfigWrite: (offset: number, data: Uint8Array) => model.onConfigWrite?.(offset, data) }),
  };
}
