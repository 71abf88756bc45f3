import type { Command } from 'commander';
import type { PoolStatus } from '../../core/ports.js';
import { recoveryAdvice } from '../../core/recovery-gap.js';
import { poolStatus } from '../../flows/pool-status.js';
import { table, toJson, type Output } from '../output.js';
import { configOf } from './config.js';
import { withDatabase } from './database.js';
import { poolGroupOf } from './options.js';


/** `coldpool pool status [--json]`. */
export function registerPoolStatus(program: Command, out: Output): void {
  poolGroupOf(program)
    .command('status')
    .summary('counts, batches, next index to derive, recovery gap')
    .description(
      'Show the pool: available / assigned / used receive addresses, each loaded batch, the\n' +
        'next index to derive (`coldpool-offline derive --from`), and the recovery gap: the\n' +
        'highest index handed out and the highest funded, with the gap limit a restored wallet\n' +
        'needs to see every deposit.\n\n' +
        'JSON: {"db", "account": {keyId, descriptor, network} | null, "available", "assigned", "used",\n' +
        '  "batches": [{id, chain, first, count, digest, loadedAt, available, assigned, used}],\n' +
        '  "nextIndex", "highestAssignedIndex" | null, "highestUsedIndex" | null, "largestSet",\n' +
        '  "recovery": {gapLimit, coreRangeEnd, advice}}   (ids as strings)\n\n' +
        'Example:\n  coldpool pool status --db mysql://coldpool_operator:…@127.0.0.1/coldpool --json',
    )
    .option('--json', 'print the status as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withDatabase(configOf(cmd).db, async (db) => {
        const status = await poolStatus(db.pool);
        if (opts.json) out.data(toJson(statusJson(db.label, status)));
        else out.data(statusText(db.label, status));
      });
    });
}

export function statusJson(db: string, s: PoolStatus): Record<string, unknown> {
  return {
    db,
    account: s.account ?? null,
    available: s.available,
    assigned: s.assigned,
    used: s.used,
    batches: s.batches.map((b) => ({ ...b, loadedAt: b.loadedAt.toISOString() })),
    nextIndex: s.nextIndex,
    highestAssignedIndex: s.highestAssignedIndex ?? null,
    highestUsedIndex: s.highestUsedIndex ?? null,
    largestSet: s.largestSet,
    recovery: recoveryAdvice(s.highestAssignedIndex, s.highestUsedIndex, s.largestSet),
  };
}

export function statusText(db: string, s: PoolStatus): string {
  const lines = [
    `pool      ${db}`,
    `account   ${s.account ? `${s.account.descriptor} (${s.account.network})` : 'none yet: the first loaded batch pins it'}`,
    `addresses ${s.available} available, ${s.assigned} assigned, ${s.used} used`,
    '',
  ];
  if (s.batches.length > 0) {
    lines.push(table(
      ['batch', 'chain', 'indexes', 'available', 'assigned', 'used', 'loaded', 'sha256'],
      s.batches.map((b) => [String(b.id), b.chain, `${b.first}..${b.first + b.count - 1}`, b.available, b.assigned, b.used, b.loadedAt.toISOString(), `${b.digest.slice(0, 16)}…`]),
    ), '');
  }
  lines.push(`next index to derive: ${s.nextIndex}   (coldpool-offline derive … --from ${s.nextIndex} --count 10000)`);
  lines.push(`highest index handed out: ${s.highestAssignedIndex ?? 'none'}; highest funded: ${s.highestUsedIndex ?? 'none'}`);
  lines.push(recoveryAdvice(s.highestAssignedIndex, s.highestUsedIndex, s.largestSet).advice);
  return lines.join('\n');
}
