import { emuProject } from "@emu/vitest-config";

export default emuProject("@emu/app-emu-iavf");
