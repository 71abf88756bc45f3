import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { ChainFollower } from '../src/flows/chain-sync.js';
import { openChainStore } from './support/open-repos.js';
import { GENESIS_TIME, BLOCK_INTERVAL_SEC, otherKey } from './support/regtest-chain.js';
import { FakeNode } from './support/fake-node.js';
import { buildScenario, addressOf, poolKey, FEE, type Scenario } from './support/chain-scenario.js';
import { canonicalDump, preparePool, sourceFor, syncOnce, withChainStore, type Adapter } from './support/chain-fixtures.js';
import { freshDbUrl, type Cleanup } from './support/pool-fixtures.js';
import { spend } from './support/regtest-chain.js';

/**
 * The follower against a chain of real blocks served by the fake node over
 * Core JSON-RPC and Esplora REST: deposits, change, spends, coins, `used`,
 * confirmations, the mempool, the birthday. SQLite for both adapters; the
 * main sync also on MariaDB.
 */
let scenario: Scenario;
let node: FakeNode;
const cleanups: Cleanup[] = [];

beforeAll(async () => {
  scenario = buildScenario();
  node = await new FakeNode(scenario.chain).start();
});

afterAll(async () => {
  await node.stop();
  for (const c of cleanups.splice(0)) await c();
});

const freshUrl = (kind: 'sqlite' | 'mariadb'): Promise<string> => freshDbUrl(kind, cleanups);

function statusOf(url: string, address: string): string {
  const db = new Database(url.slice('sqlite:'.length), { readonly: true });
  try {
    return String((db.prepare('SELECT status FROM addresses WHERE address = ?').get(address) as { status: string }).status);
  } finally {
    db.close();
  }
}

describe.each([
  ['sqlite', 'rpc'],
  ['sqlite', 'esplora'],
  ['mariadb', 'rpc'],
] as const)('chain sync on %s through %s', (kind, adapter: Adapter) => {
  it('records deposits (with users), change, spends, coins and confirmations; marks paid addresses used; a second sync is a no-op', async () => {
    node.setChain(scenario.chain);
    const url = await freshUrl(kind);
    const users = await preparePool(url);
    const result = await syncOnce(url, node, adapter);
    expect(result.tip).toEqual({ height: 7, hash: scenario.chain.tip.hash });
    expect(result.blocks).toBe(7);
    expect(result.outputs).toBe(6);
    expect(result.spends).toBe(1);

    const { txA, txB, txC, txD } = scenario;
    await withChainStore(url, async (s) => {
      const deposits = await s.deposits();
      expect(deposits.map((d) => [d.address, `${d.txid}:${d.vout}`, d.amountSat, d.height, d.confirmations, d.spentBy ?? null])).toEqual([
        [addressOf(poolKey(0, 0)), `${txA.getId()}:0`, 150_000_000n, 3, 5, txC.getId()],
        [addressOf(poolKey(0, 1)), `${txB.getId()}:0`, 20_000_000n, 3, 5, null],
        [addressOf(poolKey(0, 2)), `${txB.getId()}:1`, 5_000_000n, 3, 5, null],
        [addressOf(poolKey(0, 30)), `${txD.getId()}:0`, 1_000_000n, 5, 3, null],
      ].sort((a, b) => (a[3] as number) - (b[3] as number) || String(a[1]).localeCompare(String(b[1]))));
      for (const d of deposits) expect(d.user).toBe(users.get(d.address));

      const coins = await s.coins(1);
      expect(coins.map((c) => [`${c.txid}:${c.vout}`, c.valueSat, `${c.chain}/${c.index}`, c.spendable])).toEqual(expect.arrayContaining([
        [`${txB.getId()}:0`, 20_000_000n, '0/1', true],
        [`${txB.getId()}:1`, 5_000_000n, '0/2', true],
        [`${txC.getId()}:1`, 50_000_000n - FEE, '1/0', true],
        [`${txD.getId()}:0`, 1_000_000n, '0/30', true],
        [`${txD.getId()}:1`, 2_000_000n, '1/7', true],
      ]));
      expect(coins).toHaveLength(5);
      const deep = await s.coins(5);
      expect(deep.filter((c) => c.spendable).map((c) => c.height)).toEqual([3, 3]);
      const summary = await s.summary(1);
      expect(summary.spendableSat).toBe(20_000_000n + 5_000_000n + 50_000_000n - FEE + 1_000_000n + 2_000_000n);
      expect(summary.unconfirmedSat).toBe(0n);
    });
    if (kind === 'sqlite') {
      for (const [c, i] of [[0, 0], [0, 1], [0, 2], [0, 30]] as const) expect(statusOf(url, addressOf(poolKey(c, i)))).toBe('used');
      expect(statusOf(url, addressOf(poolKey(0, 3)))).not.toBe('used');
    }
    const before = await canonicalDump(url);
    const again = await syncOnce(url, node, adapter);
    expect(again.blocks).toBe(0);
    expect(await canonicalDump(url)).toBe(before);
  });
});

