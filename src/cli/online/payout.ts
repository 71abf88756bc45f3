import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { ChainSource } from '../../core/ports.js';
import { CodedError } from '../../core/errors.js';
import { formatManifest } from '../../core/payout-manifest.js';
import { formatSatPerVb, parseSatPerVb } from '../../core/signer-policy.js';
import type { BuiltRecord } from '../../flows/payout.js';
import { openAtomicFile, assertWritable } from '../../io/atomic-file.js';
import type { Database, AuditSigner } from '../../core/ports.js';
import { withDatabase } from './database.js';
import { addAuditKeyOptions, auditSignerOf } from './withdrawal-context.js';
import { table, toJson, type Output } from '../output.js';
import { psbtQrSeries, QR_MAX_PARTS, type QrSeries } from '../qr.js';
import { parseIntegerOption } from '../run.js';
import { addNodeOptions, sendPayoutAlerts } from './options.js';
import { DB_OPTION_HELP, channelsOf, configOf, trustOf } from './config.js';
import { builtJson, feeRateOption, manifestPath, payoutFlows, withKeyedDatabase, withSource, writeFiles, type Common } from './payout-files.js';

interface BuildOpts extends Common { feeRate?: string; target?: string; ids?: string; out: string; maxOutputs: string; minConf: string; force?: boolean; qr?: boolean; qrMaxParts: string }
interface BumpOpts extends Common { feeRate: string; out: string; minConf: string; force?: boolean }
interface BroadcastOpts extends Common { confirm?: string }
interface StatusOpts extends Common { minConf: string }

/** The `payout` command group: build, broadcast, status, bump (operator box); main.ts adds abandon, cancel, record-signed (payout-abandon.ts). */
export function registerPayout(program: Command, out: Output): Command {
  const group = program.command('payout').summary('approved withdrawals → one PSBT; broadcast the signed PSBT; follow; bump (RBF); abandon, cancel');
  registerBuild(group, out);
  registerBroadcast(group, out);
  registerStatus(group, out);
  registerBump(group, out);
  return group;
}

/** Several payouts: F.psbt, F-2.psbt, … */
function nth(path: string, k: number): string {
  return k === 0 ? path : path.replace(/(\.psbt)?$/i, (m) => `-${k + 1}${m || ''}`);
}

