// The device side of the benchmark, in its own process: emu_iavf from argv[2], "ready" on stdout once it serves.
import { EmudevRegistry } from "@emu/emudev";
import { iavfDriver } from "@emu/iavf-emu";

const emu = new EmudevRegistry();
emu.registerDriver(iavfDriver);
const dev = emu.create(process.argv[2] as string);
dev.configure({ resetDelayMs: 0 });
await dev.start();
process.stdout.write("ready\n");
process.on("SIGTERM", () => void emu.closeAll().then(() => process.exit(0)));
