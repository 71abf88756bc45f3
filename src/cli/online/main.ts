import { Command } from 'commander';
import { runProgram } from '../run.js';
import { processOutput, type Output } from '../output.js';
import { registerDbMigrate } from './db-migrate.js';
import { addGlobalDbOption } from './db-option.js';
import { registerPoolClaim } from './pool-claim.js';
import { registerPoolLoad } from './pool-load.js';
import { registerPoolStatus } from './pool-status.js';
import { registerPoolCheck } from './pool-check.js';
import { registerWatch } from './watch.js';
import { registerWithdrawals } from './withdrawals.js';
import { registerReview } from './review.js';
import { registerAudit } from './audit.js';
import { registerChain, registerDeposits } from './chain.js';
import { registerPayout } from './payout.js';
import { registerDemo } from './demo.js';

/**
 * `coldpool`: the online program (web host, watcher, operator box). It holds
 * public keys only; src/keys is never imported from here (test/import-graph).
 */
export function buildOnlineProgram(out: Output = processOutput): Command {
  const program = new Command('coldpool')
    .description('The online half of coldpool: address pool, low-water watcher, withdrawal review, payouts.\nHolds no private key. Database: --db URL or COLDPOOL_DB (sqlite:PATH, default sqlite:./coldpool.db, or mysql://user:pass@host:port/db).')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');
  addGlobalDbOption(program);
  registerDbMigrate(program, out);
  registerPoolLoad(program, out);
  registerPoolStatus(program, out);
  registerPoolClaim(program, out);
  registerPoolCheck(program, out);
  registerWatch(program, out);
  registerWithdrawals(program, out);
  registerReview(program, out);
  registerAudit(program, out);
  registerChain(program, out);
  registerDeposits(program, out);
  registerPayout(program, out);
  registerDemo(program, out);
  return program;
}

export async function main(argv: string[], out: Output = processOutput): Promise<number> {
  return runProgram(buildOnlineProgram(out), argv, out);
}
