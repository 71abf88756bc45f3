import type { ChainStore } from '../core/chain-ports.js';
import { openMysqlChainStore } from './chain-store-mysql.js';
import { openSqliteChainStore } from './chain-store-sqlite.js';
import { parseDbUrl, resolveDbUrl } from './db-url.js';

/**
 * The chain store for a database URL (the pool's URL: the follower records
 * into the same database it reads the addresses from).
 *
 * @example
 * const chain = openChainStore('sqlite:./coldpool.db');
 */
export function openChainStore(url?: string): ChainStore {
  const target = parseDbUrl(resolveDbUrl(url));
  return target.dialect === 'sqlite' ? openSqliteChainStore(target.path) : openMysqlChainStore(target);
}
