// The process under test: one emu_iavf device (4 queue pairs, a null provider attached so that queue state and link
// changes reach a data-path provider) served on argv[2], reporting to the fuzzer over IPC. What the server reports is
// tallied by tag; an untagged report, or anything the device itself reports as an internal failure, is a finding.
// Run by the fuzzer (fuzz/target.ts), not by hand.
import { EmudevRegistry } from "@emu/emudev";
import { reportEvent, serveAsSubject } from "@emu/fuzz-kit/subject";
import { iavf, iavfDriver } from "@emu/iavf-emu";

const socketPath = process.argv[2] as string;
const reported: Record<string, number> = {};
const provider: Record<string, number> = {};

function onError(e: unknown): void {
  const t = e as { _tag?: unknown; reason?: unknown; code?: unknown; stack?: unknown };
  if (typeof t?._tag !== "string") {
    reportEvent("finding", { message: `the device reported an untagged error: ${String(t?.stack ?? e)}` });
    return;
  }
  const key = `${t._tag}${typeof t.reason === "string" ? `:${t.reason}` : typeof t.code === "string" ? `:${t.code}` : ""}`;
  reported[key] = (reported[key] ?? 0) + 1;
}

const count = (k: string) => {
  provider[k] = (provider[k] ?? 0) + 1;
};

const emu = new EmudevRegistry({ onError });
emu.registerDriver(iavfDriver);
emu.registerProvider({
  name: "null",
  attributes: { features: 0xffff_ffffn, queueCount: 32, deviceCount: 1 },
  ops: {
    deviceConfigured: () => count("configured"),
    deviceClosed: () => count("closed"),
    queueStateSet: (_d, _q, on) => count(on ? "queue on" : "queue off"),
    featuresSet: () => count("features"),
  },
});
const dev = emu.create(`emu_iavf0,sock=${socketPath},queues=4,mac=02:00:00:00:00:01`);
dev.configure({
  // Internal failures: nothing a guest posts may cause one.
  onError: (e: unknown) =>
    reportEvent("finding", { message: `the device reported an internal failure: ${String((e as Error)?.stack ?? e)}` }),
  resetDelayMs: 2,
});
await dev.start();
dev.attach("null");

serveAsSubject({
  /** Resolves once no client is connected (the device's quiet reset done). */
  idle: async () => {
    while (dev.connected) await new Promise((r) => setTimeout(r, 1));
    return true;
  },
  stats: () => ({ reported, provider, counters: iavf(dev).counters() }),
});
