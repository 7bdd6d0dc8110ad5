// The emu packages this example uses, by their public entry points (each package's "." export).
//
// examples/dma-engine is not a workspace package (making it one needs a `pnpm install` to link it), so it reaches
// the built packages by path instead of by name. Only what the packages export is used; build first (`pnpm build`).

export { decodeConfigSpace } from "../../packages/pci-config/dist/index.js";
export { RegionIo } from "../../packages/vfio-device/dist/index.js";
export { formatLspci, readDeviceReport, VfioUserClient } from "../../packages/vfio-user-client/dist/index.js";
export { PciIrq, PciRegion } from "../../packages/vfio-user-proto/dist/index.js";
export { createServer } from "../../packages/vfio-user-server/dist/index.js";
