import {
  Command,
  HEADER_SIZE,
  type Header,
  HeaderFlags,
  REGION_ACCESS_SIZE,
  type RegionReadRequest,
  type RegionWriteMultiRequest,
  type RegionWriteRequest,
} from "@emu/vfio-user-proto";
import {
  appendRegionReadReply,
  appendRegionReadReplyFrom,
  appendRegionWriteReply,
  copyBytes,
  type MutableHeader,
  type RegionAccessHead,
  readRegionAccessAt,
} from "@emu/vfio-user-proto/wire";
import { ARENA_COPY_MAX } from "@emu/vfio-user-transport";
import type { MaybePromise } from "../../device.js";
import { refuse } from "../../errno.js";
import type { RegionSlot } from "../regions.js";
import type { Session } from "../session.js";

/**
 * REGION_READ, REGION_WRITE and REGION_WRITE_MULTI. REGION_READ/WRITE have two entry points to one handler: the
 * decoded message (`regionRead`, `regionWrite`) and the frame read in place (`regionAccessInPlace`, no object per
 * message). Both accept by the same rule (`allowed`) and serve with the same code (`serveRead`, `serveWrite`).
 */

/** Header + access head: a REGION_READ request, a REGION_WRITE reply; + data for the others. */
const ACCESS_FRAME_SIZE = HEADER_SIZE + REGION_ACCESS_SIZE;
const EMPTY = new Uint8Array(0);

/**
 * The access rule: the slot when [offset, offset + count) of `region` may be accessed (`offset` as a number: above
 * 2^53 it is out of range anyway), else undefined (`refusal` says why). Only genuinely bad requests are refused
 * (unknown region, beyond its end, above max_data_xfer_size): an access the region does not permit is served as
 * hardware does (see `DeviceHost.readView`).
 */
function allowed(s: Session, region: number, offset: number, count: number): RegionSlot | undefined {
  const slot = s.host.slot(region);
  if (slot === undefined || slot.size === 0) return undefined;
  if (count > s.limits.maxDataXferSize || offset + count > slot.size) return undefined;
  return slot;
}

/** `allowed`, or the refusal that says why not. */
function checkAccess(s: Session, region: number, offset: bigint, count: number): RegionSlot {
  const ok = allowed(s, region, Number(offset), count);
  if (ok !== undefined) return ok;
  const slot = s.host.slot(region);
  if (slot === undefined || slot.size === 0) throw refuse("BadIndex", `region ${region}`);
  const max = s.limits.maxDataXferSize;
  if (count > max) throw refuse("OutOfRange", `count ${count} > max_data_xfer_size ${max}`);
  throw refuse("OutOfRange", `region ${region}: 0x${offset.toString(16)}+${count} beyond its ${slot.size} bytes`);
}

function copyHeader(h: Header): Header {
  return { msgId: h.msgId, command: h.command, msgSize: h.msgSize, flags: h.flags, error: h.error };
}

function replyRead(s: Session, h: Header, offset: number, region: number, data: Uint8Array): void {
  if (!s.replies(h)) return;
  if (ACCESS_FRAME_SIZE + data.length > ARENA_COPY_MAX) {
    s.send(h, { kind: "RegionReadReply", offset: BigInt(offset), region, data });
    return;
  }
  appendRegionReadReply(s.out.arena, h.msgId, offset, region, data);
  s.out.sent();
}

function replyWrite(s: Session, h: Header, offset: number, region: number, count: number): void {
  if (!s.replies(h)) return;
  appendRegionWriteReply(s.out.arena, h.msgId, offset, region, count);
  s.out.sent();
}

/** Serves an allowed read and replies; a promise when the device answers later (`h` may be a reused header). */
function serveRead(s: Session, h: Header, slot: RegionSlot, offset: number, count: number): MaybePromise<void> {
  const region = slot.index;
  if (count === 0) return replyRead(s, h, offset, region, EMPTY);
  const source = s.host.readSource(slot, offset, count);
  if (source !== undefined && ACCESS_FRAME_SIZE + count <= ARENA_COPY_MAX) {
    // Config space or shared memory: copied straight into the reply, no view per access.
    if (!s.replies(h)) return;
    appendRegionReadReplyFrom(s.out.arena, h.msgId, offset, region, source, offset, count);
    s.out.sent();
    return;
  }
  const data = s.host.readView(slot, offset, count);
  if (data instanceof Uint8Array) return replyRead(s, h, offset, region, data);
  const own = copyHeader(h);
  return data.then((d) => replyRead(s, own, offset, region, d));
}

