import type { Command } from 'commander';
import { claimAddress } from '../../flows/claim-address.js';
import { toJson, type Output } from '../output.js';
import { configOf } from './config.js';
import { withDatabase } from './database.js';
import { poolGroupOf } from './options.js';

/** `coldpool pool claim --user U [--ref R] [--json]`: hand out one address. */
export function registerPoolClaim(program: Command, out: Output): void {
  poolGroupOf(program)
    .command('claim')
    .summary('hand out one deposit address to a user')
    .description(
      'Atomically move one available receive address to "assigned" for --user and print it.\n' +
        'Never the same address twice, however many web workers claim at once. With --ref\n' +
        '(your deposit-request id) a retry returns the same address ("reused": true).\n' +
        'Exit 4 with POOL_EMPTY when no address is left; exit 5 when the database is unreachable.\n\n' +
        'JSON: {"address", "index", "user", "ref" | null, "assignedAt", "reused"}\n\n' +
        'Examples:\n' +
        '  coldpool pool claim --user 42\n' +
        '  coldpool pool claim --user 42 --ref deposit-981 --json',
    )
    .requiredOption('--user <id>', 'the app\'s user id (1..190 characters)')
    .option('--ref <id>', 'the app\'s deposit-request id: makes the claim idempotent')
    .option('--json', 'print the claim as JSON')
    .action(async (opts: { user: string; ref?: string; json?: boolean }, cmd: Command) => {
      await withDatabase(configOf(cmd).db, async (db) => {
        const c = await claimAddress(db.pool, opts.user, opts.ref);
        if (opts.json) {
          out.data(toJson({
            address: c.address, index: c.index, user: c.user, ref: c.ref ?? null, assignedAt: c.assignedAt.toISOString(), reused: c.reused,
            source: c.source ?? null, set: c.set ?? null,
          }));
          return;
        }
        out.data(c.address);
        const from = c.source === 'set' ? ' from the user\'s set' : '';
        const set = c.set === undefined ? '' : `; set: ${c.set.remaining} left${c.set.toppedUp > 0 ? `, topped up by ${c.set.toppedUp}` : ''}${c.set.topUpRefused ? ` (top-up refused: ${c.set.topUpRefused})` : ''}`;
        out.say(`${c.reused ? 'already claimed' : 'claimed'}${from}: index ${c.index} for user ${JSON.stringify(c.user)}${c.ref === undefined ? '' : ` (ref ${JSON.stringify(c.ref)})`}${set}`);
      });
    });
}
