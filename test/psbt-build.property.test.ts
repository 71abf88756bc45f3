/**
 * src/core/psbt-build.ts: the exact arithmetic of a payout (inputs = outputs +
 * change + fee, fee >= 0, the fee rate respected by the SIGNED transaction),
 * BIP174 fields on every input and on change, RBF, dust change folded into
 * the fee, a changeless branch-and-bound hit, a clear "missing N sat", the
 * split, and a replacement (bump) that keeps the outputs and pays more.
 */
import fc from 'fast-check';
import { Transaction } from 'bitcoinjs-lib';
import { describe, expect, it } from 'vitest';
import { parseAccountDescriptor } from '../src/core/descriptor.js';
import { isCoded } from '../src/core/errors.js';
import { NETWORKS } from '../src/core/network.js';
import { inspectPsbt, refusals } from '../src/core/psbt-inspect.js';
import {
  buildPayoutPsbt, feeForVsize, P2WPKH_DUST_SAT, RBF_SEQUENCE, splitPayments, type Payment, type SpendableCoin,
} from '../src/core/psbt-build.js';
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
