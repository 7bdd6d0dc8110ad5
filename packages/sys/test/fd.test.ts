import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  closeFd,
  dupFd,
  ioctl,
  isEmuSysError,
  isSysError,
  memfdCreate,
  readFd,
  SysArgumentError,
  SysError,
  UnixSocket,
  writeFd,
} from "@emu/sys";
import { tempDir, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { fdFlags, O_CLOEXEC } from "./helpers.js";

const FIONREAD = 0x541b; // _IO-style number: no size encoded
const FIONBIO = 0x5421;
// A request with _IOC_READ and a 16-byte size (direction 2, size 16, type 'E', nr 0x99): harmless, unknown.
const IOR_16 = (2 << 30) | (16 << 16) | (0x45 << 8) | 0x99;
// A VFIO-style request above 2^31 (_IOC_READ|_IOC_WRITE bits set), given unsigned and as int32.
const HIGH = 0xc0083b99;

describe("fd helpers", () => {
  it("dupFd gives a close-on-exec duplicate; closeFd closes", () => {
    const m = memfdCreate("dup");
    const d = dupFd(m);
    expect(d).not.toBe(m);
    expect(fdFlags(d) & O_CLOEXEC).toBe(O_CLOEXEC);
    closeFd(m);
    closeFd(d);
    expect(() => closeFd(d)).toThrow(expect.objectContaining({ _tag: "SysError", code: "EBADF", syscall: "close" }));
    expect(() => dupFd(-1)).toThrow(SysArgumentError);
    expect(() => closeFd(Number.NaN)).toThrow(SysArgumentError);
    expect(() => closeFd(2 ** 31)).toThrow(SysArgumentError);
  });
});

describe("ioctl", () => {
  it("an unsupported request on a regular file is a typed ENOTTY", () => {
    const f = join(tempDir(), "plain");
    writeFileSync(f, "x");
    const fd = openSync(f, "r");
    try {
      let err: unknown;
      try {
        ioctl(fd, IOR_16, new Uint8Array(16));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SysError);
      expect(isSysError(err) && err.code).toBe("ENOTTY");
      expect((err as SysError).errno).toBe(25);
      expect((err as SysError).syscall).toBe("ioctl");
      expect((err as SysError).name).toBe("SysError");
      expect(isEmuSysError(err)).toBe(true);
      // Requests above 2^31, unsigned or in their int32 form, reach the kernel.
      expect(() => ioctl(fd, HIGH, new Uint8Array(8))).toThrow(expect.objectContaining({ code: "ENOTTY" }));
      expect(() => ioctl(fd, HIGH | 0, new Uint8Array(8))).toThrow(expect.objectContaining({ code: "ENOTTY" }));
      expect(() => ioctl(fd, HIGH)).toThrow(expect.objectContaining({ code: "ENOTTY" }));
    } finally {
      closeSync(fd);
    }
  });

  it("passes a Uint8Array by pointer (out value) and numbers by value", async () => {
    const [a, b] = UnixSocket.pair();
    a.send(new Uint8Array(37));
    const out = new Uint8Array(4);
    await until(() => {
      ioctl(b.fd, FIONREAD, out);
      return new DataView(out.buffer).getInt32(0, true) === 37;
    });
    const flag = new Uint8Array(4);
    new DataView(flag.buffer).setInt32(0, 1, true);
    expect(ioctl(b.fd, FIONBIO, flag)).toBe(0);
    // By value: FIONREAD gets the number 0 as its pointer, and the kernel answers EFAULT (typed, no crash).
    expect(() => ioctl(b.fd, FIONREAD, 0)).toThrow(expect.objectContaining({ _tag: "SysError", code: "EFAULT" }));
    expect(() => ioctl(b.fd, FIONREAD, 0n)).toThrow(expect.objectContaining({ code: "EFAULT" }));
    a.close();
    b.close();
  });

  it("rejects bad arguments, including a buffer smaller than the request encodes", () => {
    const fd = memfdCreate("ioctl");
    try {
      expect(() => ioctl(fd, IOR_16, new Uint8Array(8))).toThrow(SysArgumentError);
      expect(() => ioctl(fd, 2 ** 32, 0)).toThrow(SysArgumentError);
      expect(() => ioctl(fd, -(2 ** 31) - 1, 0)).toThrow(SysArgumentError);
      expect(() => ioctl(fd, 1.5)).toThrow(SysArgumentError);
      expect(() => ioctl(-1, FIONREAD)).toThrow(SysArgumentError);
      expect(() => ioctl(fd, FIONREAD, "x" as unknown as number)).toThrow(SysArgumentError);
      expect(() => ioctl(fd, FIONREAD, new Uint16Array(2) as unknown as Uint8Array)).toThrow(SysArgumentError);
      expect(() => ioctl(fd, FIONREAD, -1)).toThrow(SysArgumentError);
    } finally {
      closeFd(fd);
    }
  });
});

describe("readFd / writeFd", () => {
  it("one read or write on a window of the array; EAGAIN on a non-blocking fd is -1, not an exception", () => {
    const [a, b] = UnixSocket.pair(); // the addon's sockets are non-blocking
    const buf = new Uint8Array(16);
    expect(readFd(b.fd, buf)).toBe(-1); // nothing yet
    expect(writeFd(a.fd, Uint8Array.of(9, 1, 2, 3, 9), 1, 3)).toBe(3);
    expect(readFd(b.fd, buf, 4, 8)).toBe(3);
    expect([...buf.subarray(0, 8)]).toEqual([0, 0, 0, 0, 1, 2, 3, 0]);
    expect(readFd(b.fd, buf)).toBe(-1);
    a.close();
    b.close();
  });

  it("0 at end of file; bad windows are SysArgumentError, bad fds SysError", () => {
    const m = memfdCreate("rw");
    expect(writeFd(m, new Uint8Array([5, 6, 7]))).toBe(3);
    const out = new Uint8Array(4);
    expect(readFd(m, out)).toBe(0); // the file offset is at its end
    expect(() => readFd(m, out, 3, 2)).toThrow(SysArgumentError);
    expect(() => readFd(m, out, 5)).toThrow(SysArgumentError);
    expect(() => writeFd(m, out, -1)).toThrow(SysArgumentError);
    expect(() => readFd(m, new Uint16Array(2) as unknown as Uint8Array)).toThrow(SysArgumentError);
    closeFd(m);
    expect(() => readFd(m, out)).toThrow(expect.objectContaining({ _tag: "SysError", code: "EBADF", syscall: "read" }));
    expect(() => writeFd(m, out)).toThrow(expect.objectContaining({ code: "EBADF", syscall: "write" }));
  });
});
