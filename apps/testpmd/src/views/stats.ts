// Statistics as testpmd shows them: "show port stats" blocks and the forwarding summary "stop" prints.
import type { PortStats } from "@emu/port";
import { left, right } from "./format.js";

export interface Throughput {
  readonly rxPps: number;
  readonly rxBps: number;
  readonly txPps: number;
  readonly txBps: number;
}

const HASHES = "#".repeat(24);

/** One port's "show port stats" block (it starts with an empty line). */
export function nicStats(port: number, s: PortStats, t: Throughput): string {
  return [
    "",
    `  ${HASHES} NIC statistics for port ${left(port, 2)} ${HASHES}`,
    `  RX-packets: ${left(s.ipackets, 10)} RX-missed: ${left(s.imissed, 10)} RX-bytes:  ${s.ibytes}`,
    `  RX-errors: ${s.ierrors}`,
    `  RX-nombuf:  ${left(s.rxNombuf, 10)}`,
    `  TX-packets: ${left(s.opackets, 10)} TX-errors: ${left(s.oerrors, 10)} TX-bytes:  ${s.obytes}`,
    "",
    "  Throughput (since last show)",
    `  Rx-pps: ${right(t.rxPps, 12)}          Rx-bps: ${right(t.rxBps, 12)}`,
    `  Tx-pps: ${right(t.txPps, 12)}          Tx-bps: ${right(t.txBps, 12)}`,
    `  ${"#".repeat(76)}`,
    "",
  ].join("\n");
}

/** A port's or the total forwarding counters since `start`. */
export interface FwdCounters {
  readonly rxPackets: number;
  readonly rxDropped: number;
  readonly txPackets: number;
  readonly txDropped: number;
  readonly rxErrors: number;
  readonly rxNombuf: number;
}

function counterLines(c: FwdCounters): string[] {
  const lines = [
    `  RX-packets: ${left(c.rxPackets, 14)} RX-dropped: ${left(c.rxDropped, 14)}RX-total: ${c.rxPackets + c.rxDropped}`,
  ];
  if (c.rxErrors + c.rxNombuf > 0) {
    lines.push(`  RX-error: ${c.rxErrors}`);
    lines.push(`  RX-nombufs: ${left(c.rxNombuf, 14)}`);
  }
  lines.push(
    `  TX-packets: ${left(c.txPackets, 14)} TX-dropped: ${left(c.txDropped, 14)}TX-total: ${c.txPackets + c.txDropped}`,
  );
  return lines;
}

export function portFwdStats(port: number, c: FwdCounters): string {
  const dashes = "-".repeat(22);
  return [
    "",
    `  ${dashes} Forward statistics for port ${left(port, 2)} ${dashes}`,
    ...counterLines(c),
    `  ${"-".repeat(76)}`,
    "",
  ].join("\n");
}

export function totalFwdStats(c: FwdCounters): string {
  const plus = "+".repeat(15);
  return [
    "",
    `  ${plus} Accumulated forward statistics for all ports${plus}`,
    ...counterLines(c),
    `  ${"+".repeat(76)}`,
    "",
  ].join("\n");
}

export interface StreamLine {
  readonly rxPort: number;
  readonly rxQueue: number;
  readonly txPort: number;
  readonly txQueue: number;
  readonly rx: number;
  readonly tx: number;
  readonly dropped: number;
}

export function streamFwdStats(s: StreamLine): string {
  return [
    "",
    `  ------- Forward Stats for RX Port=${right(s.rxPort, 2)}/Queue=${right(s.rxQueue, 2)} -> ` +
      `TX Port=${right(s.txPort, 2)}/Queue=${right(s.txQueue, 2)} -------`,
    `  RX-packets: ${left(s.rx, 14)} TX-packets: ${left(s.tx, 14)} TX-dropped: ${left(s.dropped, 14)}`,
    "",
  ].join("\n");
}
