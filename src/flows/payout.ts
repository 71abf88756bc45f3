import { Block, Psbt, Transaction } from 'bitcoinjs-lib';
import type { ChainSource, ChainStore } from '../core/ports.js';
import { parseAccountDescriptor, type AccountDescriptor } from '../core/descriptor.js';
import { CodedError } from '../core/errors.js';
import { parseNetwork, type Network } from '../core/network.js';
import { bip143AllHasher, verifyP2wpkhSignature } from '../core/p2wpkh-signature.js';
import { MANIFEST_VERSION, type PayoutManifest } from '../core/payout-manifest.js';
import { isLivePayout, PAYOUT, type AbandonKind, type PayoutStatus } from '../core/payout-state.js';
import {
  buildPayoutPsbt, DEFAULT_MAX_OUTPUTS, PAYOUT_WEIGHT_CAP, selectCoins, type BuiltPayout, type CandidateCoin, type Payment, type SpendableCoin,
} from '../core/psbt-build.js';
import { planPayoutParts } from '../core/payout-split.js';
import { parsePsbt } from '../core/psbt-inspect.js';
import type { AbandonedClaim, ApprovedWithdrawal, LeftOut, PayoutRow, PayoutStore } from '../core/ports.js';
import { conflictCoins, conflictGroups } from './payout-conflicts.js';
import { payability, type Payability } from '../core/approval-standing.js';
import type { ManifestApproval } from '../core/payout-manifest.js';
import type { Attestation } from '../core/attestation.js';
import type { Trust } from '../core/trust.js';

/**
 * DESIGN flows 8 and 10: build a payout (approved withdrawals → one PSBT per
 * standard transaction: at most `maxOutputs` withdrawals and PAYOUT_WEIGHT_CAP
 * weight each, src/core/payout-split.ts), broadcast the signed PSBT, follow it to
 * confirmation through the chain record, bump its fee (RBF). No argv, no tty:
 * the CLI (src/cli/online/payout.ts) and the demo call these.
 */

export interface BuildOptions {
  readonly actor: string;
  /** sat/kvB; or `targetBlocks` for the node's estimatesmartfee. */
  readonly feeRateSatKvb?: bigint;
  readonly targetBlocks?: number;
  readonly ids?: readonly bigint[];
  readonly maxOutputs?: number;
  /** Heaviest payout transaction (estimated weight); default PAYOUT_WEIGHT_CAP. */
  readonly maxWeight?: number;
  /** Confirmations a coin needs to be spent (default 1). */
  readonly minConf?: number;
  /** The operator box's trust file: whose approvals count, how many it takes. */
  readonly trust: Trust;
  /** Told about the approved withdrawals left out (after they are recorded and audited), before any payout is built. */
  readonly onLeftOut?: (leftOut: readonly LeftOut[]) => void;
  /**
   * Shown every PSBT before anything is recorded or locked (the CLI checks
   * `--qr` fits here); a throw refuses the build with nothing written.
   */
  readonly beforeRecord?: (built: readonly BuiltPayout[]) => void;
  /** Told about withdrawals held back because an abandoned payout of theirs may still confirm and none of its coins is free (not recorded: the next build tries again). */
  readonly onHeld?: (held: readonly { id: bigint; payout: bigint; reason: string }[]) => void;
}

export interface BuiltRecord {
  readonly id: bigint;
  readonly built: BuiltPayout;
  readonly manifest: PayoutManifest;
}

/** A node source is needed only for previous transactions (and --target); the demo passes its own. */
export type PrevTxSource = Pick<ChainSource, 'rawTransaction' | 'blockHash' | 'rawBlock' | 'label'> & Partial<Pick<ChainSource, 'estimateFeeRateSatKvb'>>;

async function accountOf(store: PayoutStore): Promise<{ network: Network; account: AccountDescriptor }> {
  const a = await store.account();
  const network = parseNetwork(a.network);
  return { network, account: parseAccountDescriptor(a.descriptor, network) };
}

