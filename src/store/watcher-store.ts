import { CodedError } from '../core/errors.js';
import type { AlertLevel, PoolGauge, WatcherState, WatcherStateStore } from '../core/ports.js';
import type { SqlDb, SqlRow } from './sql-db.js';

/**
 * The watcher's memory (the `watcher_state` table, sql/<dialect>/002_watcher.sql)
 * and the pool gauge, over either dialect. The revision column makes a save a
 * compare-and-swap, so two watchers on one database never both send an alert.
 * Deliberately no schema check: the watcher's least-privilege account reads
 * only what it needs (sql/mysql/grants.sql), not `schema_migrations`.
 */
export class SqlWatcherStateStore implements WatcherStateStore {
  readonly label: string;

  constructor(private readonly db: SqlDb) {
    this.label = db.label;
  }

  /** Run one statement, naming a missing table or a missing grant. */
  private async all(sql: string, params: readonly unknown[] = []): Promise<SqlRow[]> {
    try {
      return await this.db.all(sql, params);
    } catch (e) {
      throw this.explain(e);
    }
  }

  private async run(sql: string, params: readonly unknown[]): Promise<number> {
    try {
      return (await this.db.run(sql, params)).changes;
    } catch (e) {
      throw this.explain(e);
    }
  }

  private explain(e: unknown): unknown {
    const code = (e as { code?: string }).code ?? '';
    if (code === 'ER_TABLEACCESS_DENIED_ERROR' || code === 'ER_COLUMNACCESS_DENIED_ERROR') {
      return new CodedError('REFUSED', `the watcher's database account may not read what it needs on ${this.label}: ${(e as Error).message}`, {
        cause: e,
        hint: 'grant the watcher account SELECT (status, slot, assigned_at) ON addresses, SELECT (id, account_id, chain, first_index, count, loaded_at) ON address_batches, ' +
          'SELECT (id, is_primary) ON pool_accounts and SELECT, INSERT, UPDATE ON watcher_state',
      });
    }
    if (this.db.isMissingTable(e, 'watcher_state')) {
      return new CodedError('STATE_CONFLICT', `the database ${this.label} has no watcher_state table`, { cause: e, hint: 'run `coldpool db migrate` first' });
    }
    return e;
  }

  async load(subject: string): Promise<WatcherState | undefined> {
    const [row] = await this.all('SELECT level, last_alert_at, last_count, checked_at, revision FROM watcher_state WHERE subject = ?', [subject]);
    if (!row) return undefined;
    return {
      level: String(row.level) as AlertLevel,
      lastAlertAt: row.last_alert_at === null ? undefined : new Date(this.db.readTime(row.last_alert_at)),
      lastCount: Number(row.last_count),
      checkedAt: new Date(this.db.readTime(row.checked_at)),
      revision: Number(row.revision),
    };
  }

  async save(subject: string, next: Omit<WatcherState, 'revision'>, expectedRevision: number): Promise<boolean> {
    const values = [next.level, next.lastAlertAt ? this.db.time(next.lastAlertAt) : null, next.lastCount, this.db.time(next.checkedAt)];
    const changes =
      expectedRevision === 0
        ? await this.run(`${this.db.insertIgnore} INTO watcher_state (subject, level, last_alert_at, last_count, checked_at, revision) VALUES (?, ?, ?, ?, ?, 1)`, [subject, ...values])
        : await this.run('UPDATE watcher_state SET level = ?, last_alert_at = ?, last_count = ?, checked_at = ?, revision = revision + 1 WHERE subject = ? AND revision = ?',
          [...values, subject, expectedRevision]);
    return changes === 1;
  }

  async gauge(since: Date): Promise<PoolGauge> {
    // On SQLite assigned_at is ISO-8601 UTC text of one width: text order is time order.
    const [claimed] = await this.all('SELECT COUNT(*) AS n FROM addresses WHERE assigned_at >= ? AND slot IS NOT NULL', [this.db.time(since)]);
    const [batches] = await this.all(
      'SELECT MIN(b.loaded_at) AS first_loaded, (SELECT MAX(first_index + count) FROM address_batches WHERE chain = 0 AND account_id = ' +
        '(SELECT id FROM pool_accounts ORDER BY is_primary DESC, id LIMIT 1)) AS next_index FROM address_batches b',
    );
    return {
      claimedSince: Number(claimed?.n ?? 0),
      firstLoadedAt: batches?.first_loaded === null || batches?.first_loaded === undefined ? undefined : new Date(this.db.readTime(batches.first_loaded)),
      nextIndex: batches?.next_index === null || batches?.next_index === undefined ? 0 : Number(batches.next_index),
    };
  }
}
