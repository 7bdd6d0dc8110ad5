// A reply that does not decode, or does not answer what was asked, is a Protocol error, and the README promises the
// connection is then dropped: a stream that carried garbage cannot be trusted. One test per way a reply is judged
// (the access replies are in access-replies.test.ts), against a scripted peer in another process.
import { join } from "node:path";
import { tempDir } from "@emu/test-kit";
import type { VfioUserClient, VfioUserClientError } from "@emu/vfio-user-client";
import { describe, expect, it } from "vitest";
import { connect, forkFixture } from "./helpers.js";

async function garbagePeer(): Promise<{ c: VfioUserClient; lost: unknown[]; pending: Promise<unknown> }> {
  const socketPath = join(tempDir(), "peer.sock");
  await forkFixture("scripted-server.ts", [socketPath, "garbage"]);
  const c = await connect(socketPath);
  const lost: unknown[] = [];
  c.on("disconnected", (e) => lost.push(e));
  // DEVICE_RESET is never answered: a request still pending when the bad reply comes.
  const pending = c.reset().then(
    () => "answered",
    (e: unknown) => e,
  );
  return { c, lost, pending };
}

async function refusal(p: Promise<unknown>): Promise<VfioUserClientError> {
  return p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: VfioUserClientError) => e,
  );
}

/** The connection is gone with `err`: pending requests failed with it, `disconnected` emitted, later requests refused. */
async function dropped(
  peer: { c: VfioUserClient; lost: unknown[]; pending: Promise<unknown> },
  err: VfioUserClientError,
): Promise<void> {
  expect(err.reason).toBe("Protocol");
  expect(peer.c.connected).toBe(false);
  expect(await peer.pending).toBe(err);
  expect(peer.lost).toEqual([err]);
  expect(await refusal(peer.c.regionRead(2, 0n, 4))).toBe(err);
}

describe("a Protocol error in a reply drops the connection", () => {
  it("a reply that does not decode (the general decode: DEVICE_GET_INFO)", async () => {
    const peer = await garbagePeer();
    const err = await refusal(peer.c.getInfo());
    expect(err.message).toMatch(/DEVICE_GET_INFO reply/);
    await dropped(peer, err);
  });

  it("a DEVICE_FEATURE reply that does not decode", async () => {
    const peer = await garbagePeer();
    const err = await refusal(peer.c.probeFeature(2, 0));
    expect(err.message).toMatch(/DEVICE_FEATURE reply/);
    await dropped(peer, err);
  });

  it("a migration reply that decodes but does not answer (GET MIGRATION without its flags)", async () => {
    const peer = await garbagePeer();
    const err = await refusal(peer.c.getMigrationFlags());
    expect(err.message).toBe("GET MIGRATION reply without flags");
    await dropped(peer, err);
  });
});