function registerBuild(group: Command, out: Output): void {
  addAuditKeyOptions(addNodeOptions(group.command('build')), { trust: false })
    .summary('approved withdrawals → one PSBT (and its manifest) to sign offline')
    .description(
      'Pay the approved withdrawals (or --ids) from the cold wallet\'s confirmed coins (chain record: coldpool chain sync).\n' +
        'Coins: branch and bound for a changeless set, else largest first; change to the next unused …/1/j; RBF signalled.\n' +
        'Every input carries witness_utxo, non_witness_utxo (fetched from the node) and its BIP32 derivation. The withdrawals\n' +
        'are locked to the payout (approved → in_payout) in the transaction that records it. A batch is split into several\n' +
        'payouts (F.psbt, F-2.psbt, …, each with its manifest), in id order, so that each holds at most --max-outputs\n' +
        'withdrawals and weighs at most 390,000 WU (estimated with worst-case signatures: 10,000 under the standard 400,000,\n' +
        'room for a bump to add inputs); each pays its own fee at the rate from its own coins, with its own change. A\n' +
        'withdrawal too heavy even alone (it needs more small coins than fit) is refused by id (REFUSED, exit 3), nothing\n' +
        'built. Writes F.psbt (base64) and F.manifest.json.\n' +
        'An approved withdrawal is paid only if its row now is exactly what its approvals signed and enough distinct\n' +
        'operators of the trust file (--trust) signed it, and, when the trust file names a verifier, the verifier attested\n' +
        'exactly that content (schema 008 `attestations`, checked under the trust file\'s verifier key); every other one is\n' +
        'left out, named on stderr with its reason (changed after approval, never seen by an operator, approvals missing,\n' +
        'not attested), audited, and flagged in review. Nothing left to pay: exit 3. Each manifest output carries its\n' +
        'approval (the signed content and the signatures) and, with a verifier, its attestation.',
    )
    .option('--db <url>', DB_OPTION_HELP)
    .option('--fee-rate <sat_per_vb>', 'fee rate in sat/vB (at most 3 decimals)')
    .option('--target <blocks>', 'fee rate from the node\'s estimatesmartfee for this many blocks (default 6 when no --fee-rate)')
    .option('--ids <ids>', 'only these withdrawal ids (comma separated)')
    .requiredOption('--out <file>', 'PSBT file to write (base64); the manifest goes to <file without .psbt>.manifest.json')
    .option('--max-outputs <n>', 'most withdrawals per payout (a payout is split by weight as well)', '250')
    .option('--min-conf <n>', 'confirmations a coin needs', '1')
    .option('--operator <name>', 'who builds (audit log)')
    .option('--trust <file>', 'the operator box\'s trust file: only withdrawals signed by enough of its operators are paid (default: COLDPOOL_TRUST, config "trust")')
    .option('--force', 'replace existing output files', false)
    .option('--qr', 'also draw the PSBT on stderr as a series of BBQr QR codes (base32, level L, at most 500 characters ' +
      'each, one QR version for all, black on white on a terminal); with stdin a terminal one part at a time (Enter for ' +
      'the next), else all at once; each part\'s BBQr text is printed under its code. The file is still written. A PSBT ' +
      'needing more than --qr-max-parts parts is refused (USAGE, exit 2) before anything is recorded, locked or written: ' +
      'build without --qr and carry the file', false)
    .option('--qr-max-parts <n>', 'most QR parts --qr will draw', String(QR_MAX_PARTS))
    .option('--json', 'print [{"id","unsigned_txid","psbt","manifest","outputs":[…],"change","fee_sat","vsize","fee_rate_sat_kvb"}]', false)
    .addHelpText('after', '\nExamples:\n  $ coldpool payout build --fee-rate 5 --out payout-12.psbt\n  $ coldpool payout build --target 3 --ids 41,42 --out p.psbt --json\n' +
      '  $ coldpool payout build --fee-rate 5 --out payout-12.psbt --qr   # scan the parts with a BBQr signer (e.g. Coldcard Q)\n')
    .action(async (opts: BuildOpts, cmd: Command) => {
      if (opts.feeRate !== undefined && opts.target !== undefined) throw new CodedError('USAGE', 'give "--fee-rate" or "--target", not both');
      assertWritable(opts.out, opts.force);
      assertWritable(manifestPath(opts.out), opts.force);
      const qrMaxParts = parseIntegerOption('--qr-max-parts', opts.qrMaxParts, 1, 1295);
      const ids = opts.ids === undefined ? undefined : opts.ids.split(',').map((s) => {
        if (!/^\d{1,19}$/.test(s.trim())) throw new CodedError('USAGE', `"--ids" expected comma-separated withdrawal ids, got ${JSON.stringify(opts.ids)}`);
        return BigInt(s.trim());
      });
      const keyed = await auditSignerOf(cmd, (opts as { passwordFile?: string }).passwordFile);
      const actor = keyed?.name ?? configOf(cmd).operator;
      const { trust } = trustOf(configOf(cmd));
      // --qr: the QR series of every PSBT are made before the build records and locks anything, so a PSBT
      // too large for --qr-max-parts is refused (USAGE, exit 2) with nothing written, in the database or as files
      let qr: { id: bigint | string; file: string; series: QrSeries }[] = [];
      const records = await withKeyedDatabase(cmd, keyed, (db) => withSource(cmd, opts, async (source) =>
        (await payoutFlows()).buildPayouts(db.payouts, db.chain, source, {
            actor, trust, ...(ids ? { ids } : {}), feeRateSatKvb: feeRateOption(opts.feeRate),
            onLeftOut: (leftOut) => {
              for (const l of leftOut) out.say(`left out: withdrawal ${l.id}: ${l.reason}: ${l.detail}`);
            },
            onHeld: (held) => {
              for (const h of held) out.say(`held: withdrawal ${h.id}: ${h.reason}`);
            },
            ...(opts.target !== undefined ? { targetBlocks: parseIntegerOption('--target', opts.target, 1, 1008) } : {}),
            maxOutputs: parseIntegerOption('--max-outputs', opts.maxOutputs, 1, 10_000), minConf: parseIntegerOption('--min-conf', opts.minConf, 1, 10_000),
            beforeRecord: (built) => {
              // F-2.psbt, F-3.psbt, …: known only now; an existing one is refused before the payouts are recorded
              for (const k of built.keys()) {
                assertWritable(nth(opts.out, k), opts.force);
                assertWritable(manifestPath(nth(opts.out, k)), opts.force);
              }
              if (opts.qr) qr = built.map((b, k) => ({ id: `#${k + 1}`, file: nth(opts.out, k), series: psbtQrSeries(b.psbt.toBuffer(), { maxParts: qrMaxParts, what: `the PSBT of payout part ${k + 1} of ${built.length} (${nth(opts.out, k)})` }) }));
            },
          })));
      qr = qr.map((s, k) => ({ ...s, id: records[k]!.id }));
      const rows = records.map((rec, k) => builtJson(rec, writeFiles(nth(opts.out, k), rec, Boolean(opts.force))));
      if (opts.json) {
        out.data(toJson(rows));
      } else {
        for (const r of rows) {
          out.data(`payout ${String(r.id)}: ${(r.outputs as unknown[]).length} withdrawal(s), ${String(r.inputs)} input(s), fee ${String(r.fee_sat)} sat (${formatSatPerVb(r.fee_rate_sat_kvb as bigint)} sat/vB, ${String(r.vsize)} vB), unsigned txid ${String(r.unsigned_txid)}`);
          out.data(`  ${String(r.psbt)}  ${String(r.manifest)}`);
        }
      }
      if (qr.length > 0) await showQr(qr, out);
      if (!opts.json) out.say('next, on the signer: coldpool-offline sign F.psbt --keystore K --manifest F.manifest.json --out F.signed.psbt');
    });
}

