import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { chainNode, deriveAddresses, assertRange, type PublicNode } from '../core/derive.js';
import type { AccountDescriptor } from '../core/descriptor.js';
import { CodedError } from '../core/errors.js';
import type { DeriveJob } from './derive-worker.js';
import { DeriveWorkers, INLINE_BELOW, workerCodeExists } from './derive-workers.js';

export { DeriveWorkers };

/** One contiguous run of derived addresses: addresses[k] is index first + k. */
export interface DerivedChunk {
  readonly first: number;
  readonly addresses: string[];
}

export interface DeriveRangeOptions {
  /** Worker threads; default: one per core. 0 derives on the calling thread. */
  readonly threads?: number;
  /** Addresses per job sent to a worker. */
  readonly chunkSize?: number;
  /**
   * Workers started earlier (`DeriveWorkers.start`), so their start-up
   * overlapped other work; used instead of starting new ones, and left
   * running for their owner to close.
   */
  readonly workers?: DeriveWorkers;
}

/**
 * Small enough that the calling thread and the workers finish a 10,000-address
 * batch together (1,000 left one thread idle for up to a chunk's ~50 ms at the
 * end; 250 measured ~5 % faster), large enough that messages cost nothing.
 */
const DEFAULT_CHUNK = 250;

/**
 * Derive receive (chain 0) or change (chain 1) addresses `[from, from+count)`
 * of an account, yielded in index order in chunks, so a caller can stream a
 * million addresses to a file or a verifier without holding them twice.
 *
 * The chain node is derived once; the per-address work (HMAC-SHA512, one
 * libsecp256k1 point addition, HASH160, bech32) is spread over worker threads,
 * one per core, with a bounded number of chunks in flight.
 *
 * @example
 * for await (const c of deriveRange(account, 0, 0, 10_000)) write(c.addresses);
 */
export async function* deriveRange(
  account: AccountDescriptor,
  chain: 0 | 1,
  from: number,
  count: number,
  options: DeriveRangeOptions = {},
): AsyncGenerator<DerivedChunk> {
  assertRange(from, count);
  const node = chainNode(account, chain);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
  // Worker code exists only once compiled (dist/); under a TS test runner we derive inline.
  const threads = !workerCodeExists() || count < INLINE_BELOW ? 0 : (options.threads ?? availableParallelism());
  const ready = threads === 0 ? undefined : options.workers?.claim();
  if (threads === 0 || ready?.length === 0) {
    for (let first = from; first < from + count; first += chunkSize) {
      const n = Math.min(chunkSize, from + count - first);
      yield { first, addresses: deriveAddresses(node, account.network, first, n) };
    }
    return;
  }
  if (ready) {
    yield* deriveWithWorkers(node, account, from, count, chunkSize, ready);
    return;
  }
  const own = DeriveWorkers.start(count, threads);
  try {
    yield* deriveWithWorkers(node, account, from, count, chunkSize, own.claim());
  } finally {
    await own.close();
  }
}

/**
 * Chunks a worker may hold at once (~50 ms of work): enough that it does not
 * run dry while the calling thread is busy elsewhere (loading the MySQL
 * driver takes ~65 ms), few enough that the threads finish close together.
 */
const WORKER_QUEUE = 4;
/** How far the calling thread may derive ahead of the next chunk to hand out, bounding memory (8,000 addresses). */
const MAX_AHEAD = 32;
/** Chunks the calling thread derives before the workers' first ones: about a worker's start-up time (~0.05 s). */
const HEAD_START = 4;

/**
 * `threads - 1` worker threads plus the calling thread share the chunks. The
 * calling thread starts deriving at once, while the workers are still
 * starting (~0.1 s each, a fifth of a 10,000-address batch), and keeps taking
 * the next unassigned chunk whenever the chunk it must hand out next is not
 * ready yet. Chunks are yielded strictly in index order.
 */
async function* deriveWithWorkers(
  node: PublicNode, account: AccountDescriptor, from: number, count: number, chunkSize: number, workers: readonly Worker[],
): AsyncGenerator<DerivedChunk> {
  const total = Math.ceil(count / chunkSize);
  const span = (c: number): { first: number; n: number } => {
    const first = from + c * chunkSize;
    return { first, n: Math.min(chunkSize, from + count - first) };
  };
  const done = new Map<number, DerivedChunk>();
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  // Chunks nobody has taken yet, lowest first. The workers' first chunks are
  // taken HEAD_START further on: the calling thread derives the first ones
  // itself while the workers boot, so the first chunk is not late.
  const unassigned: number[] = Array.from({ length: total }, (_, c) => c);
  const take = (at = 0): number | undefined => (at < unassigned.length ? unassigned.splice(at, 1)[0] : undefined);

  const assign = (w: Worker, at = 0): void => {
    if (failure) return;
    const c = take(Math.min(at, unassigned.length - 1));
    if (c === undefined) return;
    const { first, n } = span(c);
    const job: DeriveJob = { id: c, publicKey: node.publicKey, chainCode: node.chainCode, network: account.network.name, first, count: n };
    w.postMessage(job);
  };
  const listeners = workers.map((w) => {
    const onMessage = (m: { id: number; text?: string; error?: string }): void => {
      if (m.error !== undefined) failure ??= new CodedError('INTERNAL', `derivation worker failed: ${m.error}`);
      else done.set(m.id, { first: span(m.id).first, addresses: (m.text ?? '').split('\n') });
      assign(w);
      notify();
    };
    const onError = (e: Error): void => {
      failure ??= e;
      notify();
    };
    w.on('message', onMessage).on('error', onError);
    for (let q = 0; q < WORKER_QUEUE; q++) assign(w, HEAD_START);
    return { w, onMessage, onError };
  });
  try {
    for (let c = 0; c < total; c++) {
      while (!done.has(c)) {
        if (failure) throw failure;
        if (unassigned.length > 0 && unassigned[0]! - c < MAX_AHEAD) {
          const mine = take()!;
          const { first, n } = span(mine);
          done.set(mine, { first, addresses: deriveAddresses(node, account.network, first, n) });
          // Let the workers' finished chunks in (and hand them new ones) before deriving more here.
          await new Promise<void>((r) => setImmediate(r));
        } else {
          await new Promise<void>((r) => (wake = r));
        }
      }
      const chunk = done.get(c)!;
      done.delete(c);
      yield chunk;
    }
  } finally {
    for (const { w, onMessage, onError } of listeners) w.off('message', onMessage).off('error', onError);
  }
}
