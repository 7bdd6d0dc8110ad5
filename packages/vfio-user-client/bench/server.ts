// The benchmark's device, served in its own process (node --import tsx server.ts <socket>), driven over IPC:
// BAR2 is a 4 KiB register file behind synchronous callbacks (the 4-byte REGION_READ/WRITE target);
// "dmaReadRate" makes the device read guest memory with ctx.dma.read (DMA_READ messages for memory the client
// mapped without an fd) with <inflight> reads outstanding, and reports bytes/s per window.

import { measure } from "@emu/bench-kit";
import { createServer, type DeviceContext } from "@emu/vfio-user-server";

const socketPath = process.argv[2] as string;
const regs = new Uint8Array(0x1000);
const server = await createServer({
  socketPath,
  device: (_ctx: DeviceContext) => ({
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

interface DmaArgs {
  iova: bigint;
  size: number;
  chunk: number;
  inflight: number;
  warmupMs: number;
  windowMs: number;
  windows: number;
}

async function dmaReadRate(a: DmaArgs) {
  let bytes = 0;
  let stop = false;
  let next = 0;
  let failure: unknown;
  const one = (): void => {
    const at = a.iova + BigInt(next);
    next = (next + a.chunk) % a.size;
    server.context.dma.read(at, a.chunk).then(
      () => {
        bytes += a.chunk;
        if (!stop) one();
      },
      (e: unknown) => {
        failure = e;
      },
    );
  };
  for (let i = 0; i < a.inflight; i++) one();
  const r = await measure(() => bytes, a.warmupMs, a.windowMs, a.windows);
  stop = true;
  if (failure) throw failure;
  return r;
}

process.on("message", (m: { id: number; op: string; args: DmaArgs }) => {
  const run = m.op === "dmaReadRate" ? dmaReadRate(m.args) : Promise.reject(new Error(`unknown op ${m.op}`));
  run.then(
    (value) => process.send?.({ id: m.id, ok: true, value }),
    (e: unknown) => process.send?.({ id: m.id, ok: false, error: (e as Error).message }),
  );
});
process.on("disconnect", () => {
  void server.close().then(() => process.exit(0));
});
process.send?.({ ready: true });
