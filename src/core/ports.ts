/**
 * The ports coldpool's flows talk to. Adapters (src/store/sqlite, src/store/mysql,
 * src/chain/*, src/notify/*) implement them; core and flows import only these
 * types, never an adapter.
 */
import type { NetworkName } from './network.js';

/** The account a pool is pinned to (the first loaded batch pins it). */
export interface PoolAccount {
  /** `accountKeyId()` of the descriptor: chain code + public key, hex. */
  readonly keyId: string;
  /** The descriptor as written in the first batch (multipath form, with checksum). */
  readonly descriptor: string;
  readonly network: NetworkName;
}

/** One verified batch, ready to insert: addresses[k] is index first + k. */
export interface VerifiedBatch {
  readonly keyId: string;
  readonly descriptor: string;
  readonly network: NetworkName;
  readonly chain: 0 | 1;
  readonly first: number;
  readonly count: number;
  /** Hex sha256 of the batch file (its last line). */
  readonly digest: string;
  /** The creation time written in the file (ISO-8601), the account's birthday for chain scans. */
  readonly created: string;
  readonly addresses: readonly string[];
}

export type LoadOutcome =
  | { readonly kind: 'loaded'; readonly batchId: bigint; readonly inserted: number }
  | { readonly kind: 'already-loaded'; readonly batchId: bigint };

export interface ClaimedAddress {
  readonly address: string;
  readonly index: number;
  readonly user: string;
  readonly ref: string | undefined;
  readonly assignedAt: Date;
  /** True when `ref` had already been claimed and the same address came back. */
  readonly reused: boolean;
}

export interface BatchStatus {
  readonly id: bigint;
  readonly chain: 0 | 1;
  readonly first: number;
  readonly count: number;
  readonly digest: string;
  readonly loadedAt: Date;
  readonly available: number;
  readonly assigned: number;
  readonly used: number;
}

export interface PoolStatus {
  readonly account: PoolAccount | undefined;
  readonly available: number;
  readonly assigned: number;
  readonly used: number;
  readonly batches: readonly BatchStatus[];
  /** First index not yet loaded on the receive chain: the `--from` of the next derive. */
  readonly nextIndex: number;
  /** Highest receive index ever handed out, or undefined. */
  readonly highestAssignedIndex: number | undefined;
  /** Highest receive index that ever received funds, or undefined. */
  readonly highestUsedIndex: number | undefined;
}

/** Options of `PoolStore.insertBatch`. */
export interface InsertBatchOptions {
  /**
   * Accept a batch of an account other than the one the pool is pinned to,
   * adding that account (`pool load --add-account`). Without it such a batch
   * is refused with REFUSED. The network must match in any case.
   */
  readonly addAccount?: boolean;
  /** Called after each inserted slice with the number of rows inserted so far (progress bars). */
  readonly onProgress?: (inserted: number, total: number) => void;
}

/** What `PoolStore.pinAccount` did. */
export type PinOutcome = 'pinned' | 'already-pinned' | 'added';

/** What `PoolStore.migrate` did. */
export interface MigrateOutcome {
  /** Versions applied by this call, in order (empty when the schema was current). */
  readonly applied: readonly number[];
  /** The schema version now recorded in the database. */
  readonly version: number;
}

/**
 * The address pool's storage, implemented by src/store/sqlite-store.ts and
 * src/store/mysql-store.ts (one contract suite runs against both). Every
 * method is one transaction (or one autocommit statement) on its own.
 *
 * Errors: UNAVAILABLE when the database cannot be reached; REFUSED for a batch
 * that conflicts with the pool or another account; NETWORK_MISMATCH for a
 * batch of another network; POOL_EMPTY when nothing can be claimed;
 * STATE_CONFLICT for a schema newer than this program or a `ref` already
 * claimed for another user.
 */
export interface PoolStore {
  readonly dialect: 'sqlite' | 'mysql';
  /** Where the store points, without any password (for messages). */
  readonly label: string;
  /** Apply the pending `sql/<dialect>/NNN_*.sql` files; idempotent. */
  migrate(): Promise<MigrateOutcome>;
  /** The account the pool is pinned to (the first one pinned), or undefined for a fresh pool. */
  account(): Promise<PoolAccount | undefined>;
  /** Every account of the pool, the pinned one first. */
  accounts(): Promise<PoolAccount[]>;
  /**
   * Pin a fresh pool to `account`; an already pinned pool accepts the same
   * account (`already-pinned`), refuses another one with REFUSED unless
   * `add` is true (`added`), and refuses another network with NETWORK_MISMATCH.
   * `insertBatch` applies the same rule itself, in its own transaction.
   */
  pinAccount(account: PoolAccount, opts?: { readonly add?: boolean }): Promise<PinOutcome>;
  /**
   * Insert a verified batch in ONE transaction: the same digest again is an
   * `already-loaded` no-op; indexes overlapping a loaded batch of the same
   * account and chain, or an address already present at another index, are
   * refused with REFUSED naming the first conflicting index, and nothing is
   * written. Pins the account if the pool is fresh.
   */
  insertBatch(batch: VerifiedBatch, opts?: InsertBatchOptions): Promise<LoadOutcome>;
  /**
   * Atomically move one available receive address (chain 0) to `assigned`
   * for `user`. With `ref` (the app's own deposit-request id), a retry returns
   * the address already claimed for that ref with `reused: true`.
   */
  claim(user: string, ref?: string): Promise<ClaimedAddress>;
  status(): Promise<PoolStatus>;
  /** Available receive addresses (what the low-water watcher compares). */
  countAvailable(): Promise<number>;
  /**
   * sha256 over every batch and address row in a fixed order: equal before
   * and after a refused load means the pool is unchanged (tests, `--dry-run`).
   */
  dumpDigest(): Promise<string>;
  close(): Promise<void>;
}
