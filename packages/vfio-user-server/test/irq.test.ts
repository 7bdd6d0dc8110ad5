import { writeSync } from "node:fs";
import { type DecodedMsi, type DecodedMsix, decodeConfigSpace } from "@emu/pci-config";
import { IrqSetFlags, PciIrq } from "@emu/vfio-user-proto";
import { createServer, type DeviceContext, isVfioUserServerError } from "@emu/vfio-user-server";
import { describe, expect, it } from "vitest";
import { newLog, nic } from "./fixtures/devices.js";
import { Client, fdCount, le32, socketPath, track } from "./fixtures/harness.js";

const { DATA_NONE, DATA_BOOL, DATA_EVENTFD, ACTION_MASK, ACTION_UNMASK, ACTION_TRIGGER } = IrqSetFlags;

async function setup(onError?: (e: unknown) => void) {
  const path = socketPath();
  const holder: { ctx?: DeviceContext } = {};
  track(await createServer({ socketPath: path, device: nic(newLog(), holder), ...(onError ? { onError } : {}) }));
  const client = await Client.spawn();
  await client.connect(path);
  const cfg = await client.ok({ kind: "RegionReadRequest", offset: 0n, region: 7, count: 256 }, "RegionReadReply");
  const d = decodeConfigSpace(cfg.data);
  if (!d.ok) throw d.error;
  const msi = d.value.capabilities.find((c) => c.kind === "msi") as DecodedMsi;
  const msix = d.value.capabilities.find((c) => c.kind === "msix") as DecodedMsix;
  return { client, ctx: holder.ctx!, msi, msix };
}

function setIrqs(
  client: Client,
  flags: number,
  index: number,
  start: number,
  count: number,
  fds?: string[],
  data?: Uint8Array,
) {
  return client.call(
    {
      kind: "DeviceSetIrqsRequest",
      argsz: 20 + (data?.length ?? 0),
      flags,
      index,
      start,
      count,
      ...(data ? { data } : {}),
    },
    fds ? { fds } : {},
  );
}

async function eventfds(client: Client, prefix: string, n: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    await client.op("eventfd", { name: `${prefix}${i}` });
    names.push(`${prefix}${i}`);
  }
  return names;
}

const total = (client: Client, name: string, settleMs = 30) => client.op<bigint>("eventfdTotal", { name, settleMs });
const waitFor = (client: Client, name: string, atLeast: number) =>
  client.op<bigint>("eventfdWait", { name, atLeast, timeoutMs: 3000 });

async function cfgWrite(client: Client, offset: number, data: Uint8Array) {
  await client.ok({ kind: "RegionWriteRequest", offset: BigInt(offset), region: 7, data }, "RegionWriteReply");
}

