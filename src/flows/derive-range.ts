import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { chainNode, deriveAddresses, assertRange, type PublicNode } from '../core/derive.js';
import type { AccountDescriptor } from '../core/descriptor.js';
import { CodedError } from '../core/errors.js';
import type { DeriveJob } from './derive-worker.js';

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
}

/** Below this many addresses, starting threads costs more than it saves. */
const INLINE_BELOW = 4_000;
const DEFAULT_CHUNK = 5_000;

const workerFile = fileURLToPath(new URL('./derive-worker.js', import.meta.url));

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
  const threads = !existsSync(workerFile) || count < INLINE_BELOW ? 0 : (options.threads ?? availableParallelism());
  if (threads === 0) {
    for (let first = from; first < from + count; first += chunkSize) {
      const n = Math.min(chunkSize, from + count - first);
      yield { first, addresses: deriveAddresses(node, account.network, first, n) };
    }
    return;
  }
  yield* deriveWithWorkers(node, account, from, count, chunkSize, threads);
}

async function* deriveWithWorkers(
  node: PublicNode, account: AccountDescriptor, from: number, count: number, chunkSize: number, threads: number,
): AsyncGenerator<DerivedChunk> {
  const workers = Array.from({ length: threads }, () => new Worker(workerFile));
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (e: Error) => void }>();
  for (const w of workers) {
    w.on('message', (m: { id: number; text?: string; error?: string }) => {
      const p = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.error !== undefined) p?.reject(new CodedError('INTERNAL', `derivation worker failed: ${m.error}`));
      else p?.resolve(m.text ?? '');
    });
    w.on('error', (e) => {
      for (const p of waiting.values()) p.reject(e);
      waiting.clear();
    });
  }
  const submit = (id: number, first: number, n: number): Promise<DerivedChunk> =>
    new Promise<string>((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      const job: DeriveJob = { id, publicKey: node.publicKey, chainCode: node.chainCode, network: account.network.name, first, count: n };
      workers[id % threads]!.postMessage(job);
    }).then((text) => ({ first, addresses: text.split('\n') }));

  const inFlight: Promise<DerivedChunk>[] = [];
  let next = from;
  let id = 0;
  const fill = (): void => {
    while (inFlight.length < threads * 2 && next < from + count) {
      const n = Math.min(chunkSize, from + count - next);
      inFlight.push(submit(id++, next, n));
      next += n;
    }
  };
  try {
    fill();
    while (inFlight.length > 0) {
      const chunk = await inFlight.shift()!;
      fill();
      yield chunk;
    }
  } finally {
    // Unhandled rejections of chunks still in flight must not crash the process after an early exit.
    for (const p of inFlight) p.catch(() => {});
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
