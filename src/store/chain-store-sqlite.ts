import { SqlChainStore } from './chain-store-sql.js';
import { SqliteDb } from './withdrawal-store-sqlite.js';

/**
 * The chain follower's store on SQLite: the pool's file, opened like the
 * pool and withdrawal stores (WAL, busy timeout, synchronous FULL, safe
 * integers), so a block commit survives a SIGKILL or a power cut.
 *
 * @example
 * const store = openSqliteChainStore('./coldpool.db');
 */
export function openSqliteChainStore(path: string): SqlChainStore {
  return new SqlChainStore(new SqliteDb(path));
}
