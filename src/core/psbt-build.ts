import { Psbt, Transaction } from 'bitcoinjs-lib';
import { parseAddress } from './address.js';
import { chainNode, childPublicKey, p2wpkhAddress, p2wpkhScript, type PublicNode } from './derive.js';
import { formatPath, type AccountDescriptor } from './descriptor.js';
import { CodedError } from './errors.js';
import { toBitcoinjs, type Network } from './network.js';

/**
 * Build the unsigned payout PSBT (BIP174) from approved withdrawals and the
 * cold wallet's confirmed coins. Pure: no store, no node; the caller passes
 * the coins with their previous transactions and gets back a PSBT plus the
 * exact accounting (inputs = outputs + change + fee).
 *
 * Every input carries `witness_utxo`, `non_witness_utxo` (the full previous
 * transaction, which hardware signers require) and its BIP32 derivation
 * (master fingerprint, `m/84'/c'/0'/chain/index`, pubkey); the change output
 * (`…/1/j`) carries its derivation so the signer recognises it. Every input
 * signals RBF (nSequence 0xfffffffd, BIP125).
 *
 * Coin selection (documented, deterministic):
 * 1. Branch and bound (Murch's algorithm, as in Bitcoin Core): a set of coins
 *    whose effective values (value minus the fee to spend it) cover the
 *    payments and the transaction's fixed part exactly, within the cost of a
 *    change output: no change at all, the excess goes to fee. Depth-first
 *    over coins sorted by effective value, at most BNB_TRIES steps.
 * 2. Otherwise largest-first: add coins by effective value until payments +
 *    fee with a change output are covered; the rest is change. Largest-first
 *    needs the fewest coins, so it is also the lightest set: a branch and bound
 *    set heavier than the weight allowed (`maxWeight`) gives way to it.
 * Change below the dust threshold of P2WPKH (294 sat) is folded into the fee.
 * Splitting a large payout into several transactions by outputs and weight:
 * src/core/payout-split.ts.
 *
 * vsize is estimated for a worst-case 73-byte signature (DER + sighash) per
 * input, so the fee rate of the final transaction is never below the one asked.
 *
 * @see https://github.com/bitcoin/bips/blob/master/bip-0174.mediawiki
 * @see https://github.com/bitcoin/bips/blob/master/bip-0125.mediawiki
 *
 * @example
 * const built = buildPayoutPsbt({ network, account, payments, coins, feeRateSatKvb: 10_000n, changeIndex: 3 });
 * built.psbt.toBase64()
 */

/** RBF: BIP125 opt-in, and no relative lock-time meaning (bit 31 clear but value ≥ 0xfffffffe - 1 ⇒ no BIP68). */
export const RBF_SEQUENCE = 0xfffffffd;
/** Default maximum number of withdrawal outputs in one payout; more are split into several payouts. */
export const DEFAULT_MAX_OUTPUTS = 250;
/** Standard transaction weight limit (Core's MAX_STANDARD_TX_WEIGHT). */
export const MAX_STANDARD_TX_WEIGHT = 400_000;
/**
 * Most weight `payout build` gives one payout (its estimate, worst-case
 * signatures): 10,000 WU under the standard limit, room for a fee bump
 * (`payout bump`) to add about 36 P2WPKH inputs and still relay.
 */
export const PAYOUT_WEIGHT_CAP = 390_000;
/** Core's default incremental relay fee (BIP125 rule 4): 1 sat/vB. */
export const INCREMENTAL_RELAY_SAT_KVB = 1000n;
/** P2WPKH dust threshold at the default dust relay fee (3 sat/vB). */
export const P2WPKH_DUST_SAT = 294n;
const BNB_TRIES = 100_000;

/** Weight of one P2WPKH input: outpoint 36 + script length 1 + sequence 4 (×4), witness 1 + 1 + 73 + 1 + 33. */
export const P2WPKH_INPUT_WEIGHT = 41 * 4 + (1 + 1 + 73 + 1 + 33);
/** Weight of a P2WPKH output: value 8 + length 1 + script 22. */
export const P2WPKH_OUTPUT_WEIGHT = 31 * 4;

