// Every interactive command through injected streams, asserting on what a person sees.
import { until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { session } from "./fixtures/session.js";

const NULLS = ["-l", "0-2", "--vdev", "net_null0", "--vdev", "net_null1", "--", "-i"];
const MAC = /([0-9A-F]{2}:){5}[0-9A-F]{2}/;

describe("startup and ports", () => {
  it("prints the EAL and port setup as testpmd does", async () => {
    const s = await session(NULLS);
    // -l 0-2 on a machine of fewer than 3 CPUs also warns that lcore 2 will not be pinned
    expect(s.banner).toMatch(
      /^EAL: Detected CPU lcores: \d+\n(EAL: WARNING: lcore 2: .*\n)?Interactive-mode selected\n/,
    );
    expect(s.banner).toMatch(/testpmd: create a new mbuf pool <mb_pool_0>: n=\d+, size=2176, socket=0\n/);
    expect(s.banner).toMatch(
      new RegExp(
        `Configuring Port 0 \\(socket 0\\)\\nPort 0: ${MAC.source}\\nConfiguring Port 1 \\(socket 0\\)\\nPort 1: ${MAC.source}\\nChecking link statuses...\\nDone\\n$`,
      ),
    );
    expect((await s.quit()).status).toBe(0);
  });

  it("show port summary, info and stats (with throughput since the last show), clear port stats", async () => {
    const s = await session(NULLS);
    const summary = await s.ask("show port summary");
    expect(summary).toMatch(
      /^Number of available ports: 2\nPort MAC Address {7}Name {9}Driver {9}Status {3}Link\n0 {4}\S{17} net_null0 {4}net_null {7}up {7}10 Gbps\n1 {4}\S{17} net_null1 {4}net_null {7}up {7}10 Gbps\n$/,
    );
    expect(await s.ask("show port summary 1")).toMatch(/^Number of available ports: 2\n.*\n1 {4}\S{17} net_null1/);
    const info = await s.ask("show port info 1");
    expect(info).toMatch(
      /^\n\*{21} Infos for port 1 {2}\*{21}\nMAC address: \S{17}\nDevice name: net_null1\nDriver name: net_null\nDevargs: \n/,
    );
    expect(info).toContain("Link status: up\nLink speed: 10 Gbps\nLink duplex: full-duplex\n");
    expect(info).toContain("Current number of RX queues: 1\nMax possible RX queues: 1024\n");
    expect(await s.ask("show port stats 0")).toBe(
      [
        "",
        "  ######################## NIC statistics for port 0  ########################",
        "  RX-packets: 0          RX-missed: 0          RX-bytes:  0",
        "  RX-errors: 0",
        "  RX-nombuf:  0         ",
        "  TX-packets: 0          TX-errors: 0          TX-bytes:  0",
        "",
        "  Throughput (since last show)",
        "  Rx-pps:            0          Rx-bps:            0",
        "  Tx-pps:            0          Tx-bps:            0",
        "  ############################################################################",
        "",
      ].join("\n"),
    );
    await s.ask("start");
    await s.ask("show port stats all"); // the mark throughput is measured from
    await new Promise((r) => setTimeout(r, 300));
    const busy = await s.ask("show port stats all"); // the prompt answers while the lcore forwards
    const pps = [...busy.matchAll(/Rx-pps: +(\d+) +Rx-bps: +(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(pps).toHaveLength(2);
    for (const [p, b] of pps) {
      expect(p).toBeGreaterThan(10_000);
      expect(Math.abs(b! - p! * 512) / b!).toBeLessThan(0.01); // bits per second of 64-byte packets
    }
    await s.ask("stop");
    expect(await s.ask("clear port stats all")).toBe(
      "\n  NIC statistics for port 0 cleared\n\n  NIC statistics for port 1 cleared\n",
    );
    expect(await s.ask("show port stats 1")).toContain("  RX-packets: 0          RX-missed: 0");
    expect(await s.ask("show port stats 7")).toBe("Invalid port 7\nThe valid ports array is [ 0 1 ]\n");
    expect(await s.ask("show port info 5")).toBe("Invalid port 5\nThe valid ports array is [ 0 1 ]\n");
    await s.quit();
  });

  it("port stop/start/close/attach/detach, with the states testpmd keeps", async () => {
    const s = await session(NULLS);
    expect(await s.ask("port stop 1")).toBe("Stopping ports...\nChecking link statuses...\nDone\n");
    expect(await s.ask("show port summary")).toMatch(/\n1 .* net_null {7}down {5}10 Gbps\n$/);
    expect(await s.ask("start")).toBe("Not all ports were started\n");
    expect(await s.ask("port start 1")).toMatch(
      new RegExp(`^Configuring Port 1 \\(socket 0\\)\\nPort 1: ${MAC.source}\\nChecking link statuses...\\nDone\\n$`),
    );
    expect(await s.ask("port attach net_ring0")).toBe(
      "Attaching a new port...\nPort 2 is attached. Now total ports is 3\nDone\n",
    );
    expect(await s.ask("show port summary")).toMatch(/\n2 {4}\S{17} net_ring0 {4}net_ring {7}down {5}10 Gbps\n$/);
    expect(await s.ask("show port info 2")).toContain("Port state: stopped (not configured)\n");
    expect(await s.ask("start")).toBe("Not all ports were started\n"); // attach leaves it stopped
    expect(await s.ask("port detach 1")).toBe("Port not stopped\n");
    await s.ask("port stop 1");
    expect(await s.ask("port detach 1")).toBe("Removing a device...\nPort 1 is detached. Now total ports is 2\nDone\n");
    expect(await s.ask("port attach net_null7")).toContain("Port 1 is attached. Now total ports is 3"); // lowest free id
    expect(await s.ask("port start all")).toMatch(/Configuring Port 1 .*\n.*\nConfiguring Port 2 .*\n.*\nChecking/s);
    expect(await s.ask("port close 2")).toBe("Closing ports...\nPort 2 is not stopped\nDone\n");
    await s.ask("port stop 2");
    expect(await s.ask("port close 2")).toBe("Closing ports...\nPort 2 is closed\nDone\n");
    expect(await s.ask("show port summary")).toMatch(/^Number of available ports: 2\n/);
    expect(await s.ask("port attach net_bogus0")).toBe(
      'Attaching a new port...\nno port driver "net_bogus" for net_bogus0 (registered: net_null, net_ring, net_pcap, net_tap, net_iavfbe, net_iavf_dpa, net_iavf_client)\n',
    );
    expect(await s.ask("port attach net_null9,size=0")).toContain('bad value "0" for key "size": must be 1..65535');
    expect(await s.ask("port detach 9")).toBe("Invalid port 9\nThe valid ports array is [ 0 1 ]\n");
    await s.quit();
  });
});

describe("forwarding commands", () => {
  it("show config fwd, set fwd, set nbcore, start/stop with the summary, start tx_first", async () => {
    const s = await session(NULLS);
    expect(await s.ask("show config fwd")).toBe(
      [
        "io packet forwarding - ports=2 - cores=1 - streams=2 - NUMA support disabled, MP allocation mode: native",
        "Logical Core 1 (socket 0) forwards packets on 2 streams:",
        "  RX P=0/Q=0 (socket 0) -> TX P=1/Q=0 (socket 0) peer=02:00:00:00:00:01",
        "  RX P=1/Q=0 (socket 0) -> TX P=0/Q=0 (socket 0) peer=02:00:00:00:00:00",
        "",
        "",
      ].join("\n"),
    );
    expect(await s.ask("set fwd macswap")).toBe("Set macswap packet forwarding mode\n");
    expect(await s.ask("set nbcore 2")).toBe("Number of forwarding cores set to 2\n");
    expect(await s.ask("set nbcore 3")).toBe("nb fwd cores 3 > 2 (max. number of configured lcores) - ignored\n");
    expect(await s.ask("show config fwd")).toMatch(
      /^macswap packet forwarding - ports=2 - cores=2 - streams=2 .*\nLogical Core 1 \(socket 0\) forwards packets on 1 streams:\n {2}RX P=0\/Q=0 .*\nLogical Core 2 \(socket 0\) forwards packets on 1 streams:\n {2}RX P=1\/Q=0 /,
    );
    const start = await s.ask("start");
    expect(start).toMatch(/^macswap packet forwarding - ports=2 - cores=2/);
    expect(start).toContain(
      "\n  macswap packet forwarding packets/burst=32\n  nb forwarding cores=2 - nb forwarding ports=2\n",
    );
    expect(start).toContain("  port 0: RX queue number: 1 Tx queue number: 1\n");
    expect(start).toContain("      RX desc=1024 - RX free threshold=0\n");
    expect(await s.ask("start")).toBe("Packet forwarding already started\n");
    expect(await s.ask("port stop 0")).toBe("Please stop forwarding first\n");
    const stop = await s.ask("stop");
    expect(stop).toMatch(
      /^Telling cores to stop...\nWaiting for lcores to finish...\n\n {2}-{22} Forward statistics for port 0 {2}-{22}\n/,
    );
    expect(stop).toMatch(
      /\n {2}\+{15} Accumulated forward statistics for all ports\+{15}\n {2}RX-packets: \d+ +RX-dropped: 0 +RX-total: \d+\n {2}TX-packets: \d+ +TX-dropped: \d+ +TX-total: \d+\n {2}\+{76}\n\nDone\.\n$/,
    );
    expect(await s.ask("stop")).toBe("Packet forwarding not started\n");
    expect(await s.ask("set burst 8")).toBe("Number of packets per burst set to 8\n");
    await s.ask("set fwd io");
    expect(await s.ask("start tx_first 3")).toContain("  io packet forwarding packets/burst=8\n");
    expect(await s.ask("stop")).toContain("Accumulated forward statistics");
    expect(await s.ask("start tx_first 0")).toBe("tx_first bursts must be 1..4096\n");
    await s.quit();
  });

  it("--lcores maps lcore ids: the first is the main one, the others forward", async () => {
    const s = await session([
      "--lcores=0@0,(2-3)@1",
      "--vdev",
      "net_null0",
      "--vdev",
      "net_null1",
      "--",
      "-i",
      "--nb-cores=2",
    ]);
    expect(await s.ask("show config fwd")).toMatch(
      /\nLogical Core 2 \(socket 0\) forwards packets on 1 streams:\n.*\nLogical Core 3 \(socket 0\) forwards/,
    );
    await s.quit();
  });

  it("stop prints per-stream statistics when there are more streams than ports", async () => {
    const s = await session(["-l", "0-2", "--vdev", "net_null0", "--", "-i", "--rxq=2", "--txq=2", "--nb-cores=2"]);
    expect(s.banner).toContain(
      "Warning! port-topology=paired and odd forward ports number, the last port will pair with itself.",
    );
    await s.ask("start");
    const stop = await s.ask("stop");
    expect(stop).toMatch(
      /\n {2}-{7} Forward Stats for RX Port= 0\/Queue= 0 -> TX Port= 0\/Queue= 0 -{7}\n {2}RX-packets: \d+ +TX-packets: \d+ +TX-dropped: 0 +\n\n {2}-{7} Forward Stats for RX Port= 0\/Queue= 1 -> TX Port= 0\/Queue= 1 -{7}\n/,
    );
    await s.quit();
  });
});

describe("the prompt", () => {
  it("unknown commands get the closest one; wrong arguments get the usage", async () => {
    const s = await session(NULLS);
    expect(await s.ask("sho port stats all")).toBe(
      'Command not found: did you mean "show port stats all|<port_id>"?\n',
    );
    expect(await s.ask("strat")).toBe('Command not found: did you mean "start"?\n');
    expect(await s.ask("qiut")).toBe('Command not found: did you mean "quit"?\n');
    expect(await s.ask("xyzzy plugh")).toBe("Command not found\n");
    expect(await s.ask("set fwd bogus")).toBe("Bad arguments\nUsage: set fwd io|mac|macswap|rxonly|txonly|flowgen\n");
    expect(await s.ask("show port stats")).toBe("Bad arguments\nUsage: show port stats all|<port_id>\n");
    expect(await s.ask("show port 0 rss")).toBe("Bad arguments\nUsage: show port <port_id> rss-hash\n");
    expect(await s.ask("show port 0 rss-hash")).toBe("operation not supported by device\n"); // net_null
    expect(await s.ask("")).toBe("");
    await s.quit();
  });

  it("tab completes commands, their words and port ids, and lists the choices", async () => {
    const s = await session(NULLS, [], true);
    const seen = () => s.output().slice(s.banner.length);
    await s.type("sh\tpo\tsu\t\r");
    await until(() => seen().includes("Number of available ports: 2"), 5000, "the summary");
    expect(seen()).toContain("show port summary ");
    const mark = s.output().length;
    await s.type("port sta\t\t"); // "start " then the choices for the port
    await until(() => /0\s+1\s+all/.test(s.output().slice(mark)), 5000, "the port choices");
    await s.type("all\r");
    await until(() => s.output().slice(mark).includes("Checking link statuses..."), 5000, "port start all");
    const mark2 = s.output().length;
    await s.type("set fwd m\t\t");
    await until(() => /mac\s+macswap/.test(s.output().slice(mark2)), 5000, "the mode choices");
    await s.type("\x15quit\r"); // Ctrl-U clears the line
    expect(await s.exited).toBe(0);
  });

  it("help lists the sections; help <section> the commands with their syntax", async () => {
    const s = await session(NULLS);
    const help = await s.ask("help");
    expect(help).toContain(
      "\nHelp is available for the following sections:\n\n    help control                    : Start and stop forwarding.\n",
    );
    expect(help).toContain("    help all                        : All of the above sections.\n");
    expect(await s.ask("help ports")).toContain("\nPorts:\n------\n\nport attach <devargs>\n    Attach a port");
    const all = await s.ask("help all");
    for (const c of [
      "start tx_first [<n>]",
      "show port summary",
      "set nbcore <n>",
      "port detach <port_id>",
      "show config fwd",
    ])
      expect(all).toContain(`\n${c}\n`);
    await s.quit();
  });

  it("quit stops forwarding, stops and closes the ports, and says goodbye", async () => {
    const s = await session(NULLS);
    await s.ask("start");
    const { status, tail } = await s.quit();
    expect(status).toBe(0);
    expect(tail).toMatch(/^Telling cores to stop...\n[\s\S]*Accumulated forward statistics/);
    expect(tail).toMatch(
      /\nStopping port 0...\nStopping ports...\nDone\n\nStopping port 1...\nStopping ports...\nDone\n\nShutting down port 0...\nClosing ports...\nPort 0 is closed\nDone\n\nShutting down port 1...\nClosing ports...\nPort 1 is closed\nDone\n\nBye...\n$/,
    );
  });

  it("the end of the input quits as quit does; so does a signal", async () => {
    const s = await session(NULLS);
    s.abort.abort();
    expect(await s.exited).toBe(0);
    expect(s.output()).toMatch(/Signal received, preparing to exit...\n[\s\S]*Bye...\n$/);
  });
});
