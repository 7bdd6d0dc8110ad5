/**
 * The steps of the Linux driver's bring-up, shared by the first attach and the re-initialisation after a reset:
 * wait for VFGEN_RSTAT, VERSION, GET_VF_RESOURCES (parsed as `iavf_parse_vf_resource_msg`), then the configuration
 * the watchdog sends one message at a time in its priority order: CONFIG_IRQ_MAP, ADD_ETH_ADDR, CONFIG_VSI_QUEUES,
 * ENABLE_QUEUES, then RSS (CONFIG_RSS_KEY and CONFIG_RSS_LUT when RSS_PF was granted, else the VFQF registers).
 */
import {
  DEFAULT_RSS_HENA,
  EthAddrType,
  encodeVirtchnl,
  type GetVfResourcesReply,
  PromiscFlag,
  Reg,
  RSS_KEY_SIZE,
  RSS_LUT_SIZE,
  VFGEN_RSTAT_VFR_STATE_MASK,
  VfCap,
  VfrState,
  VIRTCHNL_VERSION_MAJOR,
  VIRTCHNL_VERSION_MINOR,
  VirtchnlOp,
  VsiType,
  vfqfHena,
  vfqfHkey,
  vfqfHlut,
} from "@emu/iavf-common";
import { IavfClientError } from "./errors.js";
import type { DriverContext } from "./internal/context.js";
import { delay } from "./internal/delay.js";
import { isUsableMac, randomMac } from "./options.js";
import { irqMapMessage, vsiQueuesMessage } from "./queues.js";

/** Polls VFGEN_RSTAT every 10 ms until its state is one of `states` (rejects with `Timeout` after `timeoutMs`). */
export async function waitResetState(
  ctx: DriverContext,
  states: readonly number[],
  timeoutMs: number,
): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = (await ctx.bar.read(Reg.VFGEN_RSTAT)) & VFGEN_RSTAT_VFR_STATE_MASK;
    if (states.includes(s)) return s;
    if (Date.now() > end) {
      throw new IavfClientError("Timeout", `VFGEN_RSTAT stayed ${s} for ${timeoutMs} ms (waiting for ${states})`);
    }
    await delay(10);
  }
}

/** `iavf_check_reset_complete`: the VF is out of reset (COMPLETED or VFACTIVE). */
export const waitOutOfReset = (ctx: DriverContext) =>
  waitResetState(ctx, [VfrState.COMPLETED, VfrState.VFACTIVE], ctx.options.resetTimeoutMs);

/** VERSION {1, 1}; a PF above 1.1 is refused (`iavf_verify_api_ver`). */
export async function negotiateVersion(ctx: DriverContext): Promise<void> {
  const req = encodeVirtchnl({ kind: "VersionRequest", major: VIRTCHNL_VERSION_MAJOR, minor: VIRTCHNL_VERSION_MINOR });
  const r = await ctx.mailbox.request(VirtchnlOp.VERSION, req.payload);
  if (r.kind !== "VersionReply") throw new IavfClientError("BadReply", `VERSION answered with ${r.kind}`);
  if (r.major > VIRTCHNL_VERSION_MAJOR || (r.major === VIRTCHNL_VERSION_MAJOR && r.minor > VIRTCHNL_VERSION_MINOR)) {
    throw new IavfClientError("Unsupported", `unsupported PF API version ${r.major}.${r.minor}, expected 1.1`);
  }
  ctx.pfVersion = { major: r.major, minor: r.minor };
}

/**
 * GET_VF_RESOURCES: the capability word when the PF speaks 1.1 (none for 1.0), then the SR-IOV VSI, the queue count
 * asked for against what it offers, the vector count (min(pairs + 1, max_vectors)) and the MAC.
 */