describe("INTx", () => {
  it("delivers through the eventfd, automasks, and delivers what is pending on UNMASK", async () => {
    const { client, ctx } = await setup();
    const [fd] = await eventfds(client, "intx", 1);
    expect((await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.INTX, 0, 1, [fd!])).message?.kind).toBe(
      "DeviceSetIrqsReply",
    );
    expect(ctx.irq.activeIndex()).toBe(PciIrq.INTX);
    expect(ctx.irq.trigger(0)).toBe("delivered");
    expect(await waitFor(client, fd!, 1)).toBe(1n);
    expect(ctx.irq.trigger(0)).toBe("pending"); // automasked until the client unmasks
    expect(await total(client, fd!)).toBe(1n);
    await setIrqs(client, DATA_NONE | ACTION_UNMASK, PciIrq.INTX, 0, 1);
    expect(await waitFor(client, fd!, 2)).toBe(2n);
    await setIrqs(client, DATA_NONE | ACTION_UNMASK, PciIrq.INTX, 0, 1);
    // COMMAND.INTX_DISABLE masks INTx too.
    await cfgWrite(client, 4, new Uint8Array([0, 0x04]));
    expect(ctx.irq.trigger(0)).toBe("pending");
    await cfgWrite(client, 4, new Uint8Array([0, 0]));
    expect(await waitFor(client, fd!, 3)).toBe(3n);
  });

  it("an ACTION_UNMASK eventfd on INTx is a resample fd: the client signals it and the server unmasks", async () => {
    // QEMU with KVM registers its INTx resample eventfd this way (kernel VFIO semantics): on the guest's EOI, KVM
    // writes it and the device must unmask, or INTx stays automasked for ever after the first interrupt.
    const { client, ctx } = await setup();
    const [fd] = await eventfds(client, "intx", 1);
    await client.op("eventfdOut", { name: "resample" });
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.INTX, 0, 1, [fd!]);
    await setIrqs(client, DATA_EVENTFD | ACTION_UNMASK, PciIrq.INTX, 0, 1, ["resample"]);
    expect(ctx.irq.trigger(0)).toBe("delivered");
    expect(await waitFor(client, fd!, 1)).toBe(1n);
    expect(ctx.irq.trigger(0)).toBe("pending");
    expect(await total(client, fd!)).toBe(1n);
    await client.op("eventfdSignal", { name: "resample" }); // the EOI
    expect(await waitFor(client, fd!, 2)).toBe(2n); // unmasked by the server, the pending one delivered
    // Masked again by the delivery; another EOI unmasks, and with nothing pending the next trigger is delivered.
    await client.op("eventfdSignal", { name: "resample" });
    await expect.poll(() => ctx.irq.masked(PciIrq.INTX, 0)).toBe(false);
    expect(ctx.irq.trigger(0)).toBe("delivered");
    expect(await waitFor(client, fd!, 3)).toBe(3n);
    // De-assigned: signalling the old fd no longer unmasks.
    await setIrqs(client, DATA_EVENTFD | ACTION_UNMASK, PciIrq.INTX, 0, 1);
    await client.op("eventfdSignal", { name: "resample" });
    expect(ctx.irq.trigger(0)).toBe("pending");
    expect(await total(client, fd!)).toBe(3n);
  });

  it("the client can trigger a vector itself (DATA_NONE / DATA_BOOL with ACTION_TRIGGER)", async () => {
    const { client } = await setup();
    const [fd] = await eventfds(client, "intx", 1);
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.INTX, 0, 1, [fd!]);
    await setIrqs(client, DATA_BOOL | ACTION_TRIGGER, PciIrq.INTX, 0, 1, undefined, new Uint8Array([1]));
    expect(await waitFor(client, fd!, 1)).toBe(1n);
  });

  it("de-assigns with DATA_EVENTFD and no fds; an unassigned vector drops the interrupt", async () => {
    const { client, ctx } = await setup();
    const [fd] = await eventfds(client, "intx", 1);
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.INTX, 0, 1, [fd!]);
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.INTX, 0, 1);
    expect(ctx.irq.trigger(0)).toBe("dropped");
    expect(await total(client, fd!)).toBe(0n);
  });
});

describe("the trigger eventfd as the device sees it", () => {
  it("is the client's eventfd while assigned: a write to it is an interrupt; undefined before and after", async () => {
    const { client, ctx } = await setup();
    expect(ctx.irq.eventfd(1, PciIrq.MSIX)).toBeUndefined();
    const fds = await eventfds(client, "x", 2);
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.MSIX, 0, 2, fds);
    const fd = ctx.irq.eventfd(1, PciIrq.MSIX);
    expect(fd).toBeTypeOf("number");
    const one = new Uint8Array(8);
    one[0] = 1;
    writeSync(fd!, one); // what a data-path thread does
    expect(await waitFor(client, fds[1]!, 1)).toBe(1n);
    expect(await total(client, fds[0]!)).toBe(0n);
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.MSIX, 1, 1, [fds[0]!]);
    expect(ctx.irq.eventfd(1, PciIrq.MSIX)).not.toBe(fd); // replaced: ask again after SET_IRQS
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.MSIX, 0, 2);
    expect(ctx.irq.eventfd(0, PciIrq.MSIX)).toBeUndefined();
    expect(() => ctx.irq.eventfd(99, PciIrq.MSIX)).toThrow(/has no vector 99/);
  });
});

