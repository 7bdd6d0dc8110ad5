// The server's front door: the socket file's mode, what happens to whatever already sits at the socket path, and a
// second client while one is served (refused with EBUSY, the first one undisturbed).
import { spawn } from "node:child_process";
import { lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UnixSocket } from "@emu/sys";
import { reapAfterTest, tempDir, until } from "@emu/test-kit";
import { Command, encodeMessage, FrameParser, HeaderFlags } from "@emu/vfio-user-proto";
import { createServer, isVfioUserServerError, type VfioUserServerError } from "@emu/vfio-user-server";
import { describe, expect, it } from "vitest";
import { newLog, nic } from "./fixtures/devices.js";
import { Client, fdCount, socketPath, track } from "./fixtures/harness.js";

const EBUSY = 16;
const PACKAGE_DIR = join(import.meta.dirname, "..");

/** The server's reports, by tag and reason. */
function reports(): { errors: unknown[]; busy(): VfioUserServerError[] } {
  const errors: unknown[] = [];
  return {
    errors,
    busy: () => errors.filter((e): e is VfioUserServerError => isVfioUserServerError(e) && e.reason === "Busy"),
  };
}

const regionRead = { kind: "RegionReadRequest", offset: 0n, region: 7, count: 4 } as const;

describe("the socket file", () => {
  it("is created 0600 whatever the umask, or with the mode asked for", async () => {
    const old = process.umask(0);
    try {
      const path = socketPath();
      const s = track(await createServer({ socketPath: path, device: nic(newLog()) }));
      expect(lstatSync(path).isSocket()).toBe(true);
      expect(statSync(path).mode & 0o7777).toBe(0o600);
      await s.close();
      const shared = join(tempDir(), "shared.sock");
      track(await createServer({ socketPath: shared, mode: 0o660, device: nic(newLog()) }));
      expect(statSync(shared).mode & 0o7777).toBe(0o660);
    } finally {
      process.umask(old);
    }
    // A restrictive umask does not make it more open either, nor less than asked.
    const old2 = process.umask(0o077);
    try {
      const path = socketPath();
      track(await createServer({ socketPath: path, device: nic(newLog()) }));
      expect(statSync(path).mode & 0o7777).toBe(0o600);
    } finally {
      process.umask(old2);
    }
  });

  it("left by a server that was killed is replaced", async () => {
    const path = socketPath();
    // A server in another process that dies with SIGKILL: its socket file stays, nobody listens on it.
    const dead = reapAfterTest(
      spawn(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `import { UnixServer } from "@emu/sys"; UnixServer.listen(${JSON.stringify(path)}, () => {}); console.log("up");`,
        ],
        { cwd: PACKAGE_DIR, stdio: ["ignore", "pipe", "inherit"] },
      ),
    );
    await new Promise<void>((resolve) => dead.stdout?.once("data", () => resolve()));
    dead.kill("SIGKILL");
    await new Promise((resolve) => dead.once("exit", resolve));
    expect(lstatSync(path).isSocket()).toBe(true);
    track(await createServer({ socketPath: path, device: nic(newLog()) }));
    const client = await Client.spawn();
    expect((await client.connect(path)).message?.kind).toBe("VersionReply");
  });

  it("refuses a path where a server listens, and that server goes on serving", async () => {
    const path = socketPath();
    track(await createServer({ socketPath: path, device: nic(newLog()) }));
    const client = await Client.spawn();
    await client.connect(path);
    const err = await createServer({ socketPath: path, device: nic(newLog()) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ _tag: "VfioUserServerError", reason: "SocketPath", cause: { code: "EADDRINUSE" } });
    expect((err as Error).message).toContain("another server is listening there");
    expect((await client.call(regionRead)).message?.kind).toBe("RegionReadReply");
  });

  it("refuses a path that is not a socket and never removes it", async () => {
    const dir = tempDir();
    const file = join(dir, "file");
    writeFileSync(file, "precious");
    const directory = join(dir, "dir");
    mkdirSync(directory);
    const dangling = join(dir, "dangling");
    symlinkSync(join(dir, "nowhere"), dangling);
    // A symlink to a socket nobody listens on is not that socket: it is not followed, not replaced.
    const staleTarget = join(dir, "stale.sock");
    const s = await createServer({ socketPath: staleTarget, device: nic(newLog()) });
    await s.close();
    const toStale = join(dir, "to-stale");
    symlinkSync(staleTarget, toStale);
    for (const path of [file, directory, dangling, toStale]) {
      const err = await createServer({ socketPath: path, device: nic(newLog()) }).catch((e: unknown) => e);
      expect(err).toMatchObject({ _tag: "VfioUserServerError", reason: "SocketPath", cause: { code: "EEXIST" } });
      expect((err as Error).message).toBe(
        `${path} exists and is not a socket: it is left as it is (remove it, or choose another socketPath)`,
      );
    }
    expect(readFileSync(file, "utf8")).toBe("precious");
    expect(lstatSync(directory).isDirectory()).toBe(true);
    expect(readlinkSync(dangling)).toBe(join(dir, "nowhere"));
    expect(readlinkSync(toStale)).toBe(staleTarget);
  });
});

