/**
 * The reference chain of the follower tests (heights):
 *
 * 1, 2  coinbases to other people (the funding)
 * 3     txA: other → pool 0/0 1.5 BTC; txB: other → pool 0/1 0.2 BTC and 0/2 0.05 BTC
 * 4     txC: pool 0/0 (txA:0) → other 1 BTC + change pool 1/0 0.4999 BTC
 * 5     txD: other → pool 0/30 0.01 BTC (an address never handed out) and change 1/7
 * 6, 7  empty
 */
import type { Transaction } from 'bitcoinjs-lib';
import { RegtestChain, addressOf, otherKey, poolKey, spend, type Utxo } from './regtest-chain.js';

export interface Scenario {
  readonly chain: RegtestChain;
  readonly txA: Transaction;
  readonly txB: Transaction;
  readonly txC: Transaction;
  readonly txD: Transaction;
  /** Funding coins of height 2 not used by the scenario, for tests to spend. */
  readonly spare: Utxo[];
}

export const FEE = 10_000n;

export function change(u: Utxo, paid: bigint): { key: ReturnType<typeof otherKey>; valueSat: bigint } {
  return { key: otherKey(9), valueSat: u.valueSat - paid - FEE };
}

export function buildScenario(): Scenario {
  const chain = RegtestChain.create();
  chain.mineEmpty(2);
  const [f0, f1, f2, ...spare] = [...chain.coinbaseUtxos(1), ...chain.coinbaseUtxos(2)];
  const txA = spend([f0!], [{ key: poolKey(0, 0), valueSat: 150_000_000n }, change(f0!, 150_000_000n)]);
  const txB = spend([f1!], [{ key: poolKey(0, 1), valueSat: 20_000_000n }, { key: poolKey(0, 2), valueSat: 5_000_000n }, change(f1!, 25_000_000n)]);
  chain.mine([txA, txB]);
  const txC = spend([{ txid: txA.getId(), vout: 0, valueSat: 150_000_000n, key: poolKey(0, 0) }],
    [{ key: otherKey(20), valueSat: 100_000_000n }, { key: poolKey(1, 0), valueSat: 50_000_000n - FEE }]);
  chain.mine([txC]);
  const txD = spend([f2!], [{ key: poolKey(0, 30), valueSat: 1_000_000n }, { key: poolKey(1, 7), valueSat: 2_000_000n }, change(f2!, 3_000_000n)]);
  chain.mine([txD]);
  chain.mineEmpty(2);
  return { chain, txA, txB, txC, txD, spare };
}

export { addressOf, poolKey };
