import { Transaction, type Psbt } from 'bitcoinjs-lib';
import { parseAccountDescriptor } from '../core/descriptor.js';
import { CodedError } from '../core/errors.js';
import { parseNetwork } from '../core/network.js';
import { isLivePayout, PAYOUT } from '../core/payout-state.js';
import type { ChainSource, ChainStore, PayoutRow, PayoutStore } from '../core/ports.js';
import { buildPayoutPsbt, selectCoins } from '../core/psbt-build.js';
import { manifestOf, previousTx, verifySignedPayout, type BuiltRecord, type PrevTxSource } from './payout.js';

/**
 * Issue 16: a payout never gets stuck and never pays twice.
 *
 * - `abandonPayout`: give up a payout the node has never seen (neither in
 *   its mempool nor in a block); its withdrawals go back to approved. Its
 *   coins stay reserved: the next payout of those withdrawals must spend one
 *   (flows/payout-conflicts.ts), so if a signed copy of the abandoned one is
 *   ever broadcast, at most one of the two confirms.
 * - `cancelPayout`: a payout of no withdrawal that sends one input of a
 *   given-up payout back to our change; once it confirms, the given-up one
 *   can never confirm and its coins are free.
 * - `recordSigned`: the operator box's first sight of a signed PSBT.
 */

/** What the node had to say before a payout was given up (audited with it). */
export interface NodeEvidence {
  readonly node: string;
  readonly nodeTip: number;
  readonly syncedTip: number;
  readonly checked: readonly string[];
}

export type AbandonSource = Pick<ChainSource, 'label' | 'tipHeight' | 'mempoolTxids' | 'rawTransaction'>;

/** The live payouts paying any withdrawal of `p` (its bump versions), `p` first. */
async function versionsOf(store: PayoutStore, p: PayoutRow): Promise<PayoutRow[]> {
  const mine = new Set((await store.outputs(p.id)).flatMap((o) => (o.withdrawalId === undefined ? [] : [o.withdrawalId])));
  const out = [p];
  if (mine.size === 0) return out;
  for (const q of await store.list(['built', 'signed', 'broadcast'])) {
    if (q.id !== p.id && (await store.outputs(q.id)).some((o) => o.withdrawalId !== undefined && mine.has(o.withdrawalId))) out.push(q);
  }
  return out;
}

/**
 * Refuse unless the node has never seen any version: not in its mempool, not
 * known to getrawtransaction (mempool, or a block with -txindex), not spent
 * by it in the chain record, and the chain record is synced to the node's tip
 * (a node without -txindex cannot find a mined transaction: the chain record
 * is where a mined one shows). A node that does not answer: UNAVAILABLE.
 */
export async function assertUnseen(chain: ChainStore, store: PayoutStore, source: AbandonSource, versions: readonly PayoutRow[]): Promise<NodeEvidence> {
  const nodeTip = await source.tipHeight();
  const synced = await chain.tip();
  if (synced === undefined || synced.height < nodeTip) {
    throw new CodedError('REFUSED', `the chain record is at height ${synced?.height ?? 'none'}, the node (${source.label}) at ${nodeTip}: a payout mined in between would not be seen; nothing was abandoned`, { hint: 'run `coldpool chain sync` first' });
  }
  const mempool = new Set(await source.mempoolTxids());
  const checked: string[] = [];
  for (const v of versions) {
    const txids = [...new Set([v.unsignedTxid, ...(v.txid ? [v.txid] : [])])];
    for (const txid of txids) {
      if (mempool.has(txid)) throw seen(v, txid, `is in the mempool of ${source.label}`);
      if ((await source.rawTransaction(txid)) !== undefined) throw seen(v, txid, `is known to ${source.label} (its mempool or a block)`);
      const { coins } = await store.spends(v.id);
      const spent = coins.find((c) => c.spentTxid === txid);
      if (spent) throw seen(v, txid, spent.spentHeight === undefined ? 'spends its coins in the mempool (chain record)' : `was mined at height ${spent.spentHeight} (chain record)`);
      checked.push(txid);
    }
  }
  return { node: source.label, nodeTip, syncedTip: synced.height, checked };
}

function seen(v: PayoutRow, txid: string, where: string): CodedError {
  return new CodedError('STATE_CONFLICT', `payout ${v.id} (${txid}) ${where}: it may confirm, so it is not abandoned`, {
    hint: 'wait for it to confirm (`coldpool chain sync`, `payout status`), or bump its fee: coldpool payout bump ID --fee-rate R', context: { payout: v.id.toString(), txid },
  });
}

export interface AbandonResult {
  /** The payouts given up: the one named and its other live versions. */
  readonly payouts: readonly bigint[];
  /** Withdrawals back to approved. */
  readonly withdrawals: readonly bigint[];
  readonly evidence: NodeEvidence;
  /** True when a signed copy was seen by the operator box (it can be broadcast by whoever holds it: the next payout conflicts with it). */
  readonly signedCopy: boolean;
}

