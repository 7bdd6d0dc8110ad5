import { emuProject } from "@emu/vitest-config";

export default emuProject("@emu/iavf-dp-dpa");
