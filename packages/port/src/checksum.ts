// The checksums packets carry, computed over bytes in place (a pool buffer, a frame): the Internet checksum of RFC
// 1071 (IPv4 headers, TCP, UDP, with the pseudo-headers of RFC 793/768 and RFC 8200 §8.1 summed by the caller) and
// SCTP's CRC32c (RFC 9260 appendix A). What a NIC's checksum offload computes; no allocation, for the data path.

/**
 * The one's-complement sum of the big-endian 16-bit words of b[at, at + len) added to `sum` (an odd last byte is
 * padded with a zero byte), not yet folded: fold with {@link foldSum}. Exact for any frame (the sum stays far below
 * 2^53).
 */
export function onesSum(b: Uint8Array, at: number, len: number, sum = 0): number {
  const end = at + len - 1;
  let i = at;
  for (; i < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i === end) sum += b[i]! << 8;
  return sum;
}

/** `sum` folded to 16 bits with its carries added back (not inverted). */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x1_0000) + Math.floor(s / 0x1_0000);
  return s;
}

/** The Internet checksum of b[at, at + len) with `seed` (an unfolded sum, e.g. a pseudo-header's) added: ~fold. */
export function inetChecksum(b: Uint8Array, at: number, len: number, seed = 0): number {
  return ~foldSum(onesSum(b, at, len, seed)) & 0xffff;
}

/** CRC32c's table (Castagnoli, reflected polynomial 0x82F63B78), made once. */
const CRC32C = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f6_3b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC32c of b[at, at + len) (initial value all ones, result inverted), e.g. 0xE3069283 for "123456789". SCTP carries
 * it in its checksum field least significant byte first.
 */
export function crc32c(b: Uint8Array, at: number, len: number): number {
  let c = 0xffff_ffff;
  for (let i = at, end = at + len; i < end; i++) c = CRC32C[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Makes the IPv4 header at b[ip, ip + ipLen)'s checksum (its field zeroed, then the header's Internet checksum). */
export function putIpv4HeaderChecksum(b: Uint8Array, ip: number, ipLen: number): void {
  b[ip + 10] = 0;
  b[ip + 11] = 0;
  const c = inetChecksum(b, ip, ipLen);
  b[ip + 10] = c >>> 8;
  b[ip + 11] = c & 0xff;
}

/** Makes the SCTP packet at b[at, at + len)'s CRC32c (its field zeroed, then stored least significant byte first). */
export function putSctpChecksum(b: Uint8Array, at: number, len: number): void {
  b.fill(0, at + 8, at + 12);
  const c = crc32c(b, at, len);
  b[at + 8] = c & 0xff;
  b[at + 9] = (c >>> 8) & 0xff;
  b[at + 10] = (c >>> 16) & 0xff;
  b[at + 11] = c >>> 24;
}