/**
 * Draw the QR series on stderr (stdout stays data only). With stdin a
 * terminal, one part at a time and Enter for the next; else all at once.
 * On a terminal the codes are drawn black on white whatever the theme.
 */
async function showQr(series: { id: bigint | string; file: string; series: QrSeries }[], out: Output): Promise<void> {
  const step = Boolean(process.stdin.isTTY);
  const ink = out.interactive ? (l: string): string => `\x1b[30;107m${l}\x1b[0m` : (l: string): string => l;
  const rl = step ? createInterface({ input: process.stdin, output: process.stderr }) : undefined;
  try {
    for (const [k, s] of series.entries()) {
      const n = s.series.frames.length;
      for (const [i, f] of s.series.frames.entries()) {
        out.say(`payout ${String(s.id)} (${s.file}) BBQr part ${i + 1} of ${n}, QR version ${s.series.version}:`);
        out.say(f.lines.map(ink).join('\n'));
        out.say(f.text);
        const more = i + 1 < n || k + 1 < series.length;
        if (rl && more) await rl.question(`part ${i + 1} of ${n} — press Enter for the next`);
      }
    }
  } finally {
    rl?.close();
  }
}

function registerBroadcast(group: Command, out: Output): void {
  addAuditKeyOptions(addNodeOptions(group.command('broadcast')))
    .summary('check, finalize and broadcast a signed payout PSBT')
    .description(
      'Refuse unless the signed PSBT is a payout that was built (same unsigned transaction, same outputs) and every input\n' +
        'carries a valid SIGHASH_ALL signature of the key the payout named; finalize; testmempoolaccept where the node has it;\n' +
        'sendrawtransaction; record the txid (payout and withdrawals → broadcast, audited). Broadcasting twice is harmless.\n' +
        'Confirm by the txid prefix: --confirm PREFIX (at least 8 characters).',
    )
    .argument('<signed>', 'signed PSBT (binary, base64 or hex)')
    .option('--db <url>', DB_OPTION_HELP)
    .option('--confirm <prefix>', 'the first characters (8 or more) of the txid, to confirm without a prompt')
    .option('--operator <name>', 'who broadcasts (audit log)')
    .option('--json', 'print {"id","txid","recorded","test_accept"}', false)
    .action(async (file: string, opts: BroadcastOpts, cmd: Command) => {
      const { parsePsbt } = await import('../../core/psbt-inspect.js');
      const signed = parsePsbt(readFileSync(file));
      const keyed = await auditSignerOf(cmd, (opts as { passwordFile?: string }).passwordFile);
      const actor = keyed?.name ?? configOf(cmd).operator;
      const { Transaction } = await import('bitcoinjs-lib');
      const txid = Transaction.fromBuffer(Buffer.from(signed.data.getTransaction())).getId();
      if (opts.confirm === undefined || opts.confirm.length < 8 || !txid.startsWith(opts.confirm.toLowerCase())) {
        throw new CodedError('USAGE', `"--confirm" expected the first 8 or more characters of txid ${txid}, got ${JSON.stringify(opts.confirm ?? '')}`, { hint: `--confirm ${txid.slice(0, 8)}` });
      }
      const { broadcastPayout } = await payoutFlows();
      const r = await withKeyedDatabase(cmd, keyed, (db) => withSource(cmd, opts, (source) => broadcastPayout(db.payouts, source, signed, actor, { warn: (m) => out.say(`warning: ${m}`) })));
      if (opts.json) return out.data(toJson({ id: r.id, txid: r.txid, recorded: r.recorded, test_accept: r.testAccept ?? null }));
      out.data(`payout ${r.id} ${r.recorded ? 'broadcast' : 'already broadcast (sent again)'}: ${r.txid}`);
    });
}

