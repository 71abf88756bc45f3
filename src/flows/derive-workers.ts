/**
 * The derivation worker threads of flows/derive-range, in a module of their
 * own that loads nothing but Node built-ins: the online CLI's main.ts imports
 * it and, when the command is `pool load`, starts the threads before loading
 * the command's modules, so they boot on the idle core meanwhile.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CodedError } from '../core/errors.js';

/** Below this many addresses, starting threads costs more than it saves. */
export const INLINE_BELOW = 4_000;

const workerFile = fileURLToPath(new URL('./derive-worker.js', import.meta.url));

/** Worker code exists only compiled (dist/); under a TypeScript test runner derivation runs inline. */
export function workerCodeExists(): boolean {
  return existsSync(workerFile);
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
  private closing: Promise<void> | undefined;

  private constructor(private readonly threads: readonly Worker[]) {}

  /** `threads - 1` workers (the calling thread is the last one); none for `threads` 0 or without the worker code. */
  private static sizeFor(threads: number): number {
    return workerCodeExists() && threads > 0 ? Math.max(1, threads - 1) : 0;
  }

  private static spawn(threads: number): DeriveWorkers {
    return new DeriveWorkers(Array.from({ length: DeriveWorkers.sizeFor(threads) }, () => new Worker(workerFile)));
  }

  /**
   * Start threads now for a derivation this process is about to run; the
   * next `start` takes them. Until then they do not keep the process alive:
   * a command that fails before deriving exits as it would without them.
   */
  static startAhead(threads: number = availableParallelism()): void {
    if (ahead) return;
    ahead = DeriveWorkers.spawn(threads);
    for (const w of ahead.threads) w.unref();
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
    if (early && early.size === DeriveWorkers.sizeFor(wanted)) {
      for (const w of early.threads) w.ref();
      return early;
    }
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

  /** Stop the threads; the same promise on every call. */
  close(): Promise<void> {
    this.closing ??= Promise.all(this.threads.map((w) => w.terminate())).then(() => undefined);
    return this.closing;
  }
}
