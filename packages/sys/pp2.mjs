import { spawn } from "node:child_process";
import { UnixSocket } from "@emu/sys";

const [a, b] = UnixSocket.pair();
const [scpu, ccpu] = process.argv.slice(2);
const srv = spawn("taskset", ["-c", scpu, process.execPath, "bench/peer-plain.mjs", "server"], {
  stdio: ["ignore", "inherit", "inherit", a.fd],
});
const cli = spawn("taskset", ["-c", ccpu, process.execPath, "bench/peer-plain.mjs", "client", "1", "300", "400", "3"], {
  stdio: ["ignore", "inherit", "inherit", b.fd],
});
a.close();
b.close();
cli.on("exit", () => {
  srv.kill("SIGKILL");
});
