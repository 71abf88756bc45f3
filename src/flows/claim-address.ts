/** Flow 4 (web app): hand out one deposit address. */
import type { ClaimedAddress, PoolStore } from '../core/ports.js';

/**
 * Hand out one deposit address to `user`, atomically and never twice: for a
 * user with their own set (`assignAddresses`), the set's next address, lowest
 * index first (the set topped up from the pool when it runs low); for any
 * other user, an address of the pool. Pass
 * `ref` (your own deposit-request id) to make retries safe: the same ref
 * returns the same address with `reused: true`. Throws CodedError
 * `POOL_EMPTY` when no address is left, `UNAVAILABLE` when the database is
 * unreachable.
 *
 * @example
 * const { address, reused } = await claimAddress(db.pool, 'user-42', 'deposit-request-981');
 */
export function claimAddress(pool: Pick<PoolStore, 'claim'>, user: string, ref?: string): Promise<ClaimedAddress> {
  return pool.claim(user, ref);
}