/** The previous transaction of a coin: getrawtransaction, else read from its block (no txindex needed). */
export async function previousTx(source: PrevTxSource, coin: CandidateCoin & { height?: number | undefined }): Promise<Uint8Array> {
  const raw = await source.rawTransaction(coin.txid);
  if (raw !== undefined) return raw;
  if (coin.height !== undefined) {
    const hash = await source.blockHash(coin.height);
    const block = hash === undefined ? undefined : await source.rawBlock(hash);
    if (hash !== undefined && block !== undefined) {
      const tx = Block.fromBuffer(Buffer.from(block)).transactions?.find((t) => t.getId() === coin.txid);
      if (tx) return tx.toBuffer();
    }
  }
  throw new CodedError('UNAVAILABLE', `${source.label} has no transaction ${coin.txid} (needed as non_witness_utxo of coin ${coin.txid}:${coin.vout})`, { hint: 'run `coldpool chain sync` against a node that has the block' });
}

async function withPrev(source: PrevTxSource, coins: readonly (CandidateCoin & { height?: number | undefined })[]): Promise<SpendableCoin[]> {
  const out: SpendableCoin[] = [];
  // coins of one deposit transaction share it: asked of the node once
  const fetched = new Map<string, Uint8Array>();
  for (const c of coins) {
    let prevTx = fetched.get(c.txid);
    if (prevTx === undefined) fetched.set(c.txid, (prevTx = await previousTx(source, c)));
    out.push({ txid: c.txid, vout: c.vout, valueSat: c.valueSat, script: c.script, chain: c.chain, index: c.index, prevTx });
  }
  return out;
}

async function feeRateOf(source: PrevTxSource, opts: { feeRateSatKvb?: bigint; targetBlocks?: number }): Promise<bigint> {
  if (opts.feeRateSatKvb !== undefined) return opts.feeRateSatKvb;
  const target = opts.targetBlocks ?? 6;
  const rate = await source.estimateFeeRateSatKvb?.(target);
  if (rate === undefined) throw new CodedError('UNAVAILABLE', `${source.label} has no fee estimate for ${target} blocks`, { hint: 'give --fee-rate SAT_PER_VB' });
  return rate < 1000n ? 1000n : rate;
}

type ChainCoin = CandidateCoin & { height: number | undefined };

/** Spendable coins of the chain record not spent by a live payout nor reserved by an abandoned one; `except` lets reserved coins of these claims through. */
async function freeCoins(store: PayoutStore, chain: ChainStore, minConf: number, except: readonly AbandonedClaim[] = []): Promise<ChainCoin[]> {
  const locked = await store.lockedOutpoints();
  const claimable = new Set(except.flatMap((c) => c.inputs.filter((i) => !c.takenByLive.includes(i))));
  return (await chain.coins(minConf))
    .filter((c) => c.spendable && (!locked.has(`${c.txid}:${c.vout}`) || claimable.has(`${c.txid}:${c.vout}`)))
    .map((c) => ({ txid: c.txid, vout: c.vout, valueSat: c.valueSat, script: c.script, chain: c.chain, index: c.index, height: c.height }));
}

/** What one output carries to the signer: the operators' approval and, when the trust file names a verifier, its attestation over the same content. */
export interface OutputProof {
  readonly approval: ManifestApproval;
  readonly attestation: Attestation | undefined;
}

/** `proofs` by withdrawal id: each output carries the content signed, the signatures and the attestation, for the signer to check against its own trust file. */
export function manifestOf(network: Network, built: BuiltPayout, proofs: ReadonlyMap<bigint, OutputProof> = new Map()): PayoutManifest {
  return {
    version: MANIFEST_VERSION, network: network.name, unsignedTxid: built.unsignedTxid,
    // the manifest file carries the id as a string (its wire format)
    outputs: built.outputs.map((o) => {
      const proof = proofs.get(o.withdrawalId);
      return {
        withdrawalId: o.withdrawalId.toString(), address: o.address, amountSat: o.amountSat,
        ...(proof ? { approval: proof.approval } : {}), ...(proof?.attestation ? { attestation: proof.attestation } : {}),
      };
    }),
    change: built.change ? [{ address: built.change.address, amountSat: built.change.amountSat, path: built.change.path }] : [],
  };
}

