import Database from 'better-sqlite3';
import type { AppliedMigration } from './migrate.js';
import type { SqlDb, SqlExec, SqlRow } from './sql-db.js';
import { openSqliteFile, stayedBusy } from './sqlite-file.js';


/**
 * SQLite connection for the withdrawal store, opened the way SqliteStore
 * opens the pool (WAL, busy timeout, safe integers). better-sqlite3 is
 * synchronous; a promise queue keeps one transaction at a time on this
 * connection, and BEGIN IMMEDIATE queues other processes on the busy timeout.
 */
export class SqliteDb implements SqlDb {
  readonly dialect = 'sqlite' as const;
  readonly label: string;
  readonly forUpdate = '';
  readonly insertIgnore = 'INSERT OR IGNORE';
  private readonly db: Database.Database;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly exec: SqlExec;

  constructor(path: string) {
    this.label = `sqlite:${path}`;
    // Foreign keys off (SQLite's default), as they have always been for the withdrawal, chain and
    // payout stores on this connection; enforcing them there is a change of its own.
    this.db = openSqliteFile(path, { foreignKeys: false });
    const params = (p: readonly unknown[]) => p.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
    this.exec = {
      all: async (sql, p = []) => this.db.prepare(sql).all(...params(p)) as SqlRow[],
      run: async (sql, p = []) => {
        const info = this.db.prepare(sql).run(...params(p));
        return { changes: info.changes, lastId: BigInt(info.lastInsertRowid) };
      },
    };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  all(sql: string, params?: readonly unknown[]): Promise<SqlRow[]> {
    return this.serial(() => this.exec.all(sql, params));
  }

  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number; lastId: bigint }> {
    return this.serial(() => this.exec.run(sql, params));
  }

  tx<T>(fn: (t: SqlExec) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      try {
        this.db.exec('BEGIN IMMEDIATE');
      } catch (e) {
        throw stayedBusy(this.label, e);
      }
      try {
        const result = await fn(this.exec);
        this.db.exec('COMMIT');
        return result;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  time(d: Date): unknown {
    return d.toISOString();
  }

  readTime(v: unknown): string {
    if (v === null || v === undefined) return '';
    const text = String(v);
    const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text.replace(' ', 'T')}Z`);
    return Number.isNaN(t) ? text : new Date(t).toISOString();
  }

  isDuplicate(e: unknown): boolean {
    const code = (e as { code?: string }).code ?? '';
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  }

  async applied(): Promise<AppliedMigration[]> {
    const has = await this.all("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
    if (has.length === 0) return [];
    return (await this.all('SELECT version, checksum FROM schema_migrations ORDER BY version')).map((r) => ({ version: Number(r.version), checksum: String(r.checksum) }));
  }

  async close(): Promise<void> {
    await this.queue;
    this.db.close();
  }
}
