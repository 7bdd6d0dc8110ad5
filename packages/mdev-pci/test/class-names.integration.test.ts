/**
 * The class names the bus and `emu-pci` print are lspci's: every class and sub-class of the installed PCI ID database
 * (pciutils' pci.ids, which lspci reads) has the same name in `@emu/pci-config`'s table, the sub-class's name first.
 * Skipped where no pci.ids is installed.
 */
import * as fs from "node:fs";
import { PCI_IDS_PATHS } from "@emu/mdev-pci";
import { lookupPciClass, pciBaseClassName } from "@emu/pci-config";
import { expect, test } from "vitest";

test("every class of the installed pci.ids has lspci's name", (ctx) => {
  const file = PCI_IDS_PATHS.find((p) => fs.existsSync(p));
  if (file === undefined) return ctx.skip(`no pci.ids at ${PCI_IDS_PATHS.join(", ")}`);
  const text = fs.readFileSync(file, "utf8");
  const theirs: Array<[number, string]> = [];
  const ours: Array<[number, string]> = [];
  let base: number | undefined;
  for (const line of text.slice(text.indexOf("\nC ")).split("\n")) {
    const b = /^C ([0-9a-f]{2}) {2}(.+)$/.exec(line);
    if (b) {
      base = Number.parseInt(b[1]!, 16);
      theirs.push([base << 16, b[2]!]);
      ours.push([base << 16, pciBaseClassName(base << 16)]);
      continue;
    }
    const s = /^\t([0-9a-f]{2}) {2}(.+)$/.exec(line);
    if (s && base !== undefined) {
      const code = (base << 16) | (Number.parseInt(s[1]!, 16) << 8);
      theirs.push([code, s[2]!]);
      const r = lookupPciClass(code);
      ours.push([code, r.from === "subclass" ? r.name : `(no sub-class name; base ${r.name})`]);
    }
  }
  expect(theirs.length).toBeGreaterThan(100);
  expect(ours).toEqual(theirs);
});
