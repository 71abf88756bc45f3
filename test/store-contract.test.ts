import { writeFileSync, mkdtempSync, cpSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import Database from 'better-sqlite3';
import { isCoded } from '../src/core/errors.js';
import type { PoolStore } from '../src/core/ports.js';
import { parseDbUrl } from '../src/store/db-url.js';
import { SQL_DIR, knownVersion } from '../src/store/migrate.js';
import { CLAIM_ANY_SLOT_SQL, CLAIM_IN_SLOT_SQL, HAND_OUT_SQL, SET_PICK_SQL } from '../src/store/mysql/pool-store.js';
import type { MysqlConnection } from '../src/store/mysql/connection.js';
import { openStore, type Opened } from './support/open-repos.js';
import { MARIADB_ROOT, createMariaDb, fakeBatch, tempSqliteUrl } from './support/pool-fixtures.js';

/**
 * One contract, two real databases: a SQLite temp file per test and a fresh
 * MariaDB database per file (tables emptied between tests).
 */
interface Backend {
  readonly name: string;
  setup(): Promise<void>;
  fresh(): Promise<string>;
  /** Run raw SQL on the backend (test-only surgery). */
  raw(url: string, sql: string): Promise<void>;
  teardown(): Promise<void>;
}

const sqliteCleanups: (() => void)[] = [];
const sqlite: Backend = {
  name: 'sqlite',
  setup: async () => {},
  fresh: async () => {
    const t = tempSqliteUrl();
    sqliteCleanups.push(t.cleanup);
    return t.url;
  },
  raw: async (url, sql) => {
    const db = new Database(url.slice('sqlite:'.length));
    db.exec(sql);
    db.close();
  },
  teardown: async () => sqliteCleanups.splice(0).forEach((c) => c()),
};

let maria: Awaited<ReturnType<typeof createMariaDb>> | undefined;
let mariaRound = 0;
const mariadb: Backend = {
  name: 'mariadb',
  setup: async () => {
    maria = await createMariaDb();
  },
  fresh: async () => {
    // A fresh database per test: cheap on MariaDB, and migrations tests need an empty one.
    const name = `${maria!.name}_${++mariaRound}`;
    const c = await mysql.createConnection(MARIADB_ROOT);
    await c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await c.end();
    return `mysql://root@127.0.0.1:3306/${name}`;
  },
  raw: async (url, sql) => {
    const c = await mysql.createConnection({ ...MARIADB_ROOT, database: new URL(url).pathname.slice(1), multipleStatements: true });
    await c.query(sql);
    await c.end();
  },
  teardown: async () => {
    const c = await mysql.createConnection(MARIADB_ROOT);
    for (let i = 1; i <= mariaRound; i++) await c.query(`DROP DATABASE IF EXISTS \`${maria!.name}_${i}\``);
    await c.end();
    await maria?.drop();
  },
};

/**
 * MariaDB again, its rows going in as INSERTs: `?localInfile=0` keeps the
 * client from offering LOCAL INFILE, so the server refuses the store's
 * LOAD DATA (4166) and the store falls back, as it does on MySQL 8 servers
 * with local_infile=OFF.
 */
const mariadbInserts: Backend = {
  ...mariadb,
  name: 'mariadb, LOCAL INFILE refused',
  fresh: async () => `${await mariadb.fresh()}?localInfile=0`,
  raw: (url, sql) => mariadb.raw(url.replace(/\?.*$/, ''), sql),
};

async function expectCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(isCoded(e), `expected CodedError ${code}, got ${String(e)}`).toBe(true);
  expect((e as { code: string }).code).toBe(code);
  if (message) expect((e as Error).message).toMatch(message);
}

