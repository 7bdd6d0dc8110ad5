/**
 * @emu/vfio-user-proto/wire — the wire-level pieces behind the message model, for hot receive and send paths that
 * must not allocate per message (a transport's in-place receive and its send arena).
 *
 * Read whole frames straight from a received chunk (`readHeaderAt`, `readRegionAccessAt`, `readDmaAccessAt` into
 * reusable objects; `frameAt` for the odd frame that goes the general way), and write whole frames into a `FrameArena`
 * with the `append*` writers (the same bytes as `encodeMessage`, without its range checks). The field offsets come
 * from one place each: `HeaderField`, `RegionAccessField`, `DmaAccessLayout` (`DmaAccessField` is its spec entry);
 * the byte order of every field from `LITTLE_ENDIAN` (pass it to DataView accessors). `copyBytes` keeps data read in
 * place beyond the receive buffer's reuse.
 */

export { copyBytes } from "./copy-bytes.js";
export { FrameArena } from "./frame-arena.js";
export { frameAt } from "./frame-parser.js";
export { HeaderField, type MutableHeader, msgSizeAt, readHeaderAt, writeHeaderAt } from "./header.js";
export { LITTLE_ENDIAN } from "./internal/byte-order.js";
export {
  appendDmaReadReply,
  appendDmaReadReplyHead,
  appendDmaReadRequest,
  appendDmaWriteReply,
  appendDmaWriteRequest,
  DmaAccessField,
  type DmaAccessHead,
  DmaAccessLayout,
  type DmaAccessLayoutInfo,
  dmaAccessFrameSize,
  readDmaAccessAt,
} from "./messages/dma-access.js";
export {
  appendRegionReadReply,
  appendRegionReadReplyFrom,
  appendRegionReadRequest,
  appendRegionWriteReply,
  appendRegionWriteRequest,
  RegionAccessField,
  type RegionAccessHead,
  readRegionAccessAt,
} from "./messages/region-access.js";
