/**
 * Every MySQL/MariaDB pool coldpool opens pins its sessions to the schema's
 * collation, UTC and READ COMMITTED (src/store/mysql-connection.ts). A
 * combined `SET NAMES …, SESSION TRANSACTION …` is a syntax error that a
 * fire-and-forget pin once swallowed, leaving sessions unpinned: this checks
 * what the server says each session is, through each store's own connection.
 */
import type { DbTarget } from '../src/store/db-url.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDbUrl } from '../src/store/db-url.js';
import { MysqlConnection, createPinnedPool } from '../src/store/mysql/connection.js';
import { createMariaDb } from './support/pool-fixtures.js';

const PINNED = { c: 'utf8mb4_bin', tz: '+00:00', iso: 'READ-COMMITTED' };
const SESSION_QUERY = 'SELECT @@collation_connection AS c, @@time_zone AS tz, @@tx_isolation AS iso, SLEEP(0.05) AS s';

let db: Awaited<ReturnType<typeof createMariaDb>>;
let target: Extract<DbTarget, { dialect: 'mysql' }>;
beforeAll(async () => {
  db = await createMariaDb();
  target = parseDbUrl(db.url) as Extract<DbTarget, { dialect: 'mysql' }>;
});
afterAll(() => db.drop());

describe('MySQL sessions are pinned', () => {
  it('createPinnedPool: every concurrent session of the pool', async () => {
    const { pool, sessionError } = createPinnedPool(target, { connectionLimit: 4 });
    try {
      const rows = await Promise.all(Array.from({ length: 4 }, async () => (await pool.query(SESSION_QUERY))[0] as Record<string, unknown>[]));
      for (const [row] of rows) expect({ c: row!.c, tz: row!.tz, iso: row!.iso }).toEqual(PINNED);
      expect(sessionError()).toBeUndefined();
    } finally {
      await pool.end();
    }
  });

  it('the withdrawal / chain stores\' connection (MysqlConnection, every repository)', async () => {
    const sql = new MysqlConnection(target);
    try {
      const [row] = await sql.all(SESSION_QUERY);
      expect({ c: row!.c, tz: row!.tz, iso: row!.iso }).toEqual(PINNED);
    } finally {
      await sql.close();
    }
  });
});
