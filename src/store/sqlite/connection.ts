import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CodedError } from '../../core/errors.js';
import type { MigrateOutcome } from '../../core/ports.js';
import { loadMigrations, runMigrations, splitStatements, type AppliedMigration } from '../migrate.js';
import { schemaChanged, type OpenOptions, type SqlDb, type SqlExec, type SqlRow, type TxOptions } from '../sql-db.js';

/** How long a write waits for another process's transaction before the store says UNAVAILABLE. */
export const BUSY_TIMEOUT_MS = 15_000;

/** SQLite errors after which the file handle is dropped and opened again on the next call. */
const BROKEN_HANDLE = /^SQLITE_(CANTOPEN|IOERR|READONLY|PERM|CORRUPT|NOTADB)/;

/**
 * The one SQLite connection of a database handle: every repository (pool,
 * withdrawals, payouts, chain, watcher, audit) runs its statements here, so
 * one file has one set of pragmas: WAL (readers never wait for the writer), a
 * busy timeout (writers from other processes queue instead of failing),
 * synchronous FULL (a committed claim or approval survives a power cut),
 * foreign keys ON, integers as bigint.
 *
 * better-sqlite3 is synchronous, but a transaction of the SQL repositories
 * awaits between statements; a promise queue keeps one unit of work at a
 * time on the connection, so a pool claim can never slip into the middle of
 * a payout's transaction. BEGIN IMMEDIATE queues other processes on the
 * busy timeout.
 *
 * The file is opened on the first statement, not here: a watcher started
 * while the file is missing keeps running and reports it; after an I/O error
 * the handle is dropped and opened again on the next call.
 */
export class SqliteConnection implements SqlDb {
  readonly dialect = 'sqlite' as const;
  readonly label: string;
  readonly forUpdate = '';
  readonly insertIgnore = 'INSERT OR IGNORE';
  private handle: Database.Database | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  readonly sqlDir: string | undefined;
  readonly auditSigner: OpenOptions['auditSigner'];

  constructor(readonly path: string, private readonly options: OpenOptions = {}) {
    this.label = `sqlite:${path}`;
    this.sqlDir = options.sqlDir;
    this.auditSigner = options.auditSigner;
  }

  /** The open better-sqlite3 handle, opened on first use. */
  private db(): Database.Database {
    if (this.handle?.open) return this.handle;
    if (this.options.mustExist && this.path !== ':memory:' && !existsSync(this.path)) {
      throw new CodedError('UNAVAILABLE', `no SQLite database at ${this.path}: this command reads a database and never creates one`, {
        hint: 'check --db, COLDPOOL_DB or "db" in config.json; `coldpool db migrate` creates a new database',
        context: { db: this.label },
      });
    }
    try {
      if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
      const db = new Database(this.path, { timeout: BUSY_TIMEOUT_MS, fileMustExist: this.options.mustExist ?? false });
      db.pragma('journal_mode = WAL');
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.defaultSafeIntegers(true);
      this.handle = db;
      return db;
    } catch (e) {
      throw new CodedError('UNAVAILABLE', `cannot open the SQLite database ${this.path}: ${(e as Error).message}`, {
        cause: e,
        hint: 'check the path and that this user may write to its directory',
      });
    }
  }

  /** Map what SQLite threw to a coded error; a broken handle is dropped. */
  private mapError(e: unknown): unknown {
    const code = (e as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return stayedBusy(this.label, e);
    if (BROKEN_HANDLE.test(code)) {
      this.drop();
      return new CodedError('UNAVAILABLE', `the SQLite database ${this.label} failed: ${code}`, { cause: e });
    }
    return e;
  }

  private drop(): void {
    try {
      this.handle?.close();
    } catch {
      // already unusable
    }
    this.handle = undefined;
  }

  private serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Run synchronous work on the handle in the connection's turn (the pool store's fast paths). */
  read<T>(fn: (db: Database.Database) => T): Promise<T> {
    return this.serial(() => {
      try {
        return fn(this.db());
      } catch (e) {
        throw this.mapError(e);
      }
    });
  }

  /** Synchronous work in one BEGIN IMMEDIATE transaction, in the connection's turn. */
  write<T>(fn: (db: Database.Database) => T): Promise<T> {
    return this.serial(() => {
      const db = this.db();
      try {
        return db.transaction(() => fn(db)).immediate();
      } catch (e) {
        throw this.mapError(e);
      }
    });
  }

