import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CodedError } from '../../core/errors.js';
import { formatSatPerVb } from '../../core/signer-policy.js';
import { assertWritable } from '../../io/atomic-file.js';
import { toJson, type Output } from '../output.js';
import { parseIntegerOption } from '../run.js';
import { DB_OPTION_HELP, configOf } from './config.js';
import { addNodeOptions } from './options.js';
import { builtJson, feeRateOption, manifestPath, withKeyedDatabase, withSource, writeFiles, type Common } from './payout-files.js';
import { addAuditKeyOptions, auditSignerOf } from './withdrawal-context.js';

/**
 * `payout abandon`, `payout cancel`, `payout record-signed` (issue 16): give
 * up a payout that never reached the node, make it impossible for good, and
 * record the first sight of a signed PSBT. The flows are in
 * src/flows/payout-abandon.ts; these parse argv and print.
 */

const abandonFlows = (): Promise<typeof import('../../flows/payout-abandon.js')> => import('../../flows/payout-abandon.js');

interface AbandonOpts extends Common { reason?: string }
interface CancelOpts extends Common { feeRate: string; out: string; minConf: string; force?: boolean }

function payoutId(text: string): bigint {
  if (!/^\d{1,19}$/.test(text)) throw new CodedError('USAGE', `"ID" expected a payout id, got ${JSON.stringify(text)}`);
  return BigInt(text);
}

async function actorOf(cmd: Command, opts: object): Promise<{ keyed: Awaited<ReturnType<typeof auditSignerOf>>; actor: string }> {
  const keyed = await auditSignerOf(cmd, (opts as { passwordFile?: string }).passwordFile);
  return { keyed, actor: keyed?.name ?? configOf(cmd).operator };
}

export function registerAbandon(group: Command, out: Output): void {
  addAuditKeyOptions(addNodeOptions(group.command('abandon')))
    .summary('give up a payout the node never saw; its withdrawals go back to approved')
    .description(
      'For a payout built (or signed, or broadcast and dropped) that is neither in the node\'s mempool nor on the chain.\n' +
        'The node is asked first (getrawmempool, getrawtransaction) and the chain record must be synced to the node\'s tip\n' +
        '(a node without -txindex cannot find a mined transaction; `coldpool chain sync` records it): seen, or a node that\n' +
        'does not answer, and nothing is abandoned (exit 4, exit 5). The payout and its other live versions (bumps) become\n' +
        'abandoned (given_up, with --reason); their withdrawals go back to approved, keeping their approvals and\n' +
        'attestations; each move is audited with what the node said.\n' +
        '\n' +
        'Why its coins stay reserved: anyone holding a signed copy can still broadcast it. So the next payout of any of\n' +
        'those withdrawals MUST spend one of its coins (`payout build` chooses one; recording checks again; the signer\'s\n' +
        'log refuses otherwise): the two transactions conflict and at most one ever confirms. If the abandoned one confirms\n' +
        'anyway, `payout status` records its withdrawals as paid by it, the other one as failed, and alerts. To be rid of\n' +
        'it for good, `coldpool payout cancel ID` sends one of its coins back to our change.',
    )
    .argument('<id>', 'payout id')
    .option('--db <url>', DB_OPTION_HELP)
    .option('--reason <text>', 'why it is given up (required, audited)')
    .option('--operator <name>', 'who abandons (audit log)')
    .option('--json', 'print {"payouts":[…],"withdrawals":[…],"signed_copy","node","node_tip","synced_tip","checked":[txid…]}', false)
    .addHelpText('after', '\nExamples:\n  $ coldpool payout abandon 12 --reason "signed PSBT lost with the USB stick"\n  $ coldpool payout abandon 12 --reason "fee too low, dropped" --json\n' +
      '\nExit codes: 0 abandoned; 2 usage (no --reason, unknown id); 3 the chain record is behind the node;\n  4 seen by the node or not live; 5 node or database unavailable.\n')
    .action(async (idText: string, opts: AbandonOpts, cmd: Command) => {
      const id = payoutId(idText);
      if (opts.reason === undefined || opts.reason.trim() === '') throw new CodedError('USAGE', '"--reason" is required: say why the payout is given up (it is audited)');
      const { keyed, actor } = await actorOf(cmd, opts);
      const r = await withKeyedDatabase(cmd, keyed, (db) => withSource(cmd, opts, async (source) => (await abandonFlows()).abandonPayout(db.payouts, db.chain, source, id, opts.reason!, actor)));
      if (opts.json) {
        return out.data(toJson({ payouts: r.payouts, withdrawals: r.withdrawals, signed_copy: r.signedCopy, node: r.evidence.node, node_tip: r.evidence.nodeTip, synced_tip: r.evidence.syncedTip, checked: r.evidence.checked }));
      }
      out.data(`payout(s) ${r.payouts.join(', ')} abandoned; withdrawal(s) ${r.withdrawals.join(', ') || 'none'} back to approved`);
      out.say(`${r.signedCopy ? 'a signed copy exists: ' : ''}the next payout of these withdrawals spends a coin of payout ${id}, so at most one confirms; or make it impossible: coldpool payout cancel ${id} --fee-rate R --out F.psbt`);
    });
}

