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
          out.data(toJson({ address: c.address, index: c.index, user: c.user, ref: c.ref ?? null, assignedAt: c.assignedAt.toISOString(), reused: c.reused }));
          return;
        }
        out.data(c.address);
        out.say(`${c.reused ? 'already claimed' : 'claimed'}: index ${c.index} for user ${JSON.stringify(c.user)}${c.ref === undefined ? '' : ` (ref ${JSON.stringify(c.ref)})`}`);
      });
    });
}
