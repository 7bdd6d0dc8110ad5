/** PCI base-class names (the PCI Code and ID Assignment spec), as lspci spells the common ones. */
const BASE_CLASS: Record<number, string> = {
  0: "Unclassified device",
  1: "Mass storage controller",
  2: "Network controller",
  3: "Display controller",
  4: "Multimedia controller",
  5: "Memory controller",
  6: "Bridge",
  7: "Communication controller",
  8: "Generic system peripheral",
  9: "Input device controller",
  10: "Docking station",
  11: "Processor",
  12: "Serial bus controller",
  13: "Wireless controller",
  14: "Intelligent controller",
  15: "Satellite communications controller",
  16: "Encryption controller",
  17: "Signal processing controller",
  18: "Processing accelerators",
  19: "Non-Essential Instrumentation",
  64: "Coprocessor",
  255: "Unassigned class",
};

/** The base-class name of a 24-bit class code ("Network controller" for 0x020000). */
export function pciClassName(classCode: number): string {
  return BASE_CLASS[(classCode >> 16) & 0xff] ?? `Class ${((classCode >> 16) & 0xff).toString(16).padStart(2, "0")}`;
}