describe.each([sqlite, mariadb, mariadbInserts])('PoolStore contract on $name', (backend) => {
  let url: string;
  let store: Opened<PoolStore>;

  beforeAll(() => backend.setup());
  afterAll(() => backend.teardown());
  beforeEach(async () => {
    url = await backend.fresh();
    store = openStore(url);
    await store.migrate();
  });
  afterEach(() => store.close());

  it('migrate is idempotent and records version + checksum', async () => {
    const latest = knownVersion(backend.name === 'sqlite' ? 'sqlite' : 'mysql');
    expect(latest).toBeGreaterThanOrEqual(1);
    expect(await store.migrate()).toEqual({ applied: [], version: latest });
    const again = openStore(url);
    expect(await again.migrate()).toEqual({ applied: [], version: latest });
    const fresh = openStore(await backend.fresh());
    expect(await fresh.migrate()).toEqual({ applied: Array.from({ length: latest }, (_, i) => i + 1), version: latest });
    await fresh.close();
    await again.close();
  });

  it('re-runs a migration that was interrupted before it was recorded', async () => {
    const latest = knownVersion(backend.name === 'sqlite' ? 'sqlite' : 'mysql');
    await backend.raw(url, `DELETE FROM schema_migrations WHERE version = ${latest}`);
    const s = openStore(url);
    expect(await s.migrate()).toEqual({ applied: [latest], version: latest });
    await s.close();
  });

  it('refuses a database whose schema is newer than the program', async () => {
    await backend.raw(url, "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (99, '099_future.sql', 'x', '2030-01-01 00:00:00')");
    const s = openStore(url);
    await expectCode(s.migrate(), 'STATE_CONFLICT', /newer than this program/);
    await expectCode(s.countAvailable(), 'STATE_CONFLICT', /newer/);
    await s.close();
  });

  it('refuses a migration file edited after it was applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coldpool-sql-'));
    cpSync(SQL_DIR, dir, { recursive: true });
    const file = join(dir, backend.name === 'sqlite' ? 'sqlite' : 'mysql', '001_init.sql');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n-- edited\n`);
    const s = openStore(url, { sqlDir: dir });
    await expectCode(s.migrate(), 'STATE_CONFLICT', /001_init\.sql changed after it was applied/);
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an unmigrated database is refused with a hint to migrate', async () => {
    const s = openStore(await backend.fresh());
    await expectCode(s.claim('u'), 'STATE_CONFLICT', /not migrated/);
    await s.close();
  });

  it('the first batch pins the account; another account is refused unless added', async () => {
    expect(await store.account()).toBeUndefined();
    const a = fakeBatch({ count: 10 });
    expect((await store.insertBatch(a)).kind).toBe('loaded');
    expect(await store.account()).toEqual({ keyId: a.keyId, descriptor: a.descriptor, network: 'testnet' });
    const b = fakeBatch({ account: 'B', count: 10 });
    const before = await store.dumpDigest();
    await expectCode(store.insertBatch(b), 'REFUSED', /another account/);
    expect(await store.dumpDigest()).toBe(before);
    await expectCode(store.insertBatch(fakeBatch({ account: 'C', count: 5, network: 'mainnet' }), { addAccount: true }), 'NETWORK_MISMATCH');
    expect(await store.pinAccount({ keyId: a.keyId, descriptor: a.descriptor, network: 'testnet' })).toBe('already-pinned');
    expect((await store.insertBatch(b, { addAccount: true })).kind).toBe('loaded');
    expect((await store.accounts()).map((x) => x.keyId)).toEqual([a.keyId, b.keyId]);
    expect((await store.account())?.keyId).toBe(a.keyId);
  });

  it('pinAccount pins a fresh pool and refuses another account', async () => {
    const a = fakeBatch({ count: 1 });
    expect(await store.pinAccount({ keyId: a.keyId, descriptor: a.descriptor, network: a.network })).toBe('pinned');
    const b = fakeBatch({ account: 'B', count: 1 });
    await expectCode(store.pinAccount({ keyId: b.keyId, descriptor: b.descriptor, network: b.network }), 'REFUSED');
    expect(await store.pinAccount({ keyId: b.keyId, descriptor: b.descriptor, network: b.network }, { add: true })).toBe('added');
  });

  it('loads a batch once; the same batch again is a no-op', async () => {
    const batch = fakeBatch({ count: 2500 });
    const progress: number[] = [];
    const first = await store.insertBatch(batch, { onProgress: (n) => progress.push(n) });
    expect(first).toMatchObject({ kind: 'loaded', inserted: 2500 });
    expect(progress.at(-1)).toBe(2500);
    const before = await store.dumpDigest();
    const again = await store.insertBatch(batch);
    expect(again).toEqual({ kind: 'already-loaded', batchId: first.batchId });
    expect(typeof first.batchId).toBe('bigint');
    expect(await store.dumpDigest()).toBe(before);
    expect(await store.countAvailable()).toBe(2500);
  });

  it('refuses an overlapping batch with different content, naming the first index, changing nothing', async () => {
    await store.insertBatch(fakeBatch({ count: 100 }));
    const before = await store.dumpDigest();
    const altered = fakeBatch({ first: 50, count: 100, tweak: (a) => (a[0] = 'tb1qaltered0000000000000000000000000000000') });
    await expectCode(store.insertBatch(altered), 'REFUSED', /index 50 is already loaded with a different address/);
    // Same content overlapping is refused too: a batch is loaded whole or not at all.
    await expectCode(store.insertBatch(fakeBatch({ first: 90, count: 20 })), 'REFUSED', /index 90 is already loaded/);
    expect(await store.dumpDigest()).toBe(before);
    // The change chain has its own index space.
    expect((await store.insertBatch(fakeBatch({ chain: 1, first: 0, count: 10 }))).kind).toBe('loaded');
  });

  it('refuses a batch holding an address already present at another index, changing nothing', async () => {
    const a = fakeBatch({ count: 100 });
    await store.insertBatch(a);
    const before = await store.dumpDigest();
    const b = fakeBatch({ first: 100, count: 50, tweak: (x) => (x[7] = a.addresses[3]!) });
    await expectCode(store.insertBatch(b), 'REFUSED', /index 107: address \S+ the pool already holds it at index 3/);
    expect(await store.dumpDigest()).toBe(before);
    const dup = fakeBatch({ first: 100, count: 50, tweak: (x) => (x[9] = x[2]!) });
    await expectCode(store.insertBatch(dup), 'REFUSED', /index 109: .* already appears at index 102/);
    expect(await store.dumpDigest()).toBe(before);
    expect((await store.status()).batches).toHaveLength(1);
  });

  it('refuses a batch whose shape does not hold together, before touching the pool', async () => {
    const good = fakeBatch({ count: 3 });
    await expectCode(store.insertBatch({ ...good, count: 4 }), 'INVALID_INPUT', /count 4 but 3 addresses/);
    await expectCode(store.insertBatch({ ...good, digest: 'xyz' }), 'INVALID_INPUT', /digest/);
    await expectCode(store.insertBatch({ ...good, first: 2 ** 31 - 2 }), 'INVALID_INPUT', /runs past index/);
    expect(await store.account()).toBeUndefined();
  });

  it('claims distinct addresses, 50 in parallel, then POOL_EMPTY', async () => {
    await store.insertBatch(fakeBatch({ count: 50 }));
    await store.insertBatch(fakeBatch({ chain: 1, count: 20 })); // change addresses are never handed out
    const claims = await Promise.all(Array.from({ length: 50 }, (_, i) => store.claim(`user-${i}`)));
    expect(new Set(claims.map((c) => c.address)).size).toBe(50);
    expect(new Set(claims.map((c) => c.index)).size).toBe(50);
    expect(claims.every((c) => !c.reused && c.assignedAt instanceof Date && c.ref === undefined)).toBe(true);
    await expectCode(store.claim('late'), 'POOL_EMPTY', /no available address/);
    expect(await store.countAvailable()).toBe(0);
  });

  it('a claim with a ref is idempotent', async () => {
    await store.insertBatch(fakeBatch({ count: 10 }));
    const a = await store.claim('alice', 'dep-1');
    const again = await store.claim('alice', 'dep-1');
    expect(again).toMatchObject({ address: a.address, index: a.index, reused: true, ref: 'dep-1', user: 'alice' });
    expect(again.assignedAt.getTime()).toBe(a.assignedAt.getTime());
    await expectCode(store.claim('mallory', 'dep-1'), 'STATE_CONFLICT', /already claimed for user "alice"/);
    const racing = await Promise.all(Array.from({ length: 8 }, () => store.claim('bob', 'dep-2')));
    expect(new Set(racing.map((c) => c.address)).size).toBe(1);
    expect(await store.countAvailable()).toBe(8);
    await expectCode(store.claim(''), 'INVALID_INPUT');
  });

  // ---- addresses per user (schema 009) ----

  it('assign gives a user N addresses at once, lowest indexes first, no longer available; claim hands them out in index order', async () => {
    await store.insertBatch(fakeBatch({ count: 300 }));
    await store.insertBatch(fakeBatch({ chain: 1, count: 20 })); // change addresses are never in a set
    const r = await store.assign('alice', 100);
    expect(r.kind).toBe('assigned');
    expect(r.added.map((a) => a.index)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(r.set).toMatchObject({ user: 'alice', size: 100, handedOut: 0 });
    expect(r.set.unhanded).toEqual(r.added);
    expect(r.set.createdAt).toBeInstanceOf(Date);
    expect(await store.countAvailable()).toBe(200);
    const bob = await store.assign('bob', 100);
    expect(bob.added.map((a) => a.index)).toEqual(Array.from({ length: 100 }, (_, i) => 100 + i));
    const claims = [];
    for (let i = 0; i < 5; i++) claims.push(await store.claim('alice'));
    expect(claims.map((c) => c.index)).toEqual([0, 1, 2, 3, 4]);
    expect(claims.map((c) => c.address)).toEqual(r.added.slice(0, 5).map((a) => a.address));
    expect(claims.every((c) => c.source === 'set' && !c.reused)).toBe(true);
    expect(claims[4]!.set).toEqual({ remaining: 95, toppedUp: 0 });
    // Handing out from a set takes nothing from the pool.
    expect(await store.countAvailable()).toBe(100);
    const set = await store.addressSet('alice');
    expect(set).toMatchObject({ size: 100, handedOut: 5 });
    expect(set!.unhanded[0]!.index).toBe(5);
    expect(await store.addressSet('nobody')).toBeUndefined();
    expect((await store.status())).toMatchObject({ available: 100, assigned: 200 });
  });

  it('tops a set up when fewer than a tenth remain, all or nothing, and never fails the claim for it', async () => {
    await store.insertBatch(fakeBatch({ count: 40 }));
    await store.assign('carol', 20); // low water: below 2
    const out = [];
    for (let i = 0; i < 18; i++) out.push(await store.claim('carol'));
    expect(out.every((c) => c.set!.toppedUp === 0)).toBe(true);
    expect(out.at(-1)!.set!.remaining).toBe(2);
    const low = await store.claim('carol'); // 1 left: refill to 20
    expect(low).toMatchObject({ index: 18, source: 'set', set: { remaining: 20, toppedUp: 19 } });
    expect(await store.countAvailable()).toBe(1);
    const set = await store.addressSet('carol');
    expect(set!.unhanded.map((a) => a.index)).toEqual([19, ...Array.from({ length: 19 }, (_, i) => 20 + i)]);
    // Drain the set until it is low again: the pool (1 left) cannot refill it, the claims still succeed.
    let last;
    for (let i = 0; i < 19; i++) last = await store.claim('carol');
    expect(last!.set).toMatchObject({ remaining: 1, toppedUp: 0 });
    expect(last!.set!.topUpRefused).toMatch(/needs 19 available addresses, the pool has 1/);
    expect(await store.countAvailable()).toBe(1);
    await store.claim('carol'); // the set's last one
    // Used up, the pool cannot refill it: the user still gets the pool's last address, then POOL_EMPTY.
    const single = await store.claim('carol');
    expect(single).toMatchObject({ source: 'pool', index: 39, set: { remaining: 0, toppedUp: 0 } });
    await expectCode(store.claim('carol'), 'POOL_EMPTY');
    // Loading more lets the next claim refill the used-up set first.
    await store.insertBatch(fakeBatch({ first: 40, count: 40 }));
    const refilled = await store.claim('carol');
    expect(refilled).toMatchObject({ source: 'set', index: 40, set: { remaining: 19, toppedUp: 20 } });
  });

  it('a user without a set claims from the pool; a second assign reports the set unless add', async () => {
    await store.insertBatch(fakeBatch({ count: 100 }));
    const c = await store.claim('dave');
    expect(c.source).toBe('pool');
    expect(c.set).toBeUndefined();
    const first = await store.assign('erin', 10);
    const again = await store.assign('erin', 10);
    expect(again.kind).toBe('existing');
    expect(again.added).toEqual([]);
    expect(again.set.unhanded).toEqual(first.set.unhanded);
    expect(await store.countAvailable()).toBe(89);
    const more = await store.assign('erin', 5, { add: true });
    expect(more.kind).toBe('added');
    expect(more.added).toHaveLength(5);
    expect(more.set).toMatchObject({ size: 15 });
    expect(more.set.unhanded).toHaveLength(15);
    expect((await store.assign('frank', 3, { add: true })).kind).toBe('assigned');
    expect(await store.countAvailable()).toBe(81);
    // A user who claimed from the pool before gets a set like anyone else; the claimed address is not in it.
    const dave = await store.assign('dave', 4);
    expect(dave.kind).toBe('assigned');
    expect(dave.set).toMatchObject({ handedOut: 1 });
    expect(dave.set.unhanded.map((a) => a.address)).not.toContain(c.address);
    // Concurrent signups of one user: one set.
    const racing = await Promise.all(Array.from({ length: 6 }, () => store.assign('gina', 7)));
    expect(racing.filter((x) => x.kind === 'assigned')).toHaveLength(1);
    expect(new Set(racing.map((x) => JSON.stringify(x.set.unhanded))).size).toBe(1);
    expect(await store.countAvailable()).toBe(81 - 4 - 7);
    await expectCode(store.assign('', 10), 'INVALID_INPUT');
    await expectCode(store.assign('x', 0), 'INVALID_INPUT', /"count" expected an integer 1\.\.10000/);
    await expectCode(store.assign('x', 10_001), 'INVALID_INPUT');
    await expectCode(store.assign('x', 1.5), 'INVALID_INPUT');
  });

  it('a ref stays idempotent with sets: the same address again, never a second set address', async () => {
    await store.insertBatch(fakeBatch({ count: 50 }));
    await store.assign('hal', 10);
    const a = await store.claim('hal', 'dep-1');
    expect(a).toMatchObject({ index: 0, source: 'set', reused: false });
    const again = await store.claim('hal', 'dep-1');
    expect(again).toMatchObject({ address: a.address, reused: true });
    expect(again.assignedAt.getTime()).toBe(a.assignedAt.getTime());
    await expectCode(store.claim('ivy', 'dep-1'), 'STATE_CONFLICT', /already claimed for user "hal"/);
    const racing = await Promise.all(Array.from({ length: 8 }, () => store.claim('hal', 'dep-2')));
    expect(new Set(racing.map((c) => c.address)).size).toBe(1);
    expect(racing[0]!.index).toBe(1);
    expect((await store.addressSet('hal'))).toMatchObject({ handedOut: 2 });
    expect((await store.addressSet('hal'))!.unhanded).toHaveLength(8);
  });

  it('POOL_EMPTY for a set the pool cannot fill whole, naming what is available, nothing written', async () => {
    await store.insertBatch(fakeBatch({ count: 30 }));
    await store.claim('jo');
    const before = await store.dumpDigest();
    await expectCode(store.assign('kim', 30), 'POOL_EMPTY', /a set of 30 addresses for user "kim" needs 30 available addresses, the pool has 29/);
    expect(await store.dumpDigest()).toBe(before);
    expect(await store.addressSet('kim')).toBeUndefined();
    expect(await store.countAvailable()).toBe(29);
    expect((await store.assign('kim', 29)).added).toHaveLength(29);
    await expectCode(store.assign('lee', 1), 'POOL_EMPTY', /pool has 0/);
  });

  it('many signups at once on one handle: disjoint sets of exactly N', async () => {
    await store.insertBatch(fakeBatch({ count: 1000 }));
    const sets = await Promise.all(Array.from({ length: 16 }, (_, i) => store.assign(`s${i}`, 50)));
    const all = sets.flatMap((x) => x.added.map((a) => a.address));
    expect(sets.every((x) => x.kind === 'assigned' && x.added.length === 50)).toBe(true);
    expect(new Set(all).size).toBe(800);
    expect(await store.countAvailable()).toBe(200);
  });

  it('the migration to 009 counts every address handed out before it as handed out', async () => {
    await store.insertBatch(fakeBatch({ count: 10 }));
    await store.claim('old-user');
    // As a pre-009 claim left it (a web app on the old statements does the same after 009).
    await backend.raw(url, "UPDATE addresses SET handed_out_at = NULL WHERE user_id = 'old-user'");
    await backend.raw(url, `DELETE FROM schema_migrations WHERE version = 9`);
    await store.migrate();
    const c = await store.claim('old-user');
    expect(c.source).toBe('pool');
    await backend.raw(url, "UPDATE addresses SET handed_out_at = NULL WHERE user_id = 'old-user'");
    // Even unstamped, an address a claim handed out (claim_id set) is never handed out again as a set address.
    await store.assign('old-user', 2);
    const next = await store.claim('old-user');
    expect(next).toMatchObject({ source: 'set' });
    expect(next.address).not.toBe(c.address);
  });

  it('status: counts, per batch, next index, recovery gap', async () => {
    let s = await store.status();
    expect(s).toMatchObject({ account: undefined, available: 0, assigned: 0, used: 0, batches: [], nextIndex: 0, highestAssignedIndex: undefined, highestUsedIndex: undefined });
    await store.insertBatch(fakeBatch({ count: 200 }));
    await store.insertBatch(fakeBatch({ first: 200, count: 100 }));
    const claimed = [];
    for (let i = 0; i < 70; i++) claimed.push(await store.claim(`u${i}`));
    await backend.raw(url, `UPDATE addresses SET status = 'used' WHERE idx = ${claimed[5]!.index}`);
    s = await store.status();
    expect(s).toMatchObject({ available: 230, assigned: 69, used: 1, nextIndex: 300 });
    expect(s.batches.map((b) => [b.first, b.count, b.available + b.assigned + b.used])).toEqual([[0, 200, 200], [200, 100, 100]]);
    expect(s.highestAssignedIndex).toBe(Math.max(...claimed.map((c) => c.index)));
    expect(s.highestUsedIndex).toBe(claimed[5]!.index);
    // Handed out roughly in index order: 70 claims stay within the first two rows of slots.
    expect(s.highestAssignedIndex!).toBeLessThan(70 + 2 * 64);
  });

  it('BIGINT columns round-trip as bigint beyond 2^53', async () => {
    const big = 2n ** 62n + 12345n;
    await backend.raw(url, `INSERT INTO payouts (id, status, psbt, fee_sat, fee_rate_sat_kvb, created_at) VALUES (${big}, 'built', 'cHNidP8=', ${big}, 1000, '2026-01-01 00:00:00')`);
    if (backend.name === 'sqlite') {
      const db = new Database(url.slice('sqlite:'.length));
      db.defaultSafeIntegers(true);
      expect(db.prepare('SELECT id, fee_sat FROM payouts').get()).toEqual({ id: big, fee_sat: big });
      db.close();
    } else {
      const c = await mysql.createConnection({ ...MARIADB_ROOT, database: new URL(url).pathname.slice(1), supportBigNumbers: true, bigNumberStrings: true });
      const [rows] = await c.query('SELECT id, fee_sat FROM payouts');
      const row = (rows as { id: string; fee_sat: string }[])[0]!;
      expect([BigInt(row.id), BigInt(row.fee_sat)]).toEqual([big, big]);
      await c.end();
    }
    // A batch id past 2^53 comes back exact through the store.
    const a = fakeBatch({ count: 1 });
    await store.pinAccount({ keyId: a.keyId, descriptor: a.descriptor, network: a.network });
    await backend.raw(url, `INSERT INTO address_batches (id, account_id, descriptor, network, chain, first_index, count, digest, created, loaded_at) VALUES (${big - 1n}, 1, 'd', 'testnet', 1, 1000000, 1, 'x', 'c', '2026-01-01 00:00:00')`);
    const loaded = await store.insertBatch(a);
    expect(loaded.batchId).toBe(big);
    expect((await store.status()).batches.map((b) => b.id)).toEqual([big - 1n, big]);
  });
});

describe('unreachable MariaDB', () => {
  it('is UNAVAILABLE naming host:port/db, never the password', async () => {
    const s = openStore('mysql://coldpool_web:s3cret-pw@127.0.0.1:1/coldpool');
    const e = await s.countAvailable().then(() => undefined, (err: unknown) => err);
    await s.close();
    expect(isCoded(e, 'UNAVAILABLE')).toBe(true);
    expect((e as Error).message).toContain('127.0.0.1:1/coldpool');
    expect(JSON.stringify({ m: (e as Error).message, h: (e as { hint?: string }).hint, c: (e as { context?: unknown }).context })).not.toContain('s3cret');
  });
});

describe('MariaDB claim plan', () => {
  let db: Awaited<ReturnType<typeof createMariaDb>>;
  beforeAll(async () => {
    db = await createMariaDb();
    const s = openStore(db.url);
    await s.migrate();
    await s.insertBatch(fakeBatch({ count: 3000 }));
    await s.close();
  });
  afterAll(() => db.drop());

  it('every store connection runs utf8mb4_bin, UTC and READ COMMITTED', async () => {
    const store = openStore(db.url);
    const pool = (store['conn' as keyof typeof store] as unknown as MysqlConnection).pool;
    const rows = await Promise.all(Array.from({ length: 4 }, () => pool.query('SELECT @@collation_connection AS c, @@time_zone AS tz, @@tx_isolation AS iso, SLEEP(0.05)')));
    for (const [r] of rows) expect((r as Record<string, unknown>[])[0]).toMatchObject({ c: 'utf8mb4_bin', tz: '+00:00', iso: 'READ-COMMITTED' });
    await store.close();
  });

  // A claim that sorts its slot locks every row of it: the pool then serves
  // tens of claims per second instead of a thousand. The plan must read the
  // first row of the index, however the driver binds the slot.
  it.each([['a number (text protocol)', 'query', 7], ['a string (prepared)', 'execute', '7'], ['a double (prepared)', 'execute', 7.5]])(
    'reads one index row with the slot bound as %s', async (_label, method, slot) => {
      const c = await mysql.createConnection({ ...MARIADB_ROOT, database: db.name, charset: 'UTF8MB4_BIN' });
      await c.query('SET NAMES utf8mb4 COLLATE utf8mb4_bin');
      const run = (sql: string, params: unknown[]) => (method === 'query' ? c.query(sql, params) : c.execute(sql, params as (string | number | null)[]));
      for (const sql of [CLAIM_IN_SLOT_SQL, CLAIM_ANY_SLOT_SQL]) {
        const params = sql === CLAIM_IN_SLOT_SQL ? ['u', null, slot] : ['u', null];
        const [plan] = await run(`EXPLAIN ${sql}`, params);
        const row = (plan as { key: string; Extra: string }[])[0]!;
        expect(row.key).toBe('ix_addresses_claim');
        expect(row.Extra).not.toMatch(/filesort/);
      }
      await c.end();
    });

  // Schema 009. The set pick reads the first N entries of its index in order
  // (a sort would lock every available row it looked at). The hand-out
  // changes a column of the index it reads, so MariaDB sorts, but only the
  // one user's unhanded rows (the range on user_id): never the pool.
  it.each([['a number (text protocol)', 'query', 100], ['a string (prepared)', 'execute', '100']])(
    'set pick and hand-out use their indexes with the count bound as %s', async (_label, method, n) => {
      const c = await mysql.createConnection({ ...MARIADB_ROOT, database: db.name, charset: 'UTF8MB4_BIN' });
      await c.query('SET NAMES utf8mb4 COLLATE utf8mb4_bin');
      const run = (sql: string, params: unknown[]) => (method === 'query' ? c.query(sql, params) : c.execute(sql, params as (string | number | null)[]));
      const [pick] = await run(`EXPLAIN ${SET_PICK_SQL}`, [n]);
      expect((pick as { key: string; Extra: string }[])[0]).toMatchObject({ key: 'ix_addresses_handout', Extra: expect.not.stringMatching(/filesort/) as unknown });
      const [hand] = await run(`EXPLAIN ${HAND_OUT_SQL}`, [null, 'u']);
      expect((hand as { key: string; type: string }[])[0]).toMatchObject({ key: 'ix_addresses_user', type: expect.stringMatching(/^(range|ref)$/) as unknown });
      await c.end();
    });
});
