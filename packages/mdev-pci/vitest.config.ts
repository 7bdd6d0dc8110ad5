import { emuProject } from "@emu/vitest-config";

export default emuProject("@emu/mdev-pci", { globalSetup: ["test/setup/tools.ts"] });
