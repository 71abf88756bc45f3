import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transaction } from 'bitcoinjs-lib';
import { FakeNode } from './support/fake-node.js';
import { FEE, buildScenario, poolKey, type Scenario } from './support/chain-scenario.js';
import { canonicalDump, preparePool, syncOnce, withChainStore, type Adapter } from './support/chain-fixtures.js';
import { freshDbUrl, type Cleanup } from './support/pool-fixtures.js';
import { otherKey, spend, type RegtestChain } from './support/regtest-chain.js';

/**
 * Reorganisations of depth 1 and 3 that (a) drop a deposit, (b) move a deposit
 * to another block, (c) replace a spend. After each, what the follower
 * recorded equals what a fresh sync of the new chain records (canonical dump
 * of blocks, outputs, spends, deposits and coins).
 */
let base: Scenario;
let node: FakeNode;
const cleanups: Cleanup[] = [];

beforeAll(async () => {
  base = buildScenario();
  node = await new FakeNode(base.chain).start();
});

afterAll(async () => {
  await node.stop();
  for (const c of cleanups.splice(0)) await c();
});

const freshUrl = (kind: 'sqlite' | 'mariadb'): Promise<string> => freshDbUrl(kind, cleanups);

type Case = 'drop' | 'move' | 'replace-spend';

interface Forks {
  readonly old: RegtestChain;
  readonly next: RegtestChain;
  readonly deposit: Transaction | undefined;
  readonly spends: readonly [Transaction, Transaction] | undefined;
}

/** Old chain: base + depth blocks, the event in the first. New chain: base + depth + 1 blocks. */
function forks(kind: Case, depth: number): Forks {
  const tip = base.chain.height;
  const old = base.chain.fork(tip);
  const next = base.chain.fork(tip);
  const f = base.spare[0]!;
  if (kind === 'replace-spend') {
    const coin = { txid: base.txB.getId(), vout: 0, valueSat: 20_000_000n, key: poolKey(0, 1) };
    const s1 = spend([coin], [{ key: otherKey(30), valueSat: coin.valueSat - FEE }]);
    const s2 = spend([coin], [{ key: otherKey(31), valueSat: 15_000_000n }, { key: poolKey(1, 1), valueSat: 5_000_000n - FEE }]);
    old.mine([s1]);
    old.mineEmpty(depth - 1);
    next.mine([s2]);
    next.mineEmpty(depth);
    return { old, next, deposit: undefined, spends: [s1, s2] };
  }
  const dep = spend([f], [{ key: poolKey(0, 4), valueSat: 300_000_000n }, { key: otherKey(9), valueSat: f.valueSat - 300_000_000n - FEE }]);
  old.mine([dep]);
  old.mineEmpty(depth - 1);
  if (kind === 'drop') next.mineEmpty(depth + 1);
  else {
    next.mineEmpty(depth);
    next.mine([dep]);
  }
  return { old, next, deposit: dep, spends: undefined };
}

async function freshSyncDump(kind: 'sqlite' | 'mariadb', adapter: Adapter): Promise<string> {
  const url = await freshUrl(kind);
  await preparePool(url);
  await syncOnce(url, node, adapter);
  return canonicalDump(url);
}

