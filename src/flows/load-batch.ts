import { batchCountHint, parseBatchFile, type BatchFile } from '../core/batch-file.js';
import { accountKeyId, formatAccountDescriptor, parseAccountDescriptor, type AccountDescriptor } from '../core/descriptor.js';
import { CodedError, isCoded } from '../core/errors.js';
import { NETWORKS, type NetworkName } from '../core/network.js';
import type { PoolAccount, PoolStore, VerifiedBatch } from '../core/ports.js';
import { deriveRange, DeriveWorkers } from './derive-range.js';

/** The two phases a progress bar shows: re-deriving every address, then inserting. */
export type LoadPhase = 'verify' | 'insert';

export interface LoadBatchOptions {
  /** Verify everything and report what would happen, writing nothing. */
  readonly dryRun?: boolean;
  /** Accept a batch of an account other than the pinned one, adding it (same network only). */
  readonly addAccount?: boolean;
  /** Called as addresses are re-derived (`verify`) and rows inserted (`insert`). */
  readonly onProgress?: (phase: LoadPhase, done: number, total: number) => void;
  /** Derivation threads (default: one per core); 0 derives on the calling thread. */
  readonly threads?: number;
}

/**
 * What `loadBatch` did. `would-load` and `would-skip` are the `--dry-run`
 * answers; `already-loaded` is the no-op of loading the same file twice.
 */
export type LoadBatchResult = {
  readonly network: NetworkName;
  readonly descriptor: string;
  readonly keyId: string;
  readonly chain: 0;
  readonly first: number;
  readonly count: number;
  readonly last: number;
  readonly digest: string;
  /** `pinned`: the pool was fresh and takes this account; `added`: a second account (`--add-account`). */
  readonly account: 'pinned' | 'same' | 'added';
  readonly verifySeconds: number;
  readonly insertSeconds: number;
} & (
  | { readonly kind: 'loaded'; readonly batchId: bigint; readonly inserted: number }
  | { readonly kind: 'already-loaded'; readonly batchId: bigint }
  | { readonly kind: 'would-load' }
  | { readonly kind: 'would-skip'; readonly batchId: bigint }
);

/**
 * Flow 3 of DESIGN.md: verify a batch file completely, then load it into the
 * pool in one transaction. Nothing in the pool is written before every check
 * has passed:
 *
 * 1. the file itself (`parseBatchFile`): sha256 line, format version, header,
 *    row count, indexes contiguous from `first`;
 * 2. the network: the pool's pinned account's, or any for a fresh pool;
 * 3. the descriptor: parses for that network, is the receive side of the
 *    account, and is the pinned account (unless `addAccount`);
 * 4. every address, re-derived from the descriptor and compared, because the
 *    sha256 line is not a signature: whoever edits the file can recompute it.
 *
 * Already-loaded files, overlapping ranges and the transaction itself are the
 * store's (`PoolStore.insertBatch`).
 *
 * @example
 * const r = await loadBatch(store, readFileSync('batch-010000.csv'), { onProgress: bar });
 * if (r.kind === 'already-loaded') console.error(`already loaded (batch #${r.batchId})`);
 */
export async function loadBatch(store: PoolStore, bytes: Uint8Array, options: LoadBatchOptions = {}): Promise<LoadBatchResult> {
  const started = performance.now();
  // Derivation threads start first: their start-up (~0.1 s) then overlaps
  // checking the file's digest and reading the pool's accounts instead of
  // delaying the re-derivation.
  const workers = DeriveWorkers.start(batchCountHint(bytes) ?? 0, options.threads);
  try {
    return await verifyAndLoad(store, bytes, options, workers, started);
  } finally {
    await workers.close();
  }
}

