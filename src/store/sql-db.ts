import { assertCurrent, loadMigrations, type AppliedMigration } from './migrate.js';

/**
 * The little SQL surface the withdrawal store needs, so one implementation
 * (withdrawal-store.ts) runs on both dialects. Placeholders are `?` in both.
 */
export type SqlRow = Record<string, unknown>;

export interface SqlExec {
  all(sql: string, params?: readonly unknown[]): Promise<SqlRow[]>;
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number; lastId: bigint }>;
}

export interface SqlDb extends SqlExec {
  readonly dialect: 'sqlite' | 'mysql';
  readonly label: string;
  /** ` FOR UPDATE` on MySQL; '' on SQLite, where every write transaction is BEGIN IMMEDIATE. */
  readonly forUpdate: string;
  /** `INSERT OR IGNORE` / `INSERT IGNORE`. */
  readonly insertIgnore: string;
  /** One transaction; deadlocks are retried on MySQL (fn must only touch the database). */
  tx<T>(fn: (t: SqlExec) => Promise<T>): Promise<T>;
  /** A time as a query parameter. */
  time(d: Date): unknown;
  /** A stored time as ISO-8601 UTC text. */
  readTime(v: unknown): string;
  isDuplicate(e: unknown): boolean;
  applied(): Promise<AppliedMigration[]>;
  close(): Promise<void>;
}

const schemaChecked = new WeakSet<SqlDb>();

/**
 * Refuse a database whose schema is older or newer than this program
 * (`assertCurrent`), once per connection: the withdrawal, chain and payout
 * stores all call this before their first statement.
 */
export async function ensureSchemaCurrent(db: SqlDb): Promise<void> {
  if (schemaChecked.has(db)) return;
  assertCurrent(loadMigrations(db.dialect), await db.applied(), db.label);
  schemaChecked.add(db);
}
