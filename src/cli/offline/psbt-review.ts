import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { formatBtc } from '../../core/amount.js';
import { parseAccountDescriptor, type AccountDescriptor } from '../../core/descriptor.js';
import { CodedError } from '../../core/errors.js';
import { parseNetwork, type Network } from '../../core/network.js';
import { parseManifest, type PayoutManifest } from '../../core/payout-manifest.js';
import { parsePsbt, sighashName, type Finding, type PsbtReview } from '../../core/psbt-inspect.js';
import { DEFAULT_SIGNER_POLICY, formatSatPerVb, parseSignerPolicy, type SignerPolicy } from '../../core/signer-policy.js';
import type { OutputApprovalReview } from '../../core/output-approvals.js';
import type { OutputAttestationReview } from '../../core/output-attestations.js';
import type { Trust } from '../../core/trust.js';
import { readTrustFile } from '../../trust/trust-file.js';
import type { Psbt } from 'bitcoinjs-lib';
import { table, toJson } from '../output.js';

/** The files `inspect` and `sign` read, with errors that name the option. */

export function readFileFor(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CodedError('NOT_FOUND', `"${option}" file ${JSON.stringify(path)} does not exist`);
    throw new CodedError('USAGE', `"${option}" file ${JSON.stringify(path)} cannot be read: ${code ?? 'error'}`, { cause: e });
  }
}

export function loadPsbt(path: string): { psbt: Psbt; binary: boolean } {
  const bytes = readFileFor('PSBT', path);
  const binary = bytes.subarray(0, 5).equals(Buffer.from('70736274ff', 'hex'));
  return { psbt: parsePsbt(bytes), binary };
}

export function loadManifest(path: string | undefined): PayoutManifest | undefined {
  return path === undefined ? undefined : parseManifest(readFileFor('--manifest', path).toString('utf8'));
}

/** The name of the signer config looked for beside the keystore when --config is not given. */
export const SIGNER_CONFIG_NAME = 'coldpool-signer.json';

/** `--config F`, else `coldpool-signer.json` beside the keystore when present, else the defaults. */
export function loadPolicy(config: string | undefined, keystore: string | undefined): SignerPolicy {
  const path = config ?? (keystore === undefined ? undefined : join(dirname(keystore), SIGNER_CONFIG_NAME));
  if (path === undefined || (config === undefined && !existsSync(path))) return DEFAULT_SIGNER_POLICY;
  return parseSignerPolicy(readFileFor('--config', path).toString('utf8'), path);
}

/**
 * The signer's trust file: `--trust F`, else the config's "trust" (relative to
 * the config file), else none. Never anything the PSBT or the manifest names:
 * the signer's own copy is the one that counts.
 */
export function loadTrust(option: string | undefined, policy: SignerPolicy): { trust: Trust; path: string } | undefined {
  if (option !== undefined) return { trust: readTrustFile(option, '--trust'), path: option };
  if (policy.trust === null) return undefined;
  const path = isAbsolute(policy.trust) ? policy.trust : resolve(dirname(policy.source), policy.trust);
  return { trust: readTrustFile(path, `"trust" of signer config ${policy.source}`), path };
}

/** An account from `--descriptor` (with `--network` for tpub/vpub). */
export function accountFromDescriptor(text: string, networkName: string | undefined): AccountDescriptor {
  const key = /([xtzv]pub[1-9A-HJ-NP-Za-km-z]+)/.exec(text)?.[1] ?? '';
  let network: Network;
  if (networkName !== undefined) network = parseNetwork(networkName);
  else if (key.startsWith('tpub') || key.startsWith('vpub')) {
    throw new CodedError('USAGE', '"--network" is required with a tpub/vpub: testnet, signet and regtest share these keys');
  } else network = parseNetwork('mainnet');
  const parsed = parseAccountDescriptor(text, network);
  return { network: parsed.network, key: parsed.key, origin: parsed.origin };
}

