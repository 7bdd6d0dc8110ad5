/** virtchnl status codes (`enum virtchnl_status_code`), carried signed in the descriptor's cookie_low. */
export const VirtchnlStatus = {
  SUCCESS: 0,
  ERR_PARAM: -5,
  ERR_NO_MEMORY: -18,
  /** What the reference validator answers to a message whose length or counts are wrong. */
  ERR_OPCODE_MISMATCH: -38,
  ERR_CQP_COMPL_ERROR: -39,
  ERR_INVALID_VF_ID: -40,
  ERR_ADMIN_QUEUE_ERROR: -53,
  /** The answer to an opcode the PF does not implement. */
  ERR_NOT_SUPPORTED: -64,
} as const;
export type VirtchnlStatus = (typeof VirtchnlStatus)[keyof typeof VirtchnlStatus];

/** The name of a status (`"ERR_PARAM"`), or `"STATUS_<n>"` for an unknown one. */
export function virtchnlStatusName(status: number): string {
  for (const [name, value] of Object.entries(VirtchnlStatus)) if (value === status) return name;
  return `STATUS_${status}`;
}