function registerStatus(group: Command, out: Output): void {
  addAuditKeyOptions(group.command('status'))
    .summary('follow payouts through the chain record; mark confirmed ones (and their withdrawals)')
    .description('Reads what `coldpool chain sync` recorded: a payout whose coins were all spent by its txid in a block with\n' +
      'at least --min-conf confirmations becomes confirmed, its withdrawals confirmed (paid by that payout), any other\n' +
      'version of it (bump) abandoned (replaced), and any other payout it conflicts with abandoned (failed).\n' +
      'An abandoned payout (`payout abandon`) is followed too: if a signed copy of it was broadcast and confirmed, its\n' +
      'withdrawals are recorded as paid by it (never twice: the payout that replaced it spends one of its coins, so it\n' +
      'failed) and an alert goes out on the configured channels (email, webhook; stderr always).\n' +
      'A coin of a live payout spent in a block by a transaction that is no payout built here is named, with the\n' +
      'withdrawals it affects and what to do (stderr; "conflict" and "advice" in --json).')
    .option('--db <url>', DB_OPTION_HELP)
    .option('--min-conf <n>', 'confirmations to call a payout confirmed', '1')
    .option('--operator <name>', 'who records (audit log)')
    .option('--json', 'print [{"id","status","abandon_kind","abandon_reason","unsigned_txid","txid","fee_sat","confirmations","replaces","cancels","signed_at","conflict","advice","withdrawals":[…]}]', false)
    .addHelpText('after', '\nStatuses: built → signed → broadcast → confirmed, or abandoned with abandon_kind replaced | given_up | failed.\n')
    .action(async (opts: StatusOpts, cmd: Command) => {
      const keyed = await auditSignerOf(cmd, (opts as { passwordFile?: string }).passwordFile);
      const actor = keyed?.name ?? configOf(cmd).operator;
      const { followPayouts } = await payoutFlows();
      const alerts: import('../../flows/payout.js').PayoutAlert[] = [];
      const states = await withKeyedDatabase(cmd, keyed, (db) => followPayouts(db.payouts, actor, parseIntegerOption('--min-conf', opts.minConf, 1, 10_000), (a) => alerts.push(a)));
      if (opts.json) {
        out.data(toJson(states.map((s) => ({
          id: s.id, status: s.status, abandon_kind: s.abandonKind ?? null, abandon_reason: s.abandonReason ?? null,
          unsigned_txid: s.unsignedTxid, txid: s.txid ?? null, fee_sat: s.feeSat, fee_rate_sat_kvb: s.feeRateSatKvb, confirmations: s.confirmations,
          replaces: s.replaces ?? null, cancels: s.cancels ?? null, signed_at: s.signedAt ?? null, conflict: s.conflict ?? null, advice: s.advice ?? null,
          withdrawals: s.withdrawals.map((w) => ({ id: w.id, address: w.address, amount_sat: w.amountSat, status: w.status, paid_by_payout: w.paidBy ?? null })),
        }))));
      } else {
        out.data(table(['id', 'status', 'txid', 'fee', 'conf', 'withdrawals'], states.map((s) => [
          String(s.id), s.abandonKind ? `${s.status} (${s.abandonKind})` : s.cancels !== undefined ? `${s.status} (cancels ${s.cancels})` : s.status,
          s.txid ?? s.unsignedTxid, String(s.feeSat), s.confirmations, s.withdrawals.map((w) => String(w.id)).join(','),
        ])));
      }
      for (const s of states) if (s.conflict) out.say(`warning: payout ${s.id}: ${s.conflict}: ${s.advice ?? ''}`);
      await sendPayoutAlerts(configOf(cmd), channelsOf(configOf(cmd)), alerts, out);
    });
}

