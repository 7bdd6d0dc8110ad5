/**
 * The receive filter rule of a VF: which frames reach the guest, given the MAC and VLAN filters and the promiscuous
 * flags the driver set (VIRTCHNL_OP_ADD_ETH_ADDR, ADD_VLAN, CONFIG_PROMISCUOUS_MODE). One rule for the emulated device
 * and every data path, whatever tables each keeps.
 */

/** A MAC address (6 bytes at `at`) as a 48-bit number, exact in a double: the key filter tables use. */
export function macNumber(bytes: Uint8Array, at = 0): number {
  return (
    (bytes[at] ?? 0) * 2 ** 40 +
    (bytes[at + 1] ?? 0) * 2 ** 32 +
    (((bytes[at + 2] ?? 0) << 24) >>> 0) +
    ((bytes[at + 3] ?? 0) << 16) +
    ((bytes[at + 4] ?? 0) << 8) +
    (bytes[at + 5] ?? 0)
  );
}

/** ff:ff:ff:ff:ff:ff as a `macNumber`. */
export const BROADCAST_MAC = 0xffff_ffff_ffff;

/** What the rule asks of a filter table. */
export interface RxFilterTable {
  readonly unicastPromisc: boolean;
  readonly multicastPromisc: boolean;
  /** Whether the driver added the MAC (`macNumber`). */
  hasMac(mac: number): boolean;
  /** Whether a frame tagged `vlan` (1–4095) may pass: true when no VLAN filter was added at all. */
  passesVlan(vlan: number): boolean;
}

/**
 * Whether a frame to the destination MAC at `dst[at]`, tagged `vlan` (undefined or 0: untagged or priority-tagged),
 * passes: broadcast always; unicast to an added address or in unicast promiscuous mode; multicast to an added
 * address or in either promiscuous mode (unicast promiscuous takes all, as i40e and ice do for a trusted VF); a tagged
 * frame only if its VLAN passes.
 */
export function rxFilterAccepts(t: RxFilterTable, dst: Uint8Array, at: number, vlan: number | undefined): boolean {
  if (vlan !== undefined && vlan !== 0 && !t.passesVlan(vlan)) return false;
  if (t.unicastPromisc) return true; // takes every address: no table lookup per frame
  const mac = macNumber(dst, at);
  if (mac === BROADCAST_MAC || t.hasMac(mac)) return true;
  return ((dst[at] ?? 0) & 1) === 1 ? t.multicastPromisc || t.unicastPromisc : t.unicastPromisc;
}
