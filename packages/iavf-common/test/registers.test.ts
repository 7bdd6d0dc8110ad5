/** The register map against the table of doc §2.1 (values of Linux `iavf_register.h`). */
import {
  AqLen,
  BAR0_SIZE,
  DEFAULT_RSS_HENA,
  DynCtl,
  Icr0,
  qrxTail,
  qtxTail,
  Reg,
  VfrState,
  vfintDynCtln1,
  vfintItr01,
  vfintItrn1,
  vfqfHena,
  vfqfHkey,
  vfqfHlut,
} from "@emu/iavf-common";
import { describe, expect, it } from "vitest";

describe("BAR0 register map", () => {
  it("fixed registers", () => {
    expect(Reg).toEqual({
      VFINT_ICR01: 0x4800,
      VFINT_ICR0_ENA1: 0x5000,
      VFINT_STAT_CTL01: 0x5400,
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
      VFGEN_RSTAT: 0x8800,
    });
  });

  it("indexed registers", () => {
    expect([qtxTail(0), qtxTail(15), qrxTail(0), qrxTail(15)]).toEqual([0x0, 0x3c, 0x2000, 0x203c]);
    expect([vfintItrn1(0, 0), vfintItrn1(1, 15), vfintItrn1(2, 3)]).toEqual([0x2800, 0x287c, 0x288c]);
    expect([vfintDynCtln1(0), vfintDynCtln1(15), vfintItr01(2)]).toEqual([0x3800, 0x383c, 0x4c08]);
    expect([vfqfHena(1), vfqfHkey(12), vfqfHlut(15)]).toEqual([0xc404, 0xcc30, 0xd03c]);
    expect(vfqfHlut(15) + 4).toBeLessThanOrEqual(BAR0_SIZE);
  });

  it("bit fields and the values drivers write", () => {
    expect(AqLen.ENABLE >>> 0).toBe(0x8000_0000);
    expect(Icr0.ADMINQ).toBe(0x4000_0000);
    // DPDK's vector-0 enable: INTENA | CLEARPBA | ITR_INDX = ITR_NONE.
    expect(DynCtl.INTENA | DynCtl.CLEARPBA | (DynCtl.ITR_NONE << DynCtl.ITR_INDX_SHIFT)).toBe(0x1b);
    // Linux's forced write-back: INTENA | ITR_NONE | SWINT_TRIG | SW_ITR_INDX_ENA.
    expect(
      DynCtl.INTENA | (DynCtl.ITR_NONE << DynCtl.ITR_INDX_SHIFT) | DynCtl.SWINT_TRIG | DynCtl.SW_ITR_INDX_ENA,
    ).toBe(0x0100_001d);
    expect(DynCtl.WB_ON_ITR | (DynCtl.ITR_NONE << DynCtl.ITR_INDX_SHIFT)).toBe(0x4000_0018);
    expect(VfrState).toEqual({ INPROGRESS: 0, COMPLETED: 1, VFACTIVE: 2 });
  });
});

describe("RSS hash enables", () => {
  it("Linux's default HENA: pctypes 31, 33-36, 41, 43-46 and 63", () => {
    expect(DEFAULT_RSS_HENA).toBe(0x8000_7a1e_8000_0000n);
  });
});
