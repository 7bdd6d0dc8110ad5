// The benchmark's server, in its own process (forked by index.ts with an IPC channel; node --expose-gc):
// node --import tsx server.ts <socket>. A small PCI device (the one of the client's benchmark: a BAR2 register file
// behind synchronous callbacks) served with the public API; the C client reads its config space.
// Over IPC: {op: "mark"} starts counting, {op: "read"} answers what was spent since the mark: CPU time of the whole
// process and GCs by kind; {op: "sample"} starts V8's sampling heap profiler (every 16 bytes on average, objects
// collected since included), {op: "sampled"} stops it and answers the bytes allocated and where.
import { Session } from "node:inspector/promises";
import { constants, PerformanceObserver } from "node:perf_hooks";
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

interface Mark {
  cpu: NodeJS.CpuUsage;
  minor: number;
  major: number;
}
let mark: Mark | undefined;

const take = (): Mark => ({ cpu: process.cpuUsage(), minor: gcs.minor, major: gcs.major });

function spent(from: Mark) {
  const now = take();
  const cpu = process.cpuUsage(from.cpu);
  return { userUs: cpu.user, systemUs: cpu.system, minorGcs: now.minor - from.minor, majorGcs: now.major - from.major };
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Bytes allocated in total and per allocating function (file:line of the function); the profiler's own left out. */
function allocationSites(root: ProfileNode): { bytes: number; sites: [string, number][] } {
  const sites = new Map<string, number>();
  let bytes = 0;
  const walk = (n: ProfileNode): void => {
    if (n.selfSize > 0 && !n.callFrame.url.startsWith("node:inspector")) {
      const f = n.callFrame;
      const where = f.url === "" ? "(native)" : `${f.url.split("/").pop()}:${f.lineNumber + 1}`;
      const name = `${f.functionName || "(anonymous)"} ${where}`;
      sites.set(name, (sites.get(name) ?? 0) + n.selfSize);
      bytes += n.selfSize;
    }
    for (const c of n.children) walk(c);
  };
  walk(root);
  return { bytes, sites: [...sites.entries()].sort((a, b) => b[1] - a[1]) };
}

const inspector = new Session();
inspector.connect();

async function handle(op: string): Promise<unknown> {
  switch (op) {
    case "mark":
      // The GC observer reports asynchronously: let earlier collections be counted first.
      await new Promise((r) => setTimeout(r, 20));
      mark = take();
      return {};
    case "read": {
      await new Promise((r) => setTimeout(r, 20));
      return spent(mark as Mark);
    }
    case "sample":
      await inspector.post("HeapProfiler.enable");
      await inspector.post("HeapProfiler.startSampling", {
        samplingInterval: 16,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
      return {};
    case "sampled": {
      const { profile } = await inspector.post("HeapProfiler.stopSampling");
      return allocationSites(profile.head as unknown as ProfileNode);
    }
    default:
      throw new Error(`unknown op ${op}`);
  }
}

process.on("message", (m: { op: string }) => {
  void handle(m.op).then((r) => process.send?.({ op: m.op, ...(r as object) }));
});
process.on("disconnect", () => {
  void server.close().then(() => process.exit(0));
});
process.send?.({ op: "ready" });
