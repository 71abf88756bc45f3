/**
 * src/core/psbt-build.ts: the exact arithmetic of a payout (inputs = outputs +
 * change + fee, fee >= 0, the fee rate respected by the SIGNED transaction),
 * BIP174 fields on every input and on change, RBF, dust change folded into
 * the fee, a changeless branch-and-bound hit, a clear "missing N sat", the
 * split, and a replacement (bump) that keeps the outputs and pays more.
 * src/core/payout-split.ts: the split by outputs and weight (every part
 * under the cap, paying its own fee, every withdrawal placed exactly once,
 * the same parts whatever the coins' order), and a withdrawal too heavy alone.
 */
import fc from 'fast-check';
import { Transaction } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { parseAccountDescriptor } from '../src/core/descriptor.js';
import { isCoded } from '../src/core/errors.js';
import { NETWORKS } from '../src/core/network.js';
import { inspectPsbt, refusals } from '../src/core/psbt-inspect.js';
import {
  buildPayoutPsbt, estimateWeight, feeForVsize, P2WPKH_DUST_SAT, PAYOUT_WEIGHT_CAP, RBF_SEQUENCE, selectCoins, splitPayments,
  type CandidateCoin, type Payment, type SpendableCoin,
} from '../src/core/psbt-build.js';
import { planPayoutParts } from '../src/core/payout-split.js';
import { parseAddress } from '../src/core/address.js';
import { testAccount } from './support/accounts.js';
import { externalAddress, keyAt, previousTx, rootOf } from './support/psbt-fixtures.js';

const network = NETWORKS.regtest;
const account = parseAccountDescriptor(testAccount('regtest').descriptor, network);

function coin(k: number, valueSat: bigint, chain: 0 | 1 = 0): SpendableCoin {
  const key = keyAt(chain, k);
  const prev = previousTx(`coin:${chain}:${k}:${valueSat}`, key.script, valueSat, k % 2);
  return { txid: prev.getId(), vout: k % 2, valueSat, script: key.script.toString('hex'), chain, index: k, prevTx: prev.toBuffer() };
}

function payment(k: number, amountSat: bigint): Payment {
  return { withdrawalId: BigInt(k + 1), address: externalAddress(k % 20), amountSat };
}

/** Sign every input with the fixture seed and return the final transaction. */
function signAll(built: ReturnType<typeof buildPayoutPsbt>): Transaction {
  const seedRoot = rootOfFixture();
  const psbt = built.psbt.clone();
  built.inputs.forEach((input, i) => psbt.signInput(i, seedRoot.derivePath(input.path)));
  psbt.finalizeAllInputs();
  return psbt.extractTransaction(true);
}

function rootOfFixture() {
  return rootOf('legal winner thank year wave sausage worth useful legal winner thank yellow');
}

