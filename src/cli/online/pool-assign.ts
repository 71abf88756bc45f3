import type { Command } from 'commander';
import { DEFAULT_SET_SIZE, MAX_SET_SIZE, lowWater } from '../../core/address-sets.js';
import { assignAddresses } from '../../flows/assign-addresses.js';
import { parseIntegerOption } from '../run.js';
import { toJson, type Output } from '../output.js';
import { configOf } from './config.js';
import { withDatabase } from './database.js';
import { poolGroupOf } from './options.js';

/** `coldpool pool assign --user U [--count N] [--add] [--json]`: a user's own deposit addresses. */
export function registerPoolAssign(program: Command, out: Output): void {
  poolGroupOf(program)
    .command('assign')
    .summary("give a user their own set of deposit addresses (at signup)")
    .description(
      `Atomically assign --count (default ${DEFAULT_SET_SIZE}) available receive addresses to --user as the user's own\n` +
        'set: all of them or none, never an address of another user, however many signups run at once.\n' +
        '`pool claim --user U` then hands out the next address of the set (lowest index first) and\n' +
        `tops the set up from the pool when fewer than a tenth of it is left (${lowWater(DEFAULT_SET_SIZE)} of ${DEFAULT_SET_SIZE}).\n` +
        'Once per user: a user who already has a set keeps it and it is printed again (a retried\n' +
        'signup is safe); --add gives that user --count more. Prints the unhanded addresses, one a line.\n' +
        'Exit 4 with POOL_EMPTY (nothing assigned) when fewer than --count are available; exit 2 for a\n' +
        'bad --count; exit 5 when the database is unreachable.\n\n' +
        'JSON: {"user", "kind": "assigned" | "added" | "existing", "added": [{address, index}], "size",\n' +
        '  "createdAt", "unhanded": [{address, index}], "handedOut"}\n\n' +
        'Examples:\n' +
        '  coldpool pool assign --user 42\n' +
        '  coldpool pool assign --user 42 --count 20 --add --json',
    )
    .requiredOption('--user <id>', 'the app\'s user id (1..190 characters)')
    .option('--count <n>', `how many addresses (1..${MAX_SET_SIZE})`, String(DEFAULT_SET_SIZE))
    .option('--add', 'give a user who already has a set --count more addresses')
    .option('--json', 'print the set as JSON')
    .action(async (opts: { user: string; count: string; add?: boolean; json?: boolean }, cmd: Command) => {
      const count = parseIntegerOption('--count', opts.count, 1, MAX_SET_SIZE);
      await withDatabase(configOf(cmd).db, async (db) => {
        const r = await assignAddresses(db.pool, opts.user, count, { add: opts.add ?? false });
        if (opts.json) {
          out.data(toJson({
            user: r.set.user, kind: r.kind, added: r.added, size: r.set.size, createdAt: r.set.createdAt.toISOString(),
            unhanded: r.set.unhanded, handedOut: r.set.handedOut,
          }));
          return;
        }
        for (const a of r.set.unhanded) out.data(a.address);
        const who = JSON.stringify(r.set.user);
        const what = r.kind === 'existing'
          ? `user ${who} already has a set (nothing assigned; --add for more)`
          : `${r.kind === 'added' ? 'added' : 'assigned'} ${r.added.length} addresses to user ${who}`;
        out.say(`${what}: ${r.set.unhanded.length} not handed out yet, ${r.set.handedOut} handed out; the set is topped up to ${r.set.size}`);
      });
    });
}
