/**
 * coldpool as a library, for Node web apps on the web host: open the pool
 * store and hand out deposit addresses. Holds no key; nothing here imports
 * src/keys.
 *
 * @example
 * import { openDatabase, claimAddress } from 'coldpool';
 * const db = openDatabase(process.env.COLDPOOL_DB ?? 'sqlite:./coldpool.db'); // mysql://coldpool_web:…@db/coldpool
 * const { address, reused } = await claimAddress(db.pool, 'user-42', 'deposit-request-981');
 * // or, at signup, the user's own 100 addresses; claimAddress then hands out the next of them
 * await assignAddresses(db.pool, 'user-43');
 * await db.close();
 */
export { openDatabase, type DatabaseOptions } from './store/db.js';
export { parseDbUrl, redact, type DbTarget } from './store/db-url.js';
export { CodedError, ErrorCode, isCoded } from './core/errors.js';
export type {
  AddressSet, AssignOptions, AssignOutcome, BatchStatus, ClaimedAddress, Database, SetAddress, SetAfterClaim, InsertBatchOptions, LoadOutcome, MigrateOutcome, PinOutcome, PoolAccount, PoolStatus, PoolStore, VerifiedBatch,
} from './core/ports.js';

// Hand out (flow 4) and the pool's gauge: the same flows the CLI runs.
export { claimAddress } from './flows/claim-address.js';
// Addresses per user (schema 009): a user's own set at signup; claimAddress then hands out its next address.
export { assignAddresses } from './flows/assign-addresses.js';
export { DEFAULT_SET_SIZE, MAX_SET_SIZE } from './core/address-sets.js';
export { availableAddresses } from './flows/pool-status.js';

// Withdrawal requests (flow 6): the web app's door; the operator decides later.
export { requestWithdrawal } from './flows/request-withdrawal.js';
export type { RequestOutcome, WithdrawalRecord, WithdrawalStore } from './core/ports.js';
export type { RequestInput } from './core/withdrawal-rules.js';
export { parseBtc, formatBtc } from './core/amount.js';

// Confirmation (flow 7): relay the token of the user's click to the verifier.
export { relayConfirmation } from './flows/relay-confirmation.js';
export type { VerificationFeed } from './core/ports.js';
