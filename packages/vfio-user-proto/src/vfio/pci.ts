/**
 * Region indices of a VFIO PCI device (`VFIO_PCI_*_REGION_INDEX`, `<linux/vfio.h>`). vfio-user uses the same numbers;
 * indices ≥ {@link PCI_NUM_REGIONS} are device-specific and carry a TYPE capability.
 */
export const PciRegion = {
  BAR0: 0,
  BAR1: 1,
  BAR2: 2,
  BAR3: 3,
  BAR4: 4,
  BAR5: 5,
  /** Expansion ROM. */
  ROM: 6,
  /** PCI configuration space (256 bytes, 4096 for PCIe). */
  CONFIG: 7,
  /** Legacy VGA ranges (VGA-class devices only). */
  VGA: 8,
} as const;
export type PciRegion = (typeof PciRegion)[keyof typeof PciRegion];
/** `VFIO_PCI_NUM_REGIONS`. */
export const PCI_NUM_REGIONS = 9;

/** IRQ indices of a VFIO PCI device (`VFIO_PCI_*_IRQ_INDEX`). */
export const PciIrq = {
  INTX: 0,
  MSI: 1,
  MSIX: 2,
  /** AER error reporting. */
  ERR: 3,
  /** Device request (the host wants the device back). */
  REQ: 4,
} as const;
export type PciIrq = (typeof PciIrq)[keyof typeof PciIrq];
/** `VFIO_PCI_NUM_IRQS`. */
export const PCI_NUM_IRQS = 5;
