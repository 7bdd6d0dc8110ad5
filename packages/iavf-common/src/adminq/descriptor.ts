/**
 * The 32-byte admin-queue descriptor (`struct iavf_aq_desc`), its flags, the opcodes a VF mailbox carries and the
 * admin-queue return codes. For virtchnl (opcodes 0x0801/0x0802) the cookies carry the virtchnl opcode (high) and
 * the virtchnl status (low, signed).
 */
import { IavfError, type Result, tryIavf } from "../errors.js";
import { checkInt, LE, U16, U32, viewOf } from "../internal/bytes.js";

/** Size of one descriptor in bytes. */
export const AQ_DESCRIPTOR_SIZE = 32;

/** Byte offsets of the descriptor's fields. */
export const AqDescOffset = {
  FLAGS: 0,
  OPCODE: 2,
  DATALEN: 4,
  RETVAL: 6,
  COOKIE_HIGH: 8,
  COOKIE_LOW: 12,
  PARAM0: 16,
  PARAM1: 20,
  ADDR_HIGH: 24,
  ADDR_LOW: 28,
} as const;

/** Flag bits (`IAVF_AQ_FLAG_*`). */
export const AqFlag = {
  /** Descriptor done (device). */
  DD: 0x0001,
  /** Command completed (device). */
  CMP: 0x0002,
  /** Error: see retval (device). */
  ERR: 0x0004,
  /** VF error (device). */
  VFE: 0x0008,
  /** The buffer is larger than 512 bytes. */
  LB: 0x0200,
  /** The device must read the buffer (the command carries data). */
  RD: 0x0400,
  /** VF command. */
  VFC: 0x0800,
  /** The descriptor has an indirect buffer. */
  BUF: 0x1000,
  /** Solicit an interrupt. */
  SI: 0x2000,
  /** Interrupt on error. */
  EI: 0x4000,
  /** Flush on error. */
  FE: 0x8000,
} as const;

/** Buffers larger than this need {@link AqFlag.LB}. */
export const AQ_LARGE_BUF = 512;
/** The buffer size every driver posts on the ARQ. */
export const AQ_BUFFER_SIZE = 4096;

/** Admin-queue opcodes a VF mailbox sees. */
export const AqOpcode = {
  /** Direct: the driver shuts its queues down (param0 bit 0 = driver unloading). */
  QUEUE_SHUTDOWN: 0x0003,
  /** VF → PF virtchnl message (ATQ). */
  SEND_MSG_TO_PF: 0x0801,
  /** PF → VF virtchnl message (ARQ). */
  SEND_MSG_TO_VF: 0x0802,
  /** Never sent by a VF. */
  SEND_MSG_TO_PEER: 0x0803,
  SET_RSS_KEY: 0x0b02,
  SET_RSS_LUT: 0x0b03,
  GET_RSS_KEY: 0x0b04,
  GET_RSS_LUT: 0x0b05,
} as const;

/** `enum iavf_admin_queue_err`: the descriptor's retval. */
export const AqReturnCode = {
  OK: 0,
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EAGAIN: 8,
  ENOMEM: 9,
  EACCES: 10,
  EFAULT: 11,
  EBUSY: 12,
  EEXIST: 13,
  EINVAL: 14,
  ENOTTY: 15,
  ENOSPC: 16,
  ENOSYS: 17,
  ERANGE: 18,
  EFLUSHED: 19,
  BAD_ADDR: 20,
  EMODE: 21,
  EFBIG: 22,
} as const;

/** One admin-queue descriptor, field by field. */
export interface AqDescriptor {
  readonly flags: number;
  readonly opcode: number;
  /** Bytes of the indirect buffer (on the ARQ: the posted size, then the message length). */
  readonly datalen: number;
  readonly retval: number;
  /** For virtchnl: the virtchnl opcode. */
  readonly cookieHigh: number;
  /** For virtchnl: the virtchnl status, read as a signed 32-bit value. */
  readonly cookieLow: number;
  readonly param0: number;
  readonly param1: number;
  /** Indirect buffer address, bits 63:32. */
  readonly addrHigh: number;
  /** Indirect buffer address, bits 31:0. */
  readonly addrLow: number;
}

