/**
 * The funded pool the payout and attack tests build on: a fake node serving
 * real regtest blocks with four deposits (500,000 + k·1,000 sat) to the pool's
 * receive addresses 0..3, and a fresh database of either kind with 20
 * addresses loaded and that chain synced.
 */
import { preparePool, syncOnce } from './chain-fixtures.js';
import { FakeNode } from './fake-node.js';
import { freshDbUrl, type Cleanup } from './pool-fixtures.js';
import { RegtestChain, otherKey, poolKey, spend } from './regtest-chain.js';

export async function startFundedNode(): Promise<FakeNode> {
  const chain = RegtestChain.create();
  chain.mineEmpty(2);
  const txs = [0, 1, 2, 3].map((k) => {
    const f = chain.coinbaseUtxos(chain.height)[k]!;
    return spend([f], [{ key: poolKey(0, k), valueSat: 500_000n + BigInt(k) * 1000n }, { key: otherKey(9), valueSat: f.valueSat - 600_000n }]);
  });
  chain.mine(txs);
  chain.mineEmpty(1);
  return new FakeNode(chain).start();
}

/** A fresh database (its removal on `cleanups`) holding the pool, synced against `node`. */
export async function fundedPool(kind: 'sqlite' | 'mariadb', node: FakeNode, cleanups: Cleanup[]): Promise<string> {
  const url = await freshDbUrl(kind, cleanups);
  await preparePool(url, 20, 0);
  await syncOnce(url, node, 'rpc');
  return url;
}
