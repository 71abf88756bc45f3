import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { CodedError } from '../../core/errors.js';
import { inspectPsbt, refusals, type Finding, type PsbtReview } from '../../core/psbt-inspect.js';
import { assertWritable, openAtomicFile } from '../../io/atomic-file.js';
import { withFileLock } from '../../io/file-lock.js';
import { mnemonicToSeed } from '../../keys/seed.js';
import { signPsbt } from '../../keys/sign.js';
import { toJson, type Output } from '../output.js';
import { findingWire, formatReview, loadManifest, loadPolicy, loadPsbt, loadTrust, policySummary, reviewWire } from './psbt-review.js';
import { appendSignLog, approvalKey, defaultSignLog, paidElsewhere, readSignHistory, windowOf, type SignHistory, type SignWindow } from './sign-log.js';
import { closeStdin, readTerminalLine, stdinIsTerminal } from '../terminal.js';
import { accountOf, unlockKeystore } from './unlock.js';

interface SignOptions {
  keystore: string;
  passwordFile?: string;
  out: string;
  manifest?: string;
  config?: string;
  log?: string;
  trust?: string;
  newLog?: boolean;
  yes?: boolean;
  force?: boolean;
  json?: boolean;
}

export const NO_TRUST_WARNING = 'warning: no trust file (--trust, or "trust" in the signer config): operator approvals were NOT checked; the outputs rest on the manifest alone, or on nothing without one';

/** How many leading characters of the unsigned txid the operator types to confirm. */
export const CONFIRM_CHARS = 8;

export { appendSignLog, defaultSignLog } from './sign-log.js';

/**
 * `coldpool-offline sign F.psbt --keystore K --out SIGNED.psbt`: review,
 * refuse what does not add up, confirm, sign every input of ours with
 * SIGHASH_ALL, verify, log, write. Refusals exit 3 and write nothing (no
 * output file, no log line).
 */