/** A coin of the cold wallet that may be spent, with its previous transaction. */
export interface SpendableCoin {
  readonly txid: string;
  readonly vout: number;
  readonly valueSat: bigint;
  /** Output script, hex (must be the P2WPKH of account/chain/index). */
  readonly script: string;
  readonly chain: 0 | 1;
  readonly index: number;
  /** The full previous transaction (serialized), for non_witness_utxo. */
  readonly prevTx: Uint8Array;
}

/** One withdrawal to pay. */
export interface Payment {
  /** The withdrawal's id in the store (`withdrawals.id`). */
  readonly withdrawalId: bigint;
  readonly address: string;
  readonly amountSat: bigint;
}

export interface BuildRequest {
  readonly network: Network;
  /** The cold account, with its key origin (fingerprint and path). */
  readonly account: AccountDescriptor;
  readonly payments: readonly Payment[];
  /** Coins to choose from (confirmed, unspent, not locked by another payout). */
  readonly coins: readonly SpendableCoin[];
  /** Coins that must be inputs (a replacement spends what the original spent). */
  readonly mustSpend?: readonly SpendableCoin[];
  readonly feeRateSatKvb: bigint;
  /** A replacement must pay at least this absolute fee plus the incremental relay fee for its own size (BIP125 rules 3 and 4). */
  readonly replacesFeeSat?: bigint;
  /** The change address index j of `…/1/j`. */
  readonly changeIndex: number;
  /** How the coins were chosen, when the caller chose them with `selectCoins` and passes them as `mustSpend`. */
  readonly selection?: BuiltPayout['selection'];
  /** A cancel (`payout cancel`): no payment, the coins go back to our change only. */
  readonly changeOnly?: boolean;
}

/** A coin as selection sees it (its previous transaction is not needed to choose). */
export type CandidateCoin = Omit<SpendableCoin, 'prevTx'>;

export interface BuiltInput extends CandidateCoin {
  readonly path: string;
}

export interface BuiltOutput {
  readonly vout: number;
  readonly withdrawalId: bigint;
  readonly address: string;
  readonly amountSat: bigint;
}

export interface BuiltChange {
  readonly vout: number;
  readonly address: string;
  readonly amountSat: bigint;
  readonly index: number;
  readonly path: string;
}

export interface BuiltPayout {
  readonly psbt: Psbt;
  readonly unsignedTxid: string;
  readonly inputs: readonly BuiltInput[];
  readonly outputs: readonly BuiltOutput[];
  readonly change: BuiltChange | undefined;
  readonly inputTotalSat: bigint;
  readonly paymentTotalSat: bigint;
  readonly feeSat: bigint;
  /** Estimated vsize of the signed transaction (worst-case signatures). */
  readonly vsize: number;
  /** feeSat / vsize in sat/kvB, rounded down. */
  readonly feeRateSatKvb: bigint;
  readonly selection: 'bnb' | 'largest-first' | 'required';
}

function varIntSize(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : 5;
}

/** The payment outputs of a transaction as weight sees them: how many, and their serialized bytes (value, script length, script). */
export interface OutputShape {
  readonly count: number;
  readonly bytes: number;
}

/** Serialized bytes of a payment output whose script is `scriptLength` bytes. */
export function outputBytes(scriptLength: number): number {
  return 8 + varIntSize(scriptLength) + scriptLength;
}

export function shapeOf(paymentScriptLengths: readonly number[]): OutputShape {
  return { count: paymentScriptLengths.length, bytes: paymentScriptLengths.reduce((s, len) => s + outputBytes(len), 0) };
}

/** Estimated weight of a transaction of P2WPKH inputs paying `payments` (plus a P2WPKH change output); version, locktime, marker/flag included. */
export function shapeWeight(inputs: number, payments: OutputShape, change: boolean): number {
  const outputs = payments.count + (change ? 1 : 0);
  const base = 4 + 4 + varIntSize(inputs) + varIntSize(outputs) + 41 * inputs + payments.bytes + (change ? 31 : 0);
  const witness = 2 + (1 + 1 + 73 + 1 + 33) * inputs;
  return base * 4 + witness;
}

