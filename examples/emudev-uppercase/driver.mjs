// @ts-check
// A new emudev driver in a page: "upper", a PCI device with one queue. The driver owns the device's personality
// (PCI identity, registers, MSI-X) and reports what the guest programs; it never touches the queue's contents: that
// is the provider's job (provider.mjs).
import { arg } from "@emu/emudev";

/** BAR0 layout: registers trapped below 0x1000, the queue's doorbell page mmapped by the client. */
export const REG = { ID: 0x00, BASE_LO: 0x04, BASE_HI: 0x08, SIZE: 0x0c, ENABLE: 0x10 };
export const ID_VALUE = 0x55505052; // "RPPU" little-endian: "UPPR"
export const DOORBELL = { offset: 0x1000, size: 0x1000 };
/** A descriptor: u64 buffer address, u32 length, u32 status (0 pending, 1 done, 2 failed). 16 bytes. */
export const DESC = { ADDR: 0, LEN: 8, STATUS: 12, size: 16, DONE: 1, FAILED: 2 };

/** @type {import("@emu/emudev").EmudevDriver<{ ring: import("@emu/emudev").ArgSpec<number> }>} */
export const upperDriver = {
  name: "upper", // devices upper0, upper1, …
  args: { ring: arg.uint(1, 4096, { default: 256, help: "largest ring the device accepts" }) },
  create(host, { ring }) {
    const regs = new Uint32Array(REG.ENABLE / 4 + 1);
    const program = () => {
      const enabled = (regs[REG.ENABLE / 4] ?? 0) === 1;
      const size = regs[REG.SIZE / 4] ?? 0;
      if (enabled && (size === 0 || size > ring)) return; // refused: the queue stays off
      const base = (BigInt(regs[REG.BASE_HI / 4] ?? 0) << 32n) | BigInt(regs[REG.BASE_LO / 4] ?? 0);
      host.setQueue(0, { base, size, doorbell: 0, irqVector: 0, enabled });
      if (enabled) host.ready();
      else host.notReady();
    };
    return {
      info: { type: "upper", queueCount: 1, features: 0n },
      doorbells: [{ id: 0, region: 0, offset: DOORBELL.offset, size: 4 }],
      model: () => ({
        pci: {
          vendorId: 0x1234,
          deviceId: 0x11ee,
          classCode: 0xff0000,
          bars: [{ index: 0, kind: "memory32", size: 0x4000 }],
          capabilities: [
            { kind: "msix", tableSize: 1, tableBar: 0, tableOffset: 0x2000, pbaBar: 0, pbaOffset: 0x3000 },
          ],
        },
        regions: {
          0: {
            memory: true,
            mmap: [DOORBELL],
            read(offset, length) {
              const out = new Uint8Array(length);
              const v = offset === REG.ID ? ID_VALUE : (regs[offset / 4] ?? 0);
              new DataView(out.buffer).setUint32(0, v >>> 0, true);
              return out;
            },
            write(offset, data) {
              if (offset % 4 !== 0 || data.length !== 4 || offset === REG.ID || offset / 4 >= regs.length) return;
              regs[offset / 4] = new DataView(data.buffer, data.byteOffset).getUint32(0, true);
              if (offset === REG.ENABLE) program();
            },
          },
        },
        reset: () => regs.fill(0),
      }),
    };
  },
};