export function registerSign(program: Command, out: Output): void {
  program
    .command('sign')
    .summary('review, check and sign a PSBT with the keystore')
    .description(
      'Show every input and output of the PSBT (address, amount, ours/change/external), the fee and fee rate; refuse ' +
        '(exit 3, nothing written) on: a network mismatch, an input whose key does not derive from this seed, a ' +
        'non_witness_utxo that does not match its witness_utxo, change claimed by derivation that does not derive to its ' +
        'script, a sighash other than ALL, a fee or fee rate above the caps of the signer config, and with --manifest: any ' +
        'output not in it (other than recognised change) or an amount that differs; with a trust file (--trust, or "trust" ' +
        'in the signer config): no manifest, or any external output not covered by enough valid signatures of distinct ' +
        'trusted operators over exactly its script and amount, or whose approval the sign log shows already paid by a payout ' +
        'this one does not replace, and, when the trust file names a verifier, any external output without an attestation ' +
        'that verifies under that verifier key over exactly its approval content (ATTESTATION_MISSING, ATTESTATION_INVALID); ' +
        'and the signer config\'s caps per payout and per rolling 24 h (summed from the sign ' +
        'log). Then ask for the first ' +
        `${CONFIRM_CHARS} characters of the unsigned txid (--yes for scripts), sign every input of ours with SIGHASH_ALL ` +
        '(RFC6979, low R), verify every signature, append a line to the sign log and write the signed PSBT atomically.',
    )
    .argument('<psbt>', 'PSBT file (binary, base64 or hex); the signed PSBT is written in the same encoding')
    .requiredOption('--keystore <file>', 'keystore holding the seed')
    .option('--password-file <file>', 'keystore password from the first line of this file (default: asked on the terminal)')
    .requiredOption('--out <file>', 'signed PSBT to write; never overwritten unless --force')
    .option('--manifest <file>', 'payout manifest: every external output must be in it with the same amount')
    .option('--config <file>', 'signer config: fee caps, trust file, payout and 24 h caps (default: coldpool-signer.json beside the keystore, else 1000000 sat, 500 sat/vB, no trust file, no limits)')
    .option('--trust <file>', 'the signer\'s trust file (overrides "trust" in the signer config); every external output must then be approved')
    .option('--log <file>', 'append-only JSON-lines sign log (default: <keystore>.sign-log.jsonl)')
    .option('--new-log', 'the sign log does not exist yet and starts empty; with a trust file or a 24 h cap a missing log is refused otherwise', false)
    .option('--yes', 'do not ask for the txid prefix (scripts); required when stdin is not a terminal', false)
    .option('--force', 'replace an existing --out file', false)
    .option('--json', 'print the review and result as JSON on stdout', false)
    .addHelpText('after', `
Signer config (JSON, every key optional, unknown keys refused):
  {"max_fee_sat": "1000000", "max_fee_rate_sat_vb": 500,
   "trust": "coldpool-trust.json", "max_payout_sat": "50000000", "max_24h_sat": "200000000"}
  trust: the trust file, relative to the config's directory (default none: approvals NOT checked, a warning says so)
  max_payout_sat: cap on the external outputs of one payout (change not counted; default none)
  max_24h_sat: cap on the external outputs signed in any rolling 24 h, this payout included, summed from the sign log
    (default none)
With a trust file or max_24h_sat the sign log is the signer's memory (approvals paid, the 24 h window): a missing
or corrupt log is refused, not taken as empty (--new-log for the very first payout of a keystore). An approval
already paid is signed again only in a replacement: a transaction spending an input of every payout that paid it.
Sign log line: {"time","unsigned_txid","fingerprint","network","psbt","out","manifest","trust","inputs_signed",
  "input_total_sat","external_total_sat","inputs":["txid:vout"],"outputs":[{"address","amount_sat","kind","withdrawal_id",
  "approval_id"?,"approval_fingerprint"?,"approved_by"?:[key ids],"attested_by"?:verifier key id}],"fee_sat","vsize","fee_rate_sat_kvb","signed_psbt_sha256"}
JSON output: {"signed": true, "out", "unsigned_txid", "inputs_signed", "log", "trust"? (with a trust file), "review": {… as inspect --json}}
On refusal (exit 3) with --json, stderr holds {"error":{"code":"REFUSED","message","context":{"findings":[…]}}}.

Examples:
  $ coldpool-offline sign payout-12.psbt --keystore cold.keystore --manifest payout-12.manifest.json --out payout-12.signed.psbt
  $ coldpool-offline sign payout-12.psbt --keystore cold.keystore --password-file pw.txt --yes --out signed.psbt --json
  $ coldpool-offline sign payout-12.psbt --keystore cold.keystore --trust coldpool-trust.json --manifest payout-12.manifest.json --out payout-12.signed.psbt`)
    .action(async (file: string, opts: SignOptions) => {
      try {
        await sign(file, opts, out);
      } finally {
        closeStdin();
      }
    });
}

