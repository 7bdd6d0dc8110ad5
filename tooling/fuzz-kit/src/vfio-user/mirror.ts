// The other side's framing of what we send: fed every byte we send, it says which frames the peer will have cut out
// of the stream (their headers), whether a frame is still owed bytes, and whether the stream has broken its framing
// (a msg_size below 16 or above the peer's maximum: the peer must close). Which requests are owed a reply follows.
import { HEADER_SIZE } from "@emu/vfio-user-proto";

/** The header of a frame the peer has now received whole. */
export interface MirroredHeader {
  readonly msgId: number;
  readonly command: number;
  readonly flags: number;
  readonly size: number;
}

export class Mirror {
  private readonly max: number;
  private readonly head = new Uint8Array(HEADER_SIZE);
  private headLength = 0;
  /** Payload bytes the frame in progress still needs (after its header). */
  private remaining = 0;
  private current: MirroredHeader | undefined;
  /** The framing broke (msg_size out of range): the peer closes the connection. */
  failed = false;

  constructor(maxMessageSize: number) {
    this.max = maxMessageSize;
  }

  /** Bytes the frame in progress still needs (0 between frames; inside a header, what the header lacks). */
  get owed(): number {
    if (this.current !== undefined) return this.remaining;
    return this.headLength === 0 ? 0 : HEADER_SIZE - this.headLength;
  }

  /** Feeds bytes as sent; `onFrame` for each frame they complete. */
  feed(bytes: Uint8Array, onFrame: (h: MirroredHeader) => void): void {
    let i = 0;
    while (i < bytes.length && !this.failed) {
      if (this.current === undefined) {
        const n = Math.min(HEADER_SIZE - this.headLength, bytes.length - i);
        this.head.set(bytes.subarray(i, i + n), this.headLength);
        this.headLength += n;
        i += n;
        if (this.headLength < HEADER_SIZE) return;
        this.headLength = 0;
        const v = new DataView(this.head.buffer);
        const size = v.getUint32(4, true);
        if (size < HEADER_SIZE || size > this.max) {
          this.failed = true;
          return;
        }
        this.current = {
          msgId: v.getUint16(0, true),
          command: v.getUint16(2, true),
          flags: v.getUint32(8, true),
          size,
        };
        this.remaining = size - HEADER_SIZE;
      } else {
        const n = Math.min(this.remaining, bytes.length - i);
        this.remaining -= n;
        i += n;
      }
      if (this.current !== undefined && this.remaining === 0) {
        const h = this.current;
        this.current = undefined;
        onFrame(h);
      }
    }
  }
}