export async function abandonPayout(store: PayoutStore, chain: ChainStore, source: AbandonSource, id: bigint, reason: string, actor: string): Promise<AbandonResult> {
  if (reason.trim().length === 0) throw new CodedError('USAGE', '"--reason" expected a reason (it is audited), got ""');
  const p = await store.get(id);
  if (!p) throw new CodedError('NOT_FOUND', `payout ${id} does not exist`, { hint: 'see coldpool payout status' });
  if (!isLivePayout(p.status)) throw new CodedError('STATE_CONFLICT', `payout ${id} is ${p.status}; only a built, signed or broadcast payout can be abandoned`);
  const versions = await versionsOf(store, p);
  const evidence = await assertUnseen(chain, store, source, versions);
  const ids = versions.map((v) => v.id);
  const withdrawals = await store.abandon(ids, reason.trim(), actor, { node: evidence.node, nodeTip: evidence.nodeTip, checked: evidence.checked, versions: ids });
  return { payouts: ids, withdrawals, evidence, signedCopy: versions.some((v) => v.signedPsbt !== undefined || v.status !== PAYOUT.built) };
}

/**
 * A payout of no withdrawal spending one input of given-up payout `id` (the
 * largest one no live payout spends yet) back to the next change address, at
 * `feeRateSatKvb` and above the given-up payout's fee (so it would replace it
 * in a mempool, BIP125). Signed offline and broadcast like any payout.
 */
export async function cancelPayout(store: PayoutStore, chain: ChainStore, source: PrevTxSource, id: bigint, feeRateSatKvb: bigint, actor: string, minConf = 1): Promise<BuiltRecord> {
  const p = await store.get(id);
  if (!p) throw new CodedError('NOT_FOUND', `payout ${id} does not exist`, { hint: 'see coldpool payout status' });
  if (p.status !== PAYOUT.abandoned) {
    throw new CodedError('STATE_CONFLICT', `payout ${id} is ${p.status}; only an abandoned payout is cancelled`, { hint: isLivePayout(p.status) ? `abandon it first: coldpool payout abandon ${id} --reason R` : undefined });
  }
  const ws = (await store.outputs(id)).flatMap((o) => (o.withdrawalId === undefined ? [] : [o.withdrawalId]));
  const claim = (await store.abandonedClaims(ws)).find((c) => c.payoutId === id);
  if (!claim || claim.confirmedItself) throw new CodedError('STATE_CONFLICT', `payout ${id} confirmed: nothing to cancel`, { hint: 'run `coldpool payout status` to record it' });
  if (claim.killedBy.length > 0) throw new CodedError('STATE_CONFLICT', `payout ${id} can never confirm already: its coin was spent in a block by ${claim.killedBy.join(', ')}`);
  const a = await store.account();
  const network = parseNetwork(a.network);
  const account = parseAccountDescriptor(a.descriptor, network);
  const free = (await chain.coins(minConf)).filter((c) => c.spendable && claim.inputs.includes(`${c.txid}:${c.vout}`) && !claim.takenByLive.includes(`${c.txid}:${c.vout}`));
  const coin = free.sort((x, y) => (y.valueSat > x.valueSat ? 1 : y.valueSat < x.valueSat ? -1 : 0))[0];
  if (!coin) {
    throw new CodedError('REFUSED', `no input of payout ${id} is free to cancel it with (spent by live payout(s), unconfirmed, or spent in the mempool)`, {
      hint: claim.takenByLive.length > 0 ? 'a live payout spending one of its coins conflicts with it already: broadcast that one' : 'run `coldpool chain sync`, then `payout status`',
    });
  }
  const changeIndex = await store.nextChangeIndex();
  const req = { network, account, payments: [], feeRateSatKvb, replacesFeeSat: p.feeSat, changeIndex, changeOnly: true } as const;
  const plan = selectCoins({ ...req, coins: [], mustSpend: [coin] });
  const built = buildPayoutPsbt({
    ...req, coins: [], selection: plan.selection,
    mustSpend: [{ txid: coin.txid, vout: coin.vout, valueSat: coin.valueSat, script: coin.script, chain: coin.chain, index: coin.index, prevTx: await previousTx(source, coin) }],
  });
  const newId = await store.insert(built, actor, undefined, { cancels: id });
  return { id: newId, built, manifest: manifestOf(network, built) };
}

export interface RecordSignedResult {
  readonly id: bigint;
  readonly status: string;
  /** false when it was already recorded as signed (or further). */
  readonly recorded: boolean;
}

/** `payout record-signed`: check the signed PSBT is the payout as built (broadcast's check), then record it signed. */
export async function recordSigned(store: PayoutStore, signed: Psbt, actor: string): Promise<RecordSignedResult> {
  const a = await store.account();
  const unsignedTxid = Transaction.fromBuffer(Buffer.from(signed.data.getTransaction())).getId();
  const payout = await store.byUnsignedTxid(unsignedTxid);
  if (!payout) throw new CodedError('REFUSED', `the signed PSBT (unsigned txid ${unsignedTxid}) is not a payout built here`, { context: { unsigned_txid: unsignedTxid } });
  verifySignedPayout(payout, await store.outputs(payout.id), signed, parseNetwork(a.network));
  const recorded = await store.markSigned(payout.id, signed.toBase64(), actor);
  return { id: payout.id, status: (await store.get(payout.id))!.status, recorded };
}