/** The review as the operator reads it (stdout): every input and output, fee, findings. */
export function formatReview(review: PsbtReview, title: string): string {
  const lines: string[] = [];
  lines.push(`${title}`);
  lines.push(`unsigned txid ${review.unsignedTxid}  network ${review.network}  account ${review.fingerprint ?? '(none given)'}  version ${review.version}  locktime ${review.locktime}`);
  lines.push('');
  lines.push(`inputs: ${review.inputs.length}, ours ${review.inputsOurs}, signed ${review.inputsSigned}`);
  lines.push(table(['#', 'outpoint', 'amount_sat', 'ours', 'path', 'prev tx', 'sigs'], review.inputs.map((i) => [
    i.index, `${i.txid}:${i.vout}`, i.valueSat === null ? '?' : i.valueSat, i.ours === null ? '?' : i.ours ? 'yes' : 'NO', i.path ?? '-',
    i.nonWitnessUtxo, i.finalized ? 'final' : i.signatures.map((s) => sighashName(s.sighash)).join(',') || '-',
  ])));
  lines.push('');
  lines.push(`outputs: ${review.outputs.length}`);
  lines.push(table(['#', 'address', 'amount_sat', 'BTC', 'kind', 'path / withdrawal'], review.outputs.map((o) => [
    o.index, o.address ?? `script ${o.scriptHex}`, o.amountSat, formatBtc(o.amountSat), o.kind, o.path ?? o.withdrawalId ?? '-',
  ])));
  const approved = review.outputs.filter((o) => o.approval !== undefined);
  if (approved.length > 0) {
    lines.push('');
    lines.push('approvals:');
    for (const o of approved) lines.push(`  output ${o.index}: ${approvalLine(o.approval!)}`);
  }
  const attested = review.outputs.filter((o) => o.attestation !== undefined);
  if (attested.length > 0) {
    lines.push('');
    lines.push('attestations:');
    for (const o of attested) lines.push(`  output ${o.index}: ${attestationLine(o.attestation!)}`);
  }
  lines.push('');
  lines.push(`in  ${review.inputTotalSat ?? '?'} sat = external ${review.externalTotalSat} + change ${review.changeTotalSat} + fee ${review.feeSat ?? '?'} sat`);
  lines.push(`fee ${review.feeSat ?? '?'} sat (${review.feeSat === null ? '?' : formatBtc(review.feeSat)} BTC), vsize ${review.vsize}${review.vsizeEstimated ? ' (estimated)' : ''}, fee rate ${review.feeRateSatVb ?? '?'} sat/vB (${review.feeRateSatKvb ?? '?'} sat/kvB)`);
  if (review.findings.length > 0) {
    lines.push('');
    lines.push('findings:');
    for (const f of review.findings) lines.push(`  ${f.severity === 'refuse' ? 'REFUSE' : 'warn  '} ${f.code}: ${f.message}`);
  }
  return lines.join('\n');
}

function approvalLine(a: OutputApprovalReview | null): string {
  if (a === null) return 'NONE (no approval in the manifest)';
  const who = a.approvers.map((x) => `${x.operator ?? x.keyId}${x.valid === null ? '' : x.valid ? ' ok' : ` (${x.problem})`}`).join(', ') || 'nobody';
  const verdict = a.covered === null ? 'not checked (no trust file)' : a.covered ? `covered, ${a.approvers.filter((x) => x.valid).length} of ${a.required} required` : `NOT covered, ${a.approvers.filter((x) => x.valid).length} of ${a.required} required`;
  return `withdrawal ${a.withdrawalId} by ${who}: ${verdict}${a.mismatch ? `; ${a.mismatch}` : ''}`;
}

function attestationLine(a: OutputAttestationReview | null): string {
  if (a === null) return 'NONE (no attestation by the verifier in the manifest)';
  if (a.valid === null) return `by key ${a.keyId}: not checked (the trust file names no verifier)`;
  return a.valid ? `attested by verifier ${a.verifier}` : `INVALID: ${a.problem}`;
}

/**
 * The review as the JSON of `inspect --json` and of `sign --json`'s "review"
 * (documented in `coldpool-offline inspect --help`): the one place that knows
 * its snake_case keys and their order, so that scripts reading it see the same
 * bytes whatever the fields of PsbtReview are called.
 */
