import type { PoolStore } from '../core/ports.js';
import { parseDbUrl, resolveDbUrl } from './db-url.js';
import { MysqlStore } from './mysql-store.js';
import { SqliteStore } from './sqlite-store.js';

/**
 * Open the pool store a URL names (see db-url.ts). Opening connects lazily
 * for MySQL: an unreachable server shows up as UNAVAILABLE on the first call.
 *
 * @example
 * const store = openStore(process.env.COLDPOOL_DB ?? 'sqlite:./coldpool.db');
 * await store.migrate();
 */
export function openStore(url?: string): PoolStore {
  const target = parseDbUrl(resolveDbUrl(url));
  return target.dialect === 'sqlite' ? new SqliteStore(target.path) : new MysqlStore(target);
}
