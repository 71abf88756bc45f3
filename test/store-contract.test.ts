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
import { CLAIM_ANY_SLOT_SQL, CLAIM_IN_SLOT_SQL } from '../src/store/mysql/pool-store.js';
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
});
