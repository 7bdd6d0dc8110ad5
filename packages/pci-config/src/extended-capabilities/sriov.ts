import type { RequireLength } from "../capabilities/base.js";
import { readBarRegisters } from "../internal/bars.js";
import { bit } from "../internal/bits.js";
import { rd8, rd16, rd32 } from "../internal/bytes.js";
import { PciSriov } from "../registers/sriov.js";
import type { ExtendedCapabilityBase } from "./base.js";

/** A VF BAR of SR-IOV: memory only; a 64-bit one includes the next register. */
export interface DecodedVfBar {
  readonly index: number;
  readonly kind: "memory32" | "memory64" | "memory1m";
  readonly prefetchable: boolean;
  readonly address: bigint;
  readonly raw: number;
}

/** Single Root I/O Virtualization. */
export interface DecodedSriov extends ExtendedCapabilityBase {
  readonly kind: "sriov";
  readonly vfMigrationCapable: boolean;
  readonly vf10BitTagRequesterSupported: boolean;
  readonly vfMigrationInterruptMessageNumber: number;
  readonly vfEnable: boolean;
  readonly vfMigrationEnable: boolean;
  readonly vfMigrationInterruptEnable: boolean;
  readonly vfMemorySpaceEnable: boolean;
  readonly ariCapableHierarchy: boolean;
  readonly vf10BitTagRequesterEnable: boolean;
  readonly vfMigrationStatus: boolean;
  readonly initialVfs: number;
  readonly totalVfs: number;
  readonly numVfs: number;
  readonly functionDependencyLink: number;
  readonly firstVfOffset: number;
  readonly vfStride: number;
  readonly vfDeviceId: number;
  /** Supported page sizes (bit n = 4 KiB << n) and the system page size selected the same way. */
  readonly supportedPageSizes: number;
  readonly systemPageSize: number;
  /** Implemented VF BARs (a register reading 0 or all ones is left out). */
  readonly vfBars: readonly DecodedVfBar[];
  readonly vfMigrationStateOffset: number;
  readonly vfMigrationStateBir: number;
}

function decodeVfBars(b: Uint8Array, o: number): DecodedVfBar[] {
  // VF BARs are memory BARs: the I/O bit is not interpreted, so no "io" kind comes back.
  return readBarRegisters(b, o + PciSriov.BAR0, 6, false) as DecodedVfBar[];
}

export function decodeSriov(b: Uint8Array, o: number, base: ExtendedCapabilityBase, need: RequireLength): DecodedSriov {
  need(PciSriov.SIZEOF);
  const cap = rd32(b, o + PciSriov.CAP);
  const ctl = rd16(b, o + PciSriov.CTRL);
  const mig = rd32(b, o + PciSriov.MIGRATION);
  return {
    ...base,
    kind: "sriov",
    vfMigrationCapable: bit(cap, PciSriov.CAP_VFM),
    vf10BitTagRequesterSupported: bit(cap, PciSriov.CAP_VF_10BIT_TAG_REQ),
    vfMigrationInterruptMessageNumber: cap >>> PciSriov.CAP_IMN_SHIFT,
    vfEnable: bit(ctl, PciSriov.CTRL_VFE),
    vfMigrationEnable: bit(ctl, PciSriov.CTRL_VFM),
    vfMigrationInterruptEnable: bit(ctl, PciSriov.CTRL_INTR),
    vfMemorySpaceEnable: bit(ctl, PciSriov.CTRL_MSE),
    ariCapableHierarchy: bit(ctl, PciSriov.CTRL_ARI),
    vf10BitTagRequesterEnable: bit(ctl, PciSriov.CTRL_VF_10BIT_TAG_REQ_EN),
    vfMigrationStatus: bit(rd16(b, o + PciSriov.STATUS), PciSriov.STATUS_VFM),
    initialVfs: rd16(b, o + PciSriov.INITIAL_VF),
    totalVfs: rd16(b, o + PciSriov.TOTAL_VF),
    numVfs: rd16(b, o + PciSriov.NUM_VF),
    functionDependencyLink: rd8(b, o + PciSriov.FUNC_LINK),
    firstVfOffset: rd16(b, o + PciSriov.VF_OFFSET),
    vfStride: rd16(b, o + PciSriov.VF_STRIDE),
    vfDeviceId: rd16(b, o + PciSriov.VF_DID),
    supportedPageSizes: rd32(b, o + PciSriov.SUP_PGSIZE),
    systemPageSize: rd32(b, o + PciSriov.SYS_PGSIZE),
    vfBars: decodeVfBars(b, o),
    vfMigrationStateOffset: (mig & PciSriov.MIGRATION_OFFSET_MASK) >>> 0,
    vfMigrationStateBir: mig & PciSriov.MIGRATION_BIR_MASK,
  };
}
