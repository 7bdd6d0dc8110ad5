import { BROADCAST_MAC, macNumber, type RxFilterTable, rxFilterAccepts } from "@emu/iavf-common";
import { describe, expect, it } from "vitest";

const mac = (text: string) => Uint8Array.from(text.split(":").map((h) => Number.parseInt(h, 16)));

function table(opts: { macs?: string[]; vlans?: number[]; uc?: boolean; mc?: boolean }): RxFilterTable {
  const macs = new Set((opts.macs ?? []).map((m) => macNumber(mac(m))));
  const vlans = new Set(opts.vlans ?? []);
  return {
    unicastPromisc: opts.uc ?? false,
    multicastPromisc: opts.mc ?? false,
    hasMac: (m) => macs.has(m),
    passesVlan: (v) => vlans.size === 0 || vlans.has(v),
  };
}

describe("the receive filter rule", () => {
  it("reads a MAC as a 48-bit number, at an offset", () => {
    const b = new Uint8Array([0, 0, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54]);
    expect(macNumber(b, 2)).toBe(0xfedcba987654);
    expect(macNumber(mac("ff:ff:ff:ff:ff:ff"))).toBe(BROADCAST_MAC);
  });

  it("passes broadcast always, unicast only to an added address unless unicast promiscuous", () => {
    const t = table({ macs: ["02:00:00:00:00:01"] });
    expect(rxFilterAccepts(t, mac("ff:ff:ff:ff:ff:ff"), 0, undefined)).toBe(true);
    expect(rxFilterAccepts(t, mac("02:00:00:00:00:01"), 0, undefined)).toBe(true);
    expect(rxFilterAccepts(t, mac("02:00:00:00:00:02"), 0, undefined)).toBe(false);
    expect(rxFilterAccepts(table({ uc: true }), mac("02:00:00:00:00:02"), 0, undefined)).toBe(true);
  });

  it("passes multicast to an added address, or in either promiscuous mode", () => {
    const group = mac("01:00:5e:00:00:fb");
    expect(rxFilterAccepts(table({}), group, 0, undefined)).toBe(false);
    expect(rxFilterAccepts(table({ macs: ["01:00:5e:00:00:fb"] }), group, 0, undefined)).toBe(true);
    expect(rxFilterAccepts(table({ mc: true }), group, 0, undefined)).toBe(true);
    expect(rxFilterAccepts(table({ uc: true }), group, 0, undefined)).toBe(true);
    // multicast promiscuous does not take unicast
    expect(rxFilterAccepts(table({ mc: true }), mac("02:00:00:00:00:09"), 0, undefined)).toBe(false);
  });

  it("passes a tagged frame only if its VLAN passes; untagged and priority-tagged frames ignore the VLAN filter", () => {
    const t = table({ macs: ["02:00:00:00:00:01"], vlans: [100] });
    const dst = mac("02:00:00:00:00:01");
    expect(rxFilterAccepts(t, dst, 0, 100)).toBe(true);
    expect(rxFilterAccepts(t, dst, 0, 200)).toBe(false);
    expect(rxFilterAccepts(t, dst, 0, 0)).toBe(true);
    expect(rxFilterAccepts(t, dst, 0, undefined)).toBe(true);
    expect(rxFilterAccepts(t, mac("ff:ff:ff:ff:ff:ff"), 0, 200)).toBe(false);
  });
});
