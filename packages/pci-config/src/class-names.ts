/**
 * PCI class names as lspci prints them (the class section of the PCI ID repository): the sub-class name when one is
 * assigned, else the base-class name. Display tables only; shared by every consumer that prints a device.
 */
const BASE: Record<number, string> = {
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

const SUB: Record<number, string> = {
  0: "Non-VGA unclassified device",
  1: "VGA compatible unclassified device",
  5: "Image coprocessor",
  256: "SCSI storage controller",
  257: "IDE interface",
  258: "Floppy disk controller",
  259: "IPI bus controller",
  260: "RAID bus controller",
  261: "ATA controller",
  262: "SATA controller",
  263: "Serial Attached SCSI controller",
  264: "Non-Volatile memory controller",
  265: "Universal Flash Storage controller",
  384: "Mass storage controller",
  512: "Ethernet controller",
  513: "Token ring network controller",
  514: "FDDI network controller",
  515: "ATM network controller",
  516: "ISDN controller",
  517: "WorldFip controller",
  518: "PICMG controller",
  519: "Infiniband controller",
  520: "Fabric controller",
  640: "Network controller",
  768: "VGA compatible controller",
  769: "XGA compatible controller",
  770: "3D controller",
  896: "Display controller",
  1024: "Multimedia video controller",
  1025: "Multimedia audio controller",
  1026: "Computer telephony device",
  1027: "Audio device",
  1152: "Multimedia controller",
  1280: "RAM memory",
  1281: "FLASH memory",
  1282: "CXL",
  1408: "Memory controller",
  1536: "Host bridge",
  1537: "ISA bridge",
  1538: "EISA bridge",
  1539: "MicroChannel bridge",
  1540: "PCI bridge",
  1541: "PCMCIA bridge",
  1542: "NuBus bridge",
  1543: "CardBus bridge",
  1544: "RACEway bridge",
  1545: "Semi-transparent PCI-to-PCI bridge",
  1546: "InfiniBand to PCI host bridge",
  1664: "Bridge",
  1792: "Serial controller",
  1793: "Parallel controller",
  1794: "Multiport serial controller",
  1795: "Modem",
  1796: "GPIB controller",
  1797: "Smard Card controller",
  1920: "Communication controller",
  2048: "PIC",
  2049: "DMA controller",
  2050: "Timer",
  2051: "RTC",
  2052: "PCI Hot-plug controller",
  2053: "SD Host controller",
  2054: "IOMMU",
  2176: "System peripheral",
  2201: "Timing Card",
  2304: "Keyboard controller",
  2305: "Digitizer Pen",
  2306: "Mouse controller",
  2307: "Scanner controller",
  2308: "Gameport controller",
  2432: "Input device controller",
  2560: "Generic Docking Station",
  2688: "Docking Station",
  2816: "386",
  2817: "486",
  2818: "Pentium",
  2832: "Alpha",
  2848: "Power PC",
  2864: "MIPS",
  2880: "Co-processor",
  3072: "FireWire (IEEE 1394)",
  3073: "ACCESS Bus",
  3074: "SSA",
  3075: "USB controller",
  3076: "Fibre Channel",
  3077: "SMBus",
  3078: "InfiniBand",
  3079: "IPMI Interface",
  3080: "SERCOS interface",
  3081: "CANBUS",
  3200: "Serial bus controller",
  3328: "IRDA controller",
  3329: "Consumer IR controller",
  3344: "RF controller",
  3345: "Bluetooth",
  3346: "Broadband",
  3360: "802.1a controller",
  3361: "802.1b controller",
  3456: "Wireless controller",
  3584: "I2O",
  3841: "Satellite TV controller",
  3842: "Satellite audio communication controller",
  3843: "Satellite voice communication controller",
  3844: "Satellite data communication controller",
  4096: "Network and computing encryption device",
  4112: "Entertainment encryption device",
  4224: "Encryption controller",
  4352: "DPIO module",
  4353: "Performance counters",
  4368: "Communication synchronizer",
  4384: "Signal processing management",
  4480: "Signal processing controller",
  4608: "Processing accelerators",
  4609: "SNIA Smart Data Accelerator Interface (SDXI) controller",
};

/** The name lspci prints for a 24-bit class code, e.g. "Ethernet controller" for 0x020000. */
export function pciClassName(classCode: number): string {
  return lookupPciClass(classCode).name;
}

/**
 * The class name and where it came from: `"subclass"` when the sub-class has a name, `"base"` when only the base
 * class has one (lspci then adds the number: `Bridge [0680]`), `"none"` when neither has (`Class 0680`).
 */
export function lookupPciClass(classCode: number): {
  readonly name: string;
  readonly from: "subclass" | "base" | "none";
} {
  const sub = (classCode >> 8) & 0xffff;
  const base = (classCode >> 16) & 0xff;
  const s = SUB[sub];
  if (s !== undefined) return { name: s, from: "subclass" };
  const b = BASE[base];
  if (b !== undefined) return { name: b, from: "base" };
  return { name: `Class ${sub.toString(16).padStart(4, "0")}`, from: "none" };
}

/** The base-class name of a 24-bit class code ("Network controller" for 0x020000), as a listing groups devices. */
export function pciBaseClassName(classCode: number): string {
  const base = (classCode >> 16) & 0xff;
  return BASE[base] ?? `Class ${base.toString(16).padStart(2, "0")}`;
}
