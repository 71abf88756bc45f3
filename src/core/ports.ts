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