/** Reads the descriptor at `offset` of `view` (the caller checked that 32 bytes are there). */
export function readAqDescriptor(view: DataView, offset = 0): AqDescriptor {
  return {
    flags: view.getUint16(offset + AqDescOffset.FLAGS, LE),
    opcode: view.getUint16(offset + AqDescOffset.OPCODE, LE),
    datalen: view.getUint16(offset + AqDescOffset.DATALEN, LE),
    retval: view.getUint16(offset + AqDescOffset.RETVAL, LE),
    cookieHigh: view.getUint32(offset + AqDescOffset.COOKIE_HIGH, LE),
    cookieLow: view.getInt32(offset + AqDescOffset.COOKIE_LOW, LE),
    param0: view.getUint32(offset + AqDescOffset.PARAM0, LE),
    param1: view.getUint32(offset + AqDescOffset.PARAM1, LE),
    addrHigh: view.getUint32(offset + AqDescOffset.ADDR_HIGH, LE),
    addrLow: view.getUint32(offset + AqDescOffset.ADDR_LOW, LE),
  };
}

/**
 * Writes `d` at `offset` of `view`. Throws an {@link IavfError} (`OutOfRange`) for a value its field cannot hold;
 * `cookieLow` takes a signed or an unsigned 32-bit value.
 */
export function writeAqDescriptor(view: DataView, offset: number, d: AqDescriptor): void {
  view.setUint16(offset + AqDescOffset.FLAGS, checkInt(d.flags, U16, "flags"), LE);
  view.setUint16(offset + AqDescOffset.OPCODE, checkInt(d.opcode, U16, "opcode"), LE);
  view.setUint16(offset + AqDescOffset.DATALEN, checkInt(d.datalen, U16, "datalen"), LE);
  view.setUint16(offset + AqDescOffset.RETVAL, checkInt(d.retval, U16, "retval"), LE);
  view.setUint32(offset + AqDescOffset.COOKIE_HIGH, checkInt(d.cookieHigh, U32, "cookieHigh"), LE);
  view.setUint32(
    offset + AqDescOffset.COOKIE_LOW,
    checkInt(d.cookieLow, U32, "cookieLow", undefined, -0x8000_0000) >>> 0,
    LE,
  );
  view.setUint32(offset + AqDescOffset.PARAM0, checkInt(d.param0, U32, "param0"), LE);
  view.setUint32(offset + AqDescOffset.PARAM1, checkInt(d.param1, U32, "param1"), LE);
  view.setUint32(offset + AqDescOffset.ADDR_HIGH, checkInt(d.addrHigh, U32, "addrHigh"), LE);
  view.setUint32(offset + AqDescOffset.ADDR_LOW, checkInt(d.addrLow, U32, "addrLow"), LE);
}

/** Decodes the first 32 bytes of untrusted `bytes`; a shorter input is a `Truncated` error. */
export function decodeAqDescriptor(bytes: Uint8Array): Result<AqDescriptor, IavfError> {
  return tryIavf(() => {
    if (bytes.length < AQ_DESCRIPTOR_SIZE) {
      throw new IavfError("Truncated", `an admin-queue descriptor needs 32 bytes, got ${bytes.length}`);
    }
    return readAqDescriptor(viewOf(bytes), 0);
  });
}

/** Encodes `d` into a new 32-byte array (throws an `OutOfRange` {@link IavfError} for a value out of its field). */
export function encodeAqDescriptor(d: AqDescriptor): Uint8Array {
  const out = new Uint8Array(AQ_DESCRIPTOR_SIZE);
  writeAqDescriptor(viewOf(out), 0, d);
  return out;
}

/** The 64-bit buffer address of a descriptor (a bigint: a guest may write any 64 bits, and a number would round). */
export function aqBufferAddress(d: AqDescriptor): bigint {
  return (BigInt(d.addrHigh >>> 0) << 32n) | BigInt(d.addrLow >>> 0);
}
