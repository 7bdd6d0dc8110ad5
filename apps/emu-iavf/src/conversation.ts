// The lines emu-iavf logs: what the device is, what happens to it (client, resets, queues, link), and at --verbose
// the virtchnl conversation, one line per message (with -vv the decoded request too).
import type { EmudevEvent } from "@emu/emudev";
import { virtchnlStatusName } from "@emu/iavf-common";
import type { VirtchnlLogEntry } from "@emu/iavf-emu";

/** JSON with bigints as hex strings and byte arrays as hex. */
function json(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === "bigint") return `0x${x.toString(16)}`;
    if (x instanceof Uint8Array) return Buffer.from(x).toString("hex");
    return x;
  });
}

/** One virtchnl message: `vf→pf CONFIG_VSI_QUEUES 136 B`, `pf→vf CONFIG_VSI_QUEUES SUCCESS`, `pf→vf EVENT 16 B`. */
export function virtchnlLine(e: VirtchnlLogEntry, verbose: number): string {
  if (e.direction === "request") {
    const detail = verbose >= 2 && e.request !== undefined ? ` ${json(e.request)}` : "";
    return `vf→pf ${e.name} ${e.length} B${detail}`;
  }
  if (e.direction === "event") return `pf→vf EVENT ${e.length} B`;
  const status = virtchnlStatusName(e.status ?? 0);
  return `pf→vf ${e.name} ${status}${e.length > 0 ? ` ${e.length} B` : ""}${e.why === undefined ? "" : ` (${e.why})`}`;
}

/** A device event worth a line at the default level, or undefined. */
export function eventLine(e: EmudevEvent): string | undefined {
  switch (e.kind) {
    case "connection":
      return e.connected ? "client connected" : "client gone";
    case "reset":
      return `reset (${e.reason === "driver" ? "VF reset" : e.reason === "flr" ? "function-level reset" : "DEVICE_RESET"})`;
    case "ready":
      return "the guest configured and enabled queues";
    case "attribute":
      return e.name === "link" ? `link ${e.value === true ? "up" : "down"}` : undefined;
    default:
      return undefined;
  }
}