/**
 * Build the payouts of the approved withdrawals (or of `ids`), one per
 * standard transaction (`planPayoutParts`), each recorded with its
 * withdrawals locked to it. Every PSBT is built, and shown to
 * `beforeRecord`, before anything is written: a build refused for funds,
 * weight or `beforeRecord` leaves no payout, lock, exclusion or audit entry.
 * With nothing payable at all, the left-out ones are still recorded.
 */
export async function buildPayouts(store: PayoutStore, chain: ChainStore, source: PrevTxSource, opts: BuildOptions): Promise<BuiltRecord[]> {
  const { network, account } = await accountOf(store);
  if (opts.trust.network !== network.name) {
    throw new CodedError('NETWORK_MISMATCH', `the trust file is for ${opts.trust.network}, the pool is ${network.name}`, { hint: 'use the trust file of this pool\'s network (--trust, config "trust")' });
  }
  const candidates = await store.approved(opts.ids);
  if (opts.ids && opts.ids.length > 0) {
    const found = new Set(candidates.map((w) => w.id));
    const missing = opts.ids.filter((id) => !found.has(id));
    if (missing.length > 0) throw new CodedError('STATE_CONFLICT', `withdrawal(s) ${missing.join(', ')} are not approved (or do not exist)`, { hint: 'see coldpool withdrawals list --status approved' });
  }
  if (candidates.length === 0) throw new CodedError('STATE_CONFLICT', 'no approved withdrawal to pay', { hint: 'approve some first: coldpool withdrawals approve ID' });
  const { payable, leftOut, approvals } = screenApproved(network, opts.trust, candidates);
  const recordLeftOut = async (): Promise<void> => {
    if (leftOut.length === 0) return;
    await store.leaveOut(leftOut, opts.actor);
    opts.onLeftOut?.(leftOut);
  };
  if (payable.length === 0) {
    await recordLeftOut();
    throw new CodedError('REFUSED', `nothing left to pay: all ${candidates.length} approved withdrawal(s) were left out (${leftOut.map((l) => `${l.id}: ${l.reason}`).join('; ')})`, {
      hint: 'see `coldpool withdrawals list --status approved`; reject or cancel what changed, have operators approve what is missing',
    });
  }
  const feeRateSatKvb = await feeRateOf(source, opts);
  // Withdrawals an abandoned payout paid: the new payout must conflict with it (flows/payout-conflicts.ts); the store checks again.
  const claims = await store.abandonedClaims(payable.map((w) => w.id));
  const claimed = new Set(claims.flatMap((c) => c.inputs));
  const all = await freeCoins(store, chain, opts.minConf ?? 1, claims);
  // reserved coins are offered only as the conflicting input, never as filler
  let coins = all.filter((c) => !claimed.has(`${c.txid}:${c.vout}`));
  const used = new Set<string>();
  let changeIndex = await store.nextChangeIndex();
  const builts: BuiltPayout[] = [];
  const build = async (payments: Payment[], picked: readonly CandidateCoin[], selection: BuiltPayout['selection']): Promise<void> => {
    const keys = new Set(picked.map((p) => `${p.txid}:${p.vout}`));
    const chosen = all.filter((c) => keys.has(`${c.txid}:${c.vout}`));
    const built = buildPayoutPsbt({ network, account, payments, coins: [], mustSpend: await withPrev(source, chosen), feeRateSatKvb, changeIndex, selection });
    builts.push(built);
    for (const k of keys) used.add(k);
    coins = coins.filter((c) => !keys.has(`${c.txid}:${c.vout}`));
    if (built.change) changeIndex++;
  };
  const toPay = (ws: readonly ApprovedWithdrawal[]): Payment[] => ws.map((w) => ({ withdrawalId: w.id, address: w.destination, amountSat: w.amountSat }));
  const { groups, held } = claims.length === 0 ? { groups: [payable], held: [] } : conflictGroups(payable, claims, all, opts.maxOutputs ?? DEFAULT_MAX_OUTPUTS);
  if (held.length > 0) opts.onHeld?.(held);
  if (groups.length === 0) {
    throw new CodedError('REFUSED', `nothing to pay now: ${held.map((h) => `withdrawal ${h.id}: ${h.reason}`).join('; ')}`, { hint: 'see `coldpool payout status`' });
  }
  for (const group of groups) {
    const payments = toPay(group);
    const must = claims.length === 0 ? [] : conflictCoins(claims, new Set(group.map((w) => w.id)), all, used);
    if (must.length === 0) {
      // No abandoned payout to conflict with: split by outputs and weight (core/payout-split.ts).
      for (const part of planPayoutParts({ network, account, payments, coins, feeRateSatKvb, changeIndex, maxOutputs: opts.maxOutputs, maxWeight: opts.maxWeight })) {
        await build(part.payments, part.coins, part.selection);
      }
    } else {
      // One payout spending a coin of each abandoned payout of its withdrawals (conflictGroups keeps them together), under the same weight cap.
      const plan = selectCoins({ network, account, payments, coins, mustSpend: must, feeRateSatKvb, changeIndex, maxWeight: opts.maxWeight ?? PAYOUT_WEIGHT_CAP });
      await build(payments, plan.coins, plan.selection);
    }
  }
  opts.beforeRecord?.(builts);
  await recordLeftOut();
  const records: BuiltRecord[] = [];
  for (const built of builts) records.push({ id: await store.insert(built, opts.actor), built, manifest: manifestOf(network, built, approvals) });
  return records;
}