export function reviewWire(review: PsbtReview): Record<string, unknown> {
  return {
    network: review.network,
    fingerprint: review.fingerprint,
    unsigned_txid: review.unsignedTxid,
    version: review.version,
    locktime: review.locktime,
    inputs: review.inputs.map((i) => ({
      index: i.index, txid: i.txid, vout: i.vout, sequence: i.sequence, value_sat: i.valueSat, script_hex: i.scriptHex,
      address: i.address, ours: i.ours, path: i.path, pubkey: i.pubkey, non_witness_utxo: i.nonWitnessUtxo, sighash: i.sighash,
      signatures: i.signatures.map((s) => ({ pubkey: s.pubkey, sighash: s.sighash })), finalized: i.finalized,
    })),
    outputs: review.outputs.map((o) => ({
      index: o.index, address: o.address, script_hex: o.scriptHex, amount_sat: o.amountSat, kind: o.kind, path: o.path, withdrawal_id: o.withdrawalId,
      ...(o.approval === undefined ? {} : { approval: approvalWire(o.approval) }),
      ...(o.attestation === undefined ? {} : { attestation: o.attestation === null ? null : { key_id: o.attestation.keyId, verifier: o.attestation.verifier, valid: o.attestation.valid, problem: o.attestation.problem } }),
    })),
    input_total_sat: review.inputTotalSat,
    output_total_sat: review.outputTotalSat,
    change_total_sat: review.changeTotalSat,
    external_total_sat: review.externalTotalSat,
    fee_sat: review.feeSat,
    vsize: review.vsize,
    vsize_estimated: review.vsizeEstimated,
    fee_rate_sat_kvb: review.feeRateSatKvb,
    fee_rate_sat_vb: review.feeRateSatVb,
    inputs_signed: review.inputsSigned,
    inputs_ours: review.inputsOurs,
    findings: review.findings.map(findingWire),
  };
}

/** Present on an output only when a trust file is in use or the manifest carries an approval: scripts reading older reviews see the same bytes. */
function approvalWire(a: OutputApprovalReview | null): Record<string, unknown> | null {
  if (a === null) return null;
  return {
    withdrawal_id: a.withdrawalId,
    approvers: a.approvers.map((x) => ({ key_id: x.keyId, operator: x.operator, valid: x.valid, problem: x.problem })),
    required: a.required,
    covered: a.covered,
    mismatch: a.mismatch,
  };
}

/** A finding as in the review JSON and in sign's refusal context; input/output are left out, not null, on a finding about the whole transaction. */
export function findingWire(f: Finding): Record<string, unknown> {
  return { code: f.code, severity: f.severity, message: f.message, ...(f.input === undefined ? {} : { input: f.input }), ...(f.output === undefined ? {} : { output: f.output }) };
}

/** The review for `--json` (sats as strings). */
export function reviewJson(review: PsbtReview, extra: Record<string, unknown> = {}): string {
  return toJson({ ...reviewWire(review), ...extra });
}

export function policySummary(policy: SignerPolicy): string {
  const limits = [
    ...(policy.maxPayoutSat === null ? [] : [`payout <= ${policy.maxPayoutSat} sat`]),
    ...(policy.max24hSat === null ? [] : [`24 h <= ${policy.max24hSat} sat`]),
  ];
  return `caps: fee <= ${policy.maxFeeSat} sat, fee rate <= ${formatSatPerVb(policy.maxFeeRateSatKvb)} sat/vB${limits.map((l) => `, ${l}`).join('')} (${policy.source})`;
}

/** The caps object of `inspect --json`; the limits only when set, so the JSON without them is unchanged. */
export function capsWire(policy: SignerPolicy): Record<string, unknown> {
  return {
    max_fee_sat: policy.maxFeeSat, max_fee_rate_sat_kvb: policy.maxFeeRateSatKvb, source: policy.source,
    ...(policy.maxPayoutSat === null ? {} : { max_payout_sat: policy.maxPayoutSat }),
    ...(policy.max24hSat === null ? {} : { max_24h_sat: policy.max24hSat }),
  };
}
