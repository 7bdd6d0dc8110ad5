// net_null: a port with nothing behind it, as DPDK's: receiving makes packets of `size` bytes out of fresh buffers
// (their bytes are left as they are), sending frees them. The framework's own ceiling.
import { arg } from "@emu/emudev";
import type { PortDriver } from "../../driver.js";
import { PortError } from "../../errors.js";
import { randomMac } from "../../mac.js";

export interface NullParams {
  readonly size: number;
  readonly noRx: boolean;
}

const args = {
  size: arg.uint(1, 65535, { default: 64, help: "length of received packets, 1..65535" }),
  "no-rx": arg.bool({ default: false, help: "receive nothing" }),
};

export const netNull: PortDriver<typeof args> = {
  name: "net_null",
  args,
  create(host, a) {
    const mac = randomMac();
    return {
      capabilities: { maxRxQueues: 1024, maxTxQueues: 1024 },
      mac,
      configure(config) {
        if (a.size > config.pool.dataRoom)
          throw new PortError(
            "InvalidValue",
            `${host.name}: size ${a.size} does not fit the pool's ${config.pool.dataRoom}-byte buffers`,
          );
      },
      start() {},
      stop() {},
      close() {},
      data: () => ({
        module: new URL("./data.js", import.meta.url).href,
        params: { size: a.size, noRx: a["no-rx"] } satisfies NullParams,
      }),
      details: () => ({ "packet size": String(a.size) }),
    };
  },
};
