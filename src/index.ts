/**
 * coldpool as a library, for Node web apps on the web host: open the pool
 * store and hand out deposit addresses. Holds no key; nothing here imports
 * src/keys.
 *
 * @example
 * import { openStore, claimAddress } from 'coldpool';
 * const store = openStore(process.env.COLDPOOL_DB); // mysql://coldpool_web:…@db/coldpool
 * const { address, reused } = await claimAddress(store, 'user-42', 'deposit-request-981');
 */
import type { ClaimedAddress, PoolStore } from './core/ports.js';

export { openStore } from './store/open-store.js';
export { parseDbUrl, resolveDbUrl, redact, DEFAULT_DB_URL, type DbTarget } from './store/db-url.js';
export { CodedError, ErrorCode, isCoded } from './core/errors.js';
export type {
  BatchStatus, ClaimedAddress, InsertBatchOptions, LoadOutcome, MigrateOutcome, PinOutcome, PoolAccount, PoolStatus, PoolStore, VerifiedBatch,
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
export { openWithdrawalStore, type WithdrawalStoreOptions } from './store/withdrawal-store.js';
export type { RequestOutcome, WithdrawalRecord, WithdrawalStore } from './core/withdrawal-ports.js';
export type { RequestInput } from './core/withdrawal-rules.js';
export { parseBtc, formatBtc } from './core/amount.js';
