import { arg, EmudevRegistry, isEmudevError, parseDevargs, readArgs } from "@emu/emudev";
import { describe, expect, it } from "vitest";
import { counterDriver } from "./fixtures/counter-driver.js";

function devargsError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isEmudevError(e)) return `${e.reason}: ${e.message}`;
    throw e;
  }
  throw new Error("no EmudevError");
}

describe("parseDevargs", () => {
  it("splits the seeds' devargs into driver, instance and pairs", () => {
    const d = parseDevargs("emu_iavf0,sock=/tmp/x.sock,queues=2,mac=02:00:00:00:00:01");
    expect(d.name).toBe("emu_iavf0");
    expect(d.driver).toBe("emu_iavf");
    expect(d.instance).toBe(0);
    expect([...d.pairs]).toEqual([
      ["sock", "/tmp/x.sock"],
      ["queues", "2"],
      ["mac", "02:00:00:00:00:01"],
    ]);
    expect(parseDevargs("counter12").instance).toBe(12);
    expect(parseDevargs("ab1,x=y=z").pairs.get("x")).toBe("y=z");
  });

  it("names what is wrong", () => {
    expect(devargsError(() => parseDevargs(""))).toBe('Devargs: devargs "": empty');
    expect(devargsError(() => parseDevargs("emu_iavf,sock=/x"))).toMatch(/device name "emu_iavf" must be a driver/);
    expect(devargsError(() => parseDevargs("Emu0"))).toMatch(/device name "Emu0"/);
    expect(devargsError(() => parseDevargs("emu0,sock"))).toMatch(/"sock" is not key=value/);
    expect(devargsError(() => parseDevargs("emu0,=x"))).toMatch(/bad key "" in "=x"/);
    expect(devargsError(() => parseDevargs("emu0,q=1,q=2"))).toMatch(/key "q" given twice/);
    expect(devargsError(() => parseDevargs("emu0,q="))).toMatch(/key "q" has an empty value/);
    expect(devargsError(() => parseDevargs("emu0,sock=/a,,q=1"))).toMatch(/"" is not key=value/);
  });
});

describe("readArgs", () => {
  const schema = {
    queues: arg.uint(1, 16, { help: "queue pairs, 1..16" }),
    mac: arg.mac({ default: new Uint8Array(6) }),
    intr: arg.bool({ default: false }),
    label: arg.string({ default: "x" }),
  };

  it("reads values, with defaults", () => {
    const a = readArgs(parseDevargs("emu_iavf0,queues=0x4,mac=02:00:00:00:00:01,intr=on"), schema);
    expect(a).toEqual({ queues: 4, mac: Uint8Array.of(2, 0, 0, 0, 0, 1), intr: true, label: "x" });
  });

  it("names the bad key or value", () => {
    const read = (s: string) => devargsError(() => readArgs(parseDevargs(s), schema));
    expect(read("e0")).toBe('Devargs: devargs "e0": missing key "queues" (queue pairs, 1..16)');
    expect(read("e0,queues=17")).toBe('Devargs: devargs "e0": bad value "17" for key "queues": must be 1..16');
    expect(read("e0,queues=-1")).toMatch(/bad value "-1" for key "queues": not an unsigned integer/);
    expect(read("e0,queues=1,mac=02:00:00:00:00")).toMatch(/bad value "02:00:00:00:00" for key "mac"/);
    expect(read("e0,queues=1,intr=maybe")).toMatch(/bad value "maybe" for key "intr"/);
    expect(read("e0,queues=1,qeueus=2")).toMatch(/unknown key "qeueus" for e \(accepted: queues, mac, intr, label\)/);
  });
});

describe("creating devices by driver name", () => {
  it("finds the driver, requires sock, passes the rest to the driver", () => {
    const emu = new EmudevRegistry();
    emu.registerDriver(counterDriver);
    expect(devargsError(() => emu.create("nic0,sock=/x"))).toBe(
      'UnknownDriver: no emudev driver "nic" for nic0 (registered: counter)',
    );
    expect(devargsError(() => emu.create("counter0,queues=1"))).toMatch(/Devargs: .*missing key "sock"/);
    expect(devargsError(() => emu.create("counter0,sock=/x,queues=3"))).toMatch(
      /bad value "3" for key "queues": must be 1..2/,
    );
    const dev = emu.create("counter0,sock=/nowhere/x.sock,queues=1");
    expect(dev.info).toEqual({ type: "counter", queueCount: 1, features: 0b101n });
    expect(dev.state).toBe("created");
    expect(devargsError(() => emu.create("counter0,sock=/y"))).toBe("Duplicate: device counter0 already exists");
    expect(emu.deviceNames()).toEqual(["counter0"]);
    expect(emu.device("counter0")).toBe(dev);
  });

  it("refuses bad drivers and duplicate names", () => {
    const emu = new EmudevRegistry();
    emu.registerDriver(counterDriver);
    expect(devargsError(() => emu.registerDriver(counterDriver))).toBe(
      "Duplicate: driver counter is already registered",
    );
    expect(devargsError(() => emu.registerDriver({ ...counterDriver, name: "nic0" }))).toMatch(
      /not ending with a digit/,
    );
    expect(
      devargsError(() => emu.registerDriver({ ...counterDriver, name: "nic", args: { sock: arg.string() } })),
    ).toMatch(/"sock" is emudev's own/);
  });
});