export async function getResources(ctx: DriverContext): Promise<GetVfResourcesReply> {
  const v11 = ctx.pfVersion?.major === 1 && ctx.pfVersion.minor === 1;
  const req = encodeVirtchnl(
    v11 ? { kind: "GetVfResourcesRequest", capabilities: ctx.options.capabilities } : { kind: "GetVfResourcesRequest" },
  );
  const r = await ctx.mailbox.request(VirtchnlOp.GET_VF_RESOURCES, req.payload);
  if (r.kind !== "GetVfResourcesReply") throw new IavfClientError("BadReply", `GET_VF_RESOURCES answered ${r.kind}`);
  const vsi = r.vsis.find((v) => v.vsiType === VsiType.SRIOV);
  if (vsi === undefined) throw new IavfClientError("Unsupported", "no LAN VSI (type SR-IOV) in GET_VF_RESOURCES");
  const want = ctx.options.queuePairs;
  if (want > vsi.numQueuePairs || want > r.numQueuePairs) {
    throw new IavfClientError(
      "Unsupported",
      `${want} queue pairs asked for, the PF gives ${Math.min(vsi.numQueuePairs, r.numQueuePairs)}`,
    );
  }
  const vectors = Math.min(want + 1, r.maxVectors);
  if (vectors < 2) throw new IavfClientError("Unsupported", `the PF gives ${r.maxVectors} vector(s); 2 are needed`);
  if (ctx.vectors !== 0 && vectors !== ctx.vectors) {
    throw new IavfClientError("Unsupported", `the PF now gives ${r.maxVectors} vectors (${ctx.vectors} in use)`);
  }
  ctx.vectors = vectors;
  ctx.resources = r;
  ctx.vsi = vsi;
  if (ctx.options.mac !== undefined) ctx.mac = ctx.options.mac;
  else if (isUsableMac(vsi.defaultMac)) ctx.mac = vsi.defaultMac;
  else if (ctx.mac === "") ctx.mac = randomMac();
  return r;
}

const granted = (ctx: DriverContext, cap: number): boolean => ((ctx.resources?.capabilities ?? 0) & cap) !== 0;

function vsiId(ctx: DriverContext): number {
  if (ctx.vsi === undefined) throw new IavfClientError("Unsupported", "GET_VF_RESOURCES has not been answered");
  return ctx.vsi.vsiId;
}

/** CONFIG_IRQ_MAP, ADD_ETH_ADDR (the primary MAC), CONFIG_VSI_QUEUES: what Linux sends before ENABLE_QUEUES. */
export async function configureQueues(ctx: DriverContext): Promise<void> {
  const vsi = vsiId(ctx);
  const send = (m: Parameters<typeof encodeVirtchnl>[0]) => {
    const e = encodeVirtchnl(m);
    return ctx.mailbox.request(e.opcode, e.payload);
  };
  await send(irqMapMessage(vsi, ctx.pairs, ctx.vectors - 1));
  await send({ kind: "AddEthAddr", vsiId: vsi, addresses: [{ mac: ctx.mac, type: EthAddrType.PRIMARY }] });
  for (const p of ctx.pairs) {
    p.tx.bytes.fill(0);
    p.rx.bytes.fill(0);
  }
  const o = ctx.options;
  await send(vsiQueuesMessage(vsi, ctx.pairs, o.rxBufferSize, o.maxPacketSize));
  ctx.dataPath?.restart(); // RX buffers posted, the tails written, before ENABLE_QUEUES
}

/** ENABLE_QUEUES for every pair in one message (rx = tx = 2^n − 1), as `iavf_enable_queues`. */
export async function enableQueues(ctx: DriverContext): Promise<void> {
  const mask = 2 ** ctx.pairs.length - 1;
  const e = encodeVirtchnl({ kind: "EnableQueues", vsiId: vsiId(ctx), rxQueues: mask, txQueues: mask });
  await ctx.mailbox.request(e.opcode, e.payload);
}

/** DISABLE_QUEUES for every pair, as `iavf_disable_queues`. */
export async function disableQueues(ctx: DriverContext): Promise<void> {
  const mask = 2 ** ctx.pairs.length - 1;
  const e = encodeVirtchnl({ kind: "DisableQueues", vsiId: vsiId(ctx), rxQueues: mask, txQueues: mask });
  await ctx.mailbox.request(e.opcode, e.payload);
}

/** DEL_ETH_ADDR of the primary MAC. */
export async function deleteMac(ctx: DriverContext): Promise<void> {
  const e = encodeVirtchnl({
    kind: "DelEthAddr",
    vsiId: vsiId(ctx),
    addresses: [{ mac: ctx.mac, type: EthAddrType.PRIMARY }],
  });
  await ctx.mailbox.request(e.opcode, e.payload);
}

