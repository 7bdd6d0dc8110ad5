// Port devargs ("net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap") are read by @emu/emudev's devargs reader, the one in
// the tree; its refusals become PortError "Devargs" with the same message.
import { type ArgsOf, type Devargs, type DevargsSchema, isEmudevError, parseDevargs, readArgs } from "@emu/emudev";
import { PortError } from "./errors.js";

function asPortError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (isEmudevError(e)) throw new PortError("Devargs", e.message, { cause: e });
    throw e;
  }
}

/** Splits devargs into the port name, its driver and key=value pairs. */
export function parsePortDevargs(devargs: string): Devargs {
  return asPortError(() => parseDevargs(devargs));
}

/** Reads the pairs against a driver's keys. */
export function readPortArgs<S extends DevargsSchema>(devargs: Devargs, schema: S): ArgsOf<S> {
  return asPortError(() => readArgs(devargs, schema));
}
