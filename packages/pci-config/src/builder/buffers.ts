/** The three arrays a config space is built in: reset values, writable bits and RW1C bits, all of its size. */
export interface ConfigBuffers {
  readonly bytes: Uint8Array;
  readonly wmask: Uint8Array;
  readonly w1c: Uint8Array;
}
