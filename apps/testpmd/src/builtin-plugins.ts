// The drivers of the tree that testpmd registers before any `-d` plugin, so the seeds' command lines work as they are:
// `--vdev 'emu_iavf0,sock=<socket>'` then `port attach net_iavfbe,emu=emu_iavf0` (emu_iavf, the iavf-dp-sw provider
// and net_iavfbe), `port attach <address>,dpa=1,emu=emu_iavf0` (the delegated data path, net_iavf_dpa), and
// `--vdev 'net_iavf_client0,path=<socket>'`.
import * as iavfClientPort from "@emu/iavf-client/port";
import * as iavfDpDpa from "@emu/iavf-dp-dpa";
import * as iavfDpSw from "@emu/iavf-dp-sw";
import type { TestpmdPlugin } from "./plugins.js";

export const BUILTIN_PLUGINS: readonly TestpmdPlugin[] = [iavfDpSw, iavfDpDpa, iavfClientPort];
