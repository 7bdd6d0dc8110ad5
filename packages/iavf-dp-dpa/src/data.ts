// The data half of a net_iavf_dpa port: nothing. The guest's packets go between its rings and the delegate, never
// through the front process; the port exists to choose the data path (start: attach, stop: detach) and show counters.
import type { PortDataDriver, PortDataFactory } from "@emu/port";

export const openPortData: PortDataFactory = (): PortDataDriver => ({
  rxBurst: () => 0,
  txBurst: () => 0,
  close: () => undefined,
});