/**
 * Split the approved withdrawals into what may be paid (the row now is what
 * was signed, by enough distinct trusted operators) and what is left out,
 * with its reason. Pure: the caller records and reports.
 */
export function screenApproved(network: Network, trust: Trust, candidates: readonly ApprovedWithdrawal[]): {
  payable: ApprovedWithdrawal[]; leftOut: LeftOut[]; approvals: Map<bigint, OutputProof>;
} {
  const payable: ApprovedWithdrawal[] = [];
  const leftOut: LeftOut[] = [];
  const approvals = new Map<bigint, OutputProof>();
  for (const w of candidates) {
    const p: Payability = payability(network, trust, w.evidence);
    if (p.payable) {
      payable.push(w);
      approvals.set(w.id, proofOf(p));
    } else {
      leftOut.push({ id: w.id, reason: p.reason, detail: p.detail });
    }
  }
  return { payable, leftOut, approvals };
}

function proofOf(p: Payability & { payable: true }): OutputProof {
  return { approval: { content: p.content, signatures: p.signatures }, attestation: p.attestation };
}

/** Replace payout `id` by a version paying the same withdrawals at a higher fee (BIP125). */
export async function bumpPayout(store: PayoutStore, chain: ChainStore, source: PrevTxSource, id: bigint, feeRateSatKvb: bigint, actor: string, minConf = 1, trust?: Trust): Promise<BuiltRecord> {
  const old = await store.get(id);
  if (!old) throw new CodedError('NOT_FOUND', `payout ${id} does not exist`, { hint: 'see coldpool payout status' });
  if (!isLivePayout(old.status)) throw new CodedError('STATE_CONFLICT', `payout ${id} is ${old.status}; only a built, signed or broadcast payout can be bumped`);
  if (feeRateSatKvb <= old.feeRateSatKvb) {
    throw new CodedError('USAGE', `"--fee-rate" must be above the payout's ${old.feeRateSatKvb} sat/kvB, got ${feeRateSatKvb} sat/kvB`);
  }
  const { network, account } = await accountOf(store);
  const oldPsbt = parsePsbt(old.psbt);
  const outputs = await store.outputs(id);
  const payments: Payment[] = outputs.filter((o) => o.withdrawalId !== undefined).map((o) => ({ withdrawalId: o.withdrawalId!, address: o.address, amountSat: o.amountSat }));
  const changeIndex = outputs.find((o) => o.changeIndex !== undefined)?.changeIndex ?? (await store.nextChangeIndex());
  const mustSpend: SpendableCoin[] = (await store.inputs(id)).map((i) => ({
    txid: i.txid, vout: i.vout, valueSat: i.valueSat, script: Buffer.from(oldPsbt.data.inputs[i.n]!.witnessUtxo!.script).toString('hex'), chain: i.chain, index: i.index,
    prevTx: oldPsbt.data.inputs[i.n]!.nonWitnessUtxo!,
  }));
  const coins = await freeCoins(store, chain, minConf);
  const plan = selectCoins({ network, account, payments, coins, mustSpend, feeRateSatKvb, replacesFeeSat: old.feeSat, changeIndex });
  const extra = coins.filter((c) => plan.coins.some((p) => p.txid === c.txid && p.vout === c.vout));
  const built = buildPayoutPsbt({
    network, account, payments, coins: [], mustSpend: [...mustSpend, ...(await withPrev(source, extra))], feeRateSatKvb, replacesFeeSat: old.feeSat, changeIndex, selection: plan.selection,
  });
  const newId = await store.insert(built, actor, old);
  // The replacement pays what the first version paid; its manifest carries the approvals and attestations that still hold (the signer checks them again).
  const approvals = new Map<bigint, OutputProof>();
  if (trust) {
    const evidence = await store.evidence(payments.map((p) => p.withdrawalId));
    for (const [wid, e] of evidence) {
      const p = payability(network, trust, e);
      if (p.payable) approvals.set(wid, proofOf(p));
    }
  }
  return { id: newId, built, manifest: manifestOf(network, built, approvals) };
}