describe("MSI-X", () => {
  it("QEMU/cloud-hypervisor-style: the client emulates the table, so only the enable bit reaches us and vectors fire", async () => {
    const { client, ctx, msix } = await setup();
    const fds = await eventfds(client, "v", 4);
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.MSIX, 0, 4, fds);
    await cfgWrite(client, msix.offset + 2, new Uint8Array([0x03, 0x80])); // ENABLE, no table write
    expect(ctx.irq.trigger(2)).toBe("delivered");
    expect(await waitFor(client, fds[2]!, 1)).toBe(1n);
    // Such a client masks by switching the vector's eventfd (or with ACTION_MASK), not through our table.
    await setIrqs(client, DATA_NONE | ACTION_MASK, PciIrq.MSIX, 2, 1);
    expect(ctx.irq.trigger(2)).toBe("pending");
    await setIrqs(client, DATA_NONE | ACTION_UNMASK, PciIrq.MSIX, 2, 1);
    expect(await waitFor(client, fds[2]!, 2)).toBe(2n);
  });

  it("guest-style: enable in config space, a written table's vectors start masked, PBA pending bit, delivery on unmask", async () => {
    const { client, ctx, msix } = await setup();
    const fds = await eventfds(client, "v", 4);
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.MSIX, 0, 4, fds);
    await cfgWrite(client, msix.offset + 2, new Uint8Array([0x03, 0x80])); // ENABLE (table size bits are RO)
    expect(ctx.config.msixEnabled).toBe(true);
    expect(ctx.irq.activeIndex()).toBe(PciIrq.MSIX);
    // A guest driver programs entry 0 (address, data, still masked): from now on the table's masks govern.
    await client.ok(
      {
        kind: "RegionWriteRequest",
        offset: BigInt(msix.tableOffset),
        region: msix.tableBar,
        data: new Uint8Array([0x00, 0x10, 0xe0, 0xfe, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 0, 0, 0]),
      },
      "RegionWriteReply",
    );
    expect(ctx.irq.trigger(1)).toBe("pending");
    const pba = async () =>
      (
        await client.ok(
          { kind: "RegionReadRequest", offset: BigInt(msix.pbaOffset), region: msix.pbaBar, count: 8 },
          "RegionReadReply",
        )
      ).data[0];
    expect(await pba()).toBe(0b10);
    // Unmask vector 1: vector control of entry 1.
    await client.ok(
      { kind: "RegionWriteRequest", offset: BigInt(msix.tableOffset + 16 + 12), region: msix.tableBar, data: le32(0) },
      "RegionWriteReply",
    );
    expect(await waitFor(client, fds[1]!, 1)).toBe(1n);
    expect(await pba()).toBe(0);
    expect(ctx.irq.trigger(1)).toBe("delivered");
    expect(await waitFor(client, fds[1]!, 2)).toBe(2n);
    // Function mask holds every vector.
    await cfgWrite(client, msix.offset + 3, new Uint8Array([0xc0]));
    expect(ctx.irq.trigger(1)).toBe("pending");
    await cfgWrite(client, msix.offset + 3, new Uint8Array([0x80]));
    expect(await waitFor(client, fds[1]!, 3)).toBe(3n);
    // The table reads back what the guest wrote.
    await client.ok(
      {
        kind: "RegionWriteRequest",
        offset: BigInt(msix.tableOffset + 32),
        region: msix.tableBar,
        data: new Uint8Array([0x00, 0x10, 0xe0, 0xfe, 0, 0, 0, 0, 0x41, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
      },
      "RegionWriteReply",
    );
    const entry = await client.ok(
      { kind: "RegionReadRequest", offset: BigInt(msix.tableOffset + 32), region: msix.tableBar, count: 16 },
      "RegionReadReply",
    );
    expect([...entry.data]).toEqual([0x00, 0x10, 0xe0, 0xfe, 0, 0, 0, 0, 0x41, 0, 0, 0, 1, 0, 0, 0]);
    expect(() => ctx.irq.trigger(4)).toThrow(expect.objectContaining({ reason: "BadVector" }));
  });

  it("VMM-style (QEMU emulates the table): SET_IRQS eventfds alone enable delivery; ACTION_MASK/UNMASK hold and release", async () => {
    const { client, ctx } = await setup();
    const fds = await eventfds(client, "v", 4);
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.MSIX, 0, 4, fds);
    expect(ctx.irq.trigger(2)).toBe("delivered");
    expect(await waitFor(client, fds[2]!, 1)).toBe(1n);
    const [maskFd, unmaskFd] = await eventfds(client, "n", 2);
    await setIrqs(client, DATA_EVENTFD | ACTION_MASK, PciIrq.MSIX, 2, 1, [maskFd!]);
    await setIrqs(client, DATA_EVENTFD | ACTION_UNMASK, PciIrq.MSIX, 2, 1, [unmaskFd!]);
    await setIrqs(client, DATA_NONE | ACTION_MASK, PciIrq.MSIX, 2, 1);
    expect(await waitFor(client, maskFd!, 1)).toBe(1n); // the mask notification
    expect(ctx.irq.trigger(2)).toBe("pending");
    expect(ctx.irq.pending(2, PciIrq.MSIX)).toBe(true);
    await setIrqs(client, DATA_NONE | ACTION_UNMASK, PciIrq.MSIX, 2, 1);
    expect(await waitFor(client, fds[2]!, 2)).toBe(2n);
    expect(await waitFor(client, unmaskFd!, 1)).toBe(1n);
    expect(ctx.irq.pending(2, PciIrq.MSIX)).toBe(false);
    // Disable the whole index.
    await setIrqs(client, DATA_NONE | ACTION_TRIGGER, PciIrq.MSIX, 0, 0);
    expect(ctx.irq.trigger(2, PciIrq.MSIX)).toBe("dropped");
  });
});

