// The raw @emu/sys ping-pong's answering side (fd 3: its end of a socketpair): <req> <rep> bytes, until the close.
import { rawServer } from "@emu/bench-kit";
import { UnixSocket } from "@emu/sys";

const [req, rep] = process.argv.slice(2).map(Number);
rawServer(UnixSocket.adopt(3), req ?? 32, rep ?? 36, () => process.exit(0));
process.stdout.write("ready\n");
