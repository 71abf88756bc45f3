import type { PoolStore } from '../core/ports.js';
import type { WatcherStateStore } from '../core/watcher-ports.js';
import { parseDbUrl, resolveDbUrl } from './db-url.js';
import { openStore } from './open-store.js';
import { MysqlWatcherStateStore } from './watcher-state-mysql.js';
import { SqliteWatcherStateStore } from './watcher-state-sqlite.js';

/**
 * The watcher's state store for a database URL (the same URL as the pool's).
 *
 * @example
 * const state = openWatcherStateStore('sqlite:./coldpool.db');
 * await state.load('pool');
 */
export function openWatcherStateStore(url?: string): WatcherStateStore {
  const target = parseDbUrl(resolveDbUrl(url));
  return target.dialect === 'sqlite' ? new SqliteWatcherStateStore(target.path) : new MysqlWatcherStateStore(target);
}

/**
 * The part of the PoolStore a watcher needs, opened on first use and again
 * after a failure, so a watcher started while the database is unreachable
 * keeps running and reports it instead of dying at startup.
 */
export class LazyPoolCounter {
  readonly label: string;
  private store: PoolStore | undefined;

  constructor(private readonly url: string) {
    this.label = parseDbUrl(url).label;
  }

  async countAvailable(): Promise<number> {
    this.store ??= openStore(this.url);
    return this.store.countAvailable();
  }

  async close(): Promise<void> {
    await this.store?.close();
    this.store = undefined;
  }
}