describe("MSI", () => {
  it("per-vector mask bits hold a vector pending in config space until cleared", async () => {
    const { client, ctx, msi } = await setup();
    const fds = await eventfds(client, "m", 4);
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.MSI, 0, 4, fds);
    const maskOff = msi.offset + (msi.address64 ? 0x10 : 0x0c);
    await cfgWrite(client, maskOff, le32(0b0001));
    await cfgWrite(client, msi.offset + 2, new Uint8Array([0x21, 0x00])); // ENABLE, 4 vectors enabled
    expect(ctx.config.msiEnabled).toBe(true);
    expect(ctx.irq.activeIndex()).toBe(PciIrq.MSI);
    expect(ctx.irq.trigger(0)).toBe("pending");
    const pending = await client.ok(
      { kind: "RegionReadRequest", offset: BigInt(maskOff + 4), region: 7, count: 4 },
      "RegionReadReply",
    );
    expect(pending.data[0]).toBe(1);
    expect(ctx.irq.trigger(3)).toBe("delivered");
    await cfgWrite(client, maskOff, le32(0));
    expect(await waitFor(client, fds[0]!, 1)).toBe(1n);
    expect(await waitFor(client, fds[3]!, 1)).toBe(1n);
  });
});

describe("ERR and REQ", () => {
  it("trigger through their eventfds; only ACTION_TRIGGER is supported", async () => {
    const { client, ctx } = await setup();
    const [err, req] = await eventfds(client, "e", 2);
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.ERR, 0, 1, [err!]);
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.REQ, 0, 1, [req!]);
    expect(ctx.irq.trigger(0, PciIrq.ERR)).toBe("delivered");
    expect(ctx.irq.trigger(0, PciIrq.REQ)).toBe("delivered");
    expect(await waitFor(client, err!, 1)).toBe(1n);
    expect(await waitFor(client, req!, 1)).toBe(1n);
    expect((await setIrqs(client, DATA_NONE | ACTION_MASK, PciIrq.ERR, 0, 1)).message).toMatchObject({ errno: 95 });
  });
});

