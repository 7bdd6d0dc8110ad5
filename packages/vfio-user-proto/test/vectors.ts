/**
 * Golden frames written by hand from the spec tables (QEMU docs/interop/vfio-user.rst; libvfio-user variants where
 * noted), one field per line, little-endian. These bytes are NOT produced by the encoder under test.
 */
import type { Message } from "@emu/vfio-user-proto";
import { ascii, h } from "./helpers.js";

export interface Vector {
  readonly name: string;
  readonly msgId: number;
  /** Extra header flags to pass to encodeMessage (NO_REPLY). */
  readonly flags?: number;
  readonly bytes: Uint8Array;
  readonly message: Message;
}

const b = (...xs: number[]) => Uint8Array.from(xs);

export const vectors: readonly Vector[] = [
  // ── 1 VERSION ────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "VERSION request with capabilities JSON",
    msgId: 1,
    bytes: h`
      0100                 # msg_id 1
      0100                 # cmd 1 VERSION
      72000000             # msg_size 114 = 16 + 4 + 93 + NUL
      00000000             # flags: command
      00000000             # error
      0000                 # major 0
      0200                 # minor 2
      ${ascii('{"capabilities":{"max_msg_fds":8,"max_data_xfer_size":4096,"twin_socket":{"supported":true}}}')}
      00                   # terminating NUL
    `,
    message: {
      kind: "VersionRequest",
      major: 0,
      minor: 2,
      capabilities: { maxMsgFds: 8, maxDataXferSize: 4096, twinSocket: { supported: true } },
      jsonText: '{"capabilities":{"max_msg_fds":8,"max_data_xfer_size":4096,"twin_socket":{"supported":true}}}',
    },
  },
  {
    name: "VERSION reply without version data",
    msgId: 1,
    bytes: h`
      0100 0100            # msg_id 1, cmd 1
      14000000             # msg_size 20
      01000000             # flags: reply
      00000000             # error
      0000 0000            # major 0, minor 0 (no JSON)
    `,
    message: { kind: "VersionReply", major: 0, minor: 0, capabilities: {}, jsonText: null },
  },
  {
    name: "VERSION reply with every capability (incl. legacy migration, twin socket fd_index, an unknown key)",
    msgId: 0xbeef,
    bytes: h`
      efbe 0100            # msg_id 0xbeef, cmd 1
      ca000000             # msg_size 202 = 16 + 4 + 181 + NUL
      01000000             # flags: reply
      00000000             # error
      0000 0200            # major 0, minor 2
      ${ascii(
        '{"capabilities":{"max_msg_fds":1,"max_dma_maps":100,"pgsizes":4096,"migration":{"pgsize":4096},' +
          '"twin_socket":{"supported":true,"fd_index":0},"write_multiple":true,"x_vendor":"abc"}}',
      )}
      00                   # NUL
    `,
    message: {
      kind: "VersionReply",
      major: 0,
      minor: 2,
      capabilities: {
        maxMsgFds: 1,
        maxDmaMaps: 100,
        pgsizes: 4096,
        migration: { pgsize: 4096 },
        twinSocket: { supported: true, fdIndex: 0 },
        writeMultiple: true,
        unknown: { x_vendor: "abc" },
      },
      jsonText:
        '{"capabilities":{"max_msg_fds":1,"max_dma_maps":100,"pgsizes":4096,"migration":{"pgsize":4096},' +
        '"twin_socket":{"supported":true,"fd_index":0},"write_multiple":true,"x_vendor":"abc"}}',
    },
  },
  // ── 2 DMA_MAP ────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "DMA_MAP request (READ|WRITE|ACCESS_MMAP)",
    msgId: 2,
    bytes: h`
      0200 0200            # msg_id 2, cmd 2 DMA_MAP
      30000000             # msg_size 48
      00000000 00000000    # flags, error
      20000000             # argsz 32
      07000000             # flags READ|WRITE|ACCESS_MMAP
      0010000000000000     # offset 0x1000
      0000010000000000     # address 0x10000
      0040000000000000     # size 0x4000
    `,
    message: { kind: "DmaMapRequest", argsz: 32, flags: 7, offset: 0x1000n, address: 0x10000n, size: 0x4000n },
  },
  {
    name: "DMA_MAP reply",
    msgId: 2,
    bytes: h`
      0200 0200 10000000   # msg_id 2, cmd 2, msg_size 16
      01000000 00000000    # reply, error 0
    `,
    message: { kind: "DmaMapReply" },
  },
  // ── 3 DMA_UNMAP ──────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "DMA_UNMAP request",
    msgId: 3,
    bytes: h`
      0300 0300 28000000   # msg_id 3, cmd 3, msg_size 40
      00000000 00000000    # command
      18000000             # argsz 24
      00000000             # flags
      0000010000000000     # address 0x10000
      0040000000000000     # size 0x4000
    `,
    message: { kind: "DmaUnmapRequest", argsz: 24, flags: 0, address: 0x10000n, size: 0x4000n },
  },
  {
    name: "DMA_UNMAP reply (request echoed)",
    msgId: 3,
    bytes: h`
      0300 0300 28000000   # msg_id 3, cmd 3, msg_size 40
      01000000 00000000    # reply
      18000000 00000000    # argsz 24, flags 0
      0000010000000000     # address 0x10000
      0040000000000000     # size 0x4000
    `,
    message: { kind: "DmaUnmapReply", argsz: 24, flags: 0, address: 0x10000n, size: 0x4000n },
  },
  {
    name: "DMA_UNMAP request, UNMAP_ALL (libvfio-user)",
    msgId: 4,
    bytes: h`
      0400 0300 28000000   # msg_id 4, cmd 3, msg_size 40
      00000000 00000000
      18000000             # argsz 24
      02000000             # flags ALL
      0000000000000000     # address 0
      0000000000000000     # size 0
    `,
    message: { kind: "DmaUnmapRequest", argsz: 24, flags: 2, address: 0n, size: 0n },
  },
  {
    name: "DMA_UNMAP request, GET_DIRTY_BITMAP (libvfio-user)",
    msgId: 5,
    bytes: h`
      0500 0300 38000000   # msg_id 5, cmd 3, msg_size 56
      00000000 00000000
      30000000             # argsz 48 = 24 + 16 + 8 bitmap bytes
      01000000             # flags GET_DIRTY_BITMAP
      0000010000000000     # address 0x10000
      0040000000000000     # size 0x4000
      0010000000000000     # bitmap pgsize 0x1000
      0800000000000000     # bitmap size 8
    `,
    message: {
      kind: "DmaUnmapRequest",
      argsz: 48,
      flags: 1,
      address: 0x10000n,
      size: 0x4000n,
      bitmap: { pgsize: 0x1000n, size: 8n },
    },
  },
  {
    name: "DMA_UNMAP reply with dirty bitmap",
    msgId: 5,
    bytes: h`
      0500 0300 40000000   # msg_id 5, cmd 3, msg_size 64
      01000000 00000000    # reply
      30000000 01000000    # argsz 48, flags GET_DIRTY_BITMAP
      0000010000000000     # address
      0040000000000000     # size
      0010000000000000     # pgsize 0x1000
      0800000000000000     # bitmap size 8
      0500000000000000     # bitmap: pages 0 and 2 dirty
    `,
    message: {
      kind: "DmaUnmapReply",
      argsz: 48,
      flags: 1,
      address: 0x10000n,
      size: 0x4000n,
      bitmap: { pgsize: 0x1000n, size: 8n, data: b(5, 0, 0, 0, 0, 0, 0, 0) },
    },
  },
  // ── 4 DEVICE_GET_INFO ────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "DEVICE_GET_INFO request",
    msgId: 6,
    bytes: h`
      0600 0400 20000000   # msg_id 6, cmd 4, msg_size 32
      00000000 00000000
      10000000             # argsz 16
      00000000             # flags (zero)
      00000000             # num_regions (zero)
      00000000             # num_irqs (zero)
    `,
    message: { kind: "DeviceGetInfoRequest", argsz: 16 },
  },
  {
    name: "DEVICE_GET_INFO reply",
    msgId: 6,
    bytes: h`
      0600 0400 20000000   # msg_id 6, cmd 4, msg_size 32
      01000000 00000000
      10000000             # argsz 16
      03000000             # flags RESET|PCI
      09000000             # num_regions 9
      05000000             # num_irqs 5
    `,
    message: { kind: "DeviceGetInfoReply", argsz: 16, flags: 3, numRegions: 9, numIrqs: 5 },
  },
  // ── 5 DEVICE_GET_REGION_INFO ─────────────────────────────────────────────────────────────────────────────────
  {
    name: "DEVICE_GET_REGION_INFO request",
    msgId: 7,
    bytes: h`
      0700 0500 30000000   # msg_id 7, cmd 5, msg_size 48
      00000000 00000000
      20000000             # argsz 32
      00000000             # flags
      01000000             # index 1
      00000000             # cap_offset
      0000000000000000     # size
      0000000000000000     # offset
    `,
    message: { kind: "DeviceGetRegionInfoRequest", argsz: 32, index: 1 },
  },
  {
    name: "DEVICE_GET_REGION_INFO reply truncated by a small argsz (needs 96, no caps)",
    msgId: 7,
    bytes: h`
      0700 0500 30000000   # msg_id 7, cmd 5, msg_size 48
      01000000 00000000
      60000000             # argsz 96 (needed)
      07000000             # flags READ|WRITE|MMAP
      01000000             # index 1
      00000000             # cap_offset 0
      0040000000000000     # size 0x4000
      0000000000010000     # offset 1 << 40
    `,
    message: {
      kind: "DeviceGetRegionInfoReply",
      argsz: 96,
      flags: 7,
      index: 1,
      size: 0x4000n,
      offset: 1n << 40n,
      capabilities: [],
    },
  },
  {
    name: "DEVICE_GET_REGION_INFO reply with SPARSE_MMAP → TYPE → unknown capability chain",
    msgId: 8,
    bytes: h`
      0800 0500 70000000   # msg_id 8, cmd 5, msg_size 112
      01000000 00000000
      60000000             # argsz 96
      0f000000             # flags READ|WRITE|MMAP|CAPS
      01000000             # index 1
      20000000             # cap_offset 32
      0040000000000000     # size 0x4000
      0000000000010000     # offset 1 << 40
      # @32 SPARSE_MMAP
      0100 0100            # id 1, version 1
      40000000             # next 64
      01000000             # nr_areas 1
      00000000             # reserved
      0010000000000000     # area offset 0x1000
      0010000000000000     # area size 0x1000
      # @64 TYPE
      0200 0100            # id 2, version 1
      50000000             # next 80
      86800080             # type PCI_VENDOR_TYPE | 0x8086
      01000000             # subtype 1
      # @80 unknown id 0x8001
      0180 0100            # id 0x8001, version 1
      00000000             # next 0 (end)
      deadbeef00000000     # body, kept raw
    `,
    message: {
      kind: "DeviceGetRegionInfoReply",
      argsz: 96,
      flags: 0xf,
      index: 1,
      size: 0x4000n,
      offset: 1n << 40n,
      capabilities: [
        { kind: "SparseMmap", version: 1, areas: [{ offset: 0x1000n, size: 0x1000n }] },
        { kind: "Type", version: 1, type: 0x80008086, subtype: 1 },
        { kind: "Unknown", id: 0x8001, version: 1, data: b(0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0) },
      ],
    },
  },
  // ── 6 DEVICE_GET_REGION_IO_FDS ───────────────────────────────────────────────────────────────────────────────
  {
    name: "DEVICE_GET_REGION_IO_FDS request",
    msgId: 9,
    bytes: h`
      0900 0600 20000000   # msg_id 9, cmd 6, msg_size 32
      00000000 00000000
      00010000             # argsz 256
      00000000             # flags 0
      00000000             # index 0
      00000000             # count 0
    `,
    message: { kind: "DeviceGetRegionIoFdsRequest", argsz: 256, index: 0 },
  },
  {
    name: "DEVICE_GET_REGION_IO_FDS request with flags and count not 0 (the spec requires 0: a server refuses it)",
    msgId: 9,
    bytes: h`
      0900 0600 20000000   # msg_id 9, cmd 6, msg_size 32
      00000000 00000000
      00010000             # argsz 256
      01000000             # flags 1
      02000000             # index 2
      03000000             # count 3
    `,
    message: { kind: "DeviceGetRegionIoFdsRequest", argsz: 256, index: 2, flags: 1, count: 3 },
  },
  {
    name: "DEVICE_GET_REGION_IO_FDS reply, spec 40-byte entry",
    msgId: 9,
    bytes: h`
      0900 0600 48000000   # msg_id 9, cmd 6, msg_size 72
      01000000 00000000
      38000000             # argsz 56 = 16 + 1 × 40
      00000000             # flags
      00000000             # index 0
      01000000             # count 1
      0010000000000000     # offset 0x1000
      0400000000000000     # size 4
      00000000             # fd_index 0
      00000000             # type IOEVENTFD
      01000000             # flags DATAMATCH
      00000000             # padding
      2a00000000000000     # datamatch 42
    `,
    message: {
      kind: "DeviceGetRegionIoFdsReply",
      argsz: 56,
      flags: 0,
      index: 0,
      count: 1,
      entrySize: 40,
      subRegions: [{ offset: 0x1000n, size: 4n, fdIndex: 0, type: 0, flags: 1, datamatch: 42n }],
    },
  },
  {
    name: "DEVICE_GET_REGION_IO_FDS reply, libvfio-user 48-byte entries",
    msgId: 10,
    bytes: h`
      0a00 0600 80000000   # msg_id 10, cmd 6, msg_size 128
      01000000 00000000
      70000000             # argsz 112 = 16 + 2 × 48
      00000000             # flags
      00000000             # index 0
      02000000             # count 2
      # entry 0: IOEVENTFD_SHADOW
      0020000000000000     # offset 0x2000
      0000000000000000     # size 0 (any)
      00000000             # fd_index 0
      02000000             # type IOEVENTFD_SHADOW
      00000000             # flags
      01000000             # shadow_mem_fd_index 1
      0030000000000000     # shadow_offset 0x3000
      0000000000000000     # datamatch
      # entry 1: IOREGIONFD
      0820000000000000     # offset 0x2008
      0800000000000000     # size 8
      01000000             # fd_index 1
      01000000             # type IOREGIONFD
      02000000             # flags POSTED_WRITES
      00000000             # shadow_mem_fd_index
      0000000000000000     # shadow_offset
      8877665544332211     # user_data 0x1122334455667788
    `,
    message: {
      kind: "DeviceGetRegionIoFdsReply",
      argsz: 112,
      flags: 0,
      index: 0,
      count: 2,
      entrySize: 48,
      subRegions: [
        {
          offset: 0x2000n,
          size: 0n,
          fdIndex: 0,
          type: 2,
          flags: 0,
          datamatch: 0n,
          shadowMemFdIndex: 1,
          shadowOffset: 0x3000n,
        },
        {
          offset: 0x2008n,
          size: 8n,
          fdIndex: 1,
          type: 1,
          flags: 2,
          datamatch: 0x1122334455667788n,
          shadowMemFdIndex: 0,
          shadowOffset: 0n,
        },
      ],
    },
  },
  {
    name: "DEVICE_GET_REGION_IO_FDS reply truncated (head only, needs 112)",
    msgId: 11,
    bytes: h`
      0b00 0600 20000000   # msg_id 11, cmd 6, msg_size 32
      01000000 00000000
      70000000             # argsz 112 (needed)
      00000000             # flags
      00000000             # index 0
      02000000             # count 2, entries not included
    `,
    message: {
      kind: "DeviceGetRegionIoFdsReply",
      argsz: 112,
      flags: 0,
      index: 0,
      count: 2,
      entrySize: 48,
      subRegions: [],
    },
  },
  // ── 7 DEVICE_GET_IRQ_INFO ────────────────────────────────────────────────────────────────────────────────────
  {
    name: "DEVICE_GET_IRQ_INFO request",
    msgId: 12,
    bytes: h`
      0c00 0700 20000000   # msg_id 12, cmd 7, msg_size 32
      00000000 00000000
      10000000             # argsz 16
      00000000             # flags
      02000000             # index 2 (MSI-X)
      00000000             # count
    `,
    message: { kind: "DeviceGetIrqInfoRequest", argsz: 16, index: 2 },
  },
  {
    name: "DEVICE_GET_IRQ_INFO reply",
    msgId: 12,
    bytes: h`
      0c00 0700 20000000   # msg_id 12, cmd 7, msg_size 32
      01000000 00000000
      10000000             # argsz 16
      09000000             # flags EVENTFD|NORESIZE
      02000000             # index 2
      10000000             # count 16
    `,
    message: { kind: "DeviceGetIrqInfoReply", argsz: 16, flags: 9, index: 2, count: 16 },
  },
  // ── 8 DEVICE_SET_IRQS ────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "DEVICE_SET_IRQS request, DATA_EVENTFD|ACTION_TRIGGER (fds out of band)",
    msgId: 13,
    bytes: h`
      0d00 0800 24000000   # msg_id 13, cmd 8, msg_size 36
      00000000 00000000
      14000000             # argsz 20
      24000000             # flags DATA_EVENTFD|ACTION_TRIGGER
      02000000             # index 2 (MSI-X)
      00000000             # start 0
      02000000             # count 2
    `,
    message: { kind: "DeviceSetIrqsRequest", argsz: 20, flags: 0x24, index: 2, start: 0, count: 2 },
  },
  {
    name: "DEVICE_SET_IRQS request, DATA_BOOL|ACTION_UNMASK",
    msgId: 14,
    bytes: h`
      0e00 0800 27000000   # msg_id 14, cmd 8, msg_size 39
      00000000 00000000
      17000000             # argsz 23 = 20 + 3
      12000000             # flags DATA_BOOL|ACTION_UNMASK
      00000000             # index 0 (INTx)
      00000000             # start 0
      03000000             # count 3
      01 00 01             # data: one bool per vector
    `,
    message: { kind: "DeviceSetIrqsRequest", argsz: 23, flags: 0x12, index: 0, start: 0, count: 3, data: b(1, 0, 1) },
  },
  {
    name: "DEVICE_SET_IRQS reply",
    msgId: 13,
    bytes: h`
      0d00 0800 10000000   # msg_id 13, cmd 8, msg_size 16
      01000000 00000000    # reply
    `,
    message: { kind: "DeviceSetIrqsReply" },
  },
  // ── 9 REGION_READ ────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "REGION_READ request",
    msgId: 15,
    bytes: h`
      0f00 0900 20000000   # msg_id 15, cmd 9, msg_size 32
      00000000 00000000
      1000000000000000     # offset 0x10
      07000000             # region 7 (CONFIG)
      04000000             # count 4
    `,
    message: { kind: "RegionReadRequest", offset: 0x10n, region: 7, count: 4 },
  },
  {
    name: "REGION_READ reply",
    msgId: 15,
    bytes: h`
      0f00 0900 24000000   # msg_id 15, cmd 9, msg_size 36
      01000000 00000000
      1000000000000000     # offset 0x10
      07000000             # region 7
      04000000             # count 4
      aabbccdd             # data
    `,
    message: { kind: "RegionReadReply", offset: 0x10n, region: 7, data: b(0xaa, 0xbb, 0xcc, 0xdd) },
  },
  {
    name: "REGION_READ reply to a count-0 read: bare header (libvfio-user)",
    msgId: 16,
    bytes: h`
      1000 0900 10000000   # msg_id 16, cmd 9, msg_size 16
      01000000 00000000    # reply, no payload at all
    `,
    message: { kind: "RegionReadReply", offset: 0n, region: 0, data: new Uint8Array(0), bare: true },
  },
  // ── 10 REGION_WRITE ──────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "REGION_WRITE request with NO_REPLY",
    msgId: 17,
    flags: 0x10,
    bytes: h`
      1100 0a00 22000000   # msg_id 17, cmd 10, msg_size 34
      10000000             # flags NO_REPLY
      00000000             # error
      0400000000000000     # offset 4
      07000000             # region 7
      02000000             # count 2
      0600                 # data (COMMAND = MEM|BUS_MASTER)
    `,
    message: { kind: "RegionWriteRequest", offset: 4n, region: 7, data: b(6, 0) },
  },
  {
    name: "REGION_WRITE reply",
    msgId: 17,
    bytes: h`
      1100 0a00 20000000   # msg_id 17, cmd 10, msg_size 32
      01000000 00000000
      0400000000000000     # offset 4
      07000000             # region 7
      02000000             # count 2
    `,
    message: { kind: "RegionWriteReply", offset: 4n, region: 7, count: 2 },
  },
  // ── 11 DMA_READ ──────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "DMA_READ request (server → client)",
    msgId: 18,
    bytes: h`
      1200 0b00 20000000   # msg_id 18, cmd 11, msg_size 32
      00000000 00000000
      0000020000000000     # address 0x20000
      0800000000000000     # count 8 (u64)
    `,
    message: { kind: "DmaReadRequest", address: 0x20000n, count: 8n },
  },
  {
    name: "DMA_READ reply",
    msgId: 18,
    bytes: h`
      1200 0b00 28000000   # msg_id 18, cmd 11, msg_size 40
      01000000 00000000
      0000020000000000     # address 0x20000
      0800000000000000     # count 8
      0102030405060708     # data @16
    `,
    message: { kind: "DmaReadReply", address: 0x20000n, data: b(1, 2, 3, 4, 5, 6, 7, 8) },
  },
  // ── 12 DMA_WRITE ─────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "DMA_WRITE request (server → client)",
    msgId: 19,
    bytes: h`
      1300 0c00 24000000   # msg_id 19, cmd 12, msg_size 36
      00000000 00000000
      1000020000000000     # address 0x20010
      0400000000000000     # count 4
      deadbeef             # data
    `,
    message: { kind: "DmaWriteRequest", address: 0x20010n, data: b(0xde, 0xad, 0xbe, 0xef) },
  },
  {
    name: "DMA_WRITE reply, 8-byte count (libvfio-user, corrected spec)",
    msgId: 19,
    bytes: h`
      1300 0c00 20000000   # msg_id 19, cmd 12, msg_size 32
      01000000 00000000
      1000020000000000     # address 0x20010
      0400000000000000     # count 4 (u64)
    `,
    message: { kind: "DmaWriteReply", address: 0x20010n, count: 4n },
  },
  {
    name: "DMA_WRITE reply, 4-byte count (spec table as printed)",
    msgId: 20,
    bytes: h`
      1400 0c00 1c000000   # msg_id 20, cmd 12, msg_size 28
      01000000 00000000
      1000020000000000     # address 0x20010
      04000000             # count 4 (u32)
    `,
    message: { kind: "DmaWriteReply", address: 0x20010n, count: 4n, count32: true },
  },
  // ── 13 DEVICE_RESET ──────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "DEVICE_RESET request",
    msgId: 21,
    bytes: h`
      1500 0d00 10000000   # msg_id 21, cmd 13, msg_size 16
      00000000 00000000
    `,
    message: { kind: "DeviceResetRequest" },
  },
  {
    name: "DEVICE_RESET reply",
    msgId: 21,
    bytes: h`
      1500 0d00 10000000   # msg_id 21, cmd 13, msg_size 16
      01000000 00000000
    `,
    message: { kind: "DeviceResetReply" },
  },
  // ── 15 REGION_WRITE_MULTI ────────────────────────────────────────────────────────────────────────────────────
  {
    name: "REGION_WRITE_MULTI request (NO_REPLY, two writes)",
    msgId: 22,
    flags: 0x10,
    bytes: h`
      1600 0f00 48000000   # msg_id 22, cmd 15, msg_size 72
      10000000 00000000    # NO_REPLY
      0200000000000000     # wr_cnt 2
      0001000000000000     # [0] offset 0x100
      00000000             # [0] region 0
      04000000             # [0] count 4
      1122334400000000     # [0] data slot (4 used)
      0401000000000000     # [1] offset 0x104
      00000000             # [1] region 0
      01000000             # [1] count 1
      5500000000000000     # [1] data slot (1 used)
    `,
    message: {
      kind: "RegionWriteMultiRequest",
      writes: [
        { offset: 0x100n, region: 0, data: b(0x11, 0x22, 0x33, 0x44) },
        { offset: 0x104n, region: 0, data: b(0x55) },
      ],
    },
  },
  {
    name: "REGION_WRITE_MULTI reply",
    msgId: 22,
    bytes: h`
      1600 0f00 18000000   # msg_id 22, cmd 15, msg_size 24
      01000000 00000000
      0200000000000000     # wr_cnt 2 completed
    `,
    message: { kind: "RegionWriteMultiReply", wrCnt: 2n },
  },
  // ── 16 DEVICE_FEATURE ────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "DEVICE_FEATURE request PROBE MIGRATION",
    msgId: 23,
    bytes: h`
      1700 1000 18000000   # msg_id 23, cmd 16, msg_size 24
      00000000 00000000
      08000000             # argsz 8
      01000400             # flags: feature 1 | PROBE
    `,
    message: { kind: "DeviceFeatureRequest", argsz: 8, flags: 0x40001, data: { type: "None" } },
  },
  {
    name: "DEVICE_FEATURE reply PROBE MIGRATION (echo)",
    msgId: 23,
    bytes: h`
      1700 1000 18000000   # msg_id 23, cmd 16, msg_size 24
      01000000 00000000
      08000000 01000400    # argsz 8, flags
    `,
    message: { kind: "DeviceFeatureReply", argsz: 8, flags: 0x40001, data: { type: "None" } },
  },
  {
    name: "DEVICE_FEATURE request GET MIGRATION",
    msgId: 24,
    bytes: h`
      1800 1000 18000000   # msg_id 24, cmd 16, msg_size 24
      00000000 00000000
      10000000             # argsz 16
      01000100             # flags: feature 1 | GET
    `,
    message: { kind: "DeviceFeatureRequest", argsz: 16, flags: 0x10001, data: { type: "None" } },
  },
  {
    name: "DEVICE_FEATURE reply GET MIGRATION",
    msgId: 24,
    bytes: h`
      1800 1000 20000000   # msg_id 24, cmd 16, msg_size 32
      01000000 00000000
      10000000 01000100    # argsz 16, flags
      0500000000000000     # migration flags STOP_COPY|PRE_COPY (u64)
    `,
    message: { kind: "DeviceFeatureReply", argsz: 16, flags: 0x10001, data: { type: "Migration", flags: 5n } },
  },
  {
    name: "DEVICE_FEATURE request SET MIG_DEVICE_STATE = STOP_COPY",
    msgId: 25,
    bytes: h`
      1900 1000 20000000   # msg_id 25, cmd 16, msg_size 32
      00000000 00000000
      10000000             # argsz 16
      02000200             # flags: feature 2 | SET
      03000000             # device_state 3 STOP_COPY
      ffffffff             # data_fd -1
    `,
    message: {
      kind: "DeviceFeatureRequest",
      argsz: 16,
      flags: 0x20002,
      data: { type: "MigDeviceState", deviceState: 3, dataFd: -1 },
    },
  },
  {
    name: "DEVICE_FEATURE reply SET MIG_DEVICE_STATE (echo)",
    msgId: 25,
    bytes: h`
      1900 1000 20000000   # msg_id 25, cmd 16, msg_size 32
      01000000 00000000
      10000000 02000200    # argsz 16, flags
      03000000 ffffffff    # device_state, data_fd
    `,
    message: {
      kind: "DeviceFeatureReply",
      argsz: 16,
      flags: 0x20002,
      data: { type: "MigDeviceState", deviceState: 3, dataFd: -1 },
    },
  },
  {
    name: "DEVICE_FEATURE reply GET MIG_DEVICE_STATE",
    msgId: 26,
    bytes: h`
      1a00 1000 20000000   # msg_id 26, cmd 16, msg_size 32
      01000000 00000000
      10000000 02000100    # argsz 16, flags: feature 2 | GET
      02000000             # device_state 2 RUNNING
      00000000             # data_fd 0
    `,
    message: {
      kind: "DeviceFeatureReply",
      argsz: 16,
      flags: 0x10002,
      data: { type: "MigDeviceState", deviceState: 2, dataFd: 0 },
    },
  },
  {
    name: "DEVICE_FEATURE request SET DMA_LOGGING_START, one range",
    msgId: 27,
    bytes: h`
      1b00 1000 38000000   # msg_id 27, cmd 16, msg_size 56
      00000000 00000000
      28000000             # argsz 40
      06000200             # flags: feature 6 | SET
      0010000000000000     # page_size 0x1000
      01000000             # num_ranges 1
      00000000             # reserved
      0000010000000000     # iova 0x10000
      0040000000000000     # length 0x4000
    `,
    message: {
      kind: "DeviceFeatureRequest",
      argsz: 40,
      flags: 0x20006,
      data: { type: "DmaLogging", pageSize: 0x1000n, ranges: [{ iova: 0x10000n, length: 0x4000n }] },
    },
  },
  {
    name: "DEVICE_FEATURE reply SET DMA_LOGGING_START (echo)",
    msgId: 27,
    bytes: h`
      1b00 1000 38000000   # msg_id 27, cmd 16, msg_size 56
      01000000 00000000
      28000000 06000200    # argsz 40, flags
      0010000000000000     # page_size
      01000000 00000000    # num_ranges 1, reserved
      0000010000000000     # iova
      0040000000000000     # length
    `,
    message: {
      kind: "DeviceFeatureReply",
      argsz: 40,
      flags: 0x20006,
      data: { type: "DmaLogging", pageSize: 0x1000n, ranges: [{ iova: 0x10000n, length: 0x4000n }] },
    },
  },
  {
    name: "DEVICE_FEATURE request SET DMA_LOGGING_STOP, no ranges",
    msgId: 35,
    bytes: h`
      2300 1000 28000000   # msg_id 35, cmd 16, msg_size 40
      00000000 00000000
      18000000             # argsz 24
      07000200             # flags: feature 7 | SET
      0010000000000000     # page_size 0x1000
      00000000             # num_ranges 0
      00000000             # reserved
    `,
    message: {
      kind: "DeviceFeatureRequest",
      argsz: 24,
      flags: 0x20007,
      data: { type: "DmaLogging", pageSize: 0x1000n, ranges: [] },
    },
  },
  {
    name: "DEVICE_FEATURE request GET DMA_LOGGING_REPORT",
    msgId: 28,
    bytes: h`
      1c00 1000 30000000   # msg_id 28, cmd 16, msg_size 48
      00000000 00000000
      28000000             # argsz 40 = 8 + 24 + 8 bitmap bytes
      08000100             # flags: feature 8 | GET
      0000010000000000     # iova 0x10000
      0040000000000000     # length 0x4000
      0010000000000000     # page_size 0x1000
    `,
    message: {
      kind: "DeviceFeatureRequest",
      argsz: 40,
      flags: 0x10008,
      data: { type: "DmaLoggingReport", iova: 0x10000n, length: 0x4000n, pageSize: 0x1000n },
    },
  },
  {
    name: "DEVICE_FEATURE reply GET DMA_LOGGING_REPORT with bitmap",
    msgId: 28,
    bytes: h`
      1c00 1000 38000000   # msg_id 28, cmd 16, msg_size 56
      01000000 00000000
      28000000 08000100    # argsz 40, flags
      0000010000000000     # iova
      0040000000000000     # length
      0010000000000000     # page_size
      0900000000000000     # bitmap @24: pages 0 and 3 dirty
    `,
    message: {
      kind: "DeviceFeatureReply",
      argsz: 40,
      flags: 0x10008,
      data: {
        type: "DmaLoggingReport",
        iova: 0x10000n,
        length: 0x4000n,
        pageSize: 0x1000n,
        bitmap: b(9, 0, 0, 0, 0, 0, 0, 0),
      },
    },
  },
  // ── 17 MIG_DATA_READ ─────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "MIG_DATA_READ request",
    msgId: 29,
    bytes: h`
      1d00 1100 18000000   # msg_id 29, cmd 17, msg_size 24
      00000000 00000000
      0c000000             # argsz 12
      04000000             # size 4
    `,
    message: { kind: "MigDataReadRequest", argsz: 12, size: 4 },
  },
  {
    name: "MIG_DATA_READ reply",
    msgId: 29,
    bytes: h`
      1d00 1100 1c000000   # msg_id 29, cmd 17, msg_size 28
      01000000 00000000
      0c000000             # argsz 12 = 8 + 4
      04000000             # size 4
      01020304             # data
    `,
    message: { kind: "MigDataReadReply", argsz: 12, data: b(1, 2, 3, 4) },
  },
  {
    name: "MIG_DATA_READ reply, short read padded to the requested size (libvfio-user)",
    msgId: 30,
    bytes: h`
      1e00 1100 1c000000   # msg_id 30, cmd 17, msg_size 28 = 16 + 8 + 4 requested
      01000000 00000000
      0a000000             # argsz 10 = 8 + 2
      02000000             # size 2 returned
      0a0b                 # data
      0000                 # padding
    `,
    message: { kind: "MigDataReadReply", argsz: 10, data: b(0x0a, 0x0b), trailing: b(0, 0) },
  },
  // ── 18 MIG_DATA_WRITE ────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "MIG_DATA_WRITE request",
    msgId: 31,
    bytes: h`
      1f00 1200 1c000000   # msg_id 31, cmd 18, msg_size 28
      00000000 00000000
      0c000000             # argsz 12
      04000000             # size 4
      01020304             # data
    `,
    message: { kind: "MigDataWriteRequest", argsz: 12, data: b(1, 2, 3, 4) },
  },
  {
    name: "MIG_DATA_WRITE reply (spec: no payload)",
    msgId: 31,
    bytes: h`
      1f00 1200 10000000   # msg_id 31, cmd 18, msg_size 16
      01000000 00000000
    `,
    message: { kind: "MigDataWriteReply" },
  },
  {
    name: "MIG_DATA_WRITE reply with argsz/size (proposed revision)",
    msgId: 32,
    bytes: h`
      2000 1200 18000000   # msg_id 32, cmd 18, msg_size 24
      01000000 00000000
      08000000             # argsz 8
      04000000             # size 4 written
    `,
    message: { kind: "MigDataWriteReply", argsz: 8, size: 4 },
  },
  // ── error replies, unknown commands ──────────────────────────────────────────────────────────────────────────
  {
    name: "error reply, header only (EINVAL)",
    msgId: 0xf00f,
    bytes: h`
      0ff0 0900 10000000   # msg_id 0xf00f, cmd 9, msg_size 16
      21000000             # flags reply|ERROR
      16000000             # error 22 EINVAL
    `,
    message: { kind: "ErrorReply", command: 9, errno: 22 },
  },
  {
    name: "error reply with 16 payload bytes (libvfio-user)",
    msgId: 0x011b,
    bytes: h`
      1b01 0a00 20000000   # msg_id 0x11b, cmd 10, msg_size 32
      21000000 16000000    # reply|ERROR, EINVAL
      0000000000000000 07000000 04000000   # payload: the request's access head echoed
    `,
    message: {
      kind: "ErrorReply",
      command: 10,
      errno: 22,
      payload: b(0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 4, 0, 0, 0),
    },
  },
  {
    name: "unknown command 14 (old DIRTY_PAGES)",
    msgId: 33,
    bytes: h`
      2100 0e00 18000000   # msg_id 33, cmd 14, msg_size 24
      00000000 00000000
      0800000000000000     # payload, kept raw
    `,
    message: { kind: "Unknown", command: 14, reply: false, payload: b(8, 0, 0, 0, 0, 0, 0, 0) },
  },
  {
    name: "unknown command 99, reply",
    msgId: 34,
    bytes: h`
      2200 6300 10000000   # msg_id 34, cmd 99, msg_size 16
      01000000 00000000
    `,
    message: { kind: "Unknown", command: 99, reply: true, payload: new Uint8Array(0) },
  },
];