/** CONFIG_PROMISCUOUS_MODE with unicast and multicast on, when the options ask for it (after RSS, as Linux). */
export async function configurePromiscuous(ctx: DriverContext): Promise<void> {
  if (!ctx.options.promiscuous) return;
  const m = encodeVirtchnl({
    kind: "ConfigPromiscuousMode",
    vsiId: vsiId(ctx),
    flags: PromiscFlag.UNICAST | PromiscFlag.MULTICAST,
  });
  await ctx.mailbox.request(m.opcode, m.payload);
}

/**
 * GET_RSS_HENA_CAPS, then SET_RSS_HENA with the offered part of the asked pctypes (`rssHena`: true is Linux's default
 * set, and all offered if none of it is).
 */
async function setHena(ctx: DriverContext): Promise<void> {
  const caps = encodeVirtchnl({ kind: "GetRssHenaCapsRequest" });
  const r = await ctx.mailbox.request(caps.opcode, caps.payload);
  if (r.kind !== "GetRssHenaCapsReply") throw new IavfClientError("BadReply", `GET_RSS_HENA_CAPS answered ${r.kind}`);
  const asked = ctx.options.rssHena;
  const hena = asked === true ? r.hena & DEFAULT_RSS_HENA || r.hena : r.hena & (asked === false ? 0n : asked);
  const set = encodeVirtchnl({ kind: "SetRssHena", hena });
  await ctx.mailbox.request(set.opcode, set.payload);
}

/**
 * `iavf_init_rss` + `iavf_config_rss`: a random key (or the `rssKey` option's) and LUT[i] = i mod queues, sent with CONFIG_RSS_KEY and
 * CONFIG_RSS_LUT when RSS_PF was granted; written to VFQF_HENA/HKEY/HLUT (one word past each array, as Linux does)
 * when neither RSS_PF nor RSS_AQ was. With RSS_AQ alone nothing is configured (the AQ RSS commands are not done).
 */
export async function configureRss(ctx: DriverContext): Promise<void> {
  const rssPf = granted(ctx, VfCap.OFFLOAD_RSS_PF);
  const keySize = rssPf ? (ctx.resources?.rssKeySize ?? 0) : RSS_KEY_SIZE;
  const lutSize = rssPf ? (ctx.resources?.rssLutSize ?? 0) : RSS_LUT_SIZE;
  const given = ctx.options.rssKey;
  if (given !== undefined && given.length !== keySize)
    throw new IavfClientError("InvalidArgument", `rssKey has ${given.length} bytes; the VF's RSS key has ${keySize}`);
  ctx.rssKey ??= given ?? crypto.getRandomValues(new Uint8Array(keySize));
  const lut = Uint8Array.from({ length: lutSize }, (_, i) => i % ctx.pairs.length);
  if (rssPf) {
    const vsi = vsiId(ctx);
    for (const m of [
      encodeVirtchnl({ kind: "ConfigRssKey", vsiId: vsi, bytes: ctx.rssKey }),
      encodeVirtchnl({ kind: "ConfigRssLut", vsiId: vsi, bytes: lut }),
    ]) {
      await ctx.mailbox.request(m.opcode, m.payload);
    }
    if (ctx.options.rssHena !== false) await setHena(ctx);
    return;
  }
  if (granted(ctx, VfCap.OFFLOAD_RSS_AQ)) return;
  const hena = typeof ctx.options.rssHena === "bigint" ? ctx.options.rssHena : DEFAULT_RSS_HENA;
  await ctx.bar.write(vfqfHena(0), Number(hena & 0xffff_ffffn));
  await ctx.bar.write(vfqfHena(1), Number(hena >> 32n));
  const word = (b: Uint8Array, i: number) =>
    (b[4 * i] ?? 0) | ((b[4 * i + 1] ?? 0) << 8) | ((b[4 * i + 2] ?? 0) << 16) | ((b[4 * i + 3] ?? 0) << 24);
  for (let i = 0; i <= keySize / 4; i++) await ctx.bar.write(vfqfHkey(i), word(ctx.rssKey, i));
  for (let i = 0; i <= lutSize / 4; i++) await ctx.bar.write(vfqfHlut(i), word(lut, i));
}
