import Database from 'better-sqlite3';
import { CodedError } from '../core/errors.js';
import type { AlertLevel, PoolGauge, WatcherState, WatcherStateStore } from '../core/watcher-ports.js';

type Row = Record<string, unknown>;

/**
 * The watcher's table (sql/sqlite/002_watcher.sql) and the pool gauge on a
 * SQLite file, through a connection of its own beside the PoolStore's (WAL:
 * readers never block the web app's claims). Opened lazily, on the first call,
 * so a watcher starts even while the file is unreachable and reports it.
 */
export class SqliteWatcherStateStore implements WatcherStateStore {
  readonly label: string;
  private db: Database.Database | undefined;

  constructor(private readonly path: string) {
    this.label = `sqlite:${path}`;
  }

  private open(): Database.Database {
    if (this.db?.open) return this.db;
    try {
      const db = new Database(this.path, { fileMustExist: true, timeout: 15_000 });
      db.pragma('busy_timeout = 15000');
      db.defaultSafeIntegers(true);
      this.db = db;
      return db;
    } catch (e) {
      throw new CodedError('UNAVAILABLE', `cannot open the SQLite database ${this.path}: ${(e as Error).message}`, {
        cause: e,
        hint: 'check the path, that the file exists (`coldpool db migrate`) and that this user may read and write it',
      });
    }
  }

  /** Run `fn`, turning SQLite's I/O and missing-table errors into coded ones. */
  private run<T>(fn: (db: Database.Database) => T): T {
    const db = this.open();
    try {
      return fn(db);
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (/no such table: watcher_state/.test((e as Error).message)) {
        throw new CodedError('STATE_CONFLICT', `the database ${this.label} has no watcher_state table`, { cause: e, hint: 'run `coldpool db migrate` first' });
      }
      if (/^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|READONLY|PERM|CORRUPT|NOTADB)/.test(code)) {
        this.db?.close();
        this.db = undefined;
        throw new CodedError('UNAVAILABLE', `the SQLite database ${this.label} failed: ${code}`, { cause: e });
      }
      throw e;
    }
  }

  async load(subject: string): Promise<WatcherState | undefined> {
    const row = this.run((db) => db.prepare('SELECT level, last_alert_at, last_count, checked_at, revision FROM watcher_state WHERE subject = ?').get(subject)) as Row | undefined;
    if (!row) return undefined;
    return {
      level: String(row.level) as AlertLevel,
      lastAlertAt: row.last_alert_at === null ? undefined : new Date(String(row.last_alert_at)),
      lastCount: Number(row.last_count as bigint),
      checkedAt: new Date(String(row.checked_at)),
      revision: Number(row.revision as bigint),
    };
  }

  async save(subject: string, next: Omit<WatcherState, 'revision'>, expectedRevision: number): Promise<boolean> {
    const values = [next.level, next.lastAlertAt?.toISOString() ?? null, next.lastCount, next.checkedAt.toISOString()];
    return this.run((db) => {
      const info =
        expectedRevision === 0
          ? db.prepare('INSERT INTO watcher_state (subject, level, last_alert_at, last_count, checked_at, revision) VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (subject) DO NOTHING').run(subject, ...values)
          : db.prepare('UPDATE watcher_state SET level = ?, last_alert_at = ?, last_count = ?, checked_at = ?, revision = revision + 1 WHERE subject = ? AND revision = ?').run(...values, subject, expectedRevision);
      return info.changes === 1;
    });
  }

  async gauge(since: Date): Promise<PoolGauge> {
    return this.run((db) => {
      // assigned_at is ISO-8601 UTC text of one width: text order is time order.
      const claimed = db.prepare('SELECT COUNT(*) AS n FROM addresses WHERE assigned_at >= ? AND slot IS NOT NULL').get(since.toISOString()) as Row;
      const batches = db.prepare(
        'SELECT MIN(b.loaded_at) AS first_loaded, (SELECT MAX(first_index + count) FROM address_batches WHERE chain = 0 AND account_id = ' +
          '(SELECT id FROM pool_accounts ORDER BY is_primary DESC, id LIMIT 1)) AS next_index FROM address_batches b',
      ).get() as Row;
      return {
        claimedSince: Number(claimed.n as bigint),
        firstLoadedAt: batches.first_loaded === null ? undefined : new Date(String(batches.first_loaded)),
        nextIndex: batches.next_index === null ? 0 : Number(batches.next_index as bigint),
      };
    });
  }

  async close(): Promise<void> {
    if (this.db?.open) this.db.close();
    this.db = undefined;
  }
}