async function verifyAndLoad(
  store: PoolStore, bytes: Uint8Array, options: LoadBatchOptions, workers: DeriveWorkers, started: number,
): Promise<LoadBatchResult> {
  const file = parseBatchFile(bytes);
  // Re-deriving starts first, from the file's own descriptor: the worker
  // threads get their chunks before the pool's accounts are read (for MySQL:
  // loading the driver and connecting keep this thread busy for a while).
  // Its outcome counts only after the account checks pass; when one fails,
  // it is stopped and that refusal is the error reported.
  const stop = { requested: false };
  const early = fileAccount(file);
  const verifying = early && verifyAddresses(early, file, options, workers, stop);
  verifying?.catch(() => {}); // awaited below, or abandoned for an account refusal
  let accounts: readonly PoolAccount[];
  let checked: ReturnType<typeof checkAccount>;
  try {
    accounts = await store.accounts();
    checked = checkAccount(file, accounts, options.addAccount ?? false);
  } catch (e) {
    stop.requested = true;
    await verifying?.catch(() => {});
    throw e;
  }
  const { account, relation } = checked;
  await (verifying ?? verifyAddresses(account, file, options, workers, stop));
  // Done with the threads: they stop while the rows go in, leaving the cores to the database.
  void workers.close();
  const batch: VerifiedBatch = {
    keyId: accountKeyId(account),
    descriptor: relation === 'same' ? accounts.find((a) => a.keyId === accountKeyId(account))!.descriptor : formatAccountDescriptor(account),
    network: file.meta.network,
    chain: 0,
    first: file.meta.first,
    count: file.meta.count,
    digest: file.digest,
    created: file.meta.created,
    addresses: file.addresses,
  };
  const verified = performance.now();
  const base = {
    network: batch.network, descriptor: batch.descriptor, keyId: batch.keyId, chain: 0 as const, first: batch.first, count: batch.count,
    last: batch.first + batch.count - 1, digest: batch.digest, account: relation, verifySeconds: (verified - started) / 1000,
  };
  if (options.dryRun) return { ...base, ...(await dryRunOutcome(store, batch)), insertSeconds: 0 };
  const outcome = await store.insertBatch(batch, {
    addAccount: options.addAccount ?? false,
    onProgress: options.onProgress && ((done, total) => options.onProgress!('insert', done, total)),
  });
  const insertSeconds = (performance.now() - verified) / 1000;
  return outcome.kind === 'loaded'
    ? { ...base, kind: 'loaded', batchId: outcome.batchId, inserted: outcome.inserted, insertSeconds }
    : { ...base, kind: 'already-loaded', batchId: outcome.batchId, account: 'same', insertSeconds };
}

function checkAccount(
  file: BatchFile, accounts: readonly PoolAccount[], addAccount: boolean,
): { account: AccountDescriptor; relation: 'pinned' | 'same' | 'added' } {
  const { meta } = file;
  const pinned = accounts[0];
  if (pinned && pinned.network !== meta.network) {
    throw new CodedError('NETWORK_MISMATCH', `batch file: the file is for ${meta.network} but the pool holds ${pinned.network} addresses; nothing was loaded`, {
      hint: 'derive the batch on the signer with the pool\'s network; use one database per network',
    });
  }
  if (meta.chain !== 0) {
    throw new CodedError('REFUSED', `batch file: chain ${meta.chain} (change) addresses are never handed out; the pool loads receive addresses (chain 0) only`);
  }
  let parsed: ReturnType<typeof parseAccountDescriptor>;
  try {
    parsed = parseAccountDescriptor(meta.descriptor, NETWORKS[meta.network]);
  } catch (e) {
    if (!isCoded(e)) throw e;
    throw new CodedError(e.code, `batch file: the descriptor does not parse for ${meta.network}: ${e.message}`, { cause: e, ...(e.hint ? { hint: e.hint } : {}) });
  }
  if (parsed.chain === 1) {
    throw new CodedError('REFUSED', 'batch file: the descriptor is the change chain (…/1/*); a batch is derived from the receive chain (…/0/* or <0;1>)');
  }
  const account: AccountDescriptor = { network: parsed.network, key: parsed.key, origin: parsed.origin };
  const keyId = accountKeyId(account);
  if (!pinned) return { account, relation: 'pinned' };
  if (accounts.some((a) => a.keyId === keyId)) return { account, relation: 'same' };
  if (!addAccount) {
    throw new CodedError('REFUSED', `batch file: its descriptor is another account than the one the pool is pinned to (pool ${pinned.descriptor}, file ${meta.descriptor}); nothing was loaded`, {
      hint: 'derive the batch from the pinned account; to really add a second account, load with --add-account',
      context: { pinnedKeyId: pinned.keyId, fileKeyId: keyId },
    });
  }
  return { account, relation: 'added' };
}

