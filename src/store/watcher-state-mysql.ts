import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { CodedError } from '../core/errors.js';
import type { AlertLevel, PoolGauge, WatcherState, WatcherStateStore } from '../core/watcher-ports.js';
import type { DbTarget } from './db-url.js';
import { createPinnedPool, unpinnedError, unreachable, type PinnedPool } from './mysql-connection.js';

type Row = RowDataPacket & Record<string, unknown>;


/**
 * The watcher's table (sql/mysql/002_watcher.sql) and the pool gauge on
 * MySQL / MariaDB, through a small pool of its own (two connections), with
 * the schema's collation and UTC pinned like the PoolStore's. Connects lazily:
 * an unreachable server is UNAVAILABLE on each call, never at construction.
 */
export class MysqlWatcherStateStore implements WatcherStateStore {
  readonly label: string;
  private readonly pool: Pool;
  private readonly pinned: PinnedPool;

  constructor(target: Extract<DbTarget, { dialect: 'mysql' }>) {
    this.label = target.label;
    this.pinned = createPinnedPool(target, { connectionLimit: 2 });
    this.pool = this.pinned.pool;
  }

  private async q<T = Row[]>(sql: string, params: unknown[] = []): Promise<T> {
    try {
      const [result] = await this.pool.query(sql, params);
      return result as T;
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (this.pinned.sessionError() !== undefined) throw unpinnedError(this.pinned.sessionError(), this.label);
      const down = unreachable(e, this.label);
      if (down) throw down;
      if (code === 'ER_TABLEACCESS_DENIED_ERROR' || code === 'ER_COLUMNACCESS_DENIED_ERROR') {
        throw new CodedError('REFUSED', `the watcher's database account may not read what it needs on ${this.label}: ${(e as Error).message}`, {
          cause: e,
          hint: 'grant the watcher account SELECT (status, slot, assigned_at) ON addresses, SELECT (id, account_id, chain, first_index, count, loaded_at) ON address_batches, ' +
            'SELECT (id, is_primary) ON pool_accounts and SELECT, INSERT, UPDATE ON watcher_state',
        });
      }
      if (code === 'ER_NO_SUCH_TABLE') {
        throw new CodedError('STATE_CONFLICT', `the database ${this.label} has no watcher_state table`, { cause: e, hint: 'run `coldpool db migrate` first' });
      }
      throw e;
    }
  }

  async load(subject: string): Promise<WatcherState | undefined> {
    const [row] = await this.q('SELECT level, last_alert_at, last_count, checked_at, revision FROM watcher_state WHERE subject = ?', [subject]);
    if (!row) return undefined;
    return {
      level: String(row.level) as AlertLevel,
      lastAlertAt: row.last_alert_at === null ? undefined : (row.last_alert_at as Date),
      lastCount: Number(row.last_count),
      checkedAt: row.checked_at as Date,
      revision: Number(row.revision),
    };
  }

  async save(subject: string, next: Omit<WatcherState, 'revision'>, expectedRevision: number): Promise<boolean> {
    const values = [next.level, next.lastAlertAt ?? null, next.lastCount, next.checkedAt];
    const result =
      expectedRevision === 0
        ? await this.q<ResultSetHeader>('INSERT IGNORE INTO watcher_state (subject, level, last_alert_at, last_count, checked_at, revision) VALUES (?, ?, ?, ?, ?, 1)', [subject, ...values])
        : await this.q<ResultSetHeader>(
            'UPDATE watcher_state SET level = ?, last_alert_at = ?, last_count = ?, checked_at = ?, revision = revision + 1 WHERE subject = ? AND revision = ?',
            [...values, subject, expectedRevision],
          );
    return result.affectedRows === 1;
  }

  async gauge(since: Date): Promise<PoolGauge> {
    const [claimed] = await this.q('SELECT COUNT(*) AS n FROM addresses WHERE assigned_at >= ? AND slot IS NOT NULL', [since]);
    const [batches] = await this.q(
      'SELECT MIN(b.loaded_at) AS first_loaded, (SELECT MAX(first_index + count) FROM address_batches WHERE chain = 0 AND account_id = ' +
        '(SELECT id FROM pool_accounts ORDER BY is_primary DESC, id LIMIT 1)) AS next_index FROM address_batches b',
    );
    return {
      claimedSince: Number(claimed?.n ?? 0),
      firstLoadedAt: batches?.first_loaded ? (batches.first_loaded as Date) : undefined,
      nextIndex: batches?.next_index === null || batches?.next_index === undefined ? 0 : Number(batches.next_index),
    };
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
