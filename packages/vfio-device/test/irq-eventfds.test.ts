import { type IrqEventfd, IrqEventfds, pciIdsFromConfig, type SetIrqsRequest } from "@emu/vfio-device";
import { describe, expect, it } from "vitest";

function fakes(failSet = false) {
  const requests: SetIrqsRequest[] = [];
  const made: (IrqEventfd & { closed: boolean; fire(n: bigint): void })[] = [];
  let open = true;
  const irqs = new IrqEventfds({
    setIrqs: async (r) => {
      if (failSet && r.data.kind === "eventfd") throw new Error("refused");
      requests.push(r);
    },
    createEventfd: () => {
      let listener: ((n: bigint) => void) | undefined;
      const fd = {
        fd: 100 + made.length,
        closed: false,
        watch: (l: (n: bigint) => void) => {
          listener = l;
        },
        close: () => {
          fd.closed = true;
        },
        fire: (n: bigint) => listener?.(n),
      };
      made.push(fd);
      return fd;
    },
    canSetIrqs: () => open,
  });
  return { irqs, requests, made, hangUp: () => (open = false) };
}

describe("IrqEventfds", () => {
  it("binds one eventfd per vector, reports vectors, de-assigns and closes on disable", async () => {
    const f = fakes();
    const seen: [number, bigint][] = [];
    const b = await f.irqs.enable(2, 1, 2, (v, n) => seen.push([v, n]));
    expect(b).toMatchObject({ index: 2, start: 1, count: 2 });
    expect(f.requests[0]).toEqual({
      index: 2,
      action: "trigger",
      start: 1,
      count: 2,
      data: { kind: "eventfd", fds: [100, 101] },
    });
    f.made[1]?.fire(3n);
    expect(seen).toEqual([[2, 3n]]);
    expect(f.irqs.indexes()).toEqual([2]);
    await b.disable();
    expect(f.requests[1]).toEqual({ index: 2, action: "trigger", start: 0, count: 0, data: { kind: "none" } });
    expect(f.made.every((m) => m.closed)).toBe(true);
    expect(f.irqs.indexes()).toEqual([]);
  });

  it("enabling again replaces; a refused SET_IRQS closes what was made; closeAll never asks the device", async () => {
    const f = fakes();
    await f.irqs.enable(0, 0, 1, () => undefined);
    await f.irqs.enable(0, 0, 1, () => undefined);
    expect(f.made.map((m) => m.closed)).toEqual([true, false]);
    f.hangUp();
    const before = f.requests.length;
    f.irqs.closeAll();
    await f.irqs.disable(0);
    expect(f.requests.length).toBe(before);
    expect(f.made.every((m) => m.closed)).toBe(true);
    const g = fakes(true);
    await expect(g.irqs.enable(1, 0, 3, () => undefined)).rejects.toThrow("refused");
    expect(g.made.map((m) => m.closed)).toEqual([true, true, true]);
  });

  // Found by the client's fuzzer (packages/vfio-user-client/fuzz): two enables of one index in flight at once both
  // kept their eventfds, and the first one's leaked.
  it("enables of one index in flight together run in turn: the first one's eventfds are replaced and closed", async () => {
    const f = fakes();
    const a = f.irqs.enable(2, 0, 2, () => undefined);
    const b = f.irqs.enable(2, 0, 1, () => undefined);
    await Promise.all([a, b]);
    expect(f.made.map((m) => m.closed)).toEqual([true, true, false]);
    expect(f.requests.map((r) => r.data.kind)).toEqual(["eventfd", "none", "eventfd"]);
    f.irqs.closeAll();
    expect(f.made.every((m) => m.closed)).toBe(true);
  });

  it("an enable whose SET_IRQS completes after closeAll closes its eventfds and rejects", async () => {
    let answer: (() => void) | undefined;
    const made: { closed: boolean }[] = [];
    const irqs = new IrqEventfds({
      setIrqs: () => new Promise<void>((resolve) => (answer = resolve)),
      createEventfd: () => {
        const e = { fd: 7, closed: false, watch: () => undefined, close: () => (e.closed = true) };
        made.push(e);
        return e;
      },
      canSetIrqs: () => true,
      closedError: () => new Error("device closed"),
    });
    const p = irqs.enable(0, 0, 2, () => undefined);
    await new Promise((r) => setImmediate(r));
    answer?.(); // the reply is in ...
    irqs.closeAll(); // ... but the device closes before the enable resumes
    await expect(p).rejects.toThrow("device closed");
    expect(made.map((m) => m.closed)).toEqual([true, true]);
    expect(irqs.indexes()).toEqual([]);
  });
});

describe("pciIdsFromConfig", () => {
  it("reads the IDs of a type-0 header; short bytes are an error result", () => {
    const c = new Uint8Array(64);
    const v = new DataView(c.buffer);
    v.setUint16(0, 0x8086, true);
    v.setUint16(2, 0x154c, true);
    v.setUint32(8, (0x020000 << 8) | 0x01, true);
    v.setUint16(0x2c, 0x8086, true);
    v.setUint16(0x2e, 0x0001, true);
    expect(pciIdsFromConfig(c)).toEqual({
      ok: true,
      value: {
        vendorId: 0x8086,
        deviceId: 0x154c,
        revision: 1,
        classCode: 0x020000,
        subsystemVendorId: 0x8086,
        subsystemDeviceId: 1,
      },
    });
    expect(pciIdsFromConfig(new Uint8Array(8)).ok).toBe(false);
  });
});
