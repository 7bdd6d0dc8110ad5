/** Advanced Error Reporting extended capability (offsets relative to the capability). */
export const PciErr = {
  UNCOR_STATUS: 0x04, // u32, RW1C
  UNCOR_MASK: 0x08, // u32
  UNCOR_SEVER: 0x0c, // u32
  COR_STATUS: 0x10, // u32, RW1C
  COR_MASK: 0x14, // u32
  CAP: 0x18, // u32 Advanced Error Capabilities and Control
  HEADER_LOG: 0x1c, // 4 x u32
  ROOT_COMMAND: 0x2c, // u32, root ports and event collectors
  ROOT_STATUS: 0x30, // u32
  ROOT_COR_SRC: 0x34, // u16 ERR_COR source id
  ROOT_SRC: 0x36, // u16 ERR_FATAL/NONFATAL source id
  SIZEOF: 0x38,
  SIZEOF_ENDPOINT: 0x2c,
  /** Uncorrectable error bits (status, mask and severity registers). */
  UNC_DLP: 0x00000010, // data link protocol
  UNC_SDES: 0x00000020, // surprise down
  UNC_POISON_TLP: 0x00001000,
  UNC_FCP: 0x00002000, // flow control protocol
  UNC_COMP_TIME: 0x00004000, // completion timeout
  UNC_COMP_ABORT: 0x00008000, // completer abort
  UNC_UNX_COMP: 0x00010000, // unexpected completion
  UNC_RX_OVER: 0x00020000, // receiver overflow
  UNC_MALF_TLP: 0x00040000, // malformed TLP
  UNC_ECRC: 0x00080000,
  UNC_UNSUP: 0x00100000, // unsupported request
  UNC_ACS_VIOL: 0x00200000,
  /** Correctable error bits (status and mask registers). */
  COR_RCVR: 0x00000001, // receiver error
  COR_BAD_TLP: 0x00000040,
  COR_BAD_DLLP: 0x00000080,
  COR_REP_ROLL: 0x00000100, // REPLAY_NUM rollover
  COR_REP_TIMER: 0x00001000, // replay timer timeout
  COR_ADV_NFAT: 0x00002000, // advisory non-fatal
  /** Capabilities and Control. */
  CAP_FEP_MASK: 0x0000001f, // first error pointer
  CAP_ECRC_GENC: 0x00000020,
  CAP_ECRC_GENE: 0x00000040,
  CAP_ECRC_CHKC: 0x00000080,
  CAP_ECRC_CHKE: 0x00000100,
  CAP_MULT_HDRC: 0x00000200,
  CAP_MULT_HDRE: 0x00000400,
  CAP_TLP_PFX: 0x00000800, // TLP prefix log present
  CAP_HDR_LOG: 0x00001000, // completion timeout prefix/header log capable
  /** Root Error Command / Status. */
  ROOT_CMD_COR_EN: 0x00000001,
  ROOT_CMD_NONFATAL_EN: 0x00000002,
  ROOT_CMD_FATAL_EN: 0x00000004,
  ROOT_COR_RCV: 0x00000001,
  ROOT_MULTI_COR_RCV: 0x00000002,
  ROOT_UNCOR_RCV: 0x00000004,
  ROOT_MULTI_UNCOR_RCV: 0x00000008,
  ROOT_FIRST_FATAL: 0x00000010,
  ROOT_NONFATAL_RCV: 0x00000020,
  ROOT_FATAL_RCV: 0x00000040,
  ROOT_MSG_NUM_SHIFT: 27, // 5 bits: advanced error interrupt message number
} as const;