/**
 * The account the file's descriptor names, if it parses as a receive-side
 * descriptor for the file's network; otherwise undefined, and `checkAccount`
 * reports why.
 */
function fileAccount(file: BatchFile): AccountDescriptor | undefined {
  try {
    const parsed = parseAccountDescriptor(file.meta.descriptor, NETWORKS[file.meta.network]);
    return parsed.chain === 1 ? undefined : { network: parsed.network, key: parsed.key, origin: parsed.origin };
  } catch {
    return undefined;
  }
}

/** Re-derive every address in index order and stop at the first that differs (or when `stop.requested`). */
async function verifyAddresses(
  account: AccountDescriptor, file: BatchFile, options: LoadBatchOptions, workers: DeriveWorkers, stop: { readonly requested: boolean },
): Promise<void> {
  const { first, count } = file.meta;
  const derive = { workers, ...(options.threads === undefined ? {} : { threads: options.threads }) };
  let done = 0;
  for await (const chunk of deriveRange(account, 0, first, count, derive)) {
    if (stop.requested) return;
    const offset = chunk.first - first;
    for (let k = 0; k < chunk.addresses.length; k++) {
      const expected = chunk.addresses[k]!;
      const got = file.addresses[offset + k]!;
      if (got !== expected) {
        const index = chunk.first + k;
        throw new CodedError('INVALID_INPUT', `batch file: index ${index}: address ${got} is not the account's address at that index (re-derived ${expected}); the file was edited or does not belong to its descriptor; nothing was loaded`, {
          hint: 'never edit a batch file; derive it again on the signer',
          context: { index },
        });
      }
    }
    done += chunk.addresses.length;
    options.onProgress?.('verify', done, count);
  }
}

/**
 * What insertBatch would do, read-only: the same digest is already loaded
 * (`would-skip`), or a loaded range of the account overlaps (refused with the
 * store's wording), or it would load.
 */
async function dryRunOutcome(store: PoolStore, batch: VerifiedBatch): Promise<{ kind: 'would-load' } | { kind: 'would-skip'; batchId: bigint }> {
  const status = await store.status();
  const same = status.batches.find((b) => b.digest === batch.digest);
  if (same) return { kind: 'would-skip', batchId: same.id };
  // status() lists batches of every account; with one account (or a fresh pool) the overlap check is exact.
  const accounts = await store.accounts();
  const single = accounts.length === 0 || (accounts.length === 1 && accounts[0]!.keyId === batch.keyId);
  const end = batch.first + batch.count;
  const other = single ? status.batches.find((b) => b.chain === batch.chain && b.first < end && b.first + b.count > batch.first) : undefined;
  if (other) {
    const index = Math.max(batch.first, other.first);
    throw new CodedError('REFUSED', `batch ${batch.first}..${end - 1} (chain ${batch.chain}) overlaps loaded batch #${other.id} (${other.first}..${other.first + other.count - 1}): index ${index} is already loaded; nothing would be loaded`, {
      hint: 'derive the next batch from `coldpool pool status`\'s next index',
      context: { index, batchId: String(other.id) },
    });
  }
  return { kind: 'would-load' };
}
