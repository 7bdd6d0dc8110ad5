// One side of the raw ping-pong in its own process (fd 3 is its end of a socketpair):
//   server <req> <rep>                                         answers until the socket closes
//   client <req> <rep> <inflight> <warmup> <window> <windows>  prints {"rates": [...]} and exits

import { rawClient, rawServer } from "@emu/bench-kit";
import { UnixSocket } from "@emu/sys";

const [role, ...rest] = process.argv.slice(2);
const n = rest.map(Number);
const s = UnixSocket.adopt(3);
if (role === "server") {
  rawServer(s, n[0] ?? 16, n[1] ?? 24, () => process.exit(0));
} else {
  const r = await rawClient(s, n[0] ?? 16, n[1] ?? 24, n[2] ?? 1, {
    warmupMs: n[3] ?? 300,
    windowMs: n[4] ?? 500,
    windows: n[5] ?? 5,
  });
  process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0));
}
