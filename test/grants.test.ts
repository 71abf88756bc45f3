import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from './support/open-repos.js';
import { SQL_DIR } from '../src/store/migrate.js';
import { MARIADB_ROOT, createMariaDb, fakeBatch, uniqueName } from './support/pool-fixtures.js';
import { runCli } from './support/cli.js';

/**
 * sql/mysql/grants.sql applied as shipped (only names and passwords swapped
 * for unique test ones): the web account can claim and request withdrawals
 * but cannot touch withdrawal or payout state; the watcher sees counts only.
 */
const PASSWORD = `T3st-${uniqueName('pw')}`;
const suffix = uniqueName('g').slice(2);
const USERS = { web: `cpw_${suffix}`, watcher: `cpa_${suffix}`, operator: `cpo_${suffix}` };

let db: Awaited<ReturnType<typeof createMariaDb>>;

function grantsFor(database: string): string {
  return readFileSync(`${SQL_DIR}mysql/grants.sql`, 'utf8')
    .replaceAll('`coldpool`.', `\`${database}\`.`)
    .replaceAll("'coldpool_web'", `'${USERS.web}'`)
    .replaceAll("'coldpool_watcher'", `'${USERS.watcher}'`)
    .replaceAll("'coldpool_operator'", `'${USERS.operator}'`)
    .replace(/CHANGE_ME_\w+_password/g, PASSWORD);
}

async function connectAs(user: string): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: 3306, user, password: PASSWORD, database: db.name });
}

async function errnoOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(() => undefined, (e: { code?: string }) => e.code);
}

beforeAll(async () => {
  db = await createMariaDb();
  const store = openStore(db.url);
  await store.migrate();
  await store.insertBatch(fakeBatch({ count: 20 }));
  await store.close();
  const root = await mysql.createConnection({ ...MARIADB_ROOT, database: db.name, multipleStatements: true });
  await root.query(grantsFor(db.name));
  await root.query("INSERT INTO payouts (status, psbt, fee_sat, fee_rate_sat_kvb, created_at) VALUES ('built', 'cHNidP8=', 1000, 2000, UTC_TIMESTAMP(3))");
  await root.end();
});

afterAll(async () => {
  const root = await mysql.createConnection(MARIADB_ROOT);
  for (const u of Object.values(USERS)) await root.query(`DROP USER IF EXISTS '${u}'@'%'`);
  await root.end();
  await db.drop();
});

describe('grants.sql: the web account', () => {
  it('claims through the library, with and without a ref', async () => {
    const store = openStore(`mysql://${USERS.web}:${encodeURIComponent(PASSWORD)}@127.0.0.1:3306/${db.name}`);
    const a = await store.claim('web-user', 'dep-1');
    expect((await store.claim('web-user', 'dep-1')).address).toBe(a.address);
    const b = await store.claim('web-user');
    expect(b.address).not.toBe(a.address);
    expect(await store.countAvailable()).toBe(18);
    await expect(store.migrate()).rejects.toThrow();
    await store.close();
  });

  it('inserts a withdrawal request, which starts as requested', async () => {
    const c = await connectAs(USERS.web);
    await c.query("INSERT INTO withdrawals (app_id, user_id, destination, amount_sat) VALUES ('w-1', 'web-user', 'tb1qexample', 150000)");
    const [rows] = await c.query("SELECT status, amount_sat FROM withdrawals WHERE app_id = 'w-1'");
    expect(rows).toEqual([{ status: 'requested', amount_sat: 150000 }]);
    expect(await errnoOf(c.query("INSERT INTO withdrawals (app_id, user_id, destination, amount_sat, status) VALUES ('w-2', 'u', 'tb1q', 1, 'approved')"))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    await c.end();
  });

  it('cannot change withdrawal or payout state, addresses, or the audit log', async () => {
    const c = await connectAs(USERS.web);
    expect(await errnoOf(c.query("UPDATE withdrawals SET status = 'approved' WHERE app_id = 'w-1'"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE payouts SET status = 'signed'"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('SELECT * FROM payouts'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("INSERT INTO audit_log (at, actor, action, subject, data, prev_hash, hash) VALUES (NOW(), 'a', 'b', 'c', '{}', 'x', 'y')"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("INSERT INTO audit_signatures (seq, key_id, signature) VALUES (1, '0000000000000000', REPEAT('0', 128))"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    // A forged approval or a cleared exclusion needs these tables: the web account cannot touch them.
    expect(await errnoOf(c.query('SELECT * FROM withdrawal_signatures'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("INSERT INTO withdrawal_signatures (withdrawal_id) VALUES (1)"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('DELETE FROM payout_exclusions'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE addresses SET address = 'tb1qattacker' LIMIT 1"))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('DELETE FROM addresses'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    await c.end();
  });
});

describe('grants.sql: watcher and operator', () => {
  it('the watcher reads counts, not addresses', async () => {
    const c = await connectAs(USERS.watcher);
    const [rows] = await c.query('SELECT status, n FROM pool_counts ORDER BY status');
    expect((rows as { status: string }[]).map((r) => r.status)).toEqual(['assigned', 'available']);
    expect(await errnoOf(c.query('SELECT address FROM addresses'))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE addresses SET status = 'available'"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    await c.end();
    const store = openStore(`mysql://${USERS.watcher}:${encodeURIComponent(PASSWORD)}@127.0.0.1:3306/${db.name}`);
    expect(await store.countAvailable()).toBe(18);
    await store.close();
  });

  it('the watcher account runs `pool check` (count, rate, next derive index) and nothing more', async () => {
    const url = `mysql://${USERS.watcher}:${encodeURIComponent(PASSWORD)}@127.0.0.1:3306/${db.name}`;
    const r = await runCli('coldpool', ['pool', 'check', '--db', url, '--threshold', '5', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ available: 18 });
    expect(r.stdout).toContain('--from 20 ');
  });

  it('the operator can move a payout and run migrations', async () => {
    const c = await connectAs(USERS.operator);
    const [r] = await c.query("UPDATE payouts SET status = 'signed' WHERE status = 'built'");
    expect((r as { affectedRows: number }).affectedRows).toBe(1);
    await c.end();
    const store = openStore(`mysql://${USERS.operator}:${encodeURIComponent(PASSWORD)}@127.0.0.1:3306/${db.name}`);
    expect((await store.migrate()).applied).toEqual([]);
    expect((await store.status()).assigned).toBe(2);
    await store.close();
  });
});
