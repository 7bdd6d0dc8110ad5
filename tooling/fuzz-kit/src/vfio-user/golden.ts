// The golden frames of ../shared/fixtures (captured between libvfio-user's peers, and between QEMU and emu) as seeds:
// real messages, in both directions, to replay, mutate and splice.
import { readFileSync } from "node:fs";

export interface GoldenFrame {
  /** The whole frame (header + payload). */
  readonly bytes: Uint8Array;
  /** How many fds came with it, and of what kind ("eventfd", "file", "socket"), when the capture says. */
  readonly fds: number;
  readonly fdKinds: readonly string[];
  /** The capture session it comes from. */
  readonly session: string;
}

interface Captured {
  readonly sessions: readonly {
    readonly name: string;
    readonly frames: readonly { dir: string; hex: string; fds?: number; fdKinds?: string[] }[];
  }[];
}

const FIXTURES = new URL("../../../../../shared/fixtures/", import.meta.url);
const FILES = ["libvfio-user-frames.json", "qemu-frames.json"] as const;

const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16));

let cache: { c2s: GoldenFrame[]; s2c: GoldenFrame[] } | undefined;

/** Every captured frame going `dir`: "c2s" (client to server: requests, and replies to DMA commands), "s2c". */
export function goldenFrames(dir: "c2s" | "s2c"): readonly GoldenFrame[] {
  if (cache === undefined) {
    const c2s: GoldenFrame[] = [];
    const s2c: GoldenFrame[] = [];
    for (const file of FILES) {
      const data = JSON.parse(readFileSync(new URL(file, FIXTURES), "utf8")) as Captured;
      for (const s of data.sessions) {
        for (const f of s.frames) {
          const frame = { bytes: fromHex(f.hex), fds: f.fds ?? 0, fdKinds: f.fdKinds ?? [], session: s.name };
          (f.dir === "c2s" ? c2s : s2c).push(frame);
        }
      }
    }
    cache = { c2s, s2c };
  }
  return cache[dir];
}
