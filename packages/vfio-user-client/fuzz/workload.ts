// What the client does while a hostile server answers: a device driver's life in random order, several requests in
// flight — every VfioDevice method and the vfio-user extras. The promises it checks: every rejection is a
// VfioUserClientError (nothing else ever escapes), what resolves is what was asked (a read returns the bytes asked
// for), and once the session is over and the client closed, the process holds exactly the fds it held before.
import { readdirSync, readlinkSync } from "node:fs";
import { Rng } from "@emu/fuzz-kit";
import { closeFds } from "@emu/sys";
import { isVfioUserClientError, VfioUserClient } from "@emu/vfio-user-client";
import { DeviceFeature, encodeMessage, MigrationState, PciIrq, RegionInfoFlags } from "@emu/vfio-user-proto";

export interface SessionArgs {
  readonly path: string;
  readonly seed: number;
  readonly index: number;
  readonly twin: boolean;
  readonly maxXfer: number;
}

export interface SessionSummary {
  readonly connected: boolean;
  readonly ops: number;
  /** Rejections by reason. */
  readonly rejected: Record<string, number>;
  /** Broken promises (each a sentence). */
  readonly findings: string[];
}

type Op = (c: VfioUserClient, rng: Rng, s: State) => Promise<unknown>;

interface State {
  readonly maps: { iova: bigint; size: bigint }[];
  readonly findings: string[];
}

const PAGE = 0x1000n;

function expect(s: State, ok: boolean, what: string): void {
  if (!ok) s.findings.push(what);
}

const OPS: readonly (readonly [number, Op])[] = [
  [3, (c) => c.getInfo()],
  [4, (c, rng) => c.getRegionInfo(rng.range(0, 9))],
  [
    10,
    async (c, rng, s) => {
      const n = rng.pick([1, 2, 4, 8, 64, 4096, 70000]);
      const data = await c.regionRead(rng.range(0, 9), BigInt(rng.int(0x1000)), n);
      expect(s, data.length === n, `regionRead of ${n} bytes resolved with ${data.length}`);
    },
  ],
  [
    8,
    (c, rng) =>
      c.regionWrite(rng.range(0, 9), BigInt(rng.int(0x1000)), rng.bytes(rng.pick([1, 4, 8, 100, 5000])), {
        noReply: rng.chance(0.1),
      }),
  ],
  [
    2,
    (c, rng) =>
      c.regionWriteMulti(
        Array.from({ length: rng.range(1, 4) }, () => ({
          region: rng.range(0, 2),
          offset: BigInt(rng.int(64) * 4),
          data: rng.bytes(4),
        })),
      ),
  ],
  [
    3,
    async (c, rng) => {
      const index = rng.range(0, 9);
      const m = await c.mapRegion(index);
      // Touches the mapping: reads it, and writes it when the region is writable (a write through a read-only
      // mapping is a SIGSEGV, as in C: a driver checks the flags first).
      const writable = ((await c.getRegionInfo(index)).flags & RegionInfoFlags.WRITE) !== 0;
      let sum = 0;
      for (const a of m.areas) {
        if (a.bytes.length === 0) continue;
        sum += a.bytes[0] as number;
        if (writable) a.bytes[0] = 1;
      }
      m.unmap();
      return sum;
    },
  ],
  [2, async (c, rng) => closeFds((await c.getRegionIoFds(rng.range(0, 2))).fds)],
  [3, (c, rng) => c.getIrqInfo(rng.range(0, 5))],
  [3, (c, rng) => c.enableIrqs(rng.pick([PciIrq.INTX, PciIrq.MSI, PciIrq.MSIX]), 0, rng.range(1, 4), () => undefined)],
  [1, (c, rng) => c.disableIrqs(rng.pick([PciIrq.INTX, PciIrq.MSI, PciIrq.MSIX]))],
  [
    1,
    (c, rng) =>
      c.setIrqs({ index: PciIrq.MSIX, action: "mask", start: 0, count: rng.range(0, 2), data: { kind: "none" } }),
  ],
  [
    5,
    async (c, rng, s) => {
      const iova = PAGE * BigInt(rng.range(0, 0x400));
      const size = PAGE * BigInt(rng.range(1, 8));
      const b = await c.dmaMap(iova, size, { messageBased: rng.chance(0.5) });
      expect(s, BigInt(b.bytes.length) === size, `dmaMap of ${size} bytes gave a buffer of ${b.bytes.length}`);
      s.maps.push({ iova, size });
    },
  ],
  [
    2,
    async (c, rng, s) => {
      const m = s.maps.length > 0 ? s.maps.splice(rng.int(s.maps.length), 1)[0] : undefined;
      if (m !== undefined) await c.dmaUnmap(m.iova, m.size);
    },
  ],
  [1, (c) => c.reset()],
  [1, (c, rng) => c.probeFeature(rng.pick(Object.values(DeviceFeature)))],
  [1, (c) => c.getMigrationFlags()],
  [1, (c) => c.getMigrationState()],
  [
    1,
    (c, rng) =>
      c.setMigrationState(
        rng.pick([MigrationState.RUNNING, MigrationState.STOP, MigrationState.STOP_COPY, MigrationState.RESUMING]),
      ),
  ],
  [
    1,
    async (c, rng, s) => {
      const max = rng.pick([16, 4096]);
      const d = await c.readMigrationData(max);
      expect(s, d.length <= max, `readMigrationData(${max}) resolved with ${d.length} bytes`);
    },
  ],
  [1, (c, rng) => c.writeMigrationData(rng.bytes(rng.range(1, 256)))],
  [
    1,
    (c, _rng, s) =>
      c.startDmaLogging(
        PAGE,
        s.maps.slice(0, 2).map((m) => ({ iova: m.iova, length: m.size })),
      ),
  ],
  [1, (c) => c.stopDmaLogging()],
  [
    1,
    (c, _rng, s) =>
      s.maps[0] === undefined ? Promise.resolve() : c.reportDirtyPages(s.maps[0].iova, s.maps[0].size, PAGE),
  ],
  [1, (c) => c.sync()],
  [
    1,
    async (c, rng) =>
      closeFds(
        (await c.rawRequest(encodeMessage({ kind: "DeviceGetInfoRequest", argsz: rng.range(16, 64) }, { msgId: 0 })))
          .fds,
      ),
  ],
];

