/** The forwarding modes, as `set fwd` and `--forward-mode` name them. */
export const FWD_MODES = ["io", "mac", "macswap", "rxonly", "txonly", "flowgen"] as const;

export type FwdMode = (typeof FWD_MODES)[number];
