import { EventFd } from "@emu/sys";
import type { InterruptListener, IrqBinding, IrqInfo, SetIrqsRequest } from "@emu/vfio-device";
import { IrqEventfds, toIrqInfo } from "@emu/vfio-device";
import { Command, IrqSetFlags } from "@emu/vfio-user-proto";
import { invalid, VfioUserClientError } from "./errors.js";
import { u32 } from "./internal/arguments.js";
import type { ClientSession } from "./internal/session.js";

/** Called when an eventfd of `enableIrqs` fired (the client emits its `interrupt` event). */
export type InterruptSink = (index: number, vector: number, count: bigint) => void;

/** Interrupts: GET_IRQ_INFO, SET_IRQS, and the eventfds of `enableIrqs` (closed by `disableIrqs` or `close()`). */
export class Irqs {
  private readonly session: ClientSession;
  private readonly onInterrupt: InterruptSink;
  private readonly eventfds: IrqEventfds;

  constructor(session: ClientSession, onInterrupt: InterruptSink) {
    this.session = session;
    this.onInterrupt = onInterrupt;
    this.eventfds = new IrqEventfds({
      setIrqs: (request) => this.setIrqs(request),
      createEventfd: () => {
        const e = EventFd.create();
        return { fd: e.fd, watch: (l) => e.watch(l, { onError: () => undefined }), close: () => e.close() };
      },
      canSetIrqs: () => session.connected,
      closedError: () => session.closedError(),
    });
  }

  /** See {@link VfioUserClient.getIrqInfo}. */
  async getIrqInfo(index: number): Promise<IrqInfo> {
    u32(index, "IRQ index");
    const r = await this.session.call({ kind: "DeviceGetIrqInfoRequest", argsz: 16, index }, "DeviceGetIrqInfoReply");
    return toIrqInfo(r);
  }

  /** See {@link VfioUserClient.setIrqs}. */
  async setIrqs(request: SetIrqsRequest): Promise<void> {
    this.session.live();
    const index = u32(request.index, "IRQ index");
    const start = u32(request.start, "start");
    const count = u32(request.count, "count");
    const action =
      request.action === "mask"
        ? IrqSetFlags.ACTION_MASK
        : request.action === "unmask"
          ? IrqSetFlags.ACTION_UNMASK
          : request.action === "trigger"
            ? IrqSetFlags.ACTION_TRIGGER
            : undefined;
    if (action === undefined) throw invalid(`unknown IRQ action ${String(request.action)}`);
    const data = request.data;
    const send = async (flags: number, s: number, c: number, bytes?: Uint8Array, fds?: readonly number[]) => {
      await this.session.call(
        {
          kind: "DeviceSetIrqsRequest",
          argsz: 20 + (bytes?.length ?? 0),
          flags: flags | action,
          index,
          start: s,
          count: c,
          ...(bytes === undefined ? {} : { data: bytes }),
        },
        "DeviceSetIrqsReply",
        fds,
      );
    };
    switch (data?.kind) {
      case "none":
        return send(IrqSetFlags.DATA_NONE, start, count);
      case "bool": {
        if (!Array.isArray(data.values) || data.values.length !== count)
          throw invalid(`DATA_BOOL needs ${count} values, got ${String(data.values?.length)}`);
        return send(
          IrqSetFlags.DATA_BOOL,
          start,
          count,
          Uint8Array.from(data.values, (b) => (b ? 1 : 0)),
        );
      }
      case "eventfd": {
        const fds = data.fds;
        if (!Array.isArray(fds)) throw invalid("DATA_EVENTFD needs an fds array");
        if (fds.length === 0) return send(IrqSetFlags.DATA_EVENTFD, start, count);
        if (fds.length !== count) throw invalid(`DATA_EVENTFD needs ${count} fds (or none), got ${fds.length}`);
        for (const fd of fds)
          if (!Number.isInteger(fd) || fd < -1) throw invalid(`bad eventfd ${String(fd)} (an fd, or -1 to de-assign)`);
        const maxFds = this.session.negotiated.server.maxMsgFds;
        // Runs of real fds (at most max_msg_fds per message) and runs of -1 (de-assigned, no fds), in order.
        let i = 0;
        while (i < count) {
          let j = i + 1;
          if (fds[i] === -1) {
            while (j < count && fds[j] === -1) j++;
            await send(IrqSetFlags.DATA_EVENTFD, start + i, j - i);
          } else {
            if (maxFds < 1)
              throw new VfioUserClientError("Unsupported", "the server accepts no fds (max_msg_fds 0)", {
                command: Command.DEVICE_SET_IRQS,
              });
            while (j < count && fds[j] !== -1 && j - i < maxFds) j++;
            await send(IrqSetFlags.DATA_EVENTFD, start + i, j - i, undefined, fds.slice(i, j));
          }
          i = j;
        }
        return;
      }
      default:
        throw invalid(`unknown IRQ data kind ${String((data as { kind?: unknown } | undefined)?.kind)}`);
    }
  }

  /** See {@link VfioUserClient.enableIrqs}. */
  async enableIrqs(index: number, start: number, count: number, listener: InterruptListener): Promise<IrqBinding> {
    this.session.live();
    u32(index, "IRQ index");
    u32(start, "start");
    u32(count, "count");
    if (typeof listener !== "function") throw invalid("enableIrqs needs a listener function");
    return this.eventfds.enable(index, start, count, (vector, n) => {
      listener(vector, n);
      this.onInterrupt(index, vector, n);
    });
  }

  /** See {@link VfioUserClient.disableIrqs}. */
  async disableIrqs(index: number): Promise<void> {
    u32(index, "IRQ index");
    return this.eventfds.disable(index);
  }

  /** Closes every eventfd of ours (the server drops its copies when we go). */
  close(): void {
    this.eventfds.closeAll();
  }
}
