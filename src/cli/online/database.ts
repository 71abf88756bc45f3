import type { Database, VerifierDatabase } from '../../core/ports.js';
import type { DatabaseOptions, OpenOptions } from '../../store/db.js';

/**
 * The one way a command reaches the database: open the handle the URL
 * names, run `fn`, always close. Every command but `db migrate` opens with
 * `mustExist`, so a mistyped path or a forgotten `"db"` in config.json is an
 * error naming the file it looked for, never a new empty `./coldpool.db`.
 * The store code loads here, on first use, not with the command's module
 * (a third of start-up went to loading drivers a command did not use).
 */
export async function withDatabase<T>(url: string, fn: (db: Database) => Promise<T>, options: DatabaseOptions = { mustExist: true }): Promise<T> {
  const { openDatabase } = await import('../../store/db.js');
  const db = openDatabase(url, options);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** The verifier's own database, the same way: open, run `fn`, always close. Only `verifier init` may create it. */
export async function withVerifierDatabase<T>(url: string, fn: (db: VerifierDatabase) => Promise<T>, options: OpenOptions = { mustExist: true }): Promise<T> {
  const { openVerifierDatabase } = await import('../../store/db.js');
  const db = openVerifierDatabase(url, options);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