describe("SET_IRQS validation (EINVAL)", () => {
  it("refuses bad combinations and ranges", async () => {
    const { client } = await setup();
    const fds = await eventfds(client, "x", 2);
    const errno = async (p: ReturnType<typeof setIrqs>) => ((await p).message as { errno?: number }).errno;
    expect(await errno(setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.MSIX, 0, 1, fds))).toBe(22); // 2 fds, count 1
    expect(await errno(setIrqs(client, DATA_NONE | ACTION_TRIGGER, PciIrq.MSIX, 3, 2))).toBe(22); // beyond 4 vectors
    expect(await errno(setIrqs(client, DATA_NONE | DATA_BOOL | ACTION_TRIGGER, PciIrq.MSIX, 0, 1))).toBe(22);
    expect(await errno(setIrqs(client, DATA_NONE | ACTION_TRIGGER | ACTION_MASK, PciIrq.MSIX, 0, 1))).toBe(22);
    expect(await errno(setIrqs(client, DATA_NONE | ACTION_TRIGGER, 5, 0, 1))).toBe(22);
    expect(await errno(setIrqs(client, DATA_NONE | ACTION_TRIGGER, PciIrq.MSIX, 1, 0))).toBe(22); // count 0 needs start 0
    expect(await errno(setIrqs(client, DATA_NONE | ACTION_TRIGGER, PciIrq.INTX, 0, 1, [fds[0]!]))).toBe(22); // fds without EVENTFD
  });

  it("closes every fd of a refused request (here: a memfd where eventfds belong)", async () => {
    const { client } = await setup();
    await client.op("memfd", { name: "notEventfd", size: 4096 });
    const fds = await eventfds(client, "y", 2);
    const before = fdCount();
    const r = await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.MSIX, 0, 3, [fds[0]!, "notEventfd", fds[1]!]);
    expect(r.message).toMatchObject({ kind: "ErrorReply", errno: 22 });
    expect(fdCount()).toBe(before);
  });

  it("a server-side trigger of an index the device lacks is a tagged error", async () => {
    const { ctx } = await setup();
    let err: unknown;
    try {
      ctx.irq.trigger(0, 7);
    } catch (e) {
      err = e;
    }
    expect(isVfioUserServerError(err)).toBe(true);
  });
});