async function sign(file: string, opts: SignOptions, out: Output): Promise<void> {
  // Everything that can fail without the key fails before the password is asked.
  assertWritable(opts.out, opts.force);
  if (!opts.yes && !stdinIsTerminal()) {
    throw new CodedError('USAGE', `confirmation is needed but stdin is not a terminal and --yes was not given`, {
      hint: 'run it on a terminal to type the txid prefix, or pass --yes in scripts',
    });
  }
  const { psbt, binary } = loadPsbt(file);
  const manifest = loadManifest(opts.manifest);
  const policy = loadPolicy(opts.config, opts.keystore);
  const trusted = loadTrust(opts.trust, policy);
  const logPath = opts.log ?? defaultSignLog(opts.keystore);
  if (trusted && !manifest) {
    throw new CodedError('REFUSED', `refusing to sign ${file}: a trust file is in use (${trusted.path}) and no --manifest was given; the operators' approvals travel in the manifest`, {
      hint: 'pass the manifest `coldpool payout build` wrote beside the PSBT; nothing was signed or written',
    });
  }
  // The log is the signer's memory: of the 24 h window, and of the approvals already paid.
  const needs = [...(policy.max24hSat === null ? [] : ['the 24 h cap (max_24h_sat) is summed from it']), ...(trusted ? ['the approvals already paid are read from it'] : [])];
  const readHistory = (): SignHistory | undefined => (needs.length === 0 ? undefined : readSignHistory(logPath, opts.newLog === true, needs.join(' and ')));
  const withLog = (inspected: PsbtReview, history: SignHistory | undefined): PsbtReview => {
    const fromLog = [
      ...(history && trusted ? alreadyPaid(inspected, history) : []),
      ...(history && policy.max24hSat !== null ? dailyCap(inspected, policy.max24hSat, windowOf(history, new Date())) : []),
    ];
    return fromLog.length === 0 ? inspected : { ...inspected, findings: [...inspected.findings, ...fromLog] };
  };
  // Read here without the lock only to refuse early, before the password; it is read again under the lock.
  const early = readHistory();

  const { header, secret } = await unlockKeystore({ keystore: opts.keystore, passwordFile: opts.passwordFile }, out);
  const account = accountOf(header, secret);
  const inspected = inspectPsbt(psbt, { network: account.network, account, policy, manifest, trust: trusted?.trust });
  const review = withLog(inspected, early);
  // With --json a refusal's stderr is one JSON document, so there the warning waits for a signature actually made.
  if (!trusted && !opts.json) out.say(NO_TRUST_WARNING);
  if (!opts.json) {
    out.data(formatReview(review, `PSBT ${file}`));
    out.say(policySummary(policy));
  }
  assertSignable(file, review);
  if (!opts.yes) await confirm(review);

  // Another signer may have logged a payout since the early read: the caps are
  // checked again from the log as it is under the lock, and the lock is kept
  // until this payout's line is appended, so two signers cannot both fit.
  // Taken after the prompts, so a terminal left waiting does not hold it.
  const signedCount = await withFileLock(logPath, 'coldpool-offline sign on this sign log', () => {
    assertSignable(file, withLog(inspected, readHistory()));
    return signAndLog(file, opts, { psbt, binary, seed: mnemonicToSeed(secret.mnemonic, secret.passphrase), account, review, logPath, trustPath: trusted?.path ?? null });
  });
  if (!trusted && opts.json) out.say(NO_TRUST_WARNING);
  if (opts.json) {
    out.data(toJson({ signed: true, out: opts.out, unsigned_txid: review.unsignedTxid, inputs_signed: signedCount, log: logPath, ...(trusted ? { trust: trusted.path } : {}), review: reviewWire(review) }));
  } else {
    out.say(`signed ${signedCount} input(s) of ${review.unsignedTxid}; wrote ${opts.out}; logged in ${logPath}`);
  }
}

function assertSignable(file: string, review: PsbtReview): void {
  const refused = refusals(review);
  if (refused.length > 0) {
    throw new CodedError('REFUSED', `refusing to sign ${file}: ${refused.map((f) => `${f.code}: ${f.message}`).join('; ')}`, {
      context: { unsigned_txid: review.unsignedTxid, findings: refused.map(findingWire) },
      hint: 'nothing was signed or written; rebuild the payout on the operator box',
    });
  }
}

interface Signing {
  readonly psbt: ReturnType<typeof loadPsbt>['psbt'];
  readonly binary: boolean;
  /** Zeroed here once used. */
  readonly seed: Uint8Array;
  readonly account: ReturnType<typeof accountOf>;
  readonly review: PsbtReview;
  readonly logPath: string;
  readonly trustPath: string | null;
}

