// The process under test: the server serving the fuzz device on argv[2], reporting to the fuzzer over IPC. What the
// server reports through onError is tallied by tag; an untagged report is a finding (the server's errors are tagged).
// Run by the fuzzer (fuzz/target.ts), not by hand.
import { reportEvent, serveAsSubject } from "@emu/fuzz-kit/subject";
import { createServer } from "@emu/vfio-user-server";
import { fuzzDevice } from "./device.js";

const socketPath = process.argv[2] as string;
const device: Record<string, number> = {};
const reported: Record<string, number> = {};

function onError(e: unknown): void {
  const t = e as { _tag?: unknown; reason?: unknown; code?: unknown; stack?: unknown };
  if (typeof t?._tag !== "string") {
    reportEvent("finding", { message: `the server reported an untagged error: ${String(t?.stack ?? e)}` });
    return;
  }
  const key = `${t._tag}${typeof t.reason === "string" ? `:${t.reason}` : typeof t.code === "string" ? `:${t.code}` : ""}`;
  reported[key] = (reported[key] ?? 0) + 1;
}

const server = await createServer({ socketPath, device: fuzzDevice(device), dmaReplyTimeoutMs: 250, onError });

serveAsSubject({
  /** Resolves once no client is connected. */
  idle: async () => {
    await server.disconnected();
    return server.connected;
  },
  stats: () => ({ device, reported, clients: server.clientCount }),
});