describe("a second client", () => {
  it("gets EBUSY in reply to its VERSION and is closed; the first client is undisturbed", async () => {
    const path = socketPath();
    const log = reports();
    const server = track(
      await createServer({ socketPath: path, device: nic(newLog()), onError: (e) => log.errors.push(e) }),
    );
    const first = await Client.spawn();
    await first.connect(path);
    const second = await Client.spawn();
    const refused = await second.connect(path);
    expect(refused.message).toEqual({ kind: "ErrorReply", command: Command.VERSION, errno: EBUSY });
    expect(refused.header.flags & HeaderFlags.ERROR).toBe(HeaderFlags.ERROR);
    expect(await second.op("waitClosed", {})).toBe(true);
    expect(log.busy()).toHaveLength(1);
    expect(log.busy()[0]?.message).toBe(
      `a second client connected to ${path} while one is served: refused (its first message is answered with EBUSY)`,
    );
    expect((await first.call(regionRead)).message?.kind).toBe("RegionReadReply");
    expect(server.clientCount).toBe(1);
    expect(server.connected).toBe(true);
  });

  it("that sends nothing, or garbage, is closed; more than four waiting are closed at once", async () => {
    const path = socketPath();
    const log = reports();
    track(await createServer({ socketPath: path, device: nic(newLog()), onError: (e) => log.errors.push(e) }));
    const first = await Client.spawn();
    await first.connect(path);
    const before = fdCount();
    const silent = await UnixSocket.connect(path);
    const garbage = await UnixSocket.connect(path);
    const closed = new Set<UnixSocket>();
    const watch = (s: UnixSocket) => s.start({ onData: () => undefined, onClose: () => closed.add(s) });
    watch(silent);
    watch(garbage);
    const bad = new Uint8Array(16);
    new DataView(bad.buffer).setUint32(4, 8, true); // msg_size 8 < 16: not a frame
    garbage.send(bad);
    const more = await Promise.all([1, 2, 3].map(() => UnixSocket.connect(path)));
    for (const s of more) watch(s);
    // Two wait (silent, garbage) and two more fill the room; the fifth is closed at once.
    await until(() => closed.size >= 1, 5000, "the fifth waiting connection to be closed");
    expect([...closed]).toEqual([more[2]]);
    await until(() => closed.size === 5, 5000, "every refused connection to be closed");
    expect(log.busy().length).toBe(5);
    expect((await first.call(regionRead)).message?.kind).toBe("RegionReadReply");
    await until(() => fdCount() === before, 2000, "the server to hold no fd of the refused connections");
  });

  it("waits for a first client that is going: a reconnect right after a close is served", async () => {
    const path = socketPath();
    const log = reports();
    const server = track(
      await createServer({ socketPath: path, device: nic(newLog()), onError: (e) => log.errors.push(e) }),
    );
    const version = encodeMessage(
      { kind: "VersionRequest", major: 0, minor: 2, capabilities: { maxMsgFds: 1 } },
      { msgId: 7 },
    );
    for (let i = 0; i < 50; i++) {
      const s = await UnixSocket.connect(path);
      const parser = new FrameParser();
      const reply = new Promise<number>((resolve) =>
        s.start({
          onData: (chunk) => {
            parser.push(chunk);
            const f = parser.next();
            if (f !== undefined) resolve(f.header.flags);
          },
          onClose: () => resolve(-1),
        }),
      );
      s.send(version);
      expect(await reply).toBe(HeaderFlags.TYPE_REPLY); // served, not refused
      s.close(); // and at once the next connection
    }
    expect(log.busy()).toEqual([]);
    expect(server.clientCount).toBe(50);
  });

  it("is served once the first client goes while it waits", async () => {
    const path = socketPath();
    const server = track(await createServer({ socketPath: path, device: nic(newLog()) }));
    const first = await Client.spawn();
    await first.connect(path);
    const second = await Client.spawn();
    const before = fdCount();
    const served = second.connect(path);
    await until(() => fdCount() > before, 1000, "the second connection to be accepted"); // it waits, unread
    await first.kill();
    expect((await served).message?.kind).toBe("VersionReply");
    expect(server.clientCount).toBe(2);
  });
});
