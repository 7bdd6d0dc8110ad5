/**
 * emu-lspci as a library, for programs that want the same view: `readDeviceReport(device)` reads any `VfioDevice`
 * (a vfio-user client, a kernel VFIO device from the PCI bus), `formatLspci(report, options)` prints it as lspci
 * does, `describeDevice(config)` is lspci's first line for a config space, and `runLspci(argv, io)` is the command.
 */
export { type CliIo, runLspci, USAGE } from "./cli.js";
export { describeDevice } from "./config-header.js";
export { formatLspci, type LspciOptions } from "./format.js";
export { type DeviceReport, readDeviceReport } from "./report.js";
