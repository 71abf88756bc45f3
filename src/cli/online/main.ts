import { Command } from 'commander';
import { runProgram } from '../run.js';
import { processOutput, type Output } from '../output.js';
import { DeriveWorkers } from '../../flows/derive-workers.js';
import { addGlobalOptions, GLOBAL_VALUE_OPTIONS } from './config.js';

type Register = (program: Command, out: Output) => void;

/**
 * The commands, in the order `--help` lists them, each with the module that
 * defines it ("pool load" is the `load` subcommand of the `pool` group). A
 * module is imported only when its command is on the command line: loading
 * all of them (payouts, the chain, the watcher, the review screen and what
 * they import) took a third of a second of start-up from `pool load` and
 * `pool claim`, which need none of them.
 */
const COMMANDS: ReadonlyArray<readonly [words: string, load: () => Promise<Register>]> = [
  ['db', async () => (await import('./db-migrate.js')).registerDbMigrate],
  ['pool load', async () => (await import('./pool-load.js')).registerPoolLoad],
  ['pool status', async () => (await import('./pool-status.js')).registerPoolStatus],
  ['pool claim', async () => (await import('./pool-claim.js')).registerPoolClaim],
  ['pool assign', async () => (await import('./pool-assign.js')).registerPoolAssign],
  ['pool check', async () => (await import('./pool-check.js')).registerPoolCheck],
  ['watch', async () => (await import('./watch.js')).registerWatch],
  ['withdrawals', async () => (await import('./withdrawals.js')).registerWithdrawals],
  ['review', async () => (await import('./review.js')).registerReview],
  ['audit', async () => (await import('./audit.js')).registerAudit],
  ['operator', async () => (await import('./operator.js')).registerOperator],
  ['trust', async () => (await import('./trust.js')).registerTrust],
  ['chain', async () => (await import('./chain.js')).registerChain],
  ['deposits', async () => (await import('./chain.js')).registerDeposits],
  ['payout', async () => {
    const [{ registerPayout }, { registerAbandon, registerCancel, registerRecordSigned }] = await Promise.all([import('./payout.js'), import('./payout-abandon.js')]);
    return (program: Command, out: Output) => {
      const group = registerPayout(program, out);
      for (const register of [registerAbandon, registerCancel, registerRecordSigned]) register(group, out);
    };
  }],
  ['verifier', async () => (await import('./verifier.js')).registerVerifier],
  ['demo', async () => (await import('./demo.js')).registerDemo],
];

/**
 * Work a command starts before its modules load. `pool load` boots its
 * derivation threads now, on the core the main thread is not using while it
 * loads the program (~0.1 s of a 10,000-address load otherwise).
 */
const HEAD_STARTS: Readonly<Record<string, () => void>> = {
  'pool load': () => DeriveWorkers.startAhead(),
};

/**
 * `coldpool`: the online program (web host, watcher, operator box). It holds
 * public keys only; src/keys is never imported from here (test/import-graph).
 *
 * With `argv`, only the command it names is defined (every command when it
 * names none, or one that does not exist, so `--help`, `help` and commander's
 * "did you mean" still see them all).
 */
export async function buildOnlineProgram(out: Output = processOutput, argv?: readonly string[]): Promise<Command> {
  const program = new Command('coldpool')
    .description('The online half of coldpool: address pool, low-water watcher, withdrawal review, payouts.\nHolds no private key. Database: --db URL, COLDPOOL_DB or "db" in the config file (sqlite:PATH, default sqlite:./coldpool.db,\nor mysql://user:pass@host:port/db). Configuration: flags, then environment, then --config FILE\n(default $XDG_CONFIG_HOME/coldpool/config.json), then defaults; see `coldpool watch --help` for the file.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');
  addGlobalOptions(program);
  const wanted = commandsFor(argv);
  const helpOnly = argv?.some((a) => a === '--help' || a === '-h') ?? false;
  if (wanted.length === 1 && !helpOnly) HEAD_STARTS[wanted[0]![0]]?.();
  const registers = await Promise.all(wanted.map(([, load]) => load()));
  for (const register of registers) register(program, out);
  return program;
}

/**
 * The commands a command line needs: the one it names (`pool load`), else
 * the group it names (`pool`, `pool --help`, `pool lod`), else all of them.
 */
function commandsFor(argv: readonly string[] | undefined): typeof COMMANDS {
  if (argv === undefined) return COMMANDS;
  const words = commandWords(argv);
  for (const n of [2, 1]) {
    const key = words.slice(0, n).join(' ');
    const found = words.length >= n ? COMMANDS.filter(([w]) => w === key || (n === 1 && w.startsWith(`${key} `))) : [];
    if (found.length > 0) return found;
  }
  return COMMANDS;
}

/** The first two words of a command line that are neither options nor the value of `--db` or `--config`. */
function commandWords(argv: readonly string[]): string[] {
  const words: string[] = [];
  for (let k = 0; k < argv.length && words.length < 2; k++) {
    const arg = argv[k]!;
    if (GLOBAL_VALUE_OPTIONS.includes(arg)) k++;
    else if (!arg.startsWith('-')) words.push(arg);
  }
  return words;
}

export async function main(argv: string[], out: Output = processOutput): Promise<number> {
  try {
    return await runProgram(await buildOnlineProgram(out, argv), argv, out);
  } finally {
    // Head-start threads the command did not use (it failed before deriving) end cleanly here.
    await DeriveWorkers.dropAhead();
  }
}
