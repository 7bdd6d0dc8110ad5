// How the guest's tail stores reach the delegate. **Direct** when the guest maps the delegate's doorbell page itself:
// the delegate's BAR0 file is offered for the front's doorbell areas (`offerRegionFile`), and a guest that connects
// after that maps it — its stores are the delegate's tails, nothing in between. **Relayed** otherwise (the guest
// connected before the delegate was bound, or the delegate's tails are not in one mappable file): the relay thread
// copies each tail of a queue enabled on the front from the page the guest maps into the delegate's.
import { type EmudevResources, isEmudevError, type RegionFileOffer } from "@emu/emudev";
import type { IavfDriver } from "@emu/iavf-client";
import { qrxTail, qtxTail } from "@emu/iavf-common";
import { REGISTER_BAR, rxQueueId, txQueueId } from "@emu/iavf-emu";
import { DoorbellRelay } from "./doorbell-relay.js";
import type { RelayFile, RelayTail } from "./relay-layout.js";

export type DoorbellMode = "direct" | "relayed" | "none";

export class DoorbellPath {
  /** The delegate's BAR0 as one file, when both tail pages are in it at BAR0's layout. */
  readonly #offer: RegionFileOffer | undefined;
  #relay: { fd: number; relay: DoorbellRelay } | undefined;
  #mode: DoorbellMode = "none";

  constructor(
    private readonly driver: IavfDriver,
    private readonly report: (e: unknown) => void,
  ) {
    this.#offer = delegateBarFile(driver);
  }

  get mode(): DoorbellMode {
    return this.#mode;
  }

  /** Tail values the relay copied (0 when direct). */
  get copies(): number {
    return this.#relay?.relay.copies ?? 0;
  }

  /** Offers the delegate's doorbell page for the front's doorbell areas (the next guest to connect maps it). */
  offer(dev: EmudevResources): void {
    if (this.#offer === undefined || dev.state !== "started") return;
    try {
      dev.offerRegionFile(REGISTER_BAR, this.#offer);
    } catch (e) {
      this.report(e); // served relayed then
    }
  }

  /** Withdraws the offer (a guest that mapped it keeps it until it disconnects; the front serves that page then). */
  withdraw(dev: EmudevResources): void {
    if (this.#offer === undefined || dev.state !== "started") return;
    try {
      dev.offerRegionFile(REGISTER_BAR, undefined);
    } catch (e) {
      if (!isEmudevError(e)) throw e;
    }
  }

  /** Direct if the connected guest maps the delegate's page, else the relay from the page it maps. */
  async ensure(dev: EmudevResources): Promise<DoorbellMode> {
    let region: ReturnType<EmudevResources["regions"]>[number] | undefined;
    try {
      region = dev.connected ? dev.regions().find((x) => x.index === REGISTER_BAR) : undefined;
    } catch (e) {
      if (!isEmudevError(e)) throw e; // not started
    }
    const fd = region?.fd;
    const size = region?.memory?.length ?? 0;
    if (region !== undefined && this.#offer !== undefined && region.offer === this.#offer) {
      await this.stop();
      this.#mode = "direct";
      return this.#mode;
    }
    if (fd === undefined || size === 0) {
      await this.stop();
      return this.#mode;
    }
    if (this.#relay?.fd === fd) return this.#mode;
    await this.stop();
    const { to, tails } = relayTargets(this.driver);
    const relay = new DoorbellRelay({ fd, offset: region?.offset ?? 0n, size }, to, tails, this.report);
    this.#relay = { fd, relay };
    this.#mode = "relayed";
    this.setEnabled(dev);
    return this.#mode;
  }

  /**
   * The relay copies the tails of queues enabled on the front only (called synchronously with queue changes): a front
   * reset's zeroed tails do not reach a delegate queue still enabled until our DISABLE_QUEUES lands, and once the
   * front enables the queue again the guest's tail is copied at once — before the delegate's ENABLE_QUEUES, which
   * needs a virtchnl round trip — so the delegate never starts a ring on a tail of the old one.
   */
  setEnabled(dev: EmudevResources | undefined): void {
    const relay = this.#relay?.relay;
    if (relay === undefined) return;
    let mask = 0;
    if (dev !== undefined)
      for (let q = 0; q < this.driver.queueCount; q++) {
        if (dev.queue(txQueueId(q)).enabled) mask |= 1 << (2 * q);
        if (dev.queue(rxQueueId(q)).enabled) mask |= 1 << (2 * q + 1);
      }
    relay.setEnabled(mask);
  }

  async stop(): Promise<void> {
    const r = this.#relay;
    this.#relay = undefined;
    this.#mode = "none";
    await r?.relay.stop();
  }
}

/** The delegate's doorbell areas and where each tail is in them, for the relay. */
function relayTargets(driver: IavfDriver): { to: RelayFile[]; tails: RelayTail[] } {
  const to: RelayFile[] = [];
  const tails: RelayTail[] = [];
  for (const p of driver.queuePairs) {
    for (const ring of [p.tx, p.rx]) {
      const f = ring.doorbellFile;
      if (f === undefined)
        throw new Error("the delegate's tail registers are not in mapped memory: nothing to relay to");
      let i = to.findIndex((t) => t.fd === f.fd && t.offset === f.offset);
      if (i < 0) i = to.push({ fd: f.fd, offset: f.offset, size: f.size }) - 1;
      tails.push({ from: ring.kind === "tx" ? qtxTail(p.id) : qrxTail(p.id), file: i, at: f.at });
    }
  }
  return { to, tails };
}

/** BAR0's start in the file holding every tail register of the delegate, if one file holds them all at BAR0's layout. */
function delegateBarFile(driver: IavfDriver): RegionFileOffer | undefined {
  let offer: RegionFileOffer | undefined;
  for (const p of driver.queuePairs) {
    for (const ring of [p.tx, p.rx]) {
      const f = ring.doorbellFile;
      if (f === undefined) return undefined;
      const start = f.offset - BigInt(ring.tailOffset - f.at); // the area's region offset, taken off its file offset
      if (start < 0n) return undefined;
      if (offer === undefined) offer = { fd: f.fd, offset: start };
      else if (offer.fd !== f.fd || offer.offset !== start) return undefined;
    }
  }
  return offer;
}
