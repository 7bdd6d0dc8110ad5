// The benchmark's server, in its own process (forked by index.ts with an IPC channel; node --expose-gc):
// node --import tsx server.ts <socket>. A small PCI device (the one of the client's benchmark: a BAR2 register file
// behind synchronous callbacks) served with the public API; the C client reads its config space.
// Over IPC: {op: "mark"} starts counting (a full GC first), {op: "read"} answers what was spent since the mark:
// CPU time of the whole process, GCs by kind, and the bytes the V8 heap grew by (young generation included: with no
// scavenge in between that is what was allocated).
import { constants, PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics } from "node:v8";
import { createServer } from "@emu/vfio-user-server";

const socketPath = process.argv[2] as string;
const regs = new Uint8Array(0x1000);
const server = await createServer({
  socketPath,
  device: () => ({
    pci: {
      vendorId: 0x1234,
      deviceId: 0x11ee,
      classCode: 0x088000,
      bars: [{ index: 2, kind: "memory32", size: 0x1000 }],
    },
    regions: {
      2: {
        read: (offset, length) => regs.subarray(offset, offset + length),
        write: (offset, data) => {
          regs.set(data, offset);
        },
      },
    },
  }),
  onError: () => undefined,
});

const gcs = { minor: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gcs.minor++;
    else gcs.major++;
  }
}).observe({ entryTypes: ["gc"] });

function heapUsed(): number {
  let n = 0;
  for (const s of getHeapSpaceStatistics()) n += s.space_used_size;
  return n;
}

interface Mark {
  cpu: NodeJS.CpuUsage;
  heap: number;
  external: number;
  minor: number;
  major: number;
}
let mark: Mark | undefined;

function take(): Mark {
  return {
    cpu: process.cpuUsage(),
    heap: heapUsed(),
    external: process.memoryUsage().external,
    minor: gcs.minor,
    major: gcs.major,
  };
}

process.on("message", (m: { op: string }) => {
  if (m.op === "mark") {
    (globalThis as { gc?: () => void }).gc?.();
    // The GC observer reports asynchronously: let the mark's own collection be counted before marking.
    setTimeout(() => {
      mark = take();
      process.send?.({ op: "mark" });
    }, 20);
  } else if (m.op === "read" && mark !== undefined) {
    const from = mark;
    // Again after the GC observer had its turn.
    setTimeout(() => reply(from), 20);
  }
});

function reply(mark: Mark): void {
  const now = take();
  const cpu = process.cpuUsage(mark.cpu);
  process.send?.({
    op: "read",
    userUs: cpu.user,
    systemUs: cpu.system,
    heapGrowth: now.heap - mark.heap,
    externalGrowth: now.external - mark.external,
    minorGcs: now.minor - mark.minor,
    majorGcs: now.major - mark.major,
  });
}
process.on("disconnect", () => {
  void server.close().then(() => process.exit(0));
});
process.send?.({ op: "ready" });
