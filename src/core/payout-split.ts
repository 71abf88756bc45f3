import { parseAddress } from './address.js';
import { CodedError } from './errors.js';
import {
  checkMaxOutputs, DEFAULT_MAX_OUTPUTS, feeFunction, largestFirst, outputBytes, PAYOUT_WEIGHT_CAP, selectCoins, settle,
  type BuildRequest, type BuiltPayout, type CandidateCoin, type OutputShape, type Payment,
} from './psbt-build.js';

/**
 * Split the withdrawals of one `payout build` into standard transactions.
 *
 * Each part holds at most `maxOutputs` withdrawals and, with the coins it
 * needs, an estimated weight (worst-case signatures, exact script lengths) of
 * at most `maxWeight` (default PAYOUT_WEIGHT_CAP, 390,000 WU: 10,000 under the
 * standard 400,000, room for a bump to add inputs). Every part pays its own
 * fee at the rate from its own inputs and has its own change.
 *
 * Parts are formed greedily, in the order the withdrawals are given (store
 * order, by id): a part takes the next withdrawal while, paid with the
 * largest free coins (the fewest, hence the lightest set), it still fits; then
 * its coins are chosen as for one payout (`selectCoins`: branch and bound, else
 * largest-first, never above the cap) and taken from the pool for the next
 * part. Deterministic: the same withdrawals and coins give the same parts.
 * A withdrawal that cannot fit even alone is refused by name
 * (REFUSED, reason `withdrawal_too_heavy`): nothing is built.
 */

export interface PayoutPart {
  readonly payments: Payment[];
  readonly coins: CandidateCoin[];
  readonly selection: BuiltPayout['selection'];
}

export interface SplitRequest extends Pick<BuildRequest, 'network' | 'account' | 'payments' | 'feeRateSatKvb' | 'changeIndex'> {
  readonly coins: readonly CandidateCoin[];
  readonly maxOutputs?: number;
  readonly maxWeight?: number;
}

const key = (c: CandidateCoin): string => `${c.txid}:${c.vout}`;

export function planPayoutParts(req: SplitRequest): PayoutPart[] {
  const maxOutputs = req.maxOutputs ?? DEFAULT_MAX_OUTPUTS;
  const maxWeight = req.maxWeight ?? PAYOUT_WEIGHT_CAP;
  checkMaxOutputs(maxOutputs);
  const feeOf = feeFunction(req.feeRateSatKvb);
  const bytes = req.payments.map((p) => outputBytes(parseAddress(p.address, req.network).scriptHex.length / 2));
  // one canonical order: the parts do not depend on how the caller listed the coins
  let pool = largestFirst(req.coins);
  const parts: PayoutPart[] = [];
  let next = 0;
  while (next < req.payments.length) {
    const end = partEnd(req.payments, bytes, next, pool, { maxOutputs, maxWeight, feeOf });
    // end === next: not even one more withdrawal is covered; selectCoins says how much is missing
    const payments = req.payments.slice(next, Math.max(end, next + 1));
    const sel = selectCoins({ network: req.network, account: req.account, payments, coins: pool, feeRateSatKvb: req.feeRateSatKvb, changeIndex: req.changeIndex, maxWeight });
    parts.push({ payments, coins: sel.coins, selection: sel.selection });
    const used = new Set(sel.coins.map(key));
    pool = pool.filter((c) => !used.has(key(c)));
    next += payments.length;
  }
  return parts;
}

/**
 * Where the part starting at `start` ends (exclusive): the longest run of
 * withdrawals that the largest coins of `ordered` cover within the limits.
 * The coins needed only grow as withdrawals join, so one pass suffices.
 */
function partEnd(payments: readonly Payment[], bytes: readonly number[], start: number, ordered: readonly CandidateCoin[], limits: { maxOutputs: number; maxWeight: number; feeOf: ReturnType<typeof feeFunction> }): number {
  let coins = 0;
  let total = 0n;
  let paid = 0n;
  let shape: OutputShape = { count: 0, bytes: 0 };
  let end = start;
  while (end < payments.length && end - start < limits.maxOutputs) {
    const p = payments[end]!;
    const grown: OutputShape = { count: shape.count + 1, bytes: shape.bytes + bytes[end]! };
    let n = coins;
    let sum = total;
    let r = settle(sum, n, grown, paid + p.amountSat, limits.feeOf);
    while (!r && n < ordered.length) {
      sum += ordered[n]!.valueSat;
      n++;
      r = settle(sum, n, grown, paid + p.amountSat, limits.feeOf);
    }
    if (!r) break;
    if (r.weight > limits.maxWeight) {
      if (end === start) throw tooHeavy(p, n, r.weight, limits.maxWeight);
      break;
    }
    coins = n;
    total = sum;
    paid += p.amountSat;
    shape = grown;
    end++;
  }
  return end;
}

function tooHeavy(p: Payment, coins: number, weight: number, maxWeight: number): CodedError {
  return new CodedError('REFUSED', `withdrawal ${p.withdrawalId} (${p.amountSat} sat to ${p.address}) does not fit one standard transaction even alone: it needs ${coins} of the free coins, ${weight} WU, above the cap of ${maxWeight} WU`, {
    hint: 'the free coins are too small for it: leave it out (--ids) until larger deposits confirm, or reject it and have it requested as several smaller withdrawals',
    context: { reason: 'withdrawal_too_heavy', withdrawal_id: p.withdrawalId.toString(), coins, weight, max_weight: maxWeight },
  });
}
