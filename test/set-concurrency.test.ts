import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssignOutcome, ClaimedAddress, PoolStore } from '../src/core/ports.js';
import { openStore, type Opened } from './support/open-repos.js';
import { MARIADB_ROOT, createMariaDb, fakeBatch, tempSqliteUrl } from './support/pool-fixtures.js';

/**
 * Addresses per user under many signups at once, each signup on its own
 * connection (MariaDB) or in its own process (SQLite): every set whole, no
 * address in two sets, the pool down by exactly what the sets took.
 */
const ROOT = new URL('..', import.meta.url).pathname;

describe('MariaDB: 64 concurrent signups of 100 addresses on 64 connections', () => {
  let db: Awaited<ReturnType<typeof createMariaDb>>;
  const SIGNUPS = 64;
  const SIZE = 100;
  // The sets, one top-up of 91 each and the plain claims: 12,384; the rest stays available.
  const TOTAL = 14_000;

  beforeAll(async () => {
    db = await createMariaDb();
    const loader = openStore(db.url);
    await loader.migrate();
    await loader.insertBatch(fakeBatch({ count: TOTAL }));
    await loader.close();
  });
  afterAll(() => db.drop());

  const rows = async (sql: string): Promise<Record<string, unknown>[]> => {
    const c = await mysql.createConnection({ ...MARIADB_ROOT, database: db.name });
    const [r] = await c.query(sql);
    await c.end();
    return r as Record<string, unknown>[];
  };

  it('every set has exactly 100, none shares an address, the available count drops by exactly 6,400; then claims hand them out and top up', async () => {
    const stores: Opened<PoolStore>[] = Array.from({ length: SIGNUPS }, () => openStore(`${db.url.replace(/\?.*$/, '')}?connectionLimit=1`));
    try {
      const before = await stores[0]!.countAvailable();
      expect(before).toBe(TOTAL);
      // Each store has opened its connection first, so the signups really start together.
      await Promise.all(stores.map((s) => s.countAvailable()));
      const sets: AssignOutcome[] = await Promise.all(stores.map((s, w) => s.assign(`signup-${w}`, SIZE)));
      expect(sets.every((s) => s.kind === 'assigned' && s.added.length === SIZE && s.set.unhanded.length === SIZE)).toBe(true);
      const all = sets.flatMap((s) => s.added.map((a) => a.address));
      expect(new Set(all).size).toBe(SIGNUPS * SIZE);
      expect(await stores[0]!.countAvailable()).toBe(TOTAL - SIGNUPS * SIZE);
      // The database agrees: exactly 100 rows per user, each the one the signup was told.
      const owned = await rows("SELECT user_id, COUNT(*) AS n, COUNT(DISTINCT address) AS d FROM addresses WHERE status = 'assigned' GROUP BY user_id");
      expect(owned).toHaveLength(SIGNUPS);
      expect(owned.every((r) => Number(r.n) === SIZE && Number(r.d) === SIZE)).toBe(true);
      const owner = new Map((await rows("SELECT address, user_id FROM addresses WHERE status = 'assigned'")).map((r) => [String(r.address), String(r.user_id)]));
      sets.forEach((s, w) => s.added.forEach((a) => expect(owner.get(a.address)).toBe(`signup-${w}`)));
      // The same signups again (a retried request): the same sets, nothing more taken.
      const again = await Promise.all(stores.map((s, w) => s.assign(`signup-${w}`, SIZE)));
      expect(again.every((s, w) => s.kind === 'existing' && JSON.stringify(s.set.unhanded) === JSON.stringify(sets[w]!.set.unhanded))).toBe(true);
      expect(await stores[0]!.countAvailable()).toBe(TOTAL - SIGNUPS * SIZE);

      // Phase 2: every user claims 95 at once with the others (the set drops below 10 at the 91st: one top-up
      // of 91 each, 64 top-ups racing each other), while 8 users without a set claim from the pool.
      const CLAIMS = 95;
      const claimers = stores.map(async (s, w) => {
        const mine: ClaimedAddress[] = [];
        for (let i = 0; i < CLAIMS; i++) mine.push(await s.claim(`signup-${w}`, i % 10 === 0 ? `ref-${w}-${i}` : undefined));
        return mine;
      });
      const plain = stores.slice(0, 8).map(async (s, w) => {
        const mine: ClaimedAddress[] = [];
        for (let i = 0; i < 20; i++) mine.push(await s.claim(`plain-${w}`));
        return mine;
      });
      const [fromSets, fromPool] = await Promise.all([Promise.all(claimers), Promise.all(plain)]);
      const handed = [...fromSets.flat(), ...fromPool.flat()].map((c) => c.address);
      expect(new Set(handed).size).toBe(SIGNUPS * CLAIMS + 8 * 20);
      fromSets.forEach((mine, w) => {
        expect(mine.every((c) => c.source === 'set')).toBe(true);
        // Lowest index first: the original set in order, then the top-up.
        expect(mine.slice(0, SIZE).map((c) => c.address).slice(0, 90)).toEqual(sets[w]!.added.slice(0, 90).map((a) => a.address));
        expect(mine.map((c) => c.set!.toppedUp).reduce((a, b) => a + b, 0)).toBe(91);
        expect(mine.at(-1)!.set!.remaining).toBe(SIZE - 4);
      });
      expect(fromPool.flat().every((c) => c.source === 'pool')).toBe(true);
      expect(await stores[0]!.countAvailable()).toBe(TOTAL - SIGNUPS * (SIZE + 91) - 8 * 20);
      // Every handed-out address belongs to the user it was handed to.
      const after = new Map((await rows('SELECT address, user_id FROM addresses WHERE handed_out_at IS NOT NULL')).map((r) => [String(r.address), String(r.user_id)]));
      expect(after.size).toBe(handed.length);
      fromSets.forEach((mine, w) => mine.forEach((c) => expect(after.get(c.address)).toBe(`signup-${w}`)));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  }, 120_000);
});

describe('MariaDB: a web worker with one connection', () => {
  let db: Awaited<ReturnType<typeof createMariaDb>>;
  beforeAll(async () => {
    db = await createMariaDb();
  });
  afterAll(() => db.drop());

  it('a refused top-up and a refused set report POOL_EMPTY without waiting for a second connection', async () => {
    const store = openStore(`${db.url.replace(/\?.*$/, '')}?connectionLimit=1`);
    try {
      await store.migrate();
      await store.insertBatch(fakeBatch({ count: 25 }));
      await store.assign('solo', 20);
      let last: ClaimedAddress | undefined;
      for (let i = 0; i < 19; i++) last = await store.claim('solo');
      expect(last!.set).toMatchObject({ remaining: 1, toppedUp: 0, topUpRefused: expect.stringMatching(/the pool has 5/) as unknown });
      await expect(store.assign('late', 6)).rejects.toMatchObject({ code: 'POOL_EMPTY', message: expect.stringMatching(/the pool has 5/) as unknown });
    } finally {
      await store.close();
    }
  }, 20_000);
});

describe('SQLite: signups in several processes on one file', () => {
  const PROCESSES = 4;
  const USERS = 6;
  const SIZE = 40;
  const file = tempSqliteUrl();

  beforeAll(async () => {
    if (!existsSync(`${ROOT}dist/store/db.js`)) await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
    const loader = openStore(file.url);
    await loader.migrate();
    // Not enough for every signup: the late ones must end on POOL_EMPTY with nothing half-assigned.
    await loader.insertBatch(fakeBatch({ count: PROCESSES * USERS * SIZE - 2 * SIZE - 7 }));
    await loader.close();
  });
  afterAll(() => file.cleanup());

  it('whole sets only, no address in two sets, no SQLITE_BUSY', async () => {
    let ready = 0;
    let go: () => void = () => {};
    const allReady = new Promise<void>((resolve) => (go = resolve));
    const run = (w: number) => new Promise<{ sets: { user: string; addresses: string[] }[]; empty: number; code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [`${ROOT}test/support/sqlite-assigner.mjs`, file.path, String(USERS), String(SIZE), String(w)], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        const first = out === '';
        out += d.toString();
        if (first && ++ready === PROCESSES) go();
      });
      void allReady.then(() => child.stdin.end('go\n'));
      child.on('close', (code) => {
        const last = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { sets?: { user: string; addresses: string[] }[]; empty?: number };
        resolve({ sets: last.sets ?? [], empty: last.empty ?? 0, code, out });
      });
    });
    const results = await Promise.all(Array.from({ length: PROCESSES }, (_, w) => run(w)));
    for (const r of results) expect(r.code, r.out.slice(0, 500)).toBe(0);
    const sets = results.flatMap((r) => r.sets);
    expect(sets.every((s) => s.addresses.length === SIZE)).toBe(true);
    // 2 whole sets could not be given (the pool was 2 sets and 7 addresses short): POOL_EMPTY, nothing written.
    expect(sets).toHaveLength(PROCESSES * USERS - 3);
    expect(results.reduce((n, r) => n + r.empty, 0)).toBe(3);
    const all = sets.flatMap((s) => s.addresses);
    expect(new Set(all).size).toBe(all.length);
    const store = openStore(file.url);
    expect(await store.countAvailable()).toBe(SIZE - 7);
    await store.close();
    expect(results.filter((r) => r.sets.length > 0).length).toBeGreaterThan(1);
  });
});
