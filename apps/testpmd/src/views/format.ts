// Number and name formatting shared by the views, as testpmd prints them (printf %-Nu and %Nu).

export const left = (v: number | string, w: number): string => String(v).padEnd(w);
export const right = (v: number | string, w: number): string => String(v).padStart(w);

/** "10 Gbps", "100 Mbps", "None" (DPDK's rte_eth_link_speed_to_str). */
export function speedText(mbps: number): string {
  if (mbps <= 0) return "None";
  return mbps % 1000 === 0 ? `${mbps / 1000} Gbps` : `${mbps} Mbps`;
}
