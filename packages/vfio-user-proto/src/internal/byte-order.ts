/**
 * vfio-user puts every integer in host byte order; every host this project runs on (x86-64, arm64) is little-endian,
 * as are libvfio-user's and QEMU's peers. This is the one place that decision is made: every DataView access in the
 * package passes this constant.
 */
export const LITTLE_ENDIAN = true;
