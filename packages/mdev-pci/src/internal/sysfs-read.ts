import * as fs from "node:fs";
import * as path from "node:path";
import { errnoCode, MdevPciError } from "../errors.js";

/** Reads one sysfs attribute as text; a missing file is a tagged error naming it. */
export function readAttribute(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = errnoCode(e);
    if (code === "ENOENT") throw new MdevPciError("MissingAttribute", `${file} is missing`, { path: file, code });
    throw new MdevPciError("Kernel", `cannot read ${file}: ${code ?? String(e)}`, {
      path: file,
      cause: e,
      ...codeOpt(code),
    });
  }
}

/** Like readAttribute, but undefined when the file does not exist. */
export function readOptionalAttribute(file: string): string | undefined {
  if (!exists(file)) return undefined;
  return readAttribute(file);
}

export function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function codeOpt(code: string | undefined): { code?: string } {
  return code === undefined ? {} : { code };
}

function malformed(file: string, text: string, expected: string): MdevPciError {
  const shown = JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
  return new MdevPciError("MalformedSysfs", `${file}: expected ${expected}, found ${shown}`, { path: file });
}

/** One line, with at most one trailing newline (the kernel's `"%s\n"`). */
export function oneLine(file: string, text: string): string {
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  if (body.includes("\n")) throw malformed(file, text, "a single line");
  return body;
}

/**
 * A `0x%0Nx\n` attribute (vendor, device, class, revision...), checked against its bit width. Trailing white space is
 * allowed, as lspci allows it.
 */
export function parseHexAttribute(file: string, text: string, bits: number): number {
  const m = /^0x([0-9a-fA-F]{1,8})\s*$/.exec(text);
  const value = m ? Number.parseInt(m[1]!, 16) : Number.NaN;
  if (!m || value >= 2 ** bits)
    throw malformed(file, text, `a ${bits}-bit hex number such as 0x${"0".repeat(bits / 4)}`);
  return value;
}

/** A `%d\n` / `%u\n` attribute (irq, numa_node, available_instances); trailing white space is allowed. */
function parseDecimalAttribute(file: string, text: string, signed: boolean): number {
  const m = (signed ? /^-?\d{1,10}\s*$/ : /^\d{1,10}\s*$/).exec(text);
  if (!m) throw malformed(file, text, signed ? "a decimal integer" : "an unsigned decimal integer");
  return Number.parseInt(text, 10);
}

export function readHex(file: string, bits: number): number {
  return parseHexAttribute(file, readAttribute(file), bits);
}
export function readOptionalHex(file: string, bits: number): number | undefined {
  const t = readOptionalAttribute(file);
  return t === undefined ? undefined : parseHexAttribute(file, t, bits);
}
export function readDecimal(file: string, signed: boolean): number {
  return parseDecimalAttribute(file, readAttribute(file), signed);
}
export function readOptionalDecimal(file: string, signed: boolean): number | undefined {
  const t = readOptionalAttribute(file);
  return t === undefined ? undefined : parseDecimalAttribute(file, t, signed);
}

/**
 * The last component of a symlink's target (driver name, IOMMU group, mdev type), or undefined when the link is
 * absent. A link that is not a link, or whose target does not exist, is a MissingLink error naming it.
 */
export function linkBasename(link: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(link);
  } catch {
    return undefined;
  }
  if (!st.isSymbolicLink()) {
    throw new MdevPciError("MissingLink", `${link} should be a symlink but is not`, { path: link });
  }
  const target = fs.readlinkSync(link);
  if (!exists(path.resolve(path.dirname(link), target))) {
    throw new MdevPciError("MissingLink", `${link} points to ${target}, which does not exist`, { path: link });
  }
  return path.basename(target);
}

export function requireLinkBasename(link: string, what: string): string {
  const name = linkBasename(link);
  if (name === undefined) throw new MdevPciError("MissingLink", `${link} is missing (${what})`, { path: link });
  return name;
}

/** The entries of a directory, sorted; [] when it does not exist. */
export function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch (e) {
    const code = errnoCode(e);
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw new MdevPciError("Kernel", `cannot list ${dir}: ${code ?? String(e)}`, {
      path: dir,
      cause: e,
      ...codeOpt(code),
    });
  }
}

/** realpath of a sysfs link, as a MissingLink error when it dangles. */
export function resolveLink(link: string): string {
  try {
    return fs.realpathSync(link);
  } catch (e) {
    let target = "";
    try {
      target = ` -> ${fs.readlinkSync(link)}`;
    } catch {}
    throw new MdevPciError("MissingLink", `${link}${target} does not resolve to a device directory`, {
      path: link,
      cause: e,
    });
  }
}