/** Every (pubkey, signature) of input i: partial signatures, or the final witness. */
function signaturesOf(psbt: Psbt, i: number): { pubkey: Uint8Array; signature: Uint8Array }[] {
  const input = psbt.data.inputs[i]!;
  if (input.finalScriptWitness) {
    const w = input.finalScriptWitness;
    // witness stack of P2WPKH: count, <sig>, <pubkey>
    const items: Uint8Array[] = [];
    let off = 1;
    for (let k = 0; k < w[0]! && off < w.length; k++) {
      const len = w[off]!;
      items.push(w.subarray(off + 1, off + 1 + len));
      off += 1 + len;
    }
    return items.length === 2 ? [{ signature: items[0]!, pubkey: items[1]! }] : [];
  }
  return (input.partialSig ?? []).map((s) => ({ pubkey: s.pubkey, signature: s.signature }));
}

/**
 * Check that `signed` is payout `payout` (same unsigned transaction, same
 * outputs as recorded) and that every input carries a valid SIGHASH_ALL
 * signature by the key the payout named; returns the final transaction.
 */
export function verifySignedPayout(payout: PayoutRow, recorded: readonly { n: number; address: string; amountSat: bigint }[], signed: Psbt, network: Network): Transaction {
  const built = parsePsbt(payout.psbt);
  const ours = Buffer.from(built.data.getTransaction());
  const theirs = Buffer.from(signed.data.getTransaction());
  if (!ours.equals(theirs)) throw new CodedError('REFUSED', `the signed PSBT's unsigned transaction differs from payout ${payout.id} as built (${payout.unsignedTxid})`);
  const tx = Transaction.fromBuffer(ours);
  for (const o of recorded) {
    const out = tx.outs[o.n];
    if (!out || out.value !== o.amountSat) throw new CodedError('REFUSED', `output ${o.n} of payout ${payout.id} should pay ${o.amountSat} sat to ${o.address}`);
  }
  if (tx.outs.length !== recorded.length) throw new CodedError('REFUSED', `payout ${payout.id} has ${recorded.length} outputs recorded, the PSBT ${tx.outs.length}`);
  const final = signed.clone();
  const sighash = bip143AllHasher(tx);
  tx.ins.forEach((_, i) => {
    const spec = built.data.inputs[i]!;
    const pubkey = spec.bip32Derivation![0]!.pubkey;
    const sigs = signaturesOf(signed, i).filter((s) => Buffer.from(s.pubkey).equals(Buffer.from(pubkey)));
    if (sigs.length === 0) throw new CodedError('REFUSED', `input ${i} of payout ${payout.id} is not signed by its key ${Buffer.from(pubkey).toString('hex')}`, { hint: 'sign it with coldpool-offline sign' });
    const bad = verifyP2wpkhSignature(sighash, i, spec.witnessUtxo!.value, pubkey, sigs[0]!.signature);
    if (bad !== undefined) throw new CodedError('REFUSED', `input ${i} of payout ${payout.id}: ${bad}`);
    if (!final.data.inputs[i]!.finalScriptWitness) {
      final.data.inputs[i]!.witnessUtxo = spec.witnessUtxo;
      final.finalizeInput(i);
    }
  });
  void network;
  const extracted = final.extractTransaction(true);
  if (extracted.getId() !== payout.unsignedTxid) throw new CodedError('INTERNAL', `finalized txid ${extracted.getId()} is not the payout's ${payout.unsignedTxid}`);
  return extracted;
}