function registerBump(group: Command, out: Output): void {
  addAuditKeyOptions(addNodeOptions(group.command('bump')), { trust: false })
    .summary('replace a payout by one paying the same withdrawals with a higher fee (RBF)')
    .description('Same inputs and outputs, the fee taken from change (an input added when change cannot pay it), at least the old fee\nplus 1 sat/vB (BIP125). Writes a new PSBT and manifest to sign offline like any other; whichever version confirms\npays the withdrawals once, and `payout status` records which.')
    .argument('<id>', 'payout id')
    .option('--db <url>', DB_OPTION_HELP)
    .requiredOption('--fee-rate <sat_per_vb>', 'new fee rate in sat/vB')
    .requiredOption('--out <file>', 'PSBT file to write')
    .option('--min-conf <n>', 'confirmations an added coin needs', '1')
    .option('--operator <name>', 'who bumps (audit log)')
    .option('--trust <file>', 'the trust file whose approvals the new manifest carries (default: COLDPOOL_TRUST, config "trust")')
    .option('--force', 'replace existing output files', false)
    .option('--json', 'print the new payout as payout build --json does (one object)', false)
    .action(async (idText: string, opts: BumpOpts, cmd: Command) => {
      if (!/^\d{1,19}$/.test(idText)) throw new CodedError('USAGE', `"ID" expected a payout id, got ${JSON.stringify(idText)}`);
      assertWritable(opts.out, opts.force);
      assertWritable(manifestPath(opts.out), opts.force);
      const keyed = await auditSignerOf(cmd, (opts as { passwordFile?: string }).passwordFile);
      const actor = keyed?.name ?? configOf(cmd).operator;
      const trust = configOf(cmd).trustFile === undefined ? undefined : trustOf(configOf(cmd)).trust;
      const rec = await withKeyedDatabase(cmd, keyed, (db) => withSource(cmd, opts, async (source) =>
        (await payoutFlows()).bumpPayout(db.payouts, db.chain, source, BigInt(idText), feeRateOption(opts.feeRate)!, actor, parseIntegerOption('--min-conf', opts.minConf, 1, 10_000), trust)));
      const row = builtJson(rec, writeFiles(opts.out, rec, Boolean(opts.force)));
      if (opts.json) return out.data(toJson(row));
      out.data(`payout ${rec.id} replaces ${idText}: fee ${rec.built.feeSat} sat (${formatSatPerVb(rec.built.feeRateSatKvb)} sat/vB), unsigned txid ${rec.built.unsignedTxid}\n  ${opts.out}  ${manifestPath(opts.out)}`);
    });
}
