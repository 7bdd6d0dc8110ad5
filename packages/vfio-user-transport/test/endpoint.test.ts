import { UnixSocket } from "@emu/sys";
import { bytesOf, until } from "@emu/test-kit";
import { Command, HeaderFlags, isProtoError } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { adoptTwin, createStats, createTwin, type Endpoint } from "../src/index.js";
import { closeFd, endpointPair, memfd, readRequest, writeRequest } from "./helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

describe("Endpoint: receiving", () => {
  it("reads whole frames in place; the others and a partial tail go through the parser", async () => {
    const { ep, peer, seen } = endpointPair({ inPlaceAccepts: (h) => h.command === Command.REGION_READ });
    const w = writeRequest(9, 8);
    const all = concat(readRequest(1), w, readRequest(2), readRequest(3));
    peer.send(all.subarray(0, all.length - 10));
    await until(() => seen.inPlace.length === 2 && seen.frames.length === 1);
    expect(seen.inPlace.map((h) => h.msgId)).toEqual([1, 2]);
    expect(seen.frames[0]?.header.msgId).toBe(9);
    peer.send(all.subarray(all.length - 10));
    await until(() => seen.frames.length === 2);
    expect(seen.frames[1]?.header.msgId).toBe(3); // completed by the parser
    ep.close();
    peer.close();
  });

  it("frames handed to onFrame keep their bytes after later chunks (the receive buffer is reused)", async () => {
    const kept: Uint8Array[] = [];
    const { ep, peer } = endpointPair({ inPlaceAccepts: () => false, onFrame: (f) => kept.push(f.bytes) });
    const frames = [1, 2, 3].map((id) => writeRequest(id, 8).fill(0xa0 + id, 32)); // distinct data bytes
    for (const [i, f] of frames.entries()) {
      peer.send(f);
      await until(() => kept.length === i + 1);
    }
    // A partial frame too: the parser's bytes must survive the chunks after them.
    const last = writeRequest(4, 8).fill(0xa7, 32);
    peer.send(last.subarray(0, 20));
    await sleep(20);
    peer.send(concat(last.subarray(20), readRequest(5)));
    await until(() => kept.length === 5);
    for (const [i, f] of [...frames, last, readRequest(5)].entries()) expect([...(kept[i] ?? [])]).toEqual([...f]);
    ep.close();
    peer.close();
  });

  it("a frame with fds goes through the parser, with its fds", async () => {
    const { ep, peer, seen } = endpointPair({ inPlaceAccepts: () => true });
    const fd = memfd();
    peer.send(readRequest(4), [fd]);
    closeFd(fd);
    await until(() => seen.frames.length === 1);
    expect(seen.inPlace).toHaveLength(0);
    expect(seen.frames[0]?.fds).toHaveLength(1);
    for (const f of seen.frames[0]?.fds ?? []) closeFd(f);
    ep.close();
    peer.close();
  });

  it("hold stops reading in place: the rest of the chunk waits, then reaches onFrame in order on release", async () => {
    let held = false;
    const { ep, peer, seen } = endpointPair({
      inPlaceAccepts: (h) => {
        if (h.msgId === 2) held = true;
        return true;
      },
      hold: () => held,
    });
    peer.send(concat(readRequest(1), readRequest(2), readRequest(3), readRequest(4)));
    await until(() => seen.inPlace.length === 2 && ep.waitingCommands === 2);
    expect(seen.frames).toHaveLength(0);
    held = false;
    ep.release();
    await until(() => seen.inPlace.length + seen.frames.length === 4);
    expect(seen.inPlace.map((h) => h.msgId)).toEqual([1, 2]);
    expect(seen.frames.map((f) => f.header.msgId)).toEqual([3, 4]);
    ep.close();
    peer.close();
  });

  it("what a chunk causes leaves in one sendmsg at its end", async () => {
    const stats = createStats();
    let ep: Endpoint | undefined;
    const r = endpointPair(
      {
        inPlaceAccepts: (h) => {
          const reply = readRequest(h.msgId);
          reply[8] = HeaderFlags.TYPE_REPLY;
          ep?.outbox.send(reply);
          return true;
        },
      },
      { stats },
    );
    ep = r.ep;
    r.peer.send(concat(readRequest(1), readRequest(2), readRequest(3)));
    await until(() => bytesOf(r.got).length === 96);
    expect(stats).toMatchObject({ framesReceived: 3, messagesSent: 3, sendCalls: 1 });
    r.ep.close();
    r.peer.close();
  });

  it("a framing error is reported, the endpoint closes with the fds its parser held", async () => {
    const { peer, seen, got } = endpointPair({ inPlaceAccepts: () => true });
    const bad = readRequest(5);
    bad[4] = 3; // msg_size 3
    bad[5] = 0;
    const fd = memfd();
    peer.send(concat(readRequest(1), bad), [fd]);
    closeFd(fd);
    await until(() => seen.closed && got.closed !== undefined);
    expect(seen.frames.map((f) => f.header.msgId)).toEqual([1]);
    expect(seen.errors).toHaveLength(1);
    expect(isProtoError(seen.errors[0])).toBe(true);
    peer.close();
  });

  it("halted: nothing more is handled", async () => {
    let stop = false;
    const { ep, peer, seen } = endpointPair({
      inPlaceAccepts: () => {
        stop = true;
        return true;
      },
      halted: () => stop,
    });
    peer.send(concat(readRequest(1), readRequest(2)));
    await until(() => seen.inPlace.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.frames).toHaveLength(0);
    expect(seen.inPlace).toHaveLength(1);
    ep.close();
    peer.close();
  });
});

describe("twin socket", () => {
  it("the server's pair end travels with a message; the client adopts it", async () => {
    const [srvMain, cliMain] = UnixSocket.pair();
    srvMain.start({ onData() {}, onClose() {} });
    const fds: number[] = [];
    cliMain.start({ onData: (_c, f) => fds.push(...f), onClose() {} });
    const { endpoint: serverTwin, peer } = createTwin();
    srvMain.send(readRequest(1), [peer.fd]);
    peer.close();
    await until(() => fds.length === 1);
    const clientTwin = adoptTwin(fds[0] as number);
    const frames: number[] = [];
    const handlers = {
      onFrame: (f: { header: { msgId: number } }) => frames.push(f.header.msgId),
      onFramingError() {},
      onClose() {},
    };
    clientTwin.start(handlers, 1);
    serverTwin.start(handlers, 1);
    serverTwin.outbox.queue(readRequest(7));
    clientTwin.outbox.queue(readRequest(8));
    await until(() => frames.length === 2);
    expect(frames.sort()).toEqual([7, 8]);
    serverTwin.close();
    clientTwin.close();
    srvMain.close();
    cliMain.close();
  });
});
