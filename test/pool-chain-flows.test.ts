/**
 * The read and hand-out flows of the pool (claim-address, pool-status, the
 * watcher's poolForecast) and of the chain record (chain-status), on a real
 * SQLite file through the one handle, as `pool claim|status|check` and
 * `chain status` / `deposits list` call them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/core/ports.js';
import { chainStatus, listDeposits } from '../src/flows/chain-status.js';
import { claimAddress } from '../src/flows/claim-address.js';
import { availableAddresses, poolStatus } from '../src/flows/pool-status.js';
import { poolForecast } from '../src/flows/watch.js';
import { openDatabase } from '../src/store/db.js';
import { fakeBatch, tempSqliteUrl } from './support/pool-fixtures.js';

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.splice(0).forEach((c) => c()));

async function withDb(fn: (db: Database) => Promise<void>): Promise<void> {
  const t = tempSqliteUrl();
  cleanups.push(t.cleanup);
  const db = openDatabase(t.url);
  try {
    await db.migrate();
    await fn(db);
  } finally {
    await db.close();
  }
}

describe('pool flows', () => {
  it('claimAddress hands out each address once, the same one again for the same ref; poolStatus and availableAddresses count it', async () => {
    await withDb(async (db) => {
      await db.pool.insertBatch(fakeBatch({ count: 5 }));
      const a = await claimAddress(db.pool, 'u1', 'r1');
      const again = await claimAddress(db.pool, 'u1', 'r1');
      const b = await claimAddress(db.pool, 'u2');
      // Claims start at a rotating slot (sql/README.md), so which index comes first is not fixed: only that none repeats.
      expect([a.reused, again.address === a.address, again.index === a.index, again.reused, b.index !== a.index]).toEqual([false, true, true, true, true]);
      expect([a.index, b.index].every((i) => i >= 0 && i < 5)).toBe(true);
      expect(await availableAddresses(db.pool)).toBe(3);
      const s = await poolStatus(db.pool);
      expect([s.available, s.assigned, s.used, s.nextIndex, s.highestAssignedIndex, s.batches.length]).toEqual([3, 2, 0, 5, Math.max(a.index, b.index), 1]);
      for (let i = 0; i < 3; i++) await claimAddress(db.pool, `w${i}`);
      await expect(claimAddress(db.pool, 'late')).rejects.toMatchObject({ code: 'POOL_EMPTY' });
    });
  });

  it('poolForecast: the available count, the claims of the window and the next index, from one read of the pool and its gauge', async () => {
    await withDb(async (db) => {
      await db.pool.insertBatch(fakeBatch({ count: 10 }));
      for (let i = 0; i < 4; i++) await claimAddress(db.pool, `u${i}`);
      const f = await poolForecast(db.pool, db.watcher, new Date());
      expect([f.available, f.nextIndex]).toEqual([6, 10]);
      expect(f.claimsPerDay).toBeGreaterThan(0);
      expect(f.daysLeft).toBeCloseTo(6 / f.claimsPerDay);
    });
  });
});

describe('chain-status flows', () => {
  it('before any sync: nothing synced, no coins, no deposits (all, or one user\'s)', async () => {
    await withDb(async (db) => {
      await db.pool.insertBatch(fakeBatch({ count: 3 }));
      const { summary, coins } = await chainStatus(db.chain, 1);
      expect(summary).toMatchObject({ synced: undefined, confirmedSat: 0n, spendableSat: 0n, unconfirmedSat: 0n, coins: 0, deposits: 0 });
      expect(coins).toEqual([]);
      expect(await listDeposits(db.chain)).toEqual([]);
      expect(await listDeposits(db.chain, { user: 'u1' })).toEqual([]);
    });
  });

  it('after a block paying two claimed addresses: the coins with their spendability at minConf, the deposits of all or one user', async () => {
    await withDb(async (db) => {
      await db.pool.insertBatch(fakeBatch({ count: 3 }));
      const [account] = await db.chain.accounts();
      const a = await claimAddress(db.pool, 'alice');
      const b = await claimAddress(db.pool, 'bob');
      const pay = (vout: number, c: { address: string; index: number }, valueSat: bigint) => ({
        txid: 'ab'.repeat(32), vout, valueSat, script: `0014${'00'.repeat(20)}`, owner: { accountId: account!.id, chain: 0 as const, index: c.index, address: c.address },
      });
      await db.chain.commitBlock({ height: 100, hash: 'cd'.repeat(32), prevHash: 'ef'.repeat(32), time: 1_700_000_000 }, [pay(0, a, 50_000n), pay(1, b, 70_000n)], []);

      const one = await chainStatus(db.chain, 1);
      expect([one.summary.synced?.height, one.summary.confirmedSat, one.summary.spendableSat, one.summary.coins]).toEqual([100, 120_000n, 120_000n, 2]);
      expect(one.coins.map((c) => `${c.vout} ${c.valueSat} ${c.confirmations} ${c.spendable}`)).toEqual(['0 50000 1 true', '1 70000 1 true']);
      const two = await chainStatus(db.chain, 2); // one block synced: nothing has two confirmations yet
      expect([two.summary.spendableSat, two.coins.every((c) => !c.spendable)]).toEqual([0n, true]);

      expect((await listDeposits(db.chain)).map((d) => `${d.user} ${d.amountSat} ${d.height}`)).toEqual(['alice 50000 100', 'bob 70000 100']);
      expect((await listDeposits(db.chain, { user: 'bob' })).map((d) => d.address)).toEqual([b.address]);
    });
  });
});