describe('chain sync details (sqlite, rpc)', () => {
  it('starts at the account birthday: the first block at or after the first batch\'s creation time minus 2 h', async () => {
    node.setChain(scenario.chain);
    const url = await freshUrl('sqlite');
    const created = new Date((GENESIS_TIME + 5 * BLOCK_INTERVAL_SEC + 7200) * 1000).toISOString();
    await preparePool(url, 40, 0, created);
    const source = sourceFor(node, 'rpc');
    const store = openChainStore(url);
    try {
      const result = await (await ChainFollower.open(source, store)).sync();
      expect(result.blocks).toBe(3); // heights 5, 6, 7
      expect(await store.firstHeight()).toBe(5);
      expect((await store.deposits()).map((d) => d.height)).toEqual([5]);
    } finally {
      await source.close();
      await store.close();
    }
  });

  it.each(['rpc', 'esplora'] as const)('mempool (%s): an unconfirmed deposit is shown with 0 confirmations, never spendable; a mempool spend takes a coin out; confirmation makes it spendable', async (adapter) => {
    const chain = buildScenario().chain;
    const funding = chain.coinbaseUtxos(2)[3]!;
    node.setChain(chain);
    const url = await freshUrl('sqlite');
    await preparePool(url);
    await syncOnce(url, node, adapter);
    const txM = spend([funding], [{ key: poolKey(0, 3), valueSat: 7_000_000n }, { key: otherKey(9), valueSat: funding.valueSat - 7_000_000n - FEE }]);
    const coinB = (await withChainStore(url, (s) => s.coins(1))).find((c) => c.chain === 0 && c.index === 1)!;
    const txS = spend([{ txid: coinB.txid, vout: coinB.vout, valueSat: coinB.valueSat, key: poolKey(0, 1) }], [{ key: otherKey(21), valueSat: coinB.valueSat - FEE }]);
    node.addToMempool(txS); // child-less spend of a confirmed coin
    node.addToMempool(txM);
    const source = sourceFor(node, adapter);
    const store = openChainStore(url);
    try {
      const follower = await ChainFollower.open(source, store);
      expect(await follower.scanMempool()).toEqual({ txs: 2, outputs: 1, spends: 1 });
      const dep = (await store.deposits()).find((d) => d.txid === txM.getId())!;
      expect(dep).toMatchObject({ height: undefined, confirmations: 0, amountSat: 7_000_000n });
      const coins = await store.coins(1);
      expect(coins.find((c) => c.txid === txM.getId())).toMatchObject({ spendable: false, height: undefined });
      expect(coins.find((c) => c.txid === coinB.txid && c.vout === coinB.vout)).toBeUndefined();
      const summary = await store.summary(1);
      expect(summary.unconfirmedSat).toBe(7_000_000n);
      expect(summary.spendableSat).not.toBe(0n);

      chain.mine([txM, txS]);
      node.setChain(chain);
      await follower.sync();
      await follower.scanMempool();
      const confirmed = (await store.coins(1)).find((c) => c.txid === txM.getId())!;
      expect(confirmed).toMatchObject({ height: 8, confirmations: 1, spendable: true });
      expect((await store.deposits()).find((d) => d.txid === coinB.txid && d.vout === coinB.vout)!.spentBy).toBe(txS.getId());
    } finally {
      await source.close();
      await store.close();
    }
    expect(await canonicalDump(url)).toBe(await (async () => {
      const fresh = await freshUrl('sqlite');
      await preparePool(fresh);
      await syncOnce(fresh, node, adapter);
      return canonicalDump(fresh);
    })());
  });

  it('recognises change far up the change chain: the watch extends past each used change index', async () => {
    const chain = buildScenario().chain;
    const f = chain.coinbaseUtxos(2)[3]!;
    // 1/7 is used at height 5; 1/1006 is within 7 + 1000; then 1/2000 within 1006 + 1000.
    const t1 = spend([f], [{ key: poolKey(1, 1006), valueSat: 1_000_000n }, { key: otherKey(9), valueSat: f.valueSat - 1_000_000n - FEE }]);
    chain.mine([t1]);
    const t2 = spend([{ txid: t1.getId(), vout: 1, valueSat: f.valueSat - 1_000_000n - FEE, key: otherKey(9) }], [{ key: poolKey(1, 2000), valueSat: 500_000n }]);
    chain.mine([t2]);
    node.setChain(chain);
    const url = await freshUrl('sqlite');
    await preparePool(url);
    await syncOnce(url, node, 'rpc');
    const coins = await withChainStore(url, (s) => s.coins(1));
    expect(coins.filter((c) => c.chain === 1).map((c) => c.index).sort((a, b) => a - b)).toEqual([0, 7, 1006, 2000]);
  });
});