describe('buildPayoutPsbt', () => {
  it('property: balance holds, fee >= 0, the signed transaction meets the fee rate, BIP174 fields present', () => {
    fc.assert(fc.property(
      fc.array(fc.bigInt({ min: 1_000n, max: 5_000_000n }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.bigInt({ min: 300n, max: 2_000_000n }), { minLength: 1, maxLength: 6 }),
      fc.bigInt({ min: 1_000n, max: 60_000n }),
      (coinValues, amounts, rate) => {
        const coins = coinValues.map((v, k) => coin(k, v));
        const payments = amounts.map((a, k) => payment(k, a));
        let built;
        try {
          built = buildPayoutPsbt({ network, account, payments, coins, feeRateSatKvb: rate, changeIndex: 5 });
        } catch (e) {
          if (isCoded(e, 'REFUSED') && e.context.reason === 'insufficient_funds') {
            expect(BigInt(String(e.context.missing_sat))).toBeGreaterThan(0n);
            return;
          }
          throw e;
        }
        const tx = Transaction.fromBuffer(Buffer.from(built.psbt.data.getTransaction()));
        const outSum = tx.outs.reduce((s, o) => s + o.value, 0n);
        expect(built.inputTotalSat).toBe(built.paymentTotalSat + (built.change?.amountSat ?? 0n) + built.feeSat);
        expect(built.inputTotalSat - outSum).toBe(built.feeSat);
        expect(built.feeSat).toBeGreaterThanOrEqual(0n);
        if (built.change) expect(built.change.amountSat).toBeGreaterThanOrEqual(P2WPKH_DUST_SAT);
        expect(tx.ins.every((i) => i.sequence === RBF_SEQUENCE)).toBe(true);
        for (const input of built.psbt.data.inputs) {
          expect(input.witnessUtxo).toBeDefined();
          expect(input.nonWitnessUtxo).toBeDefined();
          expect(input.bip32Derivation).toHaveLength(1);
        }
        const review = inspectPsbt(built.psbt, { network, account });
        expect(refusals(review)).toEqual([]);
        expect(review.feeSat).toBe(built.feeSat);
        const signed = signAll(built);
        expect(built.feeSat).toBeGreaterThanOrEqual(feeForVsize(signed.virtualSize(), rate));
        expect(signed.virtualSize()).toBeLessThanOrEqual(built.vsize);
      },
    ), { numRuns: 60 });
  });

  it('change goes to …/1/j with its derivation, and inspect recognises it as change', () => {
    const built = buildPayoutPsbt({ network, account, payments: [payment(0, 100_000n)], coins: [coin(0, 1_000_000n)], feeRateSatKvb: 2_000n, changeIndex: 7 });
    expect(built.change?.path).toBe("m/84'/1'/0'/1/7");
    expect(built.change?.address).toBe(keyAt(1, 7).address);
    const review = inspectPsbt(built.psbt, { network, account });
    expect(review.outputs[built.change!.vout]!.kind).toBe('change');
    expect(review.inputs[0]!.path).toBe("m/84'/1'/0'/0/0");
  });

  it('branch and bound finds a changeless set when one exists', () => {
    // 150,000 + 110 sat of fee (110 vB at 1 sat/vB) is matched within the cost of change by the 150,150 coin, not the large one
    const coins = [coin(0, 5_000_000n), coin(1, 150_150n), coin(2, 40_000n)];
    const built = buildPayoutPsbt({ network, account, payments: [payment(0, 150_000n)], coins, feeRateSatKvb: 1_000n, changeIndex: 0 });
    expect(built.selection).toBe('bnb');
    expect(built.change).toBeUndefined();
    expect(built.inputs.map((i) => i.valueSat)).toEqual([150_150n]);
    expect(built.feeSat).toBe(150n);
  });

  it('change below dust is folded into the fee', () => {
    const built = buildPayoutPsbt({ network, account, payments: [payment(0, 99_700n)], coins: [coin(0, 100_000n)], feeRateSatKvb: 1_000n, changeIndex: 0 });
    expect(built.change).toBeUndefined();
    expect(built.feeSat).toBe(300n);
  });

  it('not enough confirmed funds: REFUSED naming how much is missing', () => {
    let err: unknown;
    try {
      buildPayoutPsbt({ network, account, payments: [payment(0, 300_000n)], coins: [coin(0, 100_000n), coin(1, 50_000n)], feeRateSatKvb: 1_000n, changeIndex: 0 });
    } catch (e) {
      err = e;
    }
    expect(isCoded(err, 'REFUSED')).toBe(true);
    const e = err as { message: string; context: Record<string, unknown> };
    const fee = BigInt(String(e.context.needed_sat)) - 300_000n;
    expect(e.context.missing_sat).toBe(String(150_000n + fee));
    expect(e.message).toMatch(new RegExp(`${150_000n + fee} sat missing`));
  });

  it('a coin whose previous transaction does not pay it is refused', () => {
    const c = coin(0, 100_000n);
    const other = coin(1, 100_000n);
    expect(() => buildPayoutPsbt({ network, account, payments: [payment(0, 50_000n)], coins: [{ ...c, prevTx: other.prevTx }], feeRateSatKvb: 1_000n, changeIndex: 0 }))
      .toThrow(/does not pay that output/);
  });

  it('splits more than max outputs into several groups', () => {
    const groups = splitPayments(Array.from({ length: 601 }, (_, k) => k), 250);
    expect(groups.map((g) => g.length)).toEqual([250, 250, 101]);
  });

  it('a replacement keeps the inputs and outputs, pays old fee + 1 sat/vB at least, and adds an input when change cannot pay', () => {
    const coins = [coin(0, 200_000n), coin(1, 1_000_000n)];
    const payments = [payment(0, 150_000n), payment(1, 40_000n)];
    const first = buildPayoutPsbt({ network, account, payments, coins: [coins[0]!], feeRateSatKvb: 1_000n, changeIndex: 2 });
    const bumped = buildPayoutPsbt({ network, account, payments, coins: [coins[1]!], mustSpend: [coins[0]!], feeRateSatKvb: 5_000n, replacesFeeSat: first.feeSat, changeIndex: 2 });
    expect(bumped.inputs.map((i) => i.txid)).toEqual([coins[0]!.txid]);
    expect(bumped.outputs).toEqual(first.outputs);
    expect(bumped.change?.address).toBe(first.change?.address);
    expect(bumped.feeSat).toBeGreaterThanOrEqual(first.feeSat + BigInt(bumped.vsize));
    const big = buildPayoutPsbt({ network, account, payments, coins: [coins[1]!], mustSpend: [coins[0]!], feeRateSatKvb: 100_000n, replacesFeeSat: first.feeSat, changeIndex: 2 });
    expect(big.inputs.map((i) => i.txid)).toEqual([coins[0]!.txid, coins[1]!.txid]);
    expect(big.inputTotalSat).toBe(big.paymentTotalSat + (big.change?.amountSat ?? 0n) + big.feeSat);
  });
});

/** A coin for planning only (no previous transaction): distinct outpoints, the pool's script at …/0/k. */
function candidate(k: number, valueSat: bigint, script: string): CandidateCoin {
  return { txid: k.toString(16).padStart(64, '0'), vout: k % 3, valueSat, script, chain: 0, index: 0 };
}

const scriptLength = (p: Payment): number => parseAddress(p.address, network).scriptHex.length / 2;

describe('planPayoutParts: split by outputs and weight', () => {
  // a pool of coins with their previous transactions, built once (keys derived once)
  const pool = Array.from({ length: 40 }, (_, k) => coin(k, 20_000n + BigInt(k) * 7_919n));

  it('property: every part within the cap and --max-outputs, paying its own fee from its own coins; every withdrawal once, in order; coins once; order of coins irrelevant', () => {
    fc.assert(fc.property(
      fc.integer({ min: 4, max: 40 }),
      fc.array(fc.bigInt({ min: 1_000n, max: 150_000n }), { minLength: 1, maxLength: 30 }),
      fc.bigInt({ min: 1_000n, max: 20_000n }),
      fc.integer({ min: 1_500, max: 12_000 }),
      fc.integer({ min: 1, max: 12 }),
      fc.nat(),
      (coinCount, amounts, rate, maxWeight, maxOutputs, seed) => {
        const coins = pool.slice(0, coinCount);
        const payments = amounts.map((a, k) => payment(k, a));
        const request = { network, account, payments, coins, feeRateSatKvb: rate, changeIndex: 0, maxOutputs, maxWeight };
        let parts;
        try {
          parts = planPayoutParts(request);
        } catch (e) {
          if (isCoded(e, 'REFUSED') && e.context.reason === 'insufficient_funds') return;
          if (isCoded(e, 'REFUSED') && e.context.reason === 'withdrawal_too_heavy') {
            // named, and truly too heavy: alone, with the coins it needs, above the cap
            expect(payments.map((p) => p.withdrawalId.toString())).toContain(e.context.withdrawal_id);
            expect(Number(e.context.weight)).toBeGreaterThan(maxWeight);
            expect(e.message).toContain(`withdrawal ${String(e.context.withdrawal_id)} `);
            return;
          }
          throw e;
        }
        expect(parts.flatMap((p) => p.payments)).toEqual(payments);
        const spent = parts.flatMap((p) => p.coins.map((c) => `${c.txid}:${c.vout}`));
        expect(new Set(spent).size).toBe(spent.length);
        const byKey = new Map(coins.map((c) => [`${c.txid}:${c.vout}`, c]));
        for (const [k, part] of parts.entries()) {
          expect(part.payments.length).toBeGreaterThan(0);
          expect(part.payments.length).toBeLessThanOrEqual(maxOutputs);
          const built = buildPayoutPsbt({ network, account, payments: part.payments, coins: [], mustSpend: part.coins.map((c) => byKey.get(`${c.txid}:${c.vout}`)!), feeRateSatKvb: rate, changeIndex: k, selection: part.selection });
          expect(estimateWeight(built.inputs.length, part.payments.map(scriptLength), built.change !== undefined)).toBeLessThanOrEqual(maxWeight);
          expect(built.inputTotalSat).toBe(built.paymentTotalSat + (built.change?.amountSat ?? 0n) + built.feeSat);
          expect(built.feeSat).toBeGreaterThanOrEqual(feeForVsize(built.vsize, rate));
        }
        // deterministic, whatever order the coins come in
        const shuffled = fc.sample(fc.shuffledSubarray(coins, { minLength: coins.length, maxLength: coins.length }), { seed, numRuns: 1 })[0]!;
        expect(planPayoutParts({ ...request, coins: shuffled })).toEqual(parts);
      },
    ), { numRuns: 80 });
  });

  it('the signed transaction of every part stays under the cap and meets the fee rate', () => {
    const payments = Array.from({ length: 12 }, (_, k) => payment(k, 30_000n + BigInt(k) * 1_000n));
    const parts = planPayoutParts({ network, account, payments, coins: pool.slice(0, 24), feeRateSatKvb: 3_000n, changeIndex: 0, maxWeight: 1_200 });
    expect(parts.length).toBeGreaterThan(2);
    const byKey = new Map(pool.map((c) => [`${c.txid}:${c.vout}`, c]));
    for (const [k, part] of parts.entries()) {
      const built = buildPayoutPsbt({ network, account, payments: part.payments, coins: [], mustSpend: part.coins.map((c) => byKey.get(`${c.txid}:${c.vout}`)!), feeRateSatKvb: 3_000n, changeIndex: k });
      const signed = signAll(built);
      expect(signed.weight()).toBeLessThanOrEqual(1_200);
      expect(built.feeSat).toBeGreaterThanOrEqual(feeForVsize(signed.virtualSize(), 3_000n));
    }
  });

  it('3,000 withdrawals from 5,000 small coins at the default cap: parts of at most 250, each under 390,000 WU', () => {
    const script = pool[0]!.script;
    const coins = Array.from({ length: 5_000 }, (_, k) => candidate(k, 20_000n + BigInt(k % 97), script));
    const payments = Array.from({ length: 3_000 }, (_, k) => payment(k, 25_000n + BigInt(k % 13)));
    const parts = planPayoutParts({ network, account, payments, coins, feeRateSatKvb: 1_000n, changeIndex: 0, maxOutputs: 10_000 });
    expect(parts.length).toBeGreaterThan(3);
    expect(parts.flatMap((p) => p.payments)).toEqual(payments);
    for (const part of parts) expect(estimateWeight(part.coins.length, part.payments.map(scriptLength), true)).toBeLessThanOrEqual(PAYOUT_WEIGHT_CAP);
    const byCount = planPayoutParts({ network, account, payments, coins, feeRateSatKvb: 1_000n, changeIndex: 0 });
    expect(byCount.every((p) => p.payments.length <= 250)).toBe(true);
  });

  it('a withdrawal too heavy to fit one standard transaction even alone: REFUSED naming it, reason withdrawal_too_heavy', () => {
    const script = pool[0]!.script;
    const coins = Array.from({ length: 2_000 }, (_, k) => candidate(k, 10_000n, script));
    const payments = [payment(0, 50_000n), payment(1, 15_000_000n)];
    let err: unknown;
    try {
      planPayoutParts({ network, account, payments, coins, feeRateSatKvb: 1_000n, changeIndex: 0 });
    } catch (e) {
      err = e;
    }
    expect(isCoded(err, 'REFUSED')).toBe(true);
    const e = err as { message: string; context: Record<string, unknown> };
    expect(e.context).toMatchObject({ reason: 'withdrawal_too_heavy', withdrawal_id: '2', max_weight: PAYOUT_WEIGHT_CAP });
    expect(e.message).toMatch(/^withdrawal 2 \(15000000 sat to bcrt1/);
  });

  it('a changeless branch-and-bound set heavier than the cap gives way to largest-first', () => {
    const script = pool[0]!.script;
    // 20 coins of 10,000 sat match 199,000 sat changeless at 1 sat/vB; the 1,000,000 coin alone is lighter
    const small = Array.from({ length: 20 }, (_, k) => candidate(k + 1, 10_000n, script));
    const coins = [candidate(100, 1_000_000n, script), ...small];
    const fixed = feeForVsize(Math.ceil(estimateWeight(0, [22], false) / 4), 1_000n);
    const payments = [payment(0, 20n * (10_000n - 69n) - fixed)]; // each coin's effective value: 10,000 less 69 sat to spend it
    expect(selectCoins({ network, account, payments, coins, feeRateSatKvb: 1_000n, changeIndex: 0 }).selection).toBe('bnb');
    const capped = selectCoins({ network, account, payments, coins, feeRateSatKvb: 1_000n, changeIndex: 0, maxWeight: 3_000 });
    expect(capped.selection).toBe('largest-first');
    expect(capped.coins.map((c) => c.valueSat)).toEqual([1_000_000n]);
  });
});
