// What the main thread and the doorbell relay thread share: a control block of 32-bit words, and the plain-data
// description of the two doorbell files the thread maps itself.

/**
 * Control words: the thread stops when STOP is 1; PASSES counts its passes, COPIES the tails it copied; ENABLED has
 * bit i set while tail i's queue is enabled on the front (only those are copied).
 */
export const C_STOP = 0;
export const C_PASSES = 1;
export const C_COPIES = 2;
export const C_ENABLED = 3;
export const C_WORDS = 4;

/** A file range the relay maps (`fd` is process-wide, so a thread can map it). */
export interface RelayFile {
  readonly fd: number;
  readonly offset: bigint;
  readonly size: number;
}

/** One tail register: its byte offset in the front's doorbell file, and where the delegate's copy is. */
export interface RelayTail {
  readonly from: number;
  /** Index into `RelayParams.to`. */
  readonly file: number;
  readonly at: number;
}

export interface RelayParams {
  readonly ctl: SharedArrayBuffer;
  /** The front device's doorbell memory (BAR0's memfd, where the guest stores its tails). */
  readonly from: RelayFile;
  /** The delegate's doorbell areas. */
  readonly to: readonly RelayFile[];
  readonly tails: readonly RelayTail[];
  /** How long to sleep after a pass that found nothing to copy, in microseconds. */
  readonly idleUs: number;
}
