// REGION_READ / REGION_WRITE replies other than the plain one (which the connection settles in place) are decoded and
// judged as before: from a scripted peer in another process.
import { join } from "node:path";
import { tempDir } from "@emu/test-kit";
import type { VfioUserClientError } from "@emu/vfio-user-client";
import { describe, expect, it } from "vitest";
import { connect, fdCount, forkFixture } from "./helpers.js";

async function peer() {
  const socketPath = join(tempDir(), "peer.sock");
  await forkFixture("scripted-server.ts", [socketPath, "odd-access"]);
  return connect(socketPath);
}

async function refusal(p: Promise<unknown>): Promise<VfioUserClientError> {
  return p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: VfioUserClientError) => e,
  );
}

describe("REGION_READ / REGION_WRITE replies that are not the plain one", () => {
  it("a bare header answers a count-0 read (libvfio-user); a reply with an fd still gives its data, the fd closed", async () => {
    const c = await peer();
    expect(await c.regionRead(2, 0n, 0)).toEqual(new Uint8Array(0));
    const before = fdCount();
    expect(await c.regionRead(4, 8n, 4)).toEqual(new Uint8Array(4).fill(0x77));
    expect(fdCount()).toBe(before);
  });

  it("a read answered with fewer bytes: a Protocol error that drops the connection (pending requests fail with it)", async () => {
    const c = await peer();
    const lost: unknown[] = [];
    c.on("disconnected", (e) => lost.push(e));
    // pipelined: the plain reply before the odd one still counts; the one behind it fails with the same error
    const [a, b, d] = await Promise.allSettled([
      c.regionRead(2, 0n, 8),
      c.regionRead(3, 0n, 4),
      c.regionRead(2, 0n, 1),
    ]);
    expect(a).toEqual({ status: "fulfilled", value: new Uint8Array(8).fill(0x77) });
    const short = (b as PromiseRejectedResult).reason as VfioUserClientError;
    expect([short.reason, short.message]).toEqual(["Protocol", "REGION_READ of 4 byte(s) returned 2"]);
    expect(d).toEqual({ status: "rejected", reason: short });
    expect(c.connected).toBe(false);
    expect(lost).toEqual([short]);
    expect(await refusal(c.regionRead(2, 0n, 1))).toBe(short);
  });

  it("a write reply with stray bytes: a Protocol error that drops the connection", async () => {
    const c = await peer();
    const stray = await refusal(c.regionWrite(2, 0n, Uint8Array.of(1, 2)));
    expect(stray.reason).toBe("Protocol");
    expect(c.connected).toBe(false);
    expect(await refusal(c.regionRead(2, 0n, 1))).toBe(stray);
  });

  it("a big read (sent alone, judged after the general decode) answered short: the connection drops as well", async () => {
    const c = await peer();
    const short = await refusal(c.regionRead(3, 0n, 20000));
    expect([short.reason, short.message]).toEqual(["Protocol", "REGION_READ of 20000 byte(s) returned 2"]);
    expect(c.connected).toBe(false);
  });
});
