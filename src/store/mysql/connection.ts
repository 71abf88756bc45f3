import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2/promise';
import { CodedError } from '../../core/errors.js';
import type { MigrateOutcome } from '../../core/ports.js';
import type { DbTarget } from '../db-url.js';
import { loadMigrations, runMigrations, splitStatements, type AppliedMigration } from '../migrate.js';
import { schemaChanged, type OpenOptions, type SqlDb, type SqlExec, type SqlRow } from '../sql-db.js';

export type MysqlTarget = Extract<DbTarget, { dialect: 'mysql' }>;

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
export function createPinnedPool(target: MysqlTarget, options: PinnedPoolOptions = {}): PinnedPool {
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

const LOCK_ERRORS = new Set([1213, 1205]);
/**
 * LOCAL INFILE refused, by the server or by `?localInfile=0`: 4166 (MariaDB
 * 10.5+), 1148 (older servers), 3948/3950 (MySQL 8, whose local_infile is
 * OFF by default). The statement changed nothing.
 */
export const LOCAL_INFILE_REFUSED: ReadonlySet<number> = new Set([4166, 1148, 3948, 3950]);
const MAX_RETRIES = 6;
/** Table exists (1050), duplicate column (1060), duplicate key name (1061): DDL that already ran. */
const ALREADY_DONE_ERRORS = new Set([1050, 1060, 1061]);
export const errno = (e: unknown): number => (e as { errno?: number }).errno ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const param = (v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : typeof v === 'boolean' ? (v ? 1 : 0) : v);

/**
 * The one MySQL/MariaDB connection pool of a database handle: every
 * repository runs its statements here (one collation, UTC, BIGINT as strings,
 * READ COMMITTED). The pool (and mysql2, ~65 ms to load) is created on the
 * first statement, so an unreachable server shows up as UNAVAILABLE on the
 * first call, and `pool load` has its derivation threads working before this
 * thread spends that time. Transactions lock the rows they change
 * (`SELECT … FOR UPDATE`) and are retried whole on a deadlock or lock wait
 * timeout.
 */
export class MysqlConnection implements SqlDb {
  readonly dialect = 'mysql' as const;
  readonly label: string;
  readonly forUpdate = ' FOR UPDATE';
  readonly insertIgnore = 'INSERT IGNORE';
  readonly sqlDir: string | undefined;
  readonly auditSigner: OpenOptions['auditSigner'];
  private pinnedPool: PinnedPool | undefined;
  /** Set once the server (or `?localInfile=0`) refused LOCAL INFILE: loadLocal then answers undefined without asking again. */
  private localInfileRefused = false;

  constructor(readonly target: MysqlTarget, options: OpenOptions = {}) {
    this.label = target.label;
    this.sqlDir = options.sqlDir;
    this.auditSigner = options.auditSigner;
  }

  /**
   * multipleStatements is for the pool store's claim: UPDATE + read-back in
   * one round trip (~30 % more claims/s). Every statement of every repository
   * binds its values with placeholders.
   */
  private get pinned(): PinnedPool {
    return (this.pinnedPool ??= createPinnedPool(this.target, { multipleStatements: true }));
  }

  /** The mysql2 pool (the pool store's LOAD DATA and escaping). */
  get pool(): Pool {
    return this.pinned.pool;
  }

  /** Map a driver error to UNAVAILABLE when the database cannot be reached or its session not pinned. */
  wrap(e: unknown): unknown {
    if (this.pinned.sessionError() !== undefined) return unpinnedError(this.pinned.sessionError(), this.label);
    return unreachable(e, this.label) ?? e;
  }

  /** One statement on the pool or on `conn`, its raw result (rows, or a header). */
  async query<T>(sql: string, params: readonly unknown[] = [], conn?: PoolConnection): Promise<T> {
    if (this.pinned.sessionError() !== undefined) throw this.wrap(undefined);
    try {
      const [result] = await (conn ?? this.pool).query(sql, params.map(param));
      return result as T;
    } catch (e) {
      throw this.wrap(e);
    }
  }

  /** A connection of the pool for `fn`, always released. */
  async withConnection<T>(fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    let conn: PoolConnection;
    try {
      conn = await this.pool.getConnection();
    } catch (e) {
      throw this.wrap(e);
    }
    try {
      return await fn(conn);
    } finally {
      conn.release();
    }
  }

  /** `fn` on one connection holding the server-wide lock `name` of this database (loads, migrations). */
  withNamedLock<T>(name: string, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    return this.withConnection(async (conn) => {
      const lock = `coldpool:${this.target.database}:${name}`;
      const [row] = await this.query<SqlRow[]>('SELECT GET_LOCK(?, 120) AS ok', [lock], conn);
      if (String(row?.ok) !== '1') throw new CodedError('UNAVAILABLE', `another coldpool process held the "${name}" lock on ${this.label} for 120 s`, { hint: 'retry when it finished' });
      try {
        return await fn(conn);
      } finally {
        await this.query('SELECT RELEASE_LOCK(?)', [lock], conn).catch(() => {});
      }
    });
  }

  private executor(conn?: PoolConnection): SqlExec {
    return {
      all: (sql, p = []) => this.query<SqlRow[]>(sql, p, conn),
      run: async (sql, p = []) => {
        const h = await this.query<{ affectedRows: number; insertId: number | string }>(sql, p, conn);
        return { changes: h.affectedRows, lastId: BigInt(String(h.insertId ?? 0)) };
      },
      loadLocal: async (sql, chunks) => {
        if (this.localInfileRefused || !this.target.localInfile) return undefined;
        if (this.pinned.sessionError() !== undefined) throw this.wrap(undefined);
        try {
          // The driver hands the server this stream whatever file name it asks for, never a file of this machine.
          const [h] = await (conn ?? this.pool).query<ResultSetHeader>({ sql, infileStreamFactory: () => Readable.from(chunks()) });
          return h.affectedRows;
        } catch (e) {
          if (!LOCAL_INFILE_REFUSED.has(errno(e))) throw this.wrap(e);
          this.localInfileRefused = true;
          return undefined;
        }
      },
    };
  }

  all(sql: string, params?: readonly unknown[]): Promise<SqlRow[]> {
    return this.executor().all(sql, params);
  }

  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number; lastId: bigint }> {
    return this.executor().run(sql, params);
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

  isMissingTable(e: unknown, table: string): boolean {
    return errno(e) === 1146 && new RegExp(`\\.?${table}'`).test((e as Error).message ?? '');
  }

  async applied(conn?: PoolConnection): Promise<AppliedMigration[]> {
    try {
      return (await this.query<SqlRow[]>('SELECT version, checksum FROM schema_migrations ORDER BY version', [], conn))
        .map((r) => ({ version: Number(r.version), checksum: String(r.checksum) }));
    } catch (e) {
      if (errno(e) === 1146) return []; // ER_NO_SUCH_TABLE: never migrated
      throw e;
    }
  }

  async migrate(): Promise<MigrateOutcome> {
    const outcome = await this.withNamedLock('migrate', (conn) => runMigrations({
      withLock: (fn) => fn(),
      ensureTable: async () => {
        await this.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY, name VARCHAR(200) NOT NULL, checksum CHAR(64) NOT NULL, applied_at DATETIME(3) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=${MYSQL_CHARSET} COLLATE=${MYSQL_COLLATION}`, [], conn);
      },
      applied: () => this.applied(conn),
      // MySQL commits DDL implicitly: statements are written IF NOT EXISTS so a
      // run interrupted half-way completes on the next one.
      apply: async (m) => {
        for (const statement of splitStatements(m.sql)) {
          try {
            await this.query(statement, [], conn);
          } catch (e) {
            // An interrupted earlier run of this (unrecorded) migration already did it.
            if (!ALREADY_DONE_ERRORS.has(errno(e))) throw e;
          }
        }
        await this.query('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, UTC_TIMESTAMP(3))', [m.version, m.name, m.checksum], conn);
      },
    }, loadMigrations('mysql', this.sqlDir)));
    schemaChanged(this);
    return outcome;
  }

  async close(): Promise<void> {
    await this.pinnedPool?.pool.end();
    this.pinnedPool = undefined;
  }
}