/** Sign, append the log line, commit --out; the number of inputs signed. */
function signAndLog(file: string, opts: SignOptions, { psbt, binary, seed, account, review, logPath, trustPath }: Signing): number {
  let signedCount: number;
  try {
    signedCount = signPsbt(psbt, seed, account, review).signed.length;
  } finally {
    seed.fill(0);
  }
  const bytes = binary ? Buffer.from(psbt.toBuffer()) : Buffer.from(`${psbt.toBase64()}\n`);

  const target = openAtomicFile(opts.out, { overwrite: opts.force });
  try {
    target.write(bytes);
    appendSignLog(logPath, {
      time: new Date().toISOString(),
      unsigned_txid: review.unsignedTxid,
      fingerprint: review.fingerprint,
      network: review.network,
      psbt: file,
      out: opts.out,
      manifest: opts.manifest ?? null,
      trust: trustPath,
      inputs_signed: signedCount,
      input_total_sat: review.inputTotalSat,
      external_total_sat: review.externalTotalSat,
      // Outpoints and approval ids: how a later run tells a replacement (same coins) from a second payment of one approval.
      inputs: review.inputs.map((i) => `${i.txid}:${i.vout}`),
      outputs: review.outputs.map((o) => ({
        address: o.address, amount_sat: o.amountSat, kind: o.kind, withdrawal_id: o.withdrawalId,
        ...(o.approval ? { approval_id: o.approval.withdrawalId, approval_fingerprint: o.approval.fingerprint, approved_by: o.approval.approvers.filter((a) => a.valid).map((a) => a.keyId) } : {}),
        ...(o.attestation?.valid ? { attested_by: o.attestation.verifier } : {}),
      })),
      fee_sat: review.feeSat,
      vsize: review.vsize,
      fee_rate_sat_kvb: review.feeRateSatKvb,
      signed_psbt_sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    target.commit();
  } catch (e) {
    target.abort();
    throw e;
  }
  return signedCount;
}

async function confirm(review: PsbtReview): Promise<void> {
  const want = review.unsignedTxid.slice(0, CONFIRM_CHARS);
  const typed = (await readTerminalLine(`to sign, type the first ${CONFIRM_CHARS} characters of the unsigned txid (${review.unsignedTxid.slice(0, 4)}…): `, { echo: true })).trim().toLowerCase();
  if (typed !== want) throw new CodedError('CANCELLED', `typed ${JSON.stringify(typed)}, expected the first ${CONFIRM_CHARS} characters of the unsigned txid; nothing was signed`);
}

/** An approval the log says was paid by a payout this one does not replace. */
function alreadyPaid(review: PsbtReview, history: SignHistory): Finding[] {
  const inputs = review.inputs.map((i) => `${i.txid}:${i.vout}`);
  return review.outputs.flatMap((o): Finding[] => {
    if (o.kind !== 'external' || !o.approval) return [];
    const earlier = paidElsewhere(history, approvalKey(o.approval.withdrawalId, o.approval.fingerprint), inputs);
    if (earlier.length === 0) return [];
    return [{
      code: 'APPROVAL_ALREADY_PAID', severity: 'refuse', output: o.index,
      message: `output ${o.index} (${o.address ?? `script ${o.scriptHex}`}, ${o.amountSat} sat): the approval of withdrawal ${o.approval.withdrawalId} was already signed into ${earlier.map((p) => p.unsignedTxid).join(', ')} (sign log ${history.log}), and this payout spends none of its inputs: both could confirm; only a replacement of that payout may pay it again`,
    }];
  });
}

/** The rolling 24 h cap: what the log says was signed in the last 24 h plus this payout's external outputs. */
function dailyCap(review: PsbtReview, cap: bigint, window: SignWindow): Finding[] {
  const total = window.signedSat + review.externalTotalSat;
  if (total <= cap) return [];
  const external = review.outputs.filter((o) => o.kind === 'external').map((o) => `output ${o.index} ${o.address ?? o.scriptHex} ${o.amountSat} sat`);
  return [{
    code: 'DAILY_CAP', severity: 'refuse',
    message: `this payout's ${review.externalTotalSat} sat to external outputs (${external.join(', ')}) on top of ${window.signedSat} sat signed in the last 24 h (${window.payouts} payout(s), sign log ${window.log}) is ${total} sat, above the signer's 24 h cap of ${cap} sat`,
  }];
}
