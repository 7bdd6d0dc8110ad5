/**
 * `@emu/iavf-dp-sw`: the software data path of the emulated iavf NIC — the emudev provider "iavf-dp-sw" and the port
 * driver net_iavfbe, whose data halves move packets between the guest's rings and packet buffers in worker threads.
 */
export type { IavfbeParams } from "./data/index.js";
export { register } from "./plugin.js";
export { netIavfbe } from "./port-driver.js";
export { backendOf, DATA_PATH_FEATURES, dataPathCounters, IAVF_DP_SW, iavfDpSw } from "./provider.js";
export type { DataPathCounters } from "./stats.js";
export { MAX_HASH_INPUT, Toeplitz } from "./toeplitz.js";
