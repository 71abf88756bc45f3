import { join } from 'node:path';
import type { Database, VerifierDatabase } from '../core/ports.js';
import { parseDbUrl, type DbTarget } from './db-url.js';
import { SqlChainStore } from './chain-store.js';
import { MysqlConnection } from './mysql/connection.js';
import { MysqlPoolStore } from './mysql/pool-store.js';
import { SqlPayoutStore } from './payout-store.js';
import type { OpenOptions, SqlDb } from './sql-db.js';
import { SqliteConnection } from './sqlite/connection.js';
import { SqlitePoolStore } from './sqlite/pool-store.js';
import { SqlVerificationFeed } from './verification-feed.js';
import { SqlVerifierStore } from './verifier-store.js';
import { SqlLedgerFeed } from './ledger-feed.js';
import { SqlLedgerMirror } from './ledger-mirror.js';
import { SQL_DIR } from './migrate.js';
import { SqlWatcherStateStore } from './watcher-store.js';
import { SqlWithdrawalStore, type WithdrawalStoreOptions } from './withdrawal-store.js';

export type { OpenOptions } from './sql-db.js';
export type DatabaseOptions = OpenOptions & WithdrawalStoreOptions;

/**
 * Open the database a URL names (`sqlite:PATH` or `mysql://…`, see
 * db-url.ts): one connection (SQLite) or one connection pool (MySQL/MariaDB)
 * that carries every repository. Nothing connects until the first statement,
 * so an unreachable database shows up as UNAVAILABLE on the first call.
 * Two handles can be open side by side (the verifier keeps its own database).
 *
 * `mustExist`: a read-only command never creates a SQLite file; a missing
 * one is UNAVAILABLE naming the path.
 *
 * @example
 * const db = openDatabase('sqlite:./coldpool.db');
 * try {
 *   await db.migrate();
 *   const { address } = await db.pool.claim('user-42', 'deposit-981');
 * } finally {
 *   await db.close();
 * }
 */
export function openDatabase(url: string, options: DatabaseOptions = {}): Database {
  return openTarget(parseDbUrl(url), options);
}

function openTarget(target: DbTarget, options: DatabaseOptions): Database {
  if (target.dialect === 'sqlite') {
    const conn = new SqliteConnection(target.path, options);
    return handle(conn, new SqlitePoolStore(conn), options);
  }
  const conn = new MysqlConnection(target, options);
  return handle(conn, new MysqlPoolStore(conn), options);
}

/**
 * Open the verifier's OWN database (`sqlite:PATH` or `mysql://…`): the same
 * connection layer as `openDatabase`, with the verifier's schema
 * (sql/verifier/<dialect>/, its own `schema_migrations`). The verifier opens
 * this and, beside it, the web database through `openDatabase` with its
 * read-only account.
 */
export function openVerifierDatabase(url: string, options: OpenOptions = {}): VerifierDatabase {
  const target = parseDbUrl(url);
  const opts: OpenOptions = { ...options, sqlDir: join(options.sqlDir ?? SQL_DIR, 'verifier') };
  const conn: SqlDb = target.dialect === 'sqlite' ? new SqliteConnection(target.path, opts) : new MysqlConnection(target, opts);
  return Object.freeze({
    dialect: conn.dialect,
    label: conn.label,
    store: new SqlVerifierStore(conn),
    // The follower's own store over the verifier's tables (schema 002): its `addresses` are the first-sight record.
    chain: new SqlChainStore(conn),
    ledger: new SqlLedgerMirror(conn),
    migrate: () => conn.migrate(),
    close: () => conn.close(),
  });
}

function handle(conn: SqlDb, pool: Database['pool'], options: WithdrawalStoreOptions): Database {
  const withdrawals = new SqlWithdrawalStore(conn, options.network ? { network: options.network } : {});
  return Object.freeze({
    dialect: conn.dialect,
    label: conn.label,
    pool,
    withdrawals,
    payouts: new SqlPayoutStore(conn),
    chain: new SqlChainStore(conn),
    watcher: new SqlWatcherStateStore(conn),
    verification: new SqlVerificationFeed(conn),
    ledger: new SqlLedgerFeed(conn),
    audit: withdrawals,
    migrate: () => conn.migrate(),
    close: () => conn.close(),
  });
}
