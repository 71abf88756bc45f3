import { Command } from 'commander';
import { runProgram } from '../run.js';
import { processOutput, type Output } from '../output.js';

/**
 * `coldpool`: the online program (web host, watcher, operator box). It holds
 * public keys only; src/keys is never imported from here (test/import-graph).
 */
export function buildOnlineProgram(out: Output = processOutput): Command {
  void out;
  const program = new Command('coldpool')
    .description('The online half of coldpool: address pool, low-water watcher, withdrawal review, payouts.\nHolds no private key. Database: --db URL or COLDPOOL_DB (sqlite:PATH, default sqlite:./coldpool.db, or mysql://user:pass@host:port/db).')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');
  return program;
}

export async function main(argv: string[], out: Output = processOutput): Promise<number> {
  return runProgram(buildOnlineProgram(out), argv, out);
}
