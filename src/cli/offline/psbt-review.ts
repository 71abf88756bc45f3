import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatBtc } from '../../core/amount.js';
import { parseAccountDescriptor, type AccountDescriptor } from '../../core/descriptor.js';
import { CodedError } from '../../core/errors.js';
import { parseNetwork, type Network } from '../../core/network.js';
import { parseManifest, type PayoutManifest } from '../../core/payout-manifest.js';
import { parsePsbt, sighashName, type PsbtReview } from '../../core/psbt-inspect.js';
import { DEFAULT_SIGNER_POLICY, formatSatPerVb, parseSignerPolicy, type SignerPolicy } from '../../core/signer-policy.js';
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
  lines.push(`unsigned txid ${review.unsigned_txid}  network ${review.network}  account ${review.fingerprint ?? '(none given)'}  version ${review.version}  locktime ${review.locktime}`);
  lines.push('');
  lines.push(`inputs: ${review.inputs.length}, ours ${review.inputs_ours}, signed ${review.inputs_signed}`);
  lines.push(table(['#', 'outpoint', 'amount_sat', 'ours', 'path', 'prev tx', 'sigs'], review.inputs.map((i) => [
    i.index, `${i.txid}:${i.vout}`, i.value_sat === null ? '?' : i.value_sat, i.ours === null ? '?' : i.ours ? 'yes' : 'NO', i.path ?? '-',
    i.non_witness_utxo, i.finalized ? 'final' : i.signatures.map((s) => sighashName(s.sighash)).join(',') || '-',
  ])));
  lines.push('');
  lines.push(`outputs: ${review.outputs.length}`);
  lines.push(table(['#', 'address', 'amount_sat', 'BTC', 'kind', 'path / withdrawal'], review.outputs.map((o) => [
    o.index, o.address ?? `script ${o.script_hex}`, o.amount_sat, formatBtc(o.amount_sat), o.kind, o.path ?? o.withdrawal_id ?? '-',
  ])));
  lines.push('');
  lines.push(`in  ${review.input_total_sat ?? '?'} sat = external ${review.external_total_sat} + change ${review.change_total_sat} + fee ${review.fee_sat ?? '?'} sat`);
  lines.push(`fee ${review.fee_sat ?? '?'} sat (${review.fee_sat === null ? '?' : formatBtc(review.fee_sat)} BTC), vsize ${review.vsize}${review.vsize_estimated ? ' (estimated)' : ''}, fee rate ${review.fee_rate_sat_vb ?? '?'} sat/vB (${review.fee_rate_sat_kvb ?? '?'} sat/kvB)`);
  if (review.findings.length > 0) {
    lines.push('');
    lines.push('findings:');
    for (const f of review.findings) lines.push(`  ${f.severity === 'refuse' ? 'REFUSE' : 'warn  '} ${f.code}: ${f.message}`);
  }
  return lines.join('\n');
}

/** The review for `--json` (sats as strings). */
export function reviewJson(review: PsbtReview, extra: Record<string, unknown> = {}): string {
  return toJson({ ...review, ...extra });
}

export function policySummary(policy: SignerPolicy): string {
  return `caps: fee <= ${policy.maxFeeSat} sat, fee rate <= ${formatSatPerVb(policy.maxFeeRateSatKvb)} sat/vB (${policy.source})`;
}