/** Estimated weight of a P2WPKH-only transaction with these counts (version, locktime, marker/flag included). */
export function estimateWeight(inputs: number, paymentScriptLengths: readonly number[], change: boolean): number {
  return shapeWeight(inputs, shapeOf(paymentScriptLengths), change);
}

export function vsizeOf(weight: number): number {
  return Math.ceil(weight / 4);
}

/** ceil(vsize × rate / 1000). */
export function feeForVsize(vsize: number, feeRateSatKvb: bigint): bigint {
  return (BigInt(vsize) * feeRateSatKvb + 999n) / 1000n;
}

/** The derivation path string `m/84'/c'/0'/chain/index` of the account. */
export function derivationPath(account: AccountDescriptor, chain: 0 | 1, index: number): string {
  return `m/${formatPath(account.origin!.path).replace(/h/g, "'")}/${chain}/${index}`;
}

interface Sized { coin: CandidateCoin; effective: bigint }

/**
 * Branch and bound: a subset whose effective values sum to within
 * [target, target + window]. Returns undefined when none is found in BNB_TRIES steps.
 */
export function branchAndBound(pool: readonly Sized[], target: bigint, window: bigint): Sized[] | undefined {
  const sorted = pool.filter((c) => c.effective > 0n).sort((a, b) => (b.effective > a.effective ? 1 : b.effective < a.effective ? -1 : 0));
  const remainingAfter: bigint[] = new Array<bigint>(sorted.length + 1).fill(0n);
  for (let k = sorted.length - 1; k >= 0; k--) remainingAfter[k] = remainingAfter[k + 1]! + sorted[k]!.effective;
  let best: number[] | undefined;
  let bestWaste: bigint | undefined;
  const chosen: number[] = [];
  let tries = 0;
  const walk = (k: number, sum: bigint): void => {
    if (++tries > BNB_TRIES) return;
    if (sum > target + window) return;
    if (sum >= target) {
      const waste = sum - target;
      if (bestWaste === undefined || waste < bestWaste || (waste === bestWaste && chosen.length < best!.length)) {
        best = [...chosen];
        bestWaste = waste;
      }
      return;
    }
    if (k >= sorted.length || sum + remainingAfter[k]! < target) return;
    chosen.push(k);
    walk(k + 1, sum + sorted[k]!.effective);
    chosen.pop();
    // skip equivalent coins (same effective value) after excluding one: same subsets
    let next = k + 1;
    while (next < sorted.length && sorted[next]!.effective === sorted[k]!.effective) next++;
    walk(next, sum);
  };
  walk(0, 0n);
  return best?.map((k) => sorted[k]!);
}

function checkCoin(c: SpendableCoin, account: AccountDescriptor, nodes: Map<0 | 1, PublicNode>): { pubkey: Uint8Array; path: string } {
  let node = nodes.get(c.chain);
  if (!node) {
    node = chainNode(account, c.chain);
    nodes.set(c.chain, node);
  }
  const pubkey = childPublicKey(node, c.index);
  if (p2wpkhScript(pubkey).toString('hex') !== c.script.toLowerCase()) {
    throw new CodedError('INVALID_INPUT', `coin ${c.txid}:${c.vout} pays script ${c.script}, not the P2WPKH of …/${c.chain}/${c.index} of this account`);
  }
  let prev: Transaction;
  try {
    prev = Transaction.fromBuffer(Buffer.from(c.prevTx));
  } catch (cause) {
    throw new CodedError('INVALID_INPUT', `coin ${c.txid}:${c.vout}: its previous transaction does not parse`, { cause });
  }
  const out = prev.outs[c.vout];
  if (prev.getId() !== c.txid || !out || out.value !== c.valueSat || Buffer.from(out.script).toString('hex') !== c.script.toLowerCase()) {
    throw new CodedError('INVALID_INPUT', `coin ${c.txid}:${c.vout} (${c.valueSat} sat): the previous transaction given is ${prev.getId()} and does not pay that output`);
  }
  return { pubkey, path: derivationPath(account, c.chain, c.index) };
}

