import type { Command } from 'commander';
import { DEFAULT_DB_URL, resolveDbUrl } from '../../store/db-url.js';

export const DB_OPTION_HELP = `database: sqlite:PATH or mysql://user:pass@host:port/db[?socket=PATH] (default: COLDPOOL_DB, then ${DEFAULT_DB_URL})`;

/**
 * `--db URL` as a global option of `coldpool`. Commander gives a global
 * option's value to the program, not to a subcommand that declares `--db`
 * itself; the hook copies it down so such a command's `opts().db` still works.
 * Commands read it with `dbUrlOf(cmd)`.
 */
export function addGlobalDbOption(program: Command): void {
  program.option('--db <url>', DB_OPTION_HELP);
  program.hook('preAction', (root, action) => {
    const db = root.getOptionValue('db') as string | undefined;
    if (db !== undefined && action !== root && action.options.some((o) => o.attributeName() === 'db') && action.getOptionValue('db') === undefined) {
      action.setOptionValueWithSource('db', db, 'cli');
    }
  });
}

/** The database URL for a command: `--db` (anywhere on the line), then COLDPOOL_DB, then the default. */
export function dbUrlOf(cmd: Command): string {
  return resolveDbUrl(cmd.optsWithGlobals().db as string | undefined);
}
