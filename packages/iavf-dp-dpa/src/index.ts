/**
 * `@emu/iavf-dp-dpa`: the delegated data path of the emulated iavf NIC — the emudev provider "dpa", which hands an
 * emu_iavf device's data queues to another iavf device reached through `VfioDevice`, and the port driver
 * net_iavf_dpa that chooses it in testpmd.
 */
export { openDelegateDevice } from "./bus.js";
export type { Delegate, DelegateCounters } from "./delegate.js";
export { DELEGATE_IOVA_BASE } from "./dma-mirror.js";
export { type DpaPluginContext, register } from "./plugin.js";
export { netIavfDpa } from "./port-driver.js";
export { attachDelegate, DPA_FEATURES, delegateOf, IAVF_DPA, iavfDpa } from "./provider.js";