/** The fee a transaction of `vsize` must pay: the rate, and for a replacement also BIP125 rules 3 and 4. */
export type FeeOf = (vsize: number) => bigint;

export function feeFunction(feeRateSatKvb: bigint, replacesFeeSat?: bigint): FeeOf {
  return (vsize) => {
    const byRate = feeForVsize(vsize, feeRateSatKvb);
    if (replacesFeeSat === undefined) return byRate;
    const byRule = replacesFeeSat + feeForVsize(vsize, INCREMENTAL_RELAY_SAT_KVB);
    return byRate > byRule ? byRate : byRule;
  };
}

export interface Settled {
  readonly changeSat: bigint;
  readonly feeSat: bigint;
  readonly vsize: number;
  /** Estimated weight (worst-case signatures), with the change output when there is change. */
  readonly weight: number;
}

/**
 * How `inputs` coins holding `total` sat pay `paymentTotal` to `payments`:
 * with change when it is at least dust, else without change and the excess
 * to fee; undefined when they cannot pay the fee either way.
 */
export function settle(total: bigint, inputs: number, payments: OutputShape, paymentTotal: bigint, feeOf: FeeOf): Settled | undefined {
  const withChange = shapeWeight(inputs, payments, true);
  const feeWith = feeOf(vsizeOf(withChange));
  const change = total - paymentTotal - feeWith;
  if (change >= P2WPKH_DUST_SAT) return { changeSat: change, feeSat: feeWith, vsize: vsizeOf(withChange), weight: withChange };
  const without = shapeWeight(inputs, payments, false);
  const fee = total - paymentTotal;
  if (fee < feeOf(vsizeOf(without))) return undefined;
  return { changeSat: 0n, feeSat: fee, vsize: vsizeOf(without), weight: without };
}

/** Coins by value, largest first; equal values by outpoint, so the order never depends on how the caller listed them. */
export function largestFirst<C extends CandidateCoin>(coins: readonly C[]): C[] {
  return [...coins].sort((a, b) => (b.valueSat > a.valueSat ? 1 : b.valueSat < a.valueSat ? -1 : a.txid < b.txid ? -1 : a.txid > b.txid ? 1 : a.vout - b.vout));
}

/**
 * Choose the inputs and the change amount; throws REFUSED with the missing
 * amount when the coins do not cover it, or when the coins needed would make
 * the transaction heavier than `maxWeight`.
 */
