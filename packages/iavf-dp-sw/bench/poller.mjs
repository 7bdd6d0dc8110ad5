// The bench's forwarding thread with the guest's poller in it: the guest's memory and BAR0's doorbell page mapped
// here from their memfds, and in one loop the guest's side (TX: 64-byte frames posted as completions come back, RS on
// every 32nd descriptor as DPDK does; RX: buffers re-posted as the device fills them) and the forwarding (32-packet
// bursts, as testpmd's io mode) between net_iavfbe and net_null. Mode "null" forwards net_null → net_null only.
import { parentPort, workerData } from "node:worker_threads";
import { RxStatus, TxCmd, writeRxReadDescriptor, writeTxDataDescriptor } from "@emu/iavf-common";
import { openPortData } from "@emu/port/data";
import { mmap } from "@emu/sys";

const { mode, ms, ring: RING, guest, doorbell, iavfbe, nul, nul2 } = workerData;
const bufs = new Uint32Array(32);
let moved = 0;
let guestMoved = 0;

if (mode === "null") {
  const a = await openPortData(nul);
  const b = await openPortData(nul2, { pool: a.pool });
  const deadline = performance.now() + ms;
  while (performance.now() < deadline)
    for (let i = 0; i < 256; i++) {
      const k = a.rxBurst(0, bufs, 32);
      moved += b.txBurst(0, bufs, k);
    }
  a.close();
  b.close();
} else {
  const mem = mmap(guest.fd, guest.offset, guest.size, "rw");
  const v = new DataView(mem.buffer);
  const db = mmap(doorbell.fd, 0, doorbell.size, "rw");
  const db32 = new Uint32Array(db.buffer);
  const be = await openPortData(iavfbe);
  const nl = await openPortData(nul, { pool: be.pool });
  const frame = guest.iova + guest.frame;
  new Uint8Array(mem.buffer).set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 9, 0x08, 0x00], guest.frame);
  let ntu = 0;
  let clean = 0;
  const deadline = performance.now() + ms;
  if (mode === "tx") {
    while (performance.now() < deadline)
      for (let i = 0; i < 64; i++) {
        while ((ntu - clean + RING) % RING >= 32) {
          if ((v.getUint32(guest.txRing + 16 * ((clean + 31) % RING) + 8, true) & 0xf) !== 0xf) break;
          clean = (clean + 32) % RING;
          guestMoved += 32;
        }
        let free = RING - 1 - ((ntu - clean + RING) % RING);
        free -= free % 32;
        for (let n = 0; n < free; n++) {
          const cmd = TxCmd.EOP | TxCmd.ICRC | (ntu % 32 === 31 ? TxCmd.RS : 0);
          writeTxDataDescriptor(v, guest.txRing + 16 * ntu, frame, cmd, 64);
          ntu = (ntu + 1) % RING;
        }
        if (free > 0) db32[0] = ntu; // QTX_TAIL1(0)
        const k = be.rxBurst(0, bufs, 32);
        moved += nl.txBurst(0, bufs, k);
      }
  } else {
    const post = (n) => {
      for (let i = 0; i < n; i++) {
        writeRxReadDescriptor(v, guest.rxRing + 32 * ntu, frame);
        ntu = (ntu + 1) % RING;
      }
      db32[0x2000 >>> 2] = ntu; // QRX_TAIL1(0)
    };
    post(RING - 1);
    while (performance.now() < deadline)
      for (let i = 0; i < 64; i++) {
        const k = nl.rxBurst(0, bufs, 32);
        moved += be.txBurst(0, bufs, k);
        let done = 0;
        while ((v.getUint32(guest.rxRing + 32 * clean + 8, true) & RxStatus.DD) !== 0) {
          v.setUint32(guest.rxRing + 32 * clean + 8, 0, true);
          clean = (clean + 1) % RING;
          done++;
        }
        if (done > 0) post(done);
        guestMoved += done;
      }
  }
  nl.close();
  be.close();
  mem.unmap();
  db.unmap();
}
parentPort.postMessage({ moved, guestMoved });
