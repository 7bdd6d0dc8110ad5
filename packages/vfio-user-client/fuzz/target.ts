// The client as a fuzz target: the client in a child process (fuzz/subject.ts, its workload in fuzz/workload.ts)
// connects, session after session, to a hostile server here (fuzz/session.ts) listening in the run's directory.
import { join } from "node:path";
import { FuzzFailure, type FuzzTarget, type SessionContext } from "@emu/fuzz-kit";
import { UnixServer, type UnixSocket } from "@emu/sys";
import { HostileServer } from "./session.js";
import type { SessionArgs, SessionSummary } from "./workload.js";

const PACKAGE_DIR = join(import.meta.dirname, "..");

/** The hostile server's listening socket: connections queue here until a session takes one. */
class Listener {
  private readonly server: UnixServer;
  private readonly queue: UnixSocket[] = [];
  private waiter: (() => void) | undefined;

  constructor(readonly path: string) {
    this.server = UnixServer.listen(path, (s) => {
      this.queue.push(s);
      this.waiter?.();
    });
  }

  /** The next connection, or undefined if `gaveUp` settles first. */
  async accept(gaveUp: Promise<unknown>): Promise<UnixSocket | undefined> {
    let done = false;
    void gaveUp.finally(() => {
      done = true;
      this.waiter?.();
    });
    while (this.queue.length === 0 && !done) await new Promise<void>((r) => (this.waiter = r));
    this.waiter = undefined;
    return this.queue.shift();
  }

  close(): void {
    for (const s of this.queue.splice(0)) s.close();
    this.server.close();
  }
}

let listener: Listener | undefined;

async function session(ctx: SessionContext): Promise<void> {
  const path = join(ctx.dir, "hostile.sock");
  if (listener?.path !== path) {
    listener?.close();
    listener = new Listener(path);
  }
  const rng = ctx.rng;
  const args: SessionArgs = {
    path,
    seed: rng.u32(),
    index: ctx.index,
    twin: rng.chance(0.3),
    maxXfer: rng.pick([4096, 65536, 1048576]),
  };
  // The session ends on our close; its own deadline is checked then (HostileServer.ended).
  const result = ctx.subject.call<SessionSummary>("session", args as unknown as Record<string, unknown>, 3_600_000);
  const sock = await listener.accept(result.catch(() => undefined));
  if (sock === undefined) {
    const s = await result; // it could not connect: ours to know why
    throw new FuzzFailure("finding", `the client did not connect: ${JSON.stringify(s.rejected)}`);
  }
  await new HostileServer(ctx).play(sock, result);
}

export const clientTarget: FuzzTarget = {
  name: "vfio-user-client",
  subject: () => ({ script: join(import.meta.dirname, "subject.ts"), cwd: PACKAGE_DIR }),
  session,
  // Sessions are costly to set up (a connection, VERSION, the client's fd check): most run long.
  sessionBudget: (rng) => 1 + rng.size(30_000),
  // The client holds nothing between sessions (each ends with close()).
  idle: async () => undefined,
  dispose: () => {
    listener?.close();
    listener = undefined;
  },
};
