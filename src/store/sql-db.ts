import type { AuditSigner, MigrateOutcome } from '../core/ports.js';
import { assertCurrent, loadMigrations, type AppliedMigration } from './migrate.js';

/**
 * The SQL layer each dialect implements once (sqlite/connection.ts,
 * mysql/connection.ts): every repository of a database handle (withdrawals,
 * payouts, chain, watcher, audit) runs on it, so one implementation of each
 * repository serves both dialects. Placeholders are `?` in both.
 */
export type SqlRow = Record<string, unknown>;

export interface SqlExec {
  all(sql: string, params?: readonly unknown[]): Promise<SqlRow[]>;
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number; lastId: bigint }>;
  /**
   * MySQL only: `sql` (a `LOAD DATA LOCAL INFILE` statement) with `chunks` as
   * the file, in this executor's transaction; the rows changed, or undefined,
   * having written nothing, when the server or `?localInfile=0` refuses LOCAL
   * INFILE (the caller then INSERTs). Absent on SQLite.
   */
  loadLocal?(sql: string, chunks: () => Iterable<Buffer>): Promise<number | undefined>;
}

/** How a database is opened (`openDatabase(url, options)`). */
export interface OpenOptions {
  /**
   * A read-only command: a SQLite file that does not exist is UNAVAILABLE
   * naming it, and is never created.
   */
  readonly mustExist?: boolean;
  /** Where the schema files are (default: the package's sql/; tests point it at an edited copy). */
  readonly sqlDir?: string;
  /** Signs every audit entry this handle writes (audit-signature.ts); without one, entries go in unsigned. */
  readonly auditSigner?: AuditSigner | undefined;
}

export interface TxOptions {
  /**
   * Commit without waiting for the disk (SQLite synchronous NORMAL for this
   * transaction): for records that are read again from their source after a
   * power cut (the chain follower's blocks). Ignored on MySQL.
   */
  readonly relaxedDurability?: boolean;
}

export interface SqlDb extends SqlExec {
  readonly dialect: 'sqlite' | 'mysql';
  readonly label: string;
  /** ` FOR UPDATE` on MySQL; '' on SQLite, where every write transaction is BEGIN IMMEDIATE. */
  readonly forUpdate: string;
  /** `INSERT OR IGNORE` / `INSERT IGNORE`. */
  readonly insertIgnore: string;
  /** The schema files' directory (OpenOptions.sqlDir), or undefined for the package's own. */
  readonly sqlDir: string | undefined;
  /** OpenOptions.auditSigner. */
  readonly auditSigner: AuditSigner | undefined;
  /** One transaction; deadlocks are retried on MySQL (fn must only touch the database). */
  tx<T>(fn: (t: SqlExec) => Promise<T>, opts?: TxOptions): Promise<T>;
  /** A time as a query parameter. */
  time(d: Date): unknown;
  /** A stored time as ISO-8601 UTC text. */
  readTime(v: unknown): string;
  isDuplicate(e: unknown): boolean;
  /** True when `e` says `table` does not exist (a database not migrated that far). */
  isMissingTable(e: unknown, table: string): boolean;
  applied(): Promise<AppliedMigration[]>;
  /** Apply the pending `sql/<dialect>/NNN_*.sql` files, holding the dialect's migration lock; idempotent. */
  migrate(): Promise<MigrateOutcome>;
  close(): Promise<void>;
}

const schemaChecked = new WeakSet<SqlDb>();

/**
 * Refuse a database whose schema is older or newer than this program
 * (`assertCurrent`), once per connection: every repository calls this before
 * its first statement.
 */
export async function ensureSchemaCurrent(db: SqlDb): Promise<void> {
  if (schemaChecked.has(db)) return;
  assertCurrent(loadMigrations(db.dialect, db.sqlDir), await db.applied(), db.label);
  schemaChecked.add(db);
}

/** After a migration: check the schema again before the next statement. */
export function schemaChanged(db: SqlDb): void {
  schemaChecked.delete(db);
}
