import { CodedError, show } from '../core/errors.js';
import { MAX_INDEX } from '../core/descriptor.js';
import type { PinOutcome, PoolAccount, VerifiedBatch } from '../core/ports.js';
import { MAX_SET_SIZE } from '../core/address-sets.js';

export { DEFAULT_SET_SIZE, MAX_SET_SIZE, lowWater, topUpCount } from '../core/address-sets.js';

/**
 * What both stores decide the same way: the account pinning rule, the
 * messages of a refused batch, claim input checks, and the slot each claim
 * starts from. No I/O here.
 */

/** Receive addresses are spread over this many slots (`slot = idx % SLOTS`). */
export const SLOTS = 64;
/** Rows per multi-row INSERT: ~1 MiB of SQL, far below MariaDB's 16 MiB max_allowed_packet. */
export const INSERT_SLICE_ROWS = 10_000;
/** Longest user id / ref (a VARCHAR(190) keeps a utf8mb4 unique index within InnoDB's limits). */
export const MAX_ID_LENGTH = 190;

/** The slot of an index: NULL (never handed out) on the change chain. */
export function slotOf(chain: 0 | 1, index: number): number | null {
  return chain === 0 ? index % SLOTS : null;
}

/**
 * Hands out slots round-robin from a random start, so the claims of one
 * process never collide with each other and claims of several processes
 * rarely do, while every slot drains at the same pace (the recovery gap stays
 * below two rows of slots).
 */
export function slotChooser(start = Math.floor(Math.random() * SLOTS)): () => number {
  let next = start;
  return () => {
    const slot = next;
    next = (next + 1) % SLOTS;
    return slot;
  };
}

export function checkClaimInput(user: string, ref: string | undefined): void {
  if (typeof user !== 'string' || user.length === 0 || user.length > MAX_ID_LENGTH) {
    throw new CodedError('INVALID_INPUT', `"user" expected 1..${MAX_ID_LENGTH} characters, got ${show(user)}`);
  }
  if (ref !== undefined && (typeof ref !== 'string' || ref.length === 0 || ref.length > MAX_ID_LENGTH)) {
    throw new CodedError('INVALID_INPUT', `"ref" expected 1..${MAX_ID_LENGTH} characters, got ${show(ref)}`);
  }
}

export function poolEmpty(label: string): CodedError {
  return new CodedError('POOL_EMPTY', `no available address in the pool (${label})`, {
    hint: 'derive the next batch on the signer (`coldpool pool status` shows the next index) and load it with `coldpool pool load`',
  });
}

export function refOfOtherUser(ref: string, owner: string, user: string): CodedError {
  return new CodedError('STATE_CONFLICT', `ref ${show(ref)} was already claimed for user ${show(owner)}, not ${show(user)}`, {
    hint: 'a ref is the app\'s own deposit-request id and belongs to one user',
    context: { ref },
  });
}

/** The account rule, given the pool's accounts (pinned one first). */
export type AccountDecision =
  | { readonly kind: 'existing'; readonly accountId: bigint; readonly outcome: PinOutcome }
  | { readonly kind: 'insert'; readonly primary: boolean; readonly outcome: PinOutcome };

export interface StoredAccount extends PoolAccount {
  readonly id: bigint;
}

export function decideAccount(existing: readonly StoredAccount[], wanted: PoolAccount, add: boolean): AccountDecision {
  const pinned = existing[0];
  if (!pinned) return { kind: 'insert', primary: true, outcome: 'pinned' };
  if (pinned.network !== wanted.network) {
    throw new CodedError('NETWORK_MISMATCH', `the pool holds ${pinned.network} addresses; this batch is for ${wanted.network}`, {
      hint: 'use one database per network',
    });
  }
  const same = existing.find((a) => a.keyId === wanted.keyId);
  if (same) return { kind: 'existing', accountId: same.id, outcome: 'already-pinned' };
  if (add) return { kind: 'insert', primary: false, outcome: 'added' };
  throw new CodedError('REFUSED', `the batch is for another account than the one the pool is pinned to: pool ${pinned.descriptor}, batch ${wanted.descriptor}`, {
    hint: 'derive the batch from the pinned account; to really add a second account, load with --add-account',
    context: { pinnedKeyId: pinned.keyId, batchKeyId: wanted.keyId },
  });
}

/**
 * The shape a store relies on (the flow verified the content): a store never
 * writes a batch whose count, range or digest does not hold together.
 */
