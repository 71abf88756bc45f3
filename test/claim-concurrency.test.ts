import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCoded } from '../src/core/errors.js';
import type { ClaimedAddress, PoolStore } from '../src/core/ports.js';
import { openStore } from './support/open-repos.js';
import type { Opened } from './support/open-repos.js';
import { MARIADB_ROOT, createMariaDb, fakeBatch, tempSqliteUrl } from './support/pool-fixtures.js';

/**
 * Many claimers at once, each with its own connection (MariaDB) or its own
 * process (SQLite): every address handed out once, no claim lost, no
 * deadlock or busy error escaping the store.
 */
const ROOT = new URL('..', import.meta.url).pathname;

describe('MariaDB: 64 claimers on 64 connections', () => {
  let db: Awaited<ReturnType<typeof createMariaDb>>;
  const TOTAL = 4000;
  const CLAIMERS = 64;

  beforeAll(async () => {
    db = await createMariaDb();
    const loader = openStore(db.url);
    await loader.migrate();
    await loader.insertBatch(fakeBatch({ count: TOTAL / 2 }));
    await loader.insertBatch(fakeBatch({ first: TOTAL / 2, count: TOTAL / 2 }));
    await loader.close();
  });
  afterAll(() => db.drop());

  it('drains the pool: every address once, every claimer ends on POOL_EMPTY', async () => {
    // One store per claimer, one connection each: like 64 separate web workers.
    const stores: Opened<PoolStore>[] = Array.from({ length: CLAIMERS }, () => openStore(`${db.url.replace(/\?.*$/, '')}?connectionLimit=1`));
    const results = await Promise.all(stores.map(async (store, w) => {
      const mine: ClaimedAddress[] = [];
      for (let i = 0; ; i++) {
        try {
          // Every 7th claim carries a ref and is sent twice, as a retrying web request would.
          const ref = i % 7 === 0 ? `dep-${w}-${i}` : undefined;
          const c = await store.claim(`user-${w}`, ref);
          if (ref) expect(await store.claim(`user-${w}`, ref)).toMatchObject({ address: c.address, reused: true });
          mine.push(c);
        } catch (e) {
          if (isCoded(e, 'POOL_EMPTY')) return mine;
          throw e;
        }
      }
    }));
    await Promise.all(stores.map((s) => s.close()));
    const all = results.flat();
    expect(all).toHaveLength(TOTAL);
    expect(new Set(all.map((c) => c.address)).size).toBe(TOTAL);
    expect(all.every((c) => !c.reused)).toBe(true);
    // The database agrees: each row assigned to exactly the claimer that got it.
    const conn = await mysql.createConnection({ ...MARIADB_ROOT, database: db.name });
    const [rows] = await conn.query("SELECT address, user_id FROM addresses WHERE status = 'assigned'");
    await conn.end();
    const owner = new Map((rows as { address: string; user_id: string }[]).map((r) => [r.address, r.user_id]));
    expect(owner.size).toBe(TOTAL);
    results.forEach((mine, w) => mine.forEach((c) => expect(owner.get(c.address)).toBe(`user-${w}`)));
  });
});

describe('SQLite: several processes on one file', () => {
  const PROCESSES = 4;
  const TOTAL = 1200;
  const file = tempSqliteUrl();

  beforeAll(async () => {
    // The claimers import dist/store/db.js; build only when it is missing: a rebuild during the suite would swap dist/ under the CLI tests that spawn it.
    if (!existsSync(`${ROOT}dist/store/db.js`)) await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
    const loader = openStore(file.url);
    await loader.migrate();
    await loader.insertBatch(fakeBatch({ count: TOTAL }));
    await loader.close();
  });
  afterAll(() => file.cleanup());

  it('every address once across processes, no SQLITE_BUSY', async () => {
    // Each claimer may claim one more than the pool holds, so every one of them ends on the empty pool.
    let ready = 0;
    let go: () => void = () => {};
    const allReady = new Promise<void>((resolve) => (go = resolve));
    const run = (w: number) => new Promise<{ claimed: string[]; empty: boolean; code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [`${ROOT}test/support/sqlite-claimer.mjs`, file.path, String(TOTAL + 1), String(w)], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        const first = out === '';
        out += d.toString();
        if (first && ++ready === PROCESSES) go();
      });
      void allReady.then(() => child.stdin.end('go\n'));
      child.on('close', (code) => {
        const last = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { claimed?: string[]; empty?: boolean };
        resolve({ claimed: last.claimed ?? [], empty: last.empty ?? false, code, out });
      });
    });
    const results = await Promise.all(Array.from({ length: PROCESSES }, (_, w) => run(w)));
    for (const r of results) {
      expect(r.code, r.out.slice(0, 500)).toBe(0);
      expect(r.empty).toBe(true);
    }
    const all = results.flatMap((r) => r.claimed);
    expect(all).toHaveLength(TOTAL);
    expect(new Set(all).size).toBe(TOTAL);
    // Several processes really took part.
    expect(results.filter((r) => r.claimed.length > 0).length).toBeGreaterThan(1);
  });
});