export interface BroadcastResult {
  readonly id: bigint;
  readonly txid: string;
  /** false when it was already recorded as broadcast (the node was asked again). */
  readonly recorded: boolean;
  readonly testAccept: { allowed: boolean; reason: string | undefined } | undefined;
}

export interface BroadcastOptions {
  /** Where a note for the operator goes (the CLI: stderr): e.g. that the node cannot test the transaction first. */
  readonly warn?: (message: string) => void;
}

/** Broadcast a signed payout: check, verify, finalize, testmempoolaccept (where the node has it), sendrawtransaction, record. */
export async function broadcastPayout(store: PayoutStore, source: Pick<ChainSource, 'testAccept' | 'broadcast' | 'label'>, signed: Psbt, actor: string, opts: BroadcastOptions = {}): Promise<BroadcastResult> {
  const { network } = await accountOf(store);
  const unsignedTxid = Transaction.fromBuffer(Buffer.from(signed.data.getTransaction())).getId();
  const payout = await store.byUnsignedTxid(unsignedTxid);
  if (!payout) {
    throw new CodedError('REFUSED', `the signed PSBT (unsigned txid ${unsignedTxid}) is not a payout built here: refusing to broadcast it`, {
      hint: 'an output, an amount or an input differs from every payout `coldpool payout build` recorded', context: { unsigned_txid: unsignedTxid },
    });
  }
  if (payout.status === PAYOUT.confirmed && payout.txid !== unsignedTxid) {
    throw new CodedError('STATE_CONFLICT', `payout ${payout.id} is ${payout.status}; it is not broadcast again`);
  }
  const tx = verifySignedPayout(payout, (await store.outputs(payout.id)), signed, network);
  // First sight of the signed PSBT (built → signed): from now on a signed copy is known to exist, even if sending fails.
  await store.markSigned(payout.id, signed.toBase64(), actor);
  if (payout.status === PAYOUT.abandoned) {
    throw new CodedError('STATE_CONFLICT', `payout ${payout.id} is abandoned (${payout.abandonKind ?? 'replaced'}${payout.abandonReason ? `: ${payout.abandonReason}` : ''}); it is not broadcast`, {
      hint: payout.abandonKind === 'given_up' ? `its withdrawals went back to approved; a payout of them spends one of its coins, or cancel it: coldpool payout cancel ${payout.id}` : 'another payout paid its withdrawals',
    });
  }
  const hex = tx.toHex();
  const txid = tx.getId();
  const already = payout.status === PAYOUT.broadcast || payout.status === PAYOUT.confirmed;
  const verdict = already ? undefined : await source.testAccept(hex);
  if (verdict !== undefined && 'untested' in verdict) opts.warn?.(`${verdict.untested}: payout ${payout.id} is sent without that test`);
  const testAccept = verdict !== undefined && 'allowed' in verdict ? verdict : undefined;
  if (testAccept && !testAccept.allowed) {
    throw new CodedError('REFUSED', `the node would not accept payout ${payout.id} (${txid}): ${testAccept.reason ?? 'no reason given'}`, { context: { txid } });
  }
  let answered: string | undefined;
  try {
    answered = await source.broadcast(hex);
  } catch (e) {
    if (!already) throw e; // again after a success: the node may say it already has it
  }
  if (answered !== undefined && answered !== txid) {
    // what is recorded is the transaction's own txid, never a node's say-so: a wrong answer is not believed
    throw new CodedError('INVALID_INPUT', `${source.label} answered sendrawtransaction for payout ${payout.id} with txid ${answered}, but the transaction's txid is ${txid}: nothing was recorded`, {
      hint: 'check the node (a Core-compatible node that answers another id?); `coldpool chain sync` and `payout status` will see the transaction if it was relayed', context: { txid, answered },
    });
  }
  const recorded = await store.markBroadcast(payout.id, txid, signed.toBase64(), actor);
  return { id: payout.id, txid, recorded, testAccept };
}

