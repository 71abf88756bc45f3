import type { Command } from 'commander';
import { toJson, type Output } from '../output.js';
import { configOf } from './config.js';
import { withDatabase } from './database.js';

/** The `db` command group, shared by every `db …` command file. */
export function dbGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'db') ?? program.command('db').summary('the database: schema migrations');
}

/** `coldpool db migrate [--json]`: create or upgrade the schema. */
export function registerDbMigrate(program: Command, out: Output): void {
  dbGroup(program)
    .command('migrate')
    .summary('create or upgrade the schema (idempotent)')
    .description(
      'Apply the schema files sql/<dialect>/NNN_*.sql not yet applied, in order, and record\n' +
        'each with the sha256 of its file in schema_migrations. Running it again does nothing.\n' +
        'Refuses (exit 4) a database migrated by a newer coldpool, or whose applied files changed.\n\n' +
        'JSON: {"db": "<url without password>", "applied": [1, 2], "version": 2}\n\n' +
        'Examples:\n' +
        '  coldpool db migrate --db sqlite:/var/lib/coldpool/pool.db\n' +
        '  COLDPOOL_DB=mysql://coldpool_operator:…@127.0.0.1/coldpool coldpool db migrate --json',
    )
    .option('--json', 'print the result as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withDatabase(configOf(cmd).db, async (store) => {
        const outcome = await store.migrate();
        if (opts.json) {
          out.data(toJson({ db: store.label, applied: outcome.applied, version: outcome.version }));
          return;
        }
        out.data(outcome.applied.length === 0
          ? `schema of ${store.label} is current (version ${outcome.version})`
          : `schema of ${store.label} migrated to version ${outcome.version} (applied ${outcome.applied.map((v) => String(v).padStart(3, '0')).join(', ')})`);
      }, { mustExist: false });
    });
}
