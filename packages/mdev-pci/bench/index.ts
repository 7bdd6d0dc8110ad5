/**
 * RegionIo over a kernel VFIO device (the stand-in kernel, so it runs anywhere): a 32-bit read that lands in the
 * mmapped sparse area of the GVT-g aperture BAR versus one that lands in a gap and goes through pread. The ratio is
 * what mapping the sparse areas buys; the absolute pread figure is the stand-in's, not a real kernel's.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readMdev, VfioHost } from "@emu/mdev-pci";
import { GVT_APERTURE, GVTG_UUID, makeSysfs, standInKernel } from "@emu/mdev-pci/testing";
import { RegionIo } from "@emu/vfio-device";
import { Bench } from "tinybench";

const root = fs.mkdtempSync(path.join(fs.existsSync("/dev/shm") ? "/dev/shm" : "/tmp", "emu-mdev-pci-bench-"));
try {
  const sys = makeSysfs(root);
  const device = await new VfioHost({ kernel: standInKernel() }).open(readMdev(GVTG_UUID, { sysfsRoot: sys }));
  const bar2 = await RegionIo.open(device, 2);
  const bench = new Bench({ time: 500 });
  bench
    .add("read32 in the mapped area", async () => {
      await bar2.read32(GVT_APERTURE.offset + 0x40n);
    })
    .add("read32 in a gap (pread)", async () => {
      await bar2.read32(0x40n);
    });
  await bench.run();
  console.table(bench.table());
  const [mapped, gap] = bench.tasks.map((t) => t.result?.throughput?.mean ?? 0);
  if (mapped && gap) console.log(`mapped / pread throughput: ${(mapped / gap).toFixed(1)}x`);
  bar2.close();
  await device.close();
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