export interface PayoutState {
  readonly id: bigint;
  readonly status: PayoutStatus;
  /** Why it is abandoned: replaced (a bump confirmed), given_up (`payout abandon`), failed (a payout it conflicts with confirmed). */
  readonly abandonKind: AbandonKind | undefined;
  readonly abandonReason: string | undefined;
  readonly unsignedTxid: string;
  readonly txid: string | undefined;
  readonly feeSat: bigint;
  readonly feeRateSatKvb: bigint;
  readonly replaces: bigint | undefined;
  /** A cancel: the given-up payout it makes impossible. */
  readonly cancels: bigint | undefined;
  readonly signedAt: string | undefined;
  readonly confirmations: number;
  /** A coin of this payout was spent in a block by a transaction that is none of the payouts built here. */
  readonly conflict: string | undefined;
  /** What that means and what to do, for the operator. */
  readonly advice: string | undefined;
  readonly withdrawals: readonly { id: bigint; address: string; amountSat: bigint; status: string; paidBy: bigint | undefined }[];
}

/** Something `followPayouts` recorded that an operator must hear of (sent on the alert channels). */
export interface PayoutAlert {
  readonly kind: 'payout-given-up-confirmed' | 'payout-paid-again';
  readonly payout: bigint;
  readonly title: string;
  readonly text: string;
  readonly facts: Readonly<Record<string, unknown>>;
}

/**
 * Follow every live payout, and every abandoned one that may still confirm
 * (a signed copy broadcast by whoever held it), through the chain record:
 * when all its coins are spent in a block by its txid with at least
 * `minConf` confirmations, the payout and its withdrawals become confirmed,
 * other versions abandoned (replaced) and payouts it conflicts with abandoned
 * (failed). A given-up payout confirming, or a withdrawal paid by a second
 * payout, is alerted through `onAlert` (once: the move is guarded).
 */
