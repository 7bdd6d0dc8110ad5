import { type Header, MigrationState } from "@emu/vfio-user-proto";
import type { MaybePromise } from "../../device.js";
import { refuse } from "../../errno.js";
import { isPromise } from "../is-promise.js";
import type { Session } from "../session.js";

/** MIG_DATA_READ and MIG_DATA_WRITE: the migration stream (the state machine is DEVICE_FEATURE's). */

export function migDataRead(s: Session, h: Header, argsz: number, size: number): MaybePromise<void> {
  const mig = s.host.model.migration;
  if (mig === undefined) throw refuse("NotSupported", "the device does not support migration");
  const state = s.host.migrationState;
  if (state !== MigrationState.PRE_COPY && state !== MigrationState.STOP_COPY)
    throw refuse("WrongState", "MIG_DATA_READ outside PRE_COPY / STOP_COPY");
  const max = Math.min(size, argsz - 8, s.limits.maxDataXferSize);
  const reply = (data: Uint8Array): void => {
    const out = data.length > max ? data.subarray(0, max) : data;
    // libvfio-user's reply is always 16 + 8 + the size asked for, the real count in `size` and `argsz`.
    const pad = s.limits.padMigDataRead && out.length < max ? { trailing: new Uint8Array(max - out.length) } : {};
    s.send(h, { kind: "MigDataReadReply", argsz: 8 + out.length, data: out, ...pad });
  };
  const r = mig.read(max);
  if (isPromise(r)) return r.then(reply);
  reply(r);
}

export function migDataWrite(s: Session, h: Header, data: Uint8Array): MaybePromise<void> {
  const mig = s.host.model.migration;
  if (mig === undefined) throw refuse("NotSupported", "the device does not support migration");
  if (s.host.migrationState !== MigrationState.RESUMING) throw refuse("WrongState", "MIG_DATA_WRITE outside RESUMING");
  if (data.length > s.limits.maxDataXferSize)
    throw refuse("OutOfRange", "MIG_DATA_WRITE larger than max_data_xfer_size");
  const r = mig.write(data);
  if (isPromise(r)) return r.then(() => s.send(h, { kind: "MigDataWriteReply" }));
  s.send(h, { kind: "MigDataWriteReply" });
}
