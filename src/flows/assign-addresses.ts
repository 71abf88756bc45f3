/** Flow 4 at signup (web app): a user's own set of deposit addresses. */
import type { AssignOptions, AssignOutcome, PoolStore } from '../core/ports.js';
import { DEFAULT_SET_SIZE } from '../core/address-sets.js';

/**
 * Give `user` their own `count` (default 100) deposit addresses at signup,
 * atomically: all of them or none, none of them ever another user's, however
 * many signups run at once. `claimAddress(pool, user)` then hands them out one
 * by one, lowest index first, and tops the set up from the pool when fewer
 * than a tenth of it is left.
 *
 * Once per user: a user who already has a set keeps it and gets it back
 * (`kind: 'existing'`, nothing written), so a retried signup is safe; pass
 * `{ add: true }` to give that user `count` more (`kind: 'added'`).
 *
 * Throws CodedError `POOL_EMPTY` (nothing assigned, the message names how
 * many are available) when the pool holds fewer than `count`,
 * `INVALID_INPUT` for a bad user or a count outside 1..10,000,
 * `UNAVAILABLE` when the database is unreachable.
 *
 * @example
 * const { kind, set } = await assignAddresses(db.pool, 'user-42');
 * // set.unhanded: [{ address, index }, …] in the order claims hand them out
 */
export function assignAddresses(
  pool: Pick<PoolStore, 'assign'>, user: string, count: number = DEFAULT_SET_SIZE, opts: AssignOptions = {},
): Promise<AssignOutcome> {
  return pool.assign(user, count, opts);
}