export async function followPayouts(store: PayoutStore, actor: string, minConf = 1, onAlert: (a: PayoutAlert) => void = () => undefined): Promise<PayoutState[]> {
  const all = await store.list();
  const versions = new Set(all.map((p) => p.unsignedTxid));
  for (const p of all.filter((q) => isLivePayout(q.status) || q.status === PAYOUT.abandoned)) {
    const { tip, coins } = await store.spends(p.id);
    if (coins.length === 0 || tip === undefined) continue;
    const byUs = coins.every((c) => c.spentTxid === p.unsignedTxid && c.spentHeight !== undefined);
    if (!byUs) continue;
    const height = Math.max(...coins.map((c) => c.spentHeight!));
    const conf = tip - height + 1;
    if (conf < minConf) {
      if (isLivePayout(p.status)) await store.setConfirmations(p.id, conf);
      continue;
    }
    const done = await store.markConfirmed(p.id, p.unsignedTxid, conf, actor);
    if (done.wasAbandoned) {
      onAlert({
        kind: 'payout-given-up-confirmed', payout: p.id,
        title: `abandoned payout ${p.id} confirmed anyway`,
        text: `Payout ${p.id} (${p.unsignedTxid}) was abandoned${p.abandonReason ? ` ("${p.abandonReason}")` : ''} but a signed copy was broadcast and confirmed at height ${height}.\n` +
          `Its withdrawals ${done.withdrawals.join(', ')} are recorded as paid by it${done.failed.length > 0 ? `; the payout(s) that conflicted with it (${done.failed.join(', ')}) are abandoned (failed) and paid nothing` : ''}.\n` +
          'Nothing was paid twice. Find out who broadcast it: a signed copy of an abandoned payout was still around.',
        facts: { payout: p.id, txid: p.unsignedTxid, height, withdrawals: done.withdrawals, failed: done.failed },
      });
    }
    if (done.anomalies.length > 0) {
      onAlert({
        kind: 'payout-paid-again', payout: p.id,
        title: `payout ${p.id} paid withdrawal(s) recorded otherwise`,
        text: `Payout ${p.id} (${p.unsignedTxid}) confirmed, paying withdrawal(s) ${done.anomalies.map((a) => `${a.withdrawalId} (recorded ${a.status}${a.payoutId !== undefined ? ` by payout ${a.payoutId}` : ''})`).join(', ')}.\n` +
          'Their records were left as they are; reconcile by hand (audit: withdrawal.paid_again).',
        facts: { payout: p.id, txid: p.unsignedTxid, anomalies: done.anomalies },
      });
    }
  }
  const states: PayoutState[] = [];
  for (const p of await store.list()) {
    const outs = (await store.outputs(p.id)).filter((o) => o.withdrawalId !== undefined);
    const ws = await store.withdrawalStatus(outs.map((o) => o.withdrawalId!));
    let conflict: string | undefined;
    let advice: string | undefined;
    if (isLivePayout(p.status)) {
      const { coins } = await store.spends(p.id);
      const other = coins.find((c) => c.spentTxid !== undefined && c.spentHeight !== undefined && !versions.has(c.spentTxid));
      if (other) {
        conflict = `coin ${other.txid}:${other.vout} was spent in block ${other.spentHeight} by ${other.spentTxid}, which is none of the payouts built here`;
        advice = unknownSpendAdvice(p, outs.map((o) => o.withdrawalId!));
      }
    }
    states.push({
      id: p.id, status: p.status, abandonKind: p.abandonKind, abandonReason: p.abandonReason, unsignedTxid: p.unsignedTxid, txid: p.txid, feeSat: p.feeSat, feeRateSatKvb: p.feeRateSatKvb,
      replaces: p.replacesPayoutId, cancels: p.cancelsPayoutId, signedAt: p.signedAt, confirmations: p.confirmations, conflict, advice,
      withdrawals: outs.map((o) => ({ id: o.withdrawalId!, address: o.address, amountSat: o.amountSat, status: ws.get(o.withdrawalId!)?.status ?? 'gone', paidBy: ws.get(o.withdrawalId!)?.status === 'confirmed' ? ws.get(o.withdrawalId!)?.payoutId : undefined })),
    });
  }
  return states;
}

/** What an unknown spend of a live payout's coin means, and what to do. */
function unknownSpendAdvice(p: PayoutRow, withdrawals: readonly bigint[]): string {
  const who = withdrawals.length > 0 ? `its withdrawal(s) ${withdrawals.join(', ')} are NOT paid by it` : 'it pays no withdrawal';
  return `payout ${p.id} can never confirm, and ${who}. If that transaction is yours (a sweep, another wallet holding the same seed), give the payout up and pay again: ` +
    `coldpool payout abandon ${p.id} --reason "coin spent elsewhere", then coldpool payout build. If you do not know it, someone else can spend the cold wallet's coins: stop signing and investigate before paying anything again.`;
}
