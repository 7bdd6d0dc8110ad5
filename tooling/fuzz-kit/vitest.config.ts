import { emuProject } from "@emu/vitest-config";

export default emuProject("@emu/fuzz-kit");