  private exec(db: Database.Database): SqlExec {
    const params = (p: readonly unknown[]) => p.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
    return {
      all: async (sql, p = []) => db.prepare(sql).all(...params(p)) as SqlRow[],
      run: async (sql, p = []) => {
        const info = db.prepare(sql).run(...params(p));
        return { changes: info.changes, lastId: BigInt(info.lastInsertRowid) };
      },
    };
  }

  all(sql: string, params?: readonly unknown[]): Promise<SqlRow[]> {
    return this.serial(async () => {
      try {
        return await this.exec(this.db()).all(sql, params);
      } catch (e) {
        throw this.mapError(e);
      }
    });
  }

  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number; lastId: bigint }> {
    return this.serial(async () => {
      try {
        return await this.exec(this.db()).run(sql, params);
      } catch (e) {
        throw this.mapError(e);
      }
    });
  }

  tx<T>(fn: (t: SqlExec) => Promise<T>, opts: TxOptions = {}): Promise<T> {
    return this.serial(async () => {
      const db = this.db();
      // A relaxed commit (the chain follower's blocks) skips the fsync: in WAL
      // mode it still survives a crash or SIGKILL, and only a power cut can
      // undo the last few blocks, which the next sync reads again.
      if (opts.relaxedDurability) db.pragma('synchronous = NORMAL');
      try {
        try {
          db.exec('BEGIN IMMEDIATE');
        } catch (e) {
          throw this.mapError(e);
        }
        try {
          const result = await fn(this.exec(db));
          db.exec('COMMIT');
          return result;
        } catch (e) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw this.mapError(e);
        }
      } finally {
        if (opts.relaxedDurability && db.open) db.pragma('synchronous = FULL');
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

  isMissingTable(e: unknown, table: string): boolean {
    return new RegExp(`no such table: ${table}\\b`).test((e as Error)?.message ?? '');
  }

  private appliedSync(db: Database.Database): AppliedMigration[] {
    const has = db.prepare("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    if (!has) return [];
    return db.prepare('SELECT version, checksum FROM schema_migrations ORDER BY version').all()
      .map((r) => ({ version: Number((r as SqlRow).version), checksum: String((r as SqlRow).checksum) }));
  }

  applied(): Promise<AppliedMigration[]> {
    return this.read((db) => this.appliedSync(db));
  }

  /** The whole run is one IMMEDIATE transaction: SQLite DDL is transactional. */
  migrate(): Promise<MigrateOutcome> {
    const migrations = loadMigrations('sqlite', this.sqlDir);
    return this.serial(async () => {
      const db = this.db();
      const outcome = await runMigrations({
        withLock: async (fn) => {
          db.exec('BEGIN IMMEDIATE');
          try {
            const result = await fn();
            db.exec('COMMIT');
            return result;
          } catch (e) {
            if (db.inTransaction) db.exec('ROLLBACK');
            throw this.mapError(e);
          }
        },
        ensureTable: async () => {
          db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)');
        },
        applied: async () => this.appliedSync(db),
        apply: async (m) => {
          // Statement by statement, as on MySQL: SQLite has no ADD COLUMN IF
          // NOT EXISTS, so a column an unrecorded earlier run of this file
          // already added (a restored backup, a record deleted by hand) is
          // skipped rather than failing the whole upgrade.
          for (const statement of splitStatements(m.sql)) {
            try {
              db.exec(statement);
            } catch (e) {
              if (!/^duplicate column name: /.test((e as Error)?.message ?? '')) throw e;
            }
          }
          db.prepare('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)').run(m.version, m.name, m.checksum, new Date().toISOString());
        },
      }, migrations);
      schemaChanged(this);
      return outcome;
    });
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.handle?.open) this.handle.close();
    this.handle = undefined;
  }
}

/** The error for a write that waited BUSY_TIMEOUT_MS for another process's transaction. */
export function stayedBusy(label: string, cause: unknown): CodedError {
  return new CodedError('UNAVAILABLE', `the SQLite database ${label} stayed busy for ${BUSY_TIMEOUT_MS / 1000} s`, { cause, hint: 'another process holds a long write transaction; retry' });
}
