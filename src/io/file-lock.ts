import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { CodedError } from '../core/errors.js';

/**
 * An exclusive lock beside a file that is read, checked and then written
 * (the sign log, the trust file): `<file>.lock`, created with O_EXCL so two
 * processes can never both hold it. Without it two runs at once both read the
 * old contents, and one addition (or one cap check) is lost.
 *
 * A lock left by a crash is never taken over: a signer that decided a lock
 * was stale, wrongly, would sign past the 24 h cap. The operator removes it.
 */

/** How long a second process waits for the lock before refusing; the holders keep it for milliseconds. */
export const LOCK_WAIT_MS = 3000;
const RETRY_MS = 25;

export function lockPathOf(path: string): string {
  return `${path}.lock`;
}

/**
 * Run `fn` holding the lock of `path`. `what` names in messages the command
 * that holds such a lock, so the operator can tell whether one still runs.
 */
export async function withFileLock<T>(path: string, what: string, fn: () => T | Promise<T>): Promise<T> {
  const lock = lockPathOf(path);
  const fd = await acquire(lock, what);
  try {
    return await fn();
  } finally {
    try { closeSync(fd); } catch { /* already closed */ }
    try { unlinkSync(lock); } catch { /* removed by hand meanwhile */ }
  }
}

async function acquire(lock: string, what: string): Promise<number> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    let fd: number;
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new CodedError('REFUSED', `cannot create the lock file ${JSON.stringify(lock)} (${code ?? 'error'}); nothing was written`, { cause: e });
      }
      if (Date.now() >= deadline) throw held(lock, what);
      await new Promise((r) => setTimeout(r, RETRY_MS));
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify({ pid: process.pid, host: hostname(), time: new Date().toISOString() })}\n`);
    } catch {
      // The lock holds by its existence; the contents are only for the operator.
    }
    return fd;
  }
}

function held(lock: string, what: string): CodedError {
  let holder = 'an unknown process';
  let pid: number | undefined;
  try {
    const info = JSON.parse(readFileSync(lock, 'utf8')) as { pid?: unknown; host?: unknown; time?: unknown };
    // Only a pid of this machine can be looked up.
    if (typeof info.pid === 'number' && info.host === hostname()) pid = info.pid;
    holder = `pid ${String(info.pid)} on ${String(info.host)} since ${String(info.time)}`;
  } catch { /* being written or removed right now */ }
  const gone = pid !== undefined && !processAlive(pid) ? ` (no process ${pid} runs on this machine)` : '';
  return new CodedError('STATE_CONFLICT', `lock file ${JSON.stringify(lock)} is held by ${holder}${gone}; waited ${LOCK_WAIT_MS / 1000} s and gave up; nothing was written`, {
    context: { lock },
    hint: `wait for the other ${what} to finish and retry; if none is running (a crash left the lock), check that its work is complete, remove ${lock} and retry`,
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