function select(req: SelectRequest, scriptLengths: number[], paymentTotal: bigint): { coins: CandidateCoin[]; changeSat: bigint; feeSat: bigint; vsize: number; how: BuiltPayout['selection'] } {
  const rate = req.feeRateSatKvb;
  const replaced = req.replacesFeeSat;
  const maxWeight = req.maxWeight ?? MAX_STANDARD_TX_WEIGHT;
  const feeOf = feeFunction(rate, replaced);
  const shape = shapeOf(scriptLengths);
  const inputFee = feeForVsize(Math.ceil(P2WPKH_INPUT_WEIGHT / 4), rate);
  const must = [...(req.mustSpend ?? [])];
  const mustKeys = new Set(must.map((c) => `${c.txid}:${c.vout}`));
  const pool = req.coins.filter((c) => !mustKeys.has(`${c.txid}:${c.vout}`));
  const sum = (cs: readonly CandidateCoin[]) => cs.reduce((s, c) => s + c.valueSat, 0n);

  const finish = (coins: CandidateCoin[], how: BuiltPayout['selection']) => {
    const r = settle(sum(coins), coins.length, shape, paymentTotal, feeOf);
    return r && { coins, changeSat: r.changeSat, feeSat: r.feeSat, vsize: r.vsize, weight: r.weight, how };
  };

  if (must.length === 0 && replaced === undefined) {
    const fixed = feeOf(vsizeOf(estimateWeight(0, scriptLengths, false)));
    // the cost of change: creating the output now plus spending it later
    const changeCost = feeForVsize(31, rate) + inputFee;
    const hit = branchAndBound(pool.map((coin) => ({ coin, effective: coin.valueSat - inputFee })), paymentTotal + fixed, changeCost);
    if (hit) {
      const r = finish(hit.map((h) => h.coin), 'bnb');
      // a changeless set of many small coins may be too heavy where largest-first is not
      if (r && r.weight <= maxWeight) return r;
    }
  }
  const chosen = [...must];
  const r0 = must.length > 0 ? finish(chosen, 'required') : undefined;
  const fits = <R extends { weight: number; coins: CandidateCoin[] }>(r: R): R => {
    if (r.weight <= maxWeight) return r;
    throw new CodedError('REFUSED', `the payout of ${req.payments.length} withdrawal(s) would weigh ${r.weight} WU with the ${r.coins.length} coin(s) it needs, above ${maxWeight} WU`, {
      hint: 'pay fewer withdrawals per payout (--max-outputs, --ids)', context: { reason: 'too_heavy', weight: r.weight, max_weight: maxWeight },
    });
  };
  if (r0) return fits(r0);
  for (const coin of largestFirst(pool)) {
    chosen.push(coin);
    const r = finish(chosen, must.length > 0 ? 'required' : 'largest-first');
    if (r) return fits(r);
  }
  const total = sum(chosen);
  const need = paymentTotal + feeOf(vsizeOf(estimateWeight(chosen.length, scriptLengths, false)));
  const missing = need - total;
  throw new CodedError('REFUSED', `not enough confirmed funds: the payout needs ${need} sat (${paymentTotal} sat to ${req.payments.length} withdrawal(s) + fee at ${rate} sat/kvB) but ${chosen.length} spendable coin(s) hold ${total} sat; ${missing} sat missing`, {
    hint: 'wait for deposits to confirm (coldpool chain sync), lower --fee-rate, or pay fewer withdrawals (--ids)',
    context: { reason: 'insufficient_funds', missing_sat: missing.toString(), needed_sat: need.toString(), available_sat: total.toString() },
  });
}

type SelectRequest = Omit<BuildRequest, 'coins' | 'mustSpend'> & {
  readonly coins: readonly CandidateCoin[];
  readonly mustSpend?: readonly CandidateCoin[];
  /** Heaviest transaction (estimated weight) the selection may make; default the standard limit. */
  readonly maxWeight?: number;
};

/**
 * Choose the coins of a payout without their previous transactions (the
 * caller fetches those for the chosen coins only, then calls
 * `buildPayoutPsbt` with them as `mustSpend` and `selection` set).
 */
export function selectCoins(req: SelectRequest): { coins: CandidateCoin[]; selection: BuiltPayout['selection'] } {
  const scripts = req.payments.map((p) => parseAddress(p.address, req.network).scriptHex.length / 2);
  const sel = select(req, scripts, req.payments.reduce((s, p) => s + p.amountSat, 0n));
  return { coins: sel.coins, selection: sel.how };
}

