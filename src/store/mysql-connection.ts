import { createRequire } from 'node:module';
import type { Pool } from 'mysql2/promise';
import { CodedError } from '../core/errors.js';
import type { DbTarget } from './db-url.js';

/**
 * The one collation of the schema and of every connection. A connection
 * collation that differs from the table's makes MariaDB compare `status`
 * through a conversion, so the claim's index range becomes a full scan.
 */
export const MYSQL_CHARSET = 'utf8mb4';
export const MYSQL_COLLATION = 'utf8mb4_bin';

/**
 * Run on every new connection, as two statements: `SET TRANSACTION` cannot
 * share a `SET` with other variables (one combined statement is a syntax
 * error, and a pool that ignored it ran every session unpinned).
 */
export const SESSION_STATEMENTS = [
  `SET NAMES ${MYSQL_CHARSET} COLLATE ${MYSQL_COLLATION}, time_zone = '+00:00'`,
  'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
] as const;

/** Driver codes that mean "the database cannot be reached or entered". */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ENOENT', 'EACCES',
  'PROTOCOL_CONNECTION_LOST', 'ER_ACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_CON_COUNT_ERROR', 'ER_HOST_NOT_PRIVILEGED',
]);

/** A mysql2 pool whose every session is pinned, and the error of a session that could not be. */
export interface PinnedPool {
  readonly pool: Pool;
  /** Set when a session setting was refused (unknown collation…): the owner must stop using the pool. */
  sessionError(): unknown;
}

export interface PinnedPoolOptions {
  readonly connectionLimit?: number;
  /** Only the pool store's claim uses it (UPDATE and read-back in one round trip). */
  readonly multipleStatements?: boolean;
}

/**
 * Every coldpool store's MySQL/MariaDB pool: BIGINT as strings (then
 * `BigInt()`), DATETIME in UTC both ways, and each new session pinned in SQL
 * to the schema's collation, UTC and READ COMMITTED (which keeps a claim's
 * UPDATE from taking gap locks on rows it skips). The handshake charset alone
 * is not trusted across servers and proxies.
 */
export function createPinnedPool(target: Extract<DbTarget, { dialect: 'mysql' }>, options: PinnedPoolOptions = {}): PinnedPool {
  let sessionError: unknown;
  // Loaded on first use: a third of the CLI's start-up went to importing mysql2, SQLite users included.
  const mysql = createRequire(import.meta.url)('mysql2/promise') as typeof import('mysql2/promise');
  const pool = mysql.createPool({
    host: target.host,
    port: target.port,
    ...(target.socketPath ? { socketPath: target.socketPath } : {}),
    user: target.user,
    password: target.password,
    database: target.database,
    connectionLimit: options.connectionLimit ?? target.connectionLimit,
    charset: MYSQL_COLLATION.toUpperCase(),
    supportBigNumbers: true,
    bigNumberStrings: true,
    timezone: 'Z',
    connectTimeout: 10_000,
    enableKeepAlive: true,
    multipleStatements: options.multipleStatements ?? false,
    // mysql2 offers LOCAL INFILE by default but serves only a stream a query
    // brings (the pool store's batch rows), never a file the server names.
    ...(target.localInfile ? {} : { flags: ['-LOCAL_FILES'] }),
  });
  // The driver queues commands per connection, so these run before anything the owner sends.
  pool.pool.on('connection', (conn) => {
    for (const sql of SESSION_STATEMENTS) {
      conn.query(sql, (err: unknown) => {
        if (!err) return;
        // A refused setting sticks; a dropped connection (fatal) only loses this
        // connection, and the pool opens another. Never run a session unpinned.
        if (!(err as { fatal?: boolean }).fatal) sessionError = err;
        conn.destroy();
      });
    }
  });
  return { pool, sessionError: () => sessionError };
}

/** UNAVAILABLE naming the database (never its password) when `e` means it cannot be reached; undefined otherwise. */
export function unreachable(e: unknown, label: string): CodedError | undefined {
  const code = (e as { code?: string }).code;
  if (code === undefined || !UNREACHABLE_CODES.has(code)) return undefined;
  return new CodedError('UNAVAILABLE', `cannot reach the database ${label}: ${code}${code.startsWith('ER_') ? ` (${(e as Error).message})` : ''}`, {
    cause: e,
    hint: code === 'ER_BAD_DB_ERROR'
      ? 'create the database first (CREATE DATABASE … CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)'
      : "check that MySQL/MariaDB runs, the host, port or socket, and the user's password",
    context: { db: label },
  });
}

/** The UNAVAILABLE error of a pool whose session could not be pinned. */
export function unpinnedError(error: unknown, label: string): CodedError {
  return new CodedError('UNAVAILABLE', `cannot set the session of ${label} to ${MYSQL_COLLATION}, UTC and READ COMMITTED: ${(error as Error).message}`, { cause: error });
}
