/**
 * The derivation worker threads of flows/derive-range, in a module of their
 * own that loads nothing but Node built-ins: the online CLI's main.ts imports
 * it and, when the command is `pool load`, starts the threads before loading
 * the command's modules, so they boot on the idle core meanwhile.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CodedError } from '../core/errors.js';
import { deriveWorkerFile } from './derive-worker-file.js';

/** Below this many addresses, starting threads costs more than it saves. */
export const INLINE_BELOW = 4_000;

/**
 * Worker code exists only compiled (dist/); under a TypeScript test runner
 * derivation runs inline, and so does the offline bundle, which has none.
 */
export function workerCodeExists(): boolean {
  return deriveWorkerFile !== undefined && existsSync(deriveWorkerFile);
}

/** Threads started by `startAhead`, until the first `start` takes (or drops) them. */
let ahead: DeriveWorkers | undefined;

/**
 * Derivation worker threads started ahead of the work they will do. A thread
 * needs ~0.1 s to start (an isolate, the derivation code, the native addon);
 * started early, that time overlaps loading the program, reading the batch
 * file and opening the database instead of delaying the re-derivation.
 */
export class DeriveWorkers {
  private used = false;
  private closing: Promise<readonly number[]> | undefined;

  private readonly exits: ReadonlyArray<Promise<number>>;

  private constructor(private readonly threads: readonly Worker[]) {
    // Recorded from the start, so a thread that already ended is never waited for.
    this.exits = threads.map((w) => new Promise<number>((resolve) => w.once('exit', resolve)));
    // A thread's error is reported by the derivation using it (derive-range);
    // one after that (or before any) must not become an uncaught exception here.
    for (const w of threads) w.on('error', () => {});
  }

  /** `threads - 1` workers (the calling thread is the last one); none for `threads` 0 or without the worker code. */
  private static sizeFor(threads: number): number {
    return workerCodeExists() && threads > 0 ? Math.max(1, threads - 1) : 0;
  }

  private static spawn(threads: number): DeriveWorkers {
    return new DeriveWorkers(Array.from({ length: DeriveWorkers.sizeFor(threads) }, () => new Worker(deriveWorkerFile!)));
  }

  /**
   * Start threads now for a derivation this process is about to run; the
   * next `start` takes them. Whoever calls this must call `dropAhead` when
   * done, for the case that nothing took them: they keep the process alive,
   * because a thread cut off by the process's exit while it loads the
   * native addon aborts the whole process (SIGABRT, seen on a busy machine).
   */
  static startAhead(threads: number = availableParallelism()): void {
    ahead ??= DeriveWorkers.spawn(threads);
  }

  /** Stop the threads `startAhead` started if nothing took them. */
  static async dropAhead(): Promise<void> {
    const early = ahead;
    ahead = undefined;
    await early?.close();
  }

  /**
   * Workers to derive `count` addresses: `threads - 1` of them; none for
   * fewer than INLINE_BELOW addresses, for `threads` 0, or where the worker
   * code does not exist. Takes the threads `startAhead` started when they
   * are as many, and stops them otherwise.
   */
  static start(count: number, threads: number = availableParallelism()): DeriveWorkers {
    const wanted = count >= INLINE_BELOW ? threads : 0;
    const early = ahead;
    ahead = undefined;
    if (early && early.size === DeriveWorkers.sizeFor(wanted)) return early;
    void early?.close();
    return DeriveWorkers.spawn(wanted);
  }

  /** How many threads were started. */
  get size(): number {
    return this.threads.length;
  }

  /**
   * The threads, for one derivation only: a later one could receive the
   * answers of chunks an abandoned earlier one had queued.
   */
  claim(): readonly Worker[] {
    if (this.used) throw new CodedError('INTERNAL', 'derivation workers are used for one derivation only; start new ones');
    this.used = true;
    return this.threads;
  }

  /**
   * Stop the threads; the same promise on every call. Each is asked to stop
   * ("stop" after the jobs it holds) and ends on its own, so a thread is
   * never cut off half-way through loading or calling the native secp256k1
   * addon; terminate() only if one has not ended after STOP_GRACE_MS.
   * Resolves to the threads' exit codes: 0 when they ended on their own.
   */
  close(): Promise<readonly number[]> {
    this.closing ??= Promise.all(this.threads.map(async (w, k) => {
      w.postMessage(STOP);
      const timer = setTimeout(() => void w.terminate(), STOP_GRACE_MS);
      const code = await this.exits[k]!;
      clearTimeout(timer);
      return code;
    }));
    return this.closing;
  }
}

/** The message that asks a derivation thread to end (derive-worker closes its port). */
export const STOP = 'stop';
/** A thread holds at most a few chunks of 250 addresses (~0.1 s); this is far past that. */
const STOP_GRACE_MS = 10_000;