/** Build one payout PSBT. See the module comment. */
export function buildPayoutPsbt(req: BuildRequest): BuiltPayout {
  const { network, account } = req;
  if (!account.origin) throw new CodedError('USAGE', 'the account has no key origin ([fingerprint/84h/…]); load the descriptor `coldpool-offline export` printed');
  if (req.payments.length === 0 && !req.changeOnly) throw new CodedError('USAGE', 'no withdrawal to pay: approve some first (coldpool withdrawals approve ID)');
  if (req.feeRateSatKvb < 1000n) throw new CodedError('USAGE', `"--fee-rate" expected at least 1 sat/vB (1000 sat/kvB), got ${req.feeRateSatKvb} sat/kvB`);
  const scripts = req.payments.map((p) => Buffer.from(parseAddress(p.address, network).scriptHex, 'hex'));
  const paymentTotal = req.payments.reduce((s, p) => s + p.amountSat, 0n);
  const sel = select(req, scripts.map((s) => s.length), paymentTotal);

  const nodes = new Map<0 | 1, PublicNode>();
  const net = toBitcoinjs(network);
  const psbt = new Psbt({ network: net });
  psbt.setVersion(2);
  psbt.setLocktime(0);
  const fingerprint = Buffer.from(account.origin.fingerprint, 'hex');
  // The transaction first, bare; then each input's and the change's BIP174 fields. bitcoinjs checks every
  // input that has a witness_utxo (is it taproot? signed?) on each addInput and addOutput: adding the fields
  // up front makes a payout of a thousand inputs and outputs take a minute instead of a second. Same PSBT.
  const coins = sel.coins as SpendableCoin[];
  for (const c of coins) psbt.addInput({ hash: c.txid, index: c.vout, sequence: RBF_SEQUENCE });
  const outputs: BuiltOutput[] = req.payments.map((p, k) => {
    psbt.addOutput({ script: scripts[k]!, value: p.amountSat });
    return { vout: k, withdrawalId: p.withdrawalId, address: p.address, amountSat: p.amountSat };
  });
  const inputs: BuiltInput[] = coins.map((c, n) => {
    const { pubkey, path } = checkCoin(c, account, nodes);
    psbt.updateInput(n, {
      witnessUtxo: { script: Buffer.from(c.script, 'hex'), value: c.valueSat },
      nonWitnessUtxo: Buffer.from(c.prevTx),
      bip32Derivation: [{ masterFingerprint: fingerprint, pubkey: Buffer.from(pubkey), path }],
    });
    return { txid: c.txid, vout: c.vout, valueSat: c.valueSat, script: c.script, chain: c.chain, index: c.index, path };
  });
  let change: BuiltChange | undefined;
  if (sel.changeSat > 0n) {
    const node = nodes.get(1) ?? chainNode(account, 1);
    nodes.set(1, node);
    const pubkey = childPublicKey(node, req.changeIndex);
    const path = derivationPath(account, 1, req.changeIndex);
    psbt.addOutput({ script: p2wpkhScript(pubkey), value: sel.changeSat });
    psbt.updateOutput(outputs.length, { bip32Derivation: [{ masterFingerprint: fingerprint, pubkey: Buffer.from(pubkey), path }] });
    change = { vout: outputs.length, address: p2wpkhAddress(pubkey, network), amountSat: sel.changeSat, index: req.changeIndex, path };
  }
  const inputTotal = sel.coins.reduce((s, c) => s + c.valueSat, 0n);
  const fee = inputTotal - paymentTotal - (change?.amountSat ?? 0n);
  if (fee !== sel.feeSat || fee < 0n) throw new CodedError('INTERNAL', `payout arithmetic: inputs ${inputTotal} - outputs ${paymentTotal} - change ${change?.amountSat ?? 0n} = ${fee}, expected fee ${sel.feeSat}`);
  const weight = estimateWeight(sel.coins.length, scripts.map((s) => s.length), change !== undefined);
  if (weight > MAX_STANDARD_TX_WEIGHT) {
    throw new CodedError('REFUSED', `the payout would weigh ${weight} WU, above the standard limit of ${MAX_STANDARD_TX_WEIGHT}`, { hint: 'pay fewer withdrawals per payout (--max-outputs)', context: { reason: 'too_heavy', weight, max_weight: MAX_STANDARD_TX_WEIGHT } });
  }
  const unsignedTxid = Transaction.fromBuffer(Buffer.from(psbt.data.getTransaction())).getId();
  return {
    psbt, unsignedTxid, inputs, outputs, change, inputTotalSat: inputTotal, paymentTotalSat: paymentTotal, feeSat: fee,
    vsize: sel.vsize, feeRateSatKvb: (fee * 1000n) / BigInt(sel.vsize), selection: req.selection ?? sel.how,
  };
}

export function checkMaxOutputs(maxOutputs: number): void {
  if (!Number.isInteger(maxOutputs) || maxOutputs < 1) throw new CodedError('USAGE', `"--max-outputs" expected a positive integer, got ${maxOutputs}`);
}

/** Split payments into groups of at most `maxOutputs` (in the order given); by count only: `planPayoutParts` splits by weight as well. */
export function splitPayments<T>(payments: readonly T[], maxOutputs = DEFAULT_MAX_OUTPUTS): T[][] {
  checkMaxOutputs(maxOutputs);
  const groups: T[][] = [];
  for (let k = 0; k < payments.length; k += maxOutputs) groups.push(payments.slice(k, k + maxOutputs));
  return groups;
}
