/**
 * The VF's BAR0 register map: offsets, bit fields and the VFGEN_RSTAT reset states.
 *
 * Offsets are bytes from the start of BAR0, every register is 32 bits wide. Values checked against Linux and DPDK
 * `iavf_register.h` (identical in both); see the package README.
 */

/** The smallest BAR0 that holds every register the drivers touch (the highest is VFQF_HLUT(15) = 0xD03C). */
export const BAR0_SIZE = 0x10000;

/** Queue pairs and MSI-X vectors of a base-mode VF (vector 0 is the mailbox, 1..16 serve queues). */
export const MAX_QUEUE_PAIRS = 16;
export const MAX_VECTORS = 17;

/** Fixed register offsets (indexed ones are functions below). */
export const Reg = {
  /** Interrupt cause register of vector 0 (reading clears it). */
  VFINT_ICR01: 0x4800,
  /** Cause enables of vector 0. */
  VFINT_ICR0_ENA1: 0x5000,
  VFINT_STAT_CTL01: 0x5400,
  /** Dynamic control of vector 0 (layout {@link DynCtl}). */
  VFINT_DYN_CTL01: 0x5c00,
  VF_ARQBAH1: 0x6000,
  VF_ATQH1: 0x6400,
  VF_ATQLEN1: 0x6800,
  VF_ARQBAL1: 0x6c00,
  VF_ARQT1: 0x7000,
  VF_ARQH1: 0x7400,
  VF_ATQBAH1: 0x7800,
  VF_ATQBAL1: 0x7c00,
  VF_ARQLEN1: 0x8000,
  VF_ATQT1: 0x8400,
  /** VF reset status: bits 1:0 hold a {@link VfrState}. */
  VFGEN_RSTAT: 0x8800,
} as const;

/** TX queue tail doorbell of queue `q` (0x0000 + 4q). */
export const qtxTail = (q: number): number => 0x0000 + 4 * q;
/** RX queue tail doorbell of queue `q` (0x2000 + 4q). */
export const qrxTail = (q: number): number => 0x2000 + 4 * q;
/** ITR `i` (0..2) of queue vector `v` (MSI-X vector v + 1): 0x2800 + 64i + 4v. */
export const vfintItrn1 = (i: number, v: number): number => 0x2800 + 64 * i + 4 * v;
/** Dynamic control of queue vector `v` (MSI-X vector v + 1): 0x3800 + 4v. */
export const vfintDynCtln1 = (v: number): number => 0x3800 + 4 * v;
/** ITR `i` (0..2) of vector 0: 0x4C00 + 4i. */
export const vfintItr01 = (i: number): number => 0x4c00 + 4 * i;
/** RSS hash enable word `i` (0..1): 0xC400 + 4i. */
export const vfqfHena = (i: number): number => 0xc400 + 4 * i;
/** RSS key word `i` (0..12; Linux writes one more): 0xCC00 + 4i. */
export const vfqfHkey = (i: number): number => 0xcc00 + 4 * i;
/** RSS lookup-table word `i` (0..15; Linux writes one more): 0xD000 + 4i. */
export const vfqfHlut = (i: number): number => 0xd000 + 4 * i;

/** Register range Linux writes on its RSS-by-register path (HENA, HKEY, HLUT and one word beyond each array). */
export const RSS_REGISTER_RANGE = { offset: 0xc400, size: 0xd100 - 0xc400 } as const;

/** Bits of the admin-queue length registers VF_ATQLEN1 and VF_ARQLEN1. */
export const AqLen = {
  /** Bits 9:0: number of descriptors. */
  LEN_MASK: 0x3ff,
  /** Sticky error flags, written back as 0 by the driver. */
  VFE: 1 << 28,
  OVFL: 1 << 29,
  CRIT: 1 << 30,
  /** The queue is enabled; a driver reads 0 here as "the VF was reset". */
  ENABLE: 0x8000_0000,
} as const;

/** Mask of the admin-queue head and tail registers (VF_ATQH1, VF_ATQT1, VF_ARQH1, VF_ARQT1). */
export const AQ_HEAD_TAIL_MASK = 0x3ff;

/** Causes in VFINT_ICR01 and enables in VFINT_ICR0_ENA1. */
export const Icr0 = {
  QUEUE_0: 1 << 1,
  LINK_STAT_CHANGE: 1 << 25,
  ADMINQ: 1 << 30,
} as const;

/** Fields of VFINT_DYN_CTL01 and VFINT_DYN_CTLN1(v) (same layout; WB_ON_ITR only on CTLN1). */
export const DynCtl = {
  INTENA: 1 << 0,
  CLEARPBA: 1 << 1,
  SWINT_TRIG: 1 << 2,
  ITR_INDX_SHIFT: 3,
  ITR_INDX_MASK: 0x3 << 3,
  /** ITR_INDX value meaning "do not update an ITR". */
  ITR_NONE: 3,
  INTERVAL_SHIFT: 5,
  INTERVAL_MASK: 0xfff << 5,
  SW_ITR_INDX_ENA: 1 << 24,
  SW_ITR_INDX_SHIFT: 25,
  SW_ITR_INDX_MASK: 0x3 << 25,
  WB_ON_ITR: 1 << 30,
} as const;

/** VFGEN_RSTAT bits 1:0 (`enum virtchnl_vfr_states`). */
export const VfrState = {
  /** The PF has started a VF reset. */
  INPROGRESS: 0,
  /** The reset finished. */
  COMPLETED: 1,
  /** The PF re-initialised the VF; the VF may talk on the mailbox. */
  VFACTIVE: 2,
} as const;
export type VfrState = (typeof VfrState)[keyof typeof VfrState];

/** Mask of the state field of VFGEN_RSTAT. */
export const VFGEN_RSTAT_VFR_STATE_MASK = 0x3;