/** Serves an allowed write and replies; as `serveRead`. `data` is only valid during the call. */
function serveWrite(s: Session, h: Header, slot: RegionSlot, offset: number, data: Uint8Array): MaybePromise<void> {
  const region = slot.index;
  const count = data.length;
  const r = count === 0 ? undefined : s.host.write(slot, offset, data);
  if (r === undefined) return replyWrite(s, h, offset, region, count);
  const own = copyHeader(h);
  return r.then(() => replyWrite(s, own, offset, region, count));
}

export function regionRead(s: Session, h: Header, msg: RegionReadRequest): MaybePromise<void> {
  const slot = checkAccess(s, msg.region, msg.offset, msg.count);
  return serveRead(s, h, slot, Number(msg.offset), msg.count);
}

export function regionWrite(s: Session, h: Header, msg: RegionWriteRequest): MaybePromise<void> {
  const slot = checkAccess(s, msg.region, msg.offset, msg.data.length);
  return serveWrite(s, h, slot, Number(msg.offset), msg.data);
}

/** The access head of the frame read in place: filled and consumed within one call, never kept. */
const access: RegionAccessHead = { offset: 0, region: 0, count: 0 };

/**
 * The fast entry point: REGION_READ / REGION_WRITE read in place (header in `h`, reused) when the general path would
 * accept the frame as it is — negotiated, a frame the codec decodes (the access head, and for a write exactly `count`
 * data bytes), an `allowed` access. False leaves the frame to the general path, which also gives every refusal its
 * error reply.
 */
export function regionAccessInPlace(
  s: Session,
  chunk: Uint8Array,
  view: DataView,
  at: number,
  h: MutableHeader,
): boolean {
  const command = h.command;
  if (command !== Command.REGION_READ && command !== Command.REGION_WRITE) return false;
  if ((h.flags & HeaderFlags.TYPE_MASK) !== HeaderFlags.TYPE_COMMAND || !s.negotiated.done) return false;
  if (h.msgSize < ACCESS_FRAME_SIZE) return false;
  const a = access;
  readRegionAccessAt(view, at, a);
  const write = command === Command.REGION_WRITE;
  const count = a.count;
  if (h.msgSize !== ACCESS_FRAME_SIZE + (write ? count : 0)) return false;
  const slot = allowed(s, a.region, a.offset, count);
  if (slot === undefined) return false;
  let r: MaybePromise<void>;
  try {
    // `chunk` is the socket's receive buffer, reused once this chunk is handled: a write gets its data as bytes of
    // their own (a callback that goes asynchronous, a split access, onConfigWrite may use them later).
    r = write
      ? serveWrite(s, h, slot, a.offset, copyBytes(chunk, at + ACCESS_FRAME_SIZE, count))
      : serveRead(s, h, slot, a.offset, count);
  } catch (e) {
    s.fail(copyHeader(h), e);
    return true;
  }
  if (r !== undefined) s.wait(copyHeader(h), r);
  return true;
}

/** REGION_WRITE_MULTI: the writes in order; the reply says how many completed (an error only if none did). */
export function regionWriteMulti(s: Session, h: Header, msg: RegionWriteMultiRequest): MaybePromise<void> {
  if (!s.negotiated.writeMultiple) throw refuse("NotSupported", "REGION_WRITE_MULTI was not negotiated");
  const writes = msg.writes;
  let done = 0;
  const reply = (): void => s.send(h, { kind: "RegionWriteMultiReply", wrCnt: BigInt(done) });
  const step = (): MaybePromise<void> => {
    for (let w = writes[done]; w !== undefined; w = writes[done]) {
      let r: void | Promise<void>;
      try {
        const slot = checkAccess(s, w.region, w.offset, w.data.length);
        r = s.host.write(slot, Number(w.offset), w.data);
      } catch (e) {
        if (done === 0) throw e;
        return reply(); // the reply says how many writes completed
      }
      if (r !== undefined)
        return r.then(
          () => {
            done++;
            return step();
          },
          (e) => {
            if (done === 0) throw e;
            reply();
          },
        );
      done++;
    }
    reply();
  };
  return step();
}