export function checkBatchShape(batch: VerifiedBatch): void {
  const bad = (what: string) => new CodedError('INVALID_INPUT', `batch to insert: ${what}`);
  if (batch.chain !== 0 && batch.chain !== 1) throw bad(`chain expected 0 or 1, got ${show(batch.chain)}`);
  if (!Number.isSafeInteger(batch.first) || batch.first < 0) throw bad(`first expected an index >= 0, got ${show(batch.first)}`);
  if (!Number.isSafeInteger(batch.count) || batch.count < 1) throw bad(`count expected >= 1, got ${show(batch.count)}`);
  if (batch.first + batch.count - 1 > MAX_INDEX) throw bad(`range ${batch.first}+${batch.count} runs past index ${MAX_INDEX}`);
  if (batch.addresses.length !== batch.count) throw bad(`count ${batch.count} but ${batch.addresses.length} addresses`);
  if (!/^[0-9a-f]{64}$/.test(batch.digest)) throw bad(`digest expected 64 hex characters, got ${show(batch.digest)}`);
  for (let k = 0; k < batch.count; k++) {
    const a = batch.addresses[k];
    if (typeof a !== 'string' || a.length < 14 || a.length > 90) throw bad(`index ${batch.first + k}: malformed address ${show(a)}`);
  }
}

export function accountOf(batch: VerifiedBatch): PoolAccount {
  return { keyId: batch.keyId, descriptor: batch.descriptor, network: batch.network };
}

/** A loaded batch whose range overlaps the new one. */
export interface OverlappingBatch {
  readonly id: bigint;
  readonly first: number;
  readonly count: number;
  /** The address stored at the first overlapping index, if any. */
  readonly storedAddress: string | undefined;
}

export function overlapRefusal(batch: VerifiedBatch, other: OverlappingBatch): CodedError {
  const index = Math.max(batch.first, other.first);
  const mine = batch.addresses[index - batch.first];
  const content = other.storedAddress === undefined ? '' : other.storedAddress === mine ? ' (same address)' : ` with a different address (pool ${other.storedAddress}, file ${mine})`;
  return new CodedError('REFUSED', `batch ${batch.first}..${batch.first + batch.count - 1} (chain ${batch.chain}) overlaps loaded batch #${other.id} (${other.first}..${other.first + other.count - 1}): index ${index} is already loaded${content}; nothing was loaded`, {
    hint: 'derive the next batch from `coldpool pool status`\'s next index; a batch is loaded whole or not at all',
    context: { index, batchId: String(other.id) },
  });
}

/** Where an address of the batch already sits in the pool. */
export interface ExistingAddress {
  readonly address: string;
  readonly chain: number;
  readonly index: number;
}

/**
 * The first address of `batch` already present in the pool (or twice in the
 * batch), as a refusal naming the batch index. `lookup` returns the rows for
 * a slice of addresses.
 */
export async function findAddressCollision(
  batch: VerifiedBatch,
  lookup: (addresses: readonly string[]) => Promise<ExistingAddress[]>,
): Promise<CodedError> {
  const seen = new Map<string, number>();
  for (let k = 0; k < batch.count; k++) {
    const a = batch.addresses[k]!;
    const prior = seen.get(a);
    if (prior !== undefined) return collision(batch, k, `it already appears at index ${batch.first + prior} of the same file`);
    seen.set(a, k);
  }
  const SLICE = 1000;
  for (let k = 0; k < batch.count; k += SLICE) {
    const slice = batch.addresses.slice(k, k + SLICE);
    const found = new Map((await lookup(slice)).map((r) => [r.address, r]));
    for (let j = 0; j < slice.length; j++) {
      const hit = found.get(slice[j]!);
      if (hit) return collision(batch, k + j, `the pool already holds it at index ${hit.index} of chain ${hit.chain}`);
    }
  }
  return new CodedError('REFUSED', 'the batch conflicts with the pool (a unique constraint failed); nothing was loaded');
}

function collision(batch: VerifiedBatch, k: number, where: string): CodedError {
  const index = batch.first + k;
  return new CodedError('REFUSED', `index ${index}: address ${batch.addresses[k]} ${where}; nothing was loaded`, {
    hint: 'an address belongs to exactly one index: this file was not derived from the pinned account or was edited',
    context: { index },
  });
}

// ---- addresses per user (schema 009) ---------------------------------------

export function checkAssignInput(user: string, count: number): void {
  checkClaimInput(user, undefined);
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SET_SIZE) {
    throw new CodedError('INVALID_INPUT', `"count" expected an integer 1..${MAX_SET_SIZE}, got ${show(count)}`);
  }
}

/** POOL_EMPTY for a set (or top-up) the pool cannot fill whole. */
export function setPoolEmpty(label: string, user: string, needed: number, available: number, what: 'set' | 'top-up'): CodedError {
  const for_ = what === 'set' ? `a set of ${needed} addresses for user ${show(user)}` : `topping up the set of user ${show(user)} by ${needed}`;
  return new CodedError('POOL_EMPTY', `${for_} needs ${needed} available addresses, the pool has ${available} (${label}); nothing was assigned`, {
    hint: 'derive the next batch on the signer (`coldpool pool status` shows the next index) and load it with `coldpool pool load`',
    context: { user, needed, available },
  });
}
