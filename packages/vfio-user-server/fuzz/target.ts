// The server as a fuzz target: the server in a child process (fuzz/subject.ts) on a socket in the run's directory,
// hostile client sessions against it (fuzz/session.ts).
import { join } from "node:path";
import type { FuzzTarget } from "@emu/fuzz-kit";
import { ServerSession } from "./session.js";

const PACKAGE_DIR = join(import.meta.dirname, "..");

export const serverTarget: FuzzTarget = {
  name: "vfio-user-server",
  subject: (dir) => ({
    script: join(import.meta.dirname, "subject.ts"),
    args: [join(dir, "dev.sock")],
    cwd: PACKAGE_DIR,
  }),
  session: (ctx) => new ServerSession(ctx, join(ctx.dir, "dev.sock")).play(),
  idle: async (subject, hangMs) => {
    await subject.call("idle", {}, hangMs);
  },
};
