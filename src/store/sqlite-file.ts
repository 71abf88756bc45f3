import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CodedError } from '../core/errors.js';

/** How long a write waits for another process's transaction before the store says UNAVAILABLE. */
export const BUSY_TIMEOUT_MS = 15_000;

/**
 * A SQLite file opened the way every coldpool store opens it: WAL (readers
 * never wait for the writer), a busy timeout (writers from other processes
 * queue instead of failing), synchronous FULL (a committed batch survives a
 * power cut), integers as bigint. The directory is created; a file that
 * cannot be opened is UNAVAILABLE naming the path.
 */
export function openSqliteFile(path: string, options: { readonly foreignKeys: boolean }): Database.Database {
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('synchronous = FULL');
    if (options.foreignKeys) db.pragma('foreign_keys = ON');
    db.defaultSafeIntegers(true);
    return db;
  } catch (e) {
    throw new CodedError('UNAVAILABLE', `cannot open the SQLite database ${path}: ${(e as Error).message}`, {
      cause: e,
      hint: 'check the path and that this user may write to its directory',
    });
  }
}

/** The error for a write that waited BUSY_TIMEOUT_MS for another process's transaction. */
export function stayedBusy(label: string, cause: unknown): CodedError {
  return new CodedError('UNAVAILABLE', `the SQLite database ${label} stayed busy for ${BUSY_TIMEOUT_MS / 1000} s`, { cause, hint: 'another process holds a long write transaction; retry' });
}
