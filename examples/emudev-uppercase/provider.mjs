// @ts-check
// A new data-path provider in a page: "upper-sw" serves any device that reports queues of 16-byte descriptors
// (driver.mjs's layout) by upper-casing each buffer in place. It sees only the emudev API: queue info, the doorbell
// page, the DMA table (bounds-checked translation) and the interrupt. A real provider polls in a worker thread; this
// one polls on the event loop to stay a page long.
import { DESC } from "./driver.mjs";

/** @typedef {import("@emu/emudev").EmudevResources} Dev */

/** Per device: the poll timer and how far it got. */
const served = new Map();

/** @param {Dev} dev */
function poll(dev, state) {
  const q = dev.queue(0);
  if (!q.enabled) return;
  const db = dev.doorbell(q.doorbell).bytes;
  const tail = new DataView(db.buffer, db.byteOffset, 4).getUint32(0, true) % q.size;
  if (tail === state.head) return;
  const ring = dev.dma.translate(q.base, q.size * DESC.size, "rw"); // throws if the guest lied about its ring
  const view = new DataView(ring.bytes.buffer, ring.bytes.byteOffset, ring.bytes.byteLength);
  for (; state.head !== tail; state.head = (state.head + 1) % q.size) {
    const d = state.head * DESC.size;
    let status = DESC.DONE;
    try {
      const buf = dev.dma.translate(view.getBigUint64(d + DESC.ADDR, true), view.getUint32(d + DESC.LEN, true), "rw");
      for (let i = 0; i < buf.bytes.length; i++) {
        const c = buf.bytes[i] ?? 0;
        if (c >= 0x61 && c <= 0x7a) buf.bytes[i] = c - 0x20;
      }
      buf.release();
    } catch {
      status = DESC.FAILED; // outside guest memory: refused and reported, never touched
    }
    view.setUint32(d + DESC.STATUS, status, true);
  }
  ring.release();
  dev.irq(q.irqVector).trigger();
}

/** @type {import("@emu/emudev").EmudevProvider} */
export const upperProvider = {
  name: "upper-sw",
  attributes: { features: 0n, queueCount: 1, deviceCount: 8 },
  ops: {
    deviceConfigured(dev) {
      const state = { head: 0 };
      served.set(
        dev.name,
        setInterval(() => poll(dev, state), 1),
      );
    },
    queueStateSet() {}, // the one queue's state is read at every poll
    deviceClosed(dev) {
      clearInterval(served.get(dev.name));
      served.delete(dev.name);
    },
  },
};
