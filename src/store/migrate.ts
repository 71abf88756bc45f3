import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { CodedError } from '../core/errors.js';
import type { MigrateOutcome } from '../core/ports.js';

/**
 * The schema runner: `sql/<dialect>/NNN_name.sql` files applied in order of
 * NNN, each recorded in `schema_migrations` with the sha256 of its bytes.
 *
 * - idempotent: applied versions are skipped;
 * - a database recording a version this program does not know is refused
 *   (STATE_CONFLICT: a newer coldpool migrated it; upgrade this one);
 * - an applied file whose bytes changed since is refused (STATE_CONFLICT):
 *   a shipped migration is never edited, a new NNN is added instead.
 *
 * The stores run the statements; this module finds, checks and plans.
 */
export type Dialect = 'sqlite' | 'mysql';

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** sha256 hex of the file's bytes. */
  readonly checksum: string;
  readonly sql: string;
}

export interface AppliedMigration {
  readonly version: number;
  readonly checksum: string;
}

/** The repository's sql/ directory, from src/store (vitest) or dist/store (built). */
export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

/** Every migration file of a dialect, sorted by version. */
export function loadMigrations(dialect: Dialect, sqlDir: string = SQL_DIR): Migration[] {
  const dir = join(sqlDir, dialect);
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (e) {
    throw new CodedError('INTERNAL', `schema files not found in ${dir}`, { cause: e, hint: 'reinstall coldpool: its sql/ directory is missing' });
  }
  const migrations = files
    .map((file) => ({ file, m: /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file) }))
    .filter((x) => x.m !== null)
    .map(({ file, m }) => {
      const bytes = readFileSync(join(dir, file));
      return {
        version: Number(m![1]),
        name: file,
        checksum: createHash('sha256').update(bytes).digest('hex'),
        sql: bytes.toString('utf8'),
      };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new CodedError('INTERNAL', `schema files of ${dialect} must be numbered 001, 002, … without gaps; found ${m.name}`);
  });
  return migrations;
}

/** The latest schema version this program knows for a dialect. */
export function knownVersion(dialect: Dialect, sqlDir?: string): number {
  const all = loadMigrations(dialect, sqlDir);
  return all.length === 0 ? 0 : all[all.length - 1]!.version;
}

/**
 * Check what the database recorded against the files and return what is left
 * to apply, in order. Throws STATE_CONFLICT for a newer schema or an edited file.
 */
export function planMigrations(known: readonly Migration[], applied: readonly AppliedMigration[]): Migration[] {
  const byVersion = new Map(known.map((m) => [m.version, m]));
  const latest = known.length === 0 ? 0 : known[known.length - 1]!.version;
  for (const a of applied) {
    const m = byVersion.get(a.version);
    if (!m) {
      throw new CodedError('STATE_CONFLICT', `the database schema is at version ${Math.max(...applied.map((x) => x.version))}, newer than this program knows (${latest})`, {
        hint: 'upgrade coldpool on this machine to the version that migrated the database; never run an older coldpool against a newer schema',
        context: { databaseVersion: a.version, knownVersion: latest },
      });
    }
    if (m.checksum !== a.checksum) {
      throw new CodedError('STATE_CONFLICT', `schema file ${m.name} changed after it was applied (recorded sha256 ${a.checksum.slice(0, 12)}…, file has ${m.checksum.slice(0, 12)}…)`, {
        hint: 'restore the original file; changes to a shipped schema go into a new NNN_*.sql file',
        context: { version: m.version },
      });
    }
  }
  const done = new Set(applied.map((a) => a.version));
  return known.filter((m) => !done.has(m.version));
}

/**
 * Split a schema file into statements: `--` comment lines dropped, statements
 * end with `;` at the end of a line (the files are written that way; no
 * procedures or triggers with inner semicolons).
 */
export function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !/^\s*--/.test(line))
    .join('\n')
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Driver side of the runner: what each store provides. */
export interface MigrationDriver {
  /** Run `fn` holding a lock so two processes never migrate at once. */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  ensureTable(): Promise<void>;
  applied(): Promise<AppliedMigration[]>;
  /** Run a migration's statements and record it (atomically where the dialect allows). */
  apply(m: Migration): Promise<void>;
}

/** Bring a database to the latest known schema. */
export async function runMigrations(driver: MigrationDriver, known: readonly Migration[]): Promise<MigrateOutcome> {
  return driver.withLock(async () => {
    await driver.ensureTable();
    const pending = planMigrations(known, await driver.applied());
    for (const m of pending) await driver.apply(m);
    const after = await driver.applied();
    return { applied: pending.map((m) => m.version), version: after.reduce((v, a) => Math.max(v, a.version), 0) };
  });
}

/** Refuse to work on a database that is not migrated to exactly what this program knows. */
export function assertCurrent(known: readonly Migration[], applied: readonly AppliedMigration[], label: string): void {
  const pending = planMigrations(known, applied);
  if (pending.length > 0) {
    throw new CodedError('STATE_CONFLICT', `the database ${label} is not migrated (schema ${applied.length === 0 ? 'missing' : `at version ${Math.max(...applied.map((a) => a.version))}`}, this program needs ${known.length})`, {
      hint: 'run `coldpool db migrate` first',
    });
  }
}
