import type { DbTarget } from './db-url.js';
import { SqlChainStore } from './chain-store-sql.js';
import { MysqlDb } from './withdrawal-store-mysql.js';

/**
 * The chain follower's store on MySQL 8 / MariaDB 10.6+: the same connection
 * settings as the pool (one collation, UTC, BIGINT as strings, READ
 * COMMITTED); each block is one InnoDB transaction.
 *
 * @example
 * const store = openMysqlChainStore(parseDbUrl('mysql://coldpool_operator:…@127.0.0.1/coldpool') as …);
 */
export function openMysqlChainStore(target: Extract<DbTarget, { dialect: 'mysql' }>): SqlChainStore {
  return new SqlChainStore(new MysqlDb(target));
}
