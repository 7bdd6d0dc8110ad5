/** CONFIG_IRQ_MAP (7): `virtchnl_irq_map_info` { num_vectors u16 @0, vecmap[] @2 } of 12-byte vector maps. */
import { checkInt, LE, U16, viewOf } from "../../internal/bytes.js";
import { checkListLength, checkMinLength, checkNonZero, legacyListLength } from "../../internal/lengths.js";
import { VirtchnlOp } from "../opcodes.js";

/** `struct virtchnl_vector_map`: which queues (bitmaps) raise MSI-X vector `vectorId`. */
export interface VectorMap {
  readonly vsiId: number;
  readonly vectorId: number;
  readonly rxqMap: number;
  readonly txqMap: number;
  readonly rxitrIdx: number;
  readonly txitrIdx: number;
}

export interface ConfigIrqMap {
  readonly kind: "ConfigIrqMap";
  /** `num_vectors` is this list's length (at least 1). */
  readonly vectors: readonly VectorMap[];
}

const OP = VirtchnlOp.CONFIG_IRQ_MAP;
const HEADER = 2;
const MAP = 12;

export function decodeConfigIrqMap(bytes: Uint8Array): ConfigIrqMap {
  checkMinLength(OP, bytes.length, HEADER);
  const v = viewOf(bytes);
  const n = v.getUint16(0, LE);
  checkNonZero(OP, n, "num_vectors");
  checkListLength(OP, bytes.length, HEADER, MAP, n);
  const vectors: VectorMap[] = [];
  for (let i = 0; i < n; i++) {
    const at = HEADER + i * MAP;
    vectors.push({
      vsiId: v.getUint16(at, LE),
      vectorId: v.getUint16(at + 2, LE),
      rxqMap: v.getUint16(at + 4, LE),
      txqMap: v.getUint16(at + 6, LE),
      rxitrIdx: v.getUint16(at + 8, LE),
      txitrIdx: v.getUint16(at + 10, LE),
    });
  }
  return { kind: "ConfigIrqMap", vectors };
}

/** Encodes at the legacy length 14 + 12·n. */
export function encodeConfigIrqMap(m: ConfigIrqMap): Uint8Array {
  const n = checkInt(m.vectors.length, U16, "num_vectors", OP, 1);
  const out = new Uint8Array(legacyListLength(HEADER, MAP, n));
  const v = viewOf(out);
  v.setUint16(0, n, LE);
  m.vectors.forEach((vm, i) => {
    const at = HEADER + i * MAP;
    v.setUint16(at, checkInt(vm.vsiId, U16, "vsiId", OP), LE);
    v.setUint16(at + 2, checkInt(vm.vectorId, U16, "vectorId", OP), LE);
    v.setUint16(at + 4, checkInt(vm.rxqMap, U16, "rxqMap", OP), LE);
    v.setUint16(at + 6, checkInt(vm.txqMap, U16, "txqMap", OP), LE);
    v.setUint16(at + 8, checkInt(vm.rxitrIdx, U16, "rxitrIdx", OP), LE);
    v.setUint16(at + 10, checkInt(vm.txitrIdx, U16, "txitrIdx", OP), LE);
  });
  return out;
}