async function runCase(db: 'sqlite' | 'mariadb', adapter: Adapter, kind: Case, depth: number): Promise<void> {
  const { old, next, deposit, spends } = forks(kind, depth);
  const url = await freshUrl(db);
  await preparePool(url);
  node.setChain(old);
  await syncOnce(url, node, adapter);
  if (deposit) expect((await withChainStore(url, (s) => s.deposits())).some((d) => d.txid === deposit.getId())).toBe(true);

  node.setChain(next);
  const result = await syncOnce(url, node, adapter);
  expect(result.reorgs).toHaveLength(1);
  expect(result.reorgs[0]).toMatchObject({ forkHeight: base.chain.height, depth });
  expect(result.tip).toEqual({ height: next.height, hash: next.tip.hash });

  const deposits = await withChainStore(url, (s) => s.deposits());
  const coins = await withChainStore(url, (s) => s.coins(1));
  if (kind === 'drop') {
    expect(result.disappeared.map((d) => `${d.txid}:${d.vout}`)).toEqual([`${deposit!.getId()}:0`]);
    expect(result.disappeared[0]).toMatchObject({ amountSat: 300_000_000n, height: base.chain.height + 1 });
    expect(deposits.some((d) => d.txid === deposit!.getId())).toBe(false);
  } else if (kind === 'move') {
    expect(result.disappeared).toEqual([]);
    expect(result.moved.map((d) => d.txid)).toEqual([deposit!.getId()]);
    expect(deposits.find((d) => d.txid === deposit!.getId())).toMatchObject({ height: next.height, blockHash: next.tip.hash, confirmations: 1 });
  } else {
    const [s1, s2] = spends!;
    const spent = deposits.find((d) => d.txid === base.txB.getId() && d.vout === 0)!;
    expect(spent.spentBy).toBe(s2.getId());
    expect(spent.spentBy).not.toBe(s1.getId());
    expect(coins.some((c) => c.txid === s2.getId() && c.chain === 1 && c.index === 1)).toBe(true);
  }
  node.setChain(next);
  expect(await canonicalDump(url)).toBe(await freshSyncDump(db, adapter));
}

describe('reorgs on sqlite', () => {
  for (const depth of [1, 3]) {
    for (const kind of ['drop', 'move', 'replace-spend'] as const) {
      const adapter: Adapter = depth === 1 ? 'rpc' : 'esplora';
      it(`a ${depth}-block reorg that ${kind === 'drop' ? 'drops a deposit' : kind === 'move' ? 'moves a deposit to another block' : 'replaces a spend'} (${adapter}) ends equal to a fresh sync of the new chain`, async () => {
        await runCase('sqlite', adapter, kind, depth);
      });
    }
  }

  it('a reorg to a chain of the same height (no new block) is noticed at the next sync', async () => {
    const tip = base.chain.height;
    const a = base.chain.fork(tip - 1);
    a.mine();
    const url = await freshUrl('sqlite');
    await preparePool(url);
    node.setChain(base.chain);
    await syncOnce(url, node, 'rpc');
    node.setChain(a);
    const r = await syncOnce(url, node, 'rpc');
    expect(r.reorgs).toHaveLength(1);
    expect(r.tip).toEqual({ height: tip, hash: a.tip.hash });
    expect(await canonicalDump(url)).toBe(await freshSyncDump('sqlite', 'rpc'));
  });
});

describe('a reorg deeper than what was recorded', () => {
  it('rolls back everything and re-reads from the first recorded height, not past it', async () => {
    const fork = base.chain.fork(3);
    fork.mineEmpty(6);
    const url = await freshUrl('sqlite');
    await preparePool(url);
    node.setChain(base.chain);
    await syncOnce(url, node, 'rpc', { fromHeight: 5 });
    node.setChain(fork);
    const r = await syncOnce(url, node, 'rpc', { fromHeight: 5 });
    expect(r.reorgs[0]).toMatchObject({ forkHeight: 4, depth: base.chain.height - 4 });
    expect(await withChainStore(url, (s) => s.firstHeight())).toBe(5);
    expect(r.disappeared.map((d) => d.txid)).toEqual([base.txD.getId()]);
    const fresh = await freshUrl('sqlite');
    await preparePool(fresh);
    await syncOnce(fresh, node, 'rpc', { fromHeight: 5 });
    expect(await canonicalDump(url)).toBe(await canonicalDump(fresh));
  });
});

describe('reorgs on MariaDB', () => {
  it('a 3-block reorg that replaces a spend, and a 1-block reorg that drops a deposit', async () => {
    await runCase('mariadb', 'rpc', 'replace-spend', 3);
    await runCase('mariadb', 'esplora', 'drop', 1);
  });
});
