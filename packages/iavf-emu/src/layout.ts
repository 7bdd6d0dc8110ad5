// The AVF VF as the PCI bus sees it: identity, BARs, capabilities, and where in BAR0 the guest's stores land in
// shared memory (the queue-tail doorbell pages) rather than being trapped.

import { BAR0_SIZE, MAX_VECTORS, qrxTail, qtxTail } from "@emu/iavf-common";
import type { PciDeviceDescription } from "@emu/pci-config";

/** PCI identity of an Adaptive Virtual Function: Intel 8086:1889, Ethernet controller. */
export const IAVF_PCI_ID = {
  vendorId: 0x8086,
  deviceId: 0x1889,
  /** VFs report Intel with subsystem 0 (lspci: "Subsystem: Intel Corporation Device 0000"). */
  subsystemVendorId: 0x8086,
  subsystemId: 0x0000,
  revision: 0x01,
  /** Network controller, Ethernet, programming interface 0. */
  classCode: 0x020000,
} as const;

/** BAR0: the register map (64-bit, 64 KiB). */
export const REGISTER_BAR = 0;
/** BAR3: the MSI-X table at 0 and the PBA at 0x2000 (64-bit, 16 KiB), as on real VFs. */
export const MSIX_BAR = 3;
const MSIX_BAR_SIZE = 0x4000;
const MSIX_TABLE_OFFSET = 0x0000;
const MSIX_PBA_OFFSET = 0x2000;

const PAGE = 0x1000;
/**
 * The sparse-mmap areas of BAR0: the page of the TX tails (QTX_TAIL1, from 0x0000) and the page of the RX tails
 * (QRX_TAIL1, from 0x2000). The RX page also holds VFINT_ITRN1 (0x2800…), plain storage the device reads there; the
 * interrupt controls (VFINT_DYN_CTLN1 at 0x3800) are on the next page, trapped.
 */
export const DOORBELL_PAGES: readonly { readonly offset: number; readonly size: number }[] = [
  { offset: qtxTail(0), size: PAGE },
  { offset: qrxTail(0), size: PAGE },
];

/** The PCI description of an emu_iavf device. */
export function iavfPciDescription(): PciDeviceDescription {
  return {
    ...IAVF_PCI_ID,
    interruptPin: 0, // VFs have no INTx
    bars: [
      { index: REGISTER_BAR, kind: "memory64", size: BAR0_SIZE, prefetchable: true },
      { index: MSIX_BAR, kind: "memory64", size: MSIX_BAR_SIZE, prefetchable: true },
    ],
    capabilities: [
      {
        kind: "msix",
        tableSize: MAX_VECTORS,
        tableBar: MSIX_BAR,
        tableOffset: MSIX_TABLE_OFFSET,
        pbaBar: MSIX_BAR,
        pbaOffset: MSIX_PBA_OFFSET,
      },
      { kind: "pcie", deviceType: "endpoint", flr: true, maxPayloadSize: 512, link: { maxSpeed: 3, maxWidth: 8 } },
    ],
  };
}
