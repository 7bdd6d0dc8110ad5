// The process under test: the client, one session per call from the fuzzer, against the fuzzer's hostile server.
// Run by the fuzzer (fuzz/target.ts), not by hand.
import { reportEvent, serveAsSubject } from "@emu/fuzz-kit/subject";
import { clientSession, type SessionArgs } from "./workload.js";

serveAsSubject({
  session: async (args) => {
    const summary = await clientSession(args as unknown as SessionArgs);
    for (const message of summary.findings) reportEvent("finding", { message });
    return summary;
  },
});
