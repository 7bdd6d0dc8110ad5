// emu_iavf's admin queue and virtchnl PF side as a fuzz target: the device in a child process (fuzz/subject.ts) on a
// socket in the run's directory, hostile guest sessions against it (fuzz/session.ts).
import { join } from "node:path";
import type { FuzzTarget } from "@emu/fuzz-kit";
import { HostileGuest } from "./session.js";

const PACKAGE_DIR = join(import.meta.dirname, "..");

export const iavfTarget: FuzzTarget = {
  name: "emu_iavf",
  subject: (dir) => ({
    script: join(import.meta.dirname, "subject.ts"),
    args: [join(dir, "iavf.sock")],
    cwd: PACKAGE_DIR,
  }),
  session: (ctx) => new HostileGuest(ctx, join(ctx.dir, "iavf.sock")).play(),
  // A session's set-up (connection, DMA_MAP, region info, admin-queue init) is costly next to a descriptor.
  sessionBudget: (rng) => 1 + rng.size(20_000),
  idle: async (subject, hangMs) => {
    await subject.call("idle", {}, hangMs);
  },
};
