import { wr8, wr16, wr32 } from "../internal/bytes.js";
import { PciCapId } from "../registers/capability-ids.js";
import { PciExp } from "../registers/pcie.js";
import type { ConfigBuffers } from "./buffers.js";
import { checkInt, invalid } from "./checks.js";
import type { PcieDescription, PcieDeviceType, PcieLinkDescription } from "./description.js";
import type { PcieLayout } from "./image.js";

const PCIE_TYPE_CODE: Record<PcieDeviceType, number> = {
  endpoint: PciExp.TYPE_ENDPOINT,
  "legacy-endpoint": PciExp.TYPE_LEG_END,
  "rc-integrated-endpoint": PciExp.TYPE_RC_END,
};

/** Writes a PCI Express capability (version 2) at `o`. */
export function writePcie(buf: ConfigBuffers, o: number, cap: PcieDescription): PcieLayout {
  const { bytes, wmask, w1c } = buf;
  const type = cap.deviceType ?? "endpoint";
  if (!(type in PCIE_TYPE_CODE)) invalid(`unknown PCI Express device type ${type}`);
  const mps = cap.maxPayloadSize ?? 256;
  if (![128, 256, 512, 1024, 2048, 4096].includes(mps)) invalid(`maxPayloadSize must be 128..4096, got ${mps}`);
  const imn = cap.interruptMessageNumber ?? 0;
  checkInt("interruptMessageNumber", imn, 0, 31);
  const extTag = cap.extendedTag ?? true;
  const flr = cap.flr ?? true;
  wr8(bytes, o, PciCapId.EXP);
  wr16(
    bytes,
    o + PciExp.FLAGS,
    2 | (PCIE_TYPE_CODE[type] << PciExp.FLAGS_TYPE_SHIFT) | (imn << PciExp.FLAGS_IRQ_SHIFT),
  );
  wr32(
    bytes,
    o + PciExp.DEVCAP,
    (Math.log2(mps / 128) |
      (extTag ? PciExp.DEVCAP_EXT_TAG : 0) |
      PciExp.DEVCAP_RBER |
      (flr ? PciExp.DEVCAP_FLR : 0)) >>>
      0,
  );
  // Reset values per the PCIe spec: relaxed ordering and no-snoop enabled, max read request 512 bytes.
  wr16(bytes, o + PciExp.DEVCTL, PciExp.DEVCTL_RELAX_EN | PciExp.DEVCTL_NOSNOOP_EN | (2 << PciExp.DEVCTL_READRQ_SHIFT));
  wr16(
    wmask,
    o + PciExp.DEVCTL,
    PciExp.DEVCTL_CERE |
      PciExp.DEVCTL_NFERE |
      PciExp.DEVCTL_FERE |
      PciExp.DEVCTL_URRE |
      PciExp.DEVCTL_RELAX_EN |
      PciExp.DEVCTL_PAYLOAD_MASK |
      (extTag ? PciExp.DEVCTL_EXT_TAG : 0) |
      PciExp.DEVCTL_AUX_PME |
      PciExp.DEVCTL_NOSNOOP_EN |
      PciExp.DEVCTL_READRQ_MASK,
  );
  wr16(w1c, o + PciExp.DEVSTA, PciExp.DEVSTA_CED | PciExp.DEVSTA_NFED | PciExp.DEVSTA_FED | PciExp.DEVSTA_URD);
  const link = type === "rc-integrated-endpoint" ? cap.link : (cap.link ?? { maxSpeed: 1, maxWidth: 1 });
  if (link !== undefined) writePcieLink(buf, o, link);
  return { offset: o, deviceType: type, flr, devctl: o + PciExp.DEVCTL };
}

/** Writes the link registers of the PCI Express capability at `o`. */
function writePcieLink(buf: ConfigBuffers, o: number, link: PcieLinkDescription): void {
  const { bytes, wmask } = buf;
  checkInt("link.maxSpeed", link.maxSpeed, 1, 6);
  if (![1, 2, 4, 8, 12, 16, 32].includes(link.maxWidth)) invalid(`link.maxWidth ${link.maxWidth} is not a PCIe width`);
  const speed = link.speed ?? link.maxSpeed;
  const width = link.width ?? link.maxWidth;
  checkInt("link.speed", speed, 1, link.maxSpeed);
  checkInt("link.width", width, 1, link.maxWidth);
  const aspm = link.aspmSupport ?? 0;
  checkInt("link.aspmSupport", aspm, 0, 3);
  wr32(
    bytes,
    o + PciExp.LNKCAP,
    (link.maxSpeed | (link.maxWidth << PciExp.LNKCAP_MLW_SHIFT) | (aspm << PciExp.LNKCAP_ASPMS_SHIFT)) >>> 0,
  );
  wr16(wmask, o + PciExp.LNKCTL, PciExp.LNKCTL_ASPMC_MASK | PciExp.LNKCTL_RCB | PciExp.LNKCTL_CCC | PciExp.LNKCTL_ES);
  wr16(bytes, o + PciExp.LNKSTA, speed | (width << PciExp.LNKSTA_NLW_SHIFT));
  wr32(bytes, o + PciExp.LNKCAP2, ((1 << (link.maxSpeed + 1)) - 2) >>> 0);
  wr16(bytes, o + PciExp.LNKCTL2, link.maxSpeed);
  wr16(wmask, o + PciExp.LNKCTL2, PciExp.LNKCTL2_TLS_MASK);
}
