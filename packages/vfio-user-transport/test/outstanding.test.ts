import { describe, expect, it } from "vitest";
import { Outstanding, type OutstandingRequest } from "../src/index.js";

interface R extends OutstandingRequest {
  readonly tag: string;
}
const req = (msgId: number, command: number, tag: string, twin = false): R => ({ msgId, command, twin, tag });

describe("Outstanding", () => {
  it("matches in order, out of order, and never across command or socket", () => {
    const o = new Outstanding<R>();
    const ids = [o.allocate(), o.allocate(), o.allocate()];
    expect(ids).toEqual([1, 2, 3]);
    o.add(req(1, 5, "a"));
    o.add(req(2, 6, "b"));
    o.add(req(3, 5, "c", true));
    expect(o.size).toBe(3);
    expect(o.oldest()?.tag).toBe("a");
    expect(o.match(2, 5, false)).toBeUndefined(); // wrong command
    expect(o.match(3, 5, false)).toBeUndefined(); // wrong socket
    expect(o.match(2, 6, false)?.tag).toBe("b"); // out of order
    expect(o.match(1, 5, false)?.tag).toBe("a");
    expect(o.match(1, 5, false)).toBeUndefined(); // answered already
    expect(o.oldest()?.tag).toBe("c");
    o.dropOldest();
    expect(o.size).toBe(0);
  });

  it("allocates ids 1..0xffff in turn, skipping outstanding ones; -1 when all are in use", () => {
    const o = new Outstanding<R>();
    let inTurn = true;
    for (let i = 1; i <= 0xffff; i++) {
      const id = o.allocate();
      if (id !== i) inTurn = false;
      if (i !== 2) o.add(req(id, 1, ""));
    }
    expect(inTurn).toBe(true);
    expect(o.allocate()).toBe(2); // wrapped, 1 is in use
    o.add(req(2, 1, ""));
    expect(o.allocate()).toBe(-1);
    expect(o.match(0x8000, 1, false)?.msgId).toBe(0x8000);
    expect(o.allocate()).toBe(0x8000);
    expect(o.takeAll()).toHaveLength(0xffff - 1);
    expect(o.size).toBe(0);
    expect(o.allocate()).toBe(0x8001);
  });

  it("remove forgets one request; takeAll returns the rest oldest first", () => {
    const o = new Outstanding<R>();
    const a = req(1, 1, "a");
    const b = req(2, 1, "b");
    const c = req(3, 1, "c");
    o.add(a);
    o.add(b);
    o.add(c);
    o.remove(b);
    o.remove(a);
    expect(o.takeAll().map((r) => r.tag)).toEqual(["c"]);
  });
});
