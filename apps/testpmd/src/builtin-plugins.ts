// The drivers of the tree that testpmd registers before any `-d` plugin, so the seeds' command lines work as they are:
// `--vdev 'net_iavf_client0,path=<socket>'`.
import * as iavfClientPort from "@emu/iavf-client/port";
import type { TestpmdPlugin } from "./plugins.js";

export const BUILTIN_PLUGINS: readonly TestpmdPlugin[] = [iavfClientPort];