/** The fds of this process, with what they are (for a leak's description). */
function fds(): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      out.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed meanwhile (the readdir's own fd)
    }
  }
  return out;
}

/** One session: connect, the workload until the connection is lost or done, close; then the fd check. */
export async function clientSession(a: SessionArgs): Promise<SessionSummary> {
  const rng = Rng.derive(a.seed, a.index, 7);
  const s: State = { maps: [], findings: [] };
  const rejected: Record<string, number> = {};
  const judge = (e: unknown): void => {
    if (!isVfioUserClientError(e)) {
      s.findings.push(`a rejection that is not a VfioUserClientError: ${e instanceof Error ? e.stack : String(e)}`);
      return;
    }
    rejected[e.reason] = (rejected[e.reason] ?? 0) + 1;
  };
  const before = fds();
  let c: VfioUserClient;
  try {
    c = await VfioUserClient.connect(a.path, {
      twinSocket: a.twin,
      maxDataXferSize: a.maxXfer,
      negotiationTimeoutMs: 1000,
    });
  } catch (e) {
    judge(e);
    return { connected: false, ops: 0, rejected, findings: [...s.findings, ...(await leaked(before))] };
  }
  let lost = false;
  c.on("disconnected", () => {
    lost = true;
  });
  const inFlight = new Set<Promise<void>>();
  const depth = rng.range(1, 8);
  const budget = rng.range(1, 2000);
  let ops = 0;
  while (!lost && ops < budget) {
    while (inFlight.size >= depth) await Promise.race(inFlight);
    if (lost) break;
    ops++;
    let p: Promise<void>;
    try {
      p = rng
        .weighted(OPS)(c, rng, s)
        .then(() => undefined, judge);
    } catch (e) {
      judge(e);
      continue;
    }
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (rng.chance(0.5)) await new Promise((r) => setImmediate(r));
  }
  await Promise.all(inFlight);
  await c.close();
  return { connected: true, ops, rejected, findings: [...s.findings, ...(await leaked(before))] };
}

/** fds held now that were not before the session (after a turn: sockets close on the event loop). */
async function leaked(before: Map<string, string>): Promise<string[]> {
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, i === 0 ? 0 : 5));
    const now = fds();
    const extra = [...now].filter(([fd, what]) => before.get(fd) !== what);
    if (extra.length === 0) return [];
  }
  const extra = [...fds()].filter(([fd, what]) => before.get(fd) !== what);
  return [`fds held after the session that were not before: ${extra.map(([fd, w]) => `${fd} ${w}`).join(", ")}`];
}