export function registerCancel(group: Command, out: Output): void {
  addAuditKeyOptions(addNodeOptions(group.command('cancel')), { trust: false })
    .summary('make an abandoned payout impossible: send one of its coins back to our change')
    .description(
      'Builds a PSBT paying no withdrawal: one input of the abandoned payout ID (the largest no live payout spends)\n' +
        'to the next change address …/1/j, at --fee-rate and above the abandoned payout\'s fee (it would replace it in a\n' +
        'mempool, BIP125). Sign it offline and broadcast it like any payout. Once it confirms the abandoned payout can never\n' +
        'confirm, its other coins are free again, and the next payout of its withdrawals spends the cancel\'s change (so the\n' +
        'signer\'s log sees the conflict too). Writes F.psbt and F.manifest.json.',
    )
    .argument('<id>', 'the abandoned payout id')
    .option('--db <url>', DB_OPTION_HELP)
    .requiredOption('--fee-rate <sat_per_vb>', 'fee rate in sat/vB')
    .requiredOption('--out <file>', 'PSBT file to write')
    .option('--min-conf <n>', 'confirmations its coin needs', '1')
    .option('--operator <name>', 'who cancels (audit log)')
    .option('--force', 'replace existing output files', false)
    .option('--json', 'print the cancel as payout build --json does (one object, no outputs, "cancels")', false)
    .addHelpText('after', '\nExample:\n  $ coldpool payout cancel 12 --fee-rate 3 --out cancel-12.psbt\n  $ coldpool-offline sign cancel-12.psbt --keystore K --manifest cancel-12.manifest.json --out cancel-12.signed.psbt\n  $ coldpool payout broadcast cancel-12.signed.psbt --confirm TXID8\n')
    .action(async (idText: string, opts: CancelOpts, cmd: Command) => {
      const id = payoutId(idText);
      assertWritable(opts.out, opts.force);
      assertWritable(manifestPath(opts.out), opts.force);
      const { keyed, actor } = await actorOf(cmd, opts);
      const rec = await withKeyedDatabase(cmd, keyed, (db) => withSource(cmd, opts, async (source) =>
        (await abandonFlows()).cancelPayout(db.payouts, db.chain, source, id, feeRateOption(opts.feeRate)!, actor, parseIntegerOption('--min-conf', opts.minConf, 1, 10_000))));
      const row = { ...builtJson(rec, writeFiles(opts.out, rec, Boolean(opts.force))), cancels: id };
      if (opts.json) return out.data(toJson(row));
      out.data(`payout ${rec.id} cancels ${id}: ${rec.built.inputs.length} input back to change, fee ${rec.built.feeSat} sat (${formatSatPerVb(rec.built.feeRateSatKvb)} sat/vB), unsigned txid ${rec.built.unsignedTxid}\n  ${opts.out}  ${manifestPath(opts.out)}`);
    });
}

export function registerRecordSigned(group: Command, out: Output): void {
  addAuditKeyOptions(group.command('record-signed'))
    .summary('record that a payout was signed (first sight of the signed PSBT), without broadcasting')
    .description(
      'Checks the signed PSBT as `payout broadcast` does (the same unsigned transaction and outputs as built, a valid\n' +
        'SIGHASH_ALL signature on every input by the key the payout named), then records it: built → signed, the signed\n' +
        'PSBT kept, audited. From then on the operator box knows a signed copy exists. `payout broadcast` records the same\n' +
        'on its way. For an abandoned payout the status stays, the sighting is audited (payout.signed_copy_seen).',
    )
    .argument('<signed>', 'signed PSBT (binary, base64 or hex)')
    .option('--db <url>', DB_OPTION_HELP)
    .option('--operator <name>', 'who records (audit log)')
    .option('--json', 'print {"id","status","recorded"}', false)
    .action(async (file: string, opts: Common, cmd: Command) => {
      const { parsePsbt } = await import('../../core/psbt-inspect.js');
      const signed = parsePsbt(readFileSync(file));
      const { keyed, actor } = await actorOf(cmd, opts);
      const r = await withKeyedDatabase(cmd, keyed, async (db) => (await abandonFlows()).recordSigned(db.payouts, signed, actor));
      if (opts.json) return out.data(toJson({ id: r.id, status: r.status, recorded: r.recorded }));
      out.data(`payout ${r.id} ${r.recorded ? 'recorded as signed' : `already recorded (${r.status})`}`);
    });
}