describe("change listeners (DeviceIrqs.onChange)", () => {
  /** A listener that records each call and holds the reply until `release()`. */
  function gate() {
    const calls: [number, number[]][] = [];
    let release = (): void => undefined;
    let held = new Promise<void>((r) => {
      release = r;
    });
    const listener = (index: number, vectors: readonly number[]) => {
      calls.push([index, [...vectors]]);
      return held;
    };
    return {
      calls,
      listener,
      release: () => release(),
      rearm: () => {
        held = new Promise<void>((r) => {
          release = r;
        });
      },
    };
  }

  it("a SET_IRQS reply waits for the listener's promise, and a later message of that client waits behind it", async () => {
    const { client, ctx } = await setup();
    const g = gate();
    const off = ctx.irq.onChange(g.listener);
    const fds = await eventfds(client, "v", 2);
    const order: string[] = [];
    const set = setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.MSIX, 1, 2, fds).then((r) => {
      order.push("set");
      return r;
    });
    const read = client
      .ok({ kind: "RegionReadRequest", offset: 0n, region: 7, count: 4 }, "RegionReadReply")
      .then(() => order.push("read"));
    await new Promise((r) => setTimeout(r, 150));
    expect(g.calls).toEqual([[PciIrq.MSIX, [1, 2]]]); // told, with the new eventfds already in place
    expect(ctx.irq.eventfd(2, PciIrq.MSIX)).toBeTypeOf("number");
    expect(order).toEqual([]); // neither reply left while the listener works
    g.release();
    expect((await set).message?.kind).toBe("DeviceSetIrqsReply");
    await read;
    expect(order).toEqual(["set", "read"]);
    off();
    g.rearm();
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.MSIX, 1, 1); // unsubscribed: not held
    expect(g.calls).toHaveLength(1);
  });

  it("reports table mask bits, the function mask, ACTION_MASK and the client leaving; the reply follows the listener", async () => {
    const { client, ctx, msix } = await setup();
    const calls: [number, number[]][] = [];
    let done = 0;
    ctx.irq.onChange(async (index, vectors) => {
      calls.push([index, [...vectors]]);
      await new Promise((r) => setTimeout(r, 20));
      done++;
    });
    const fds = await eventfds(client, "v", 4);
    await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.MSIX, 0, 4, fds);
    expect(done).toBe(1);
    calls.length = 0;
    await cfgWrite(client, msix.offset + 2, new Uint8Array([0x03, 0x80])); // MSI-X enabled: every vector may move
    expect(calls).toEqual([[PciIrq.MSIX, [0, 1, 2, 3]]]);
    expect(done).toBe(2);
    calls.length = 0;
    // The first table write makes the table's masks govern: entry 0 stays masked, so do 1..3 (reset state).
    const entry = (v: number, ctrl: number) =>
      client.ok(
        {
          kind: "RegionWriteRequest",
          offset: BigInt(msix.tableOffset + 16 * v + 12),
          region: msix.tableBar,
          data: le32(ctrl),
        },
        "RegionWriteReply",
      );
    await entry(0, 1);
    expect(calls).toEqual([[PciIrq.MSIX, [0, 1, 2, 3]]]);
    calls.length = 0;
    await entry(2, 0); // unmask 2
    expect(calls).toEqual([[PciIrq.MSIX, [2]]]);
    expect(done).toBe(4);
    await entry(2, 0); // no change: not reported
    expect(calls).toHaveLength(1);
    calls.length = 0;
    await cfgWrite(client, msix.offset + 3, new Uint8Array([0xc0])); // function mask: 2 was the only unmasked one
    expect(calls).toEqual([[PciIrq.MSIX, [2]]]);
    await cfgWrite(client, msix.offset + 3, new Uint8Array([0x80]));
    calls.length = 0;
    await setIrqs(client, DATA_NONE | ACTION_MASK, PciIrq.MSIX, 2, 1);
    expect(calls).toEqual([[PciIrq.MSIX, [2]]]);
    expect(ctx.irq.masked(2, PciIrq.MSIX)).toBe(true);
    calls.length = 0;
    await client.kill();
    await expect.poll(() => calls.find(([i]) => i === PciIrq.MSIX)?.[1]).toEqual([0, 1, 2, 3]);
  });

  it("a listener's failure is reported and the reply is sent all the same", async () => {
    const errors: unknown[] = [];
    const { client, ctx } = await setup((e) => errors.push(e));
    ctx.irq.onChange(() => Promise.reject(new Error("follower broke")));
    ctx.irq.onChange(() => {
      throw new Error("follower threw");
    });
    const fds = await eventfds(client, "v", 1);
    const r = await setIrqs(client, DATA_EVENTFD | ACTION_TRIGGER, PciIrq.MSIX, 0, 1, fds);
    expect(r.message?.kind).toBe("DeviceSetIrqsReply");
    expect(errors.map((e) => (e as Error).message).sort()).toEqual(["follower broke", "follower threw"]);
  });
});
