import type { Command } from 'commander';
import { DEMO_LABEL } from '../../demo/label.js';
import { toJson, type Output } from '../output.js';

/**
 * `coldpool demo [--keep DIR] [--json]`: the whole flow on a temporary SQLite
 * database with a throw-away regtest seed and simulated deposits; no node, no
 * network. Key work runs in the spawned offline program (src/demo/run-demo.ts).
 */
export function registerDemo(program: Command, out: Output): void {
  program
    .command('demo')
    .summary('the whole flow on a throw-away regtest seed and simulated deposits (no node, no network)')
    .description(
      `${DEMO_LABEL}.\n\n` +
        'In a temporary directory: coldpool-offline restore (a published test mnemonic) → export → derive 1,000\n' +
        'addresses → pool load → claim → deposits in regtest blocks built in memory → chain sync → 3 withdrawal\n' +
        'requests → the verifier (its own database and key) mails each user a one-time token (the mail is shown,\n' +
        'token masked; none is sent) → the tokens are relayed → the verifier attests → approve → payout build (the\n' +
        'trust file names the verifier: only attested requests are paid) → coldpool-offline inspect and sign --manifest\n' +
        '(checks each output\'s attestation and approvals) → payout broadcast (mined into a block) → chain sync →\n' +
        'payout status confirmed → audit verify. One line of progress per\n' +
        'step on stderr; the final txid and the balance equation at the end. The directory is removed unless --keep.',
    )
    .option('--keep <dir>', 'keep the files (database, keystore, PSBTs) in this new or empty directory')
    .option('--json', 'print the result as JSON on stdout: {"txid","fee_sat","input_total_sat","withdrawals_total_sat","change_sat","inputs":[…],"outputs":[…],"balanced","verified",…}', false)
    .addHelpText('after', '\nExamples:\n  $ coldpool demo\n  $ coldpool demo --keep ./demo-files --json\n')
    .action(async (opts: { keep?: string; json?: boolean }) => {
      // The demo (bitcoinjs-lib, the regtest block builder) loads only when it runs.
      const { runDemo, summaryLines } = await import('../../demo/run-demo.js');
      let result;
      try {
        result = await runDemo({ ...(opts.keep !== undefined ? { keep: opts.keep } : {}), say: (line) => out.say(line) });
        for (const line of summaryLines(result)) out.say(line);
      } finally {
        out.say(DEMO_LABEL);
      }
      if (opts.json) out.data(toJson(result));
      else out.data(result.txid);
    });
}
