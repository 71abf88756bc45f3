/**
 * coldpool as a library, for Node web apps on the web host: open the pool
 * store and hand out deposit addresses. Holds no key; nothing here imports
 * src/keys.
 *
 * @example
 * import { openDatabase, claimAddress } from 'coldpool';
 * const db = openDatabase(process.env.COLDPOOL_DB ?? 'sqlite:./coldpool.db'); // mysql://coldpool_web:…@db/coldpool
 * const { address, reused } = await claimAddress(db.pool, 'user-42', 'deposit-request-981');
 * await db.close();
 */
import type { ClaimedAddress, PoolStore } from './core/ports.js';

export { openDatabase, type DatabaseOptions } from './store/db.js';
export { parseDbUrl, redact, type DbTarget } from './store/db-url.js';
export { CodedError, ErrorCode, isCoded } from './core/errors.js';
export type {
  BatchStatus, ClaimedAddress, Database, InsertBatchOptions, LoadOutcome, MigrateOutcome, PinOutcome, PoolAccount, PoolStatus, PoolStore, VerifiedBatch,
} from './core/ports.js';

/**
 * Hand out one deposit address to `user`, atomically and never twice. Pass
 * `ref` (your own deposit-request id) to make retries safe: the same ref
 * returns the same address with `reused: true`. Throws CodedError
 * `POOL_EMPTY` when no address is left, `UNAVAILABLE` when the database is
 * unreachable.
 */
export function claimAddress(store: PoolStore, user: string, ref?: string): Promise<ClaimedAddress> {
  return store.claim(user, ref);
}

/** Available receive addresses left, for a health check or the watcher. */
export function availableAddresses(store: PoolStore): Promise<number> {
  return store.countAvailable();
}

// Withdrawal requests (flow 6): the web app's door; the operator decides later.
export { requestWithdrawal } from './flows/request-withdrawal.js';
export type { RequestOutcome, WithdrawalRecord, WithdrawalStore } from './core/ports.js';
export type { RequestInput } from './core/withdrawal-rules.js';
export { parseBtc, formatBtc } from './core/amount.js';
