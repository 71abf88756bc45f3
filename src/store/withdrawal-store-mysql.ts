import type { Pool, PoolConnection } from 'mysql2/promise';
import { CodedError } from '../core/errors.js';
import type { DbTarget } from './db-url.js';
import type { AppliedMigration } from './migrate.js';
import { createPinnedPool, unpinnedError, unreachable, type PinnedPool } from './mysql-connection.js';
import type { SqlDb, SqlExec, SqlRow } from './sql-db.js';

const LOCK_ERRORS = new Set([1213, 1205]);
const MAX_RETRIES = 6;
const errno = (e: unknown): number => (e as { errno?: number }).errno ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const param = (v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : typeof v === 'boolean' ? (v ? 1 : 0) : v);

/**
 * MySQL/MariaDB connection for the withdrawal store: the same settings as
 * MysqlStore (one collation, UTC, BIGINT as strings, READ COMMITTED).
 * Transactions lock the rows they change (`SELECT … FOR UPDATE`) and are
 * retried whole on a deadlock or lock wait timeout.
 */
export class MysqlDb implements SqlDb {
  readonly dialect = 'mysql' as const;
  readonly label: string;
  readonly forUpdate = ' FOR UPDATE';
  readonly insertIgnore = 'INSERT IGNORE';
  private readonly pool: Pool;
  private readonly pinned: PinnedPool;

  constructor(target: Extract<DbTarget, { dialect: 'mysql' }>) {
    this.label = target.label;
    this.pinned = createPinnedPool(target);
    this.pool = this.pinned.pool;
  }

  private wrap(e: unknown): unknown {
    if (this.pinned.sessionError() !== undefined) return unpinnedError(this.pinned.sessionError(), this.label);
    return unreachable(e, this.label) ?? e;
  }

  private executor(on: Pool | PoolConnection): SqlExec {
    return {
      all: async (sql, p = []) => {
        try {
          const [rows] = await on.query(sql, p.map(param));
          return rows as SqlRow[];
        } catch (e) {
          throw this.wrap(e);
        }
      },
      run: async (sql, p = []) => {
        try {
          const [r] = await on.query(sql, p.map(param));
          const h = r as { affectedRows: number; insertId: number | string };
          return { changes: h.affectedRows, lastId: BigInt(String(h.insertId ?? 0)) };
        } catch (e) {
          throw this.wrap(e);
        }
      },
    };
  }

  all(sql: string, params?: readonly unknown[]): Promise<SqlRow[]> {
    return this.executor(this.pool).all(sql, params);
  }

  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number; lastId: bigint }> {
    return this.executor(this.pool).run(sql, params);
  }

  async tx<T>(fn: (t: SqlExec) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let conn: PoolConnection;
      try {
        conn = await this.pool.getConnection();
      } catch (e) {
        throw this.wrap(e);
      }
      const x = this.executor(conn);
      try {
        await x.run('START TRANSACTION');
        const result = await fn(x);
        await x.run('COMMIT');
        return result;
      } catch (e) {
        await x.run('ROLLBACK').catch(() => {});
        if (LOCK_ERRORS.has(errno(e)) && attempt < MAX_RETRIES) {
          await sleep(Math.random() * 10 * (attempt + 1));
          continue;
        }
        if (LOCK_ERRORS.has(errno(e))) throw new CodedError('UNAVAILABLE', `gave up after ${MAX_RETRIES + 1} deadlocks or lock timeouts on ${this.label}`, { cause: e, hint: 'retry' });
        throw e;
      } finally {
        conn.release();
      }
    }
  }

  /** `YYYY-MM-DD HH:MM:SS.mmm` UTC text (the session is UTC): mysql2 formats a Date parameter ~50x slower, which a 2,000-row INSERT feels. */
  time(d: Date): unknown {
    return d.toISOString().replace('T', ' ').slice(0, 23);
  }

  readTime(v: unknown): string {
    if (v instanceof Date) return v.toISOString();
    if (v === null || v === undefined) return '';
    const text = String(v);
    const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d{1,3})?$/.exec(text); // what time() writes (UTC)
    return m ? `${m[1]}T${m[2]}${(m[3] ?? '.').padEnd(4, '0')}Z` : text;
  }

  isDuplicate(e: unknown): boolean {
    return errno(e) === 1062;
  }

  async applied(): Promise<AppliedMigration[]> {
    try {
      return (await this.all('SELECT version, checksum FROM schema_migrations ORDER BY version')).map((r) => ({ version: Number(r.version), checksum: String(r.checksum) }));
    } catch (e) {
      if (errno(e) === 1146) return [];
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
