import { parseAddress } from './address.js';
import { approvalContentJson, parseApprovalContent, type ApprovalContent } from './approval.js';
import type { Attestation } from './attestation.js';
import { parseSat } from './amount.js';
import { CodedError, show } from './errors.js';
import { NETWORK_NAMES, type Network, type NetworkName } from './network.js';
import type { Approval } from './trust.js';

/**
 * The payout manifest: what the operator approved, written by `coldpool payout
 * build` next to the PSBT and checked by `coldpool-offline sign --manifest`.
 * The signer refuses any PSBT output (other than change it recognises by
 * derivation) that is not in the manifest, and any amount that differs.
 *
 * Format (JSON, UTF-8; `formatManifest` writes keys in this order, two-space
 * indent, one trailing newline; readers accept any key order but refuse
 * unknown keys, so a field nobody checks cannot ride along):
 *
 * ```json
 * {
 *   "format": "coldpool-payout-manifest",
 *   "version": 1,
 *   "network": "regtest",
 *   "unsigned_txid": "<64 hex, display order: the txid of the unsigned transaction>",
 *   "outputs": [
 *     { "withdrawal_id": "1001", "address": "bcrt1q…", "amount_sat": "150000",
 *       "approval": {
 *         "content": { "network": "regtest", "withdrawalId": "1001", "appId": "w-1001", "user": "alice",
 *                      "script": "0014…", "amountSat": "150000", "fingerprint": "<64 hex>" },
 *         "signatures": [ { "key_id": "<16 hex>", "signature": "<128 hex>" } ] } }
 *   ],
 *   "change": [
 *     { "address": "bcrt1q…", "amount_sat": "48000", "path": "m/84'/1'/0'/1/7" }
 *   ]
 * }
 * ```
 *
 * - `format` may be omitted by other writers; when present it must be exactly this.
 * - `amount_sat` is a decimal string of satoshis (1..2.1e15), never a float.
 * - `outputs` are the withdrawals paid, one entry per PSBT output; the same
 *   address may appear twice (two withdrawals to one address are two outputs).
 * - `approval` (optional for the format, required by a signer with a trust
 *   file): the content the operators signed, exactly as signed (the JSON form
 *   of core/approval.ts, whose keys are part of the signed bytes), and their
 *   Ed25519 signatures with the ids of the keys that made them. The signer
 *   checks them against its own trust file and that the content's script and
 *   amount are exactly this output's.
 * - `attestation` (optional for the format, required by a signer whose trust
 *   file names a verifier; only beside an `approval`): the verifier's Ed25519
 *   signature (core/attestation.ts) over exactly the approval's `content`,
 *   under its own domain prefix, and the id of the key that made it. The
 *   signer checks it under its own trust file's verifier key.
 * - `outputs` is empty only for a cancel (`payout cancel`: one coin back to
 *   our change); then `change` is not.
 * - `change` lists the change outputs the builder added (may be empty); the
 *   signer checks them against the outputs it recognises by derivation.
 *
 * The file's keys are snake_case while `PayoutManifest` is camelCase: the
 * file crosses the air gap and may be written by other tools, so its format is
 * a contract of its own that a rename in the code must not change.
 * `parseManifest` and `formatManifest` are the only places that know its keys.
 */
export const MANIFEST_FORMAT = 'coldpool-payout-manifest';
export const MANIFEST_VERSION = 1;

export interface ManifestOutput {
  readonly withdrawalId: string;
  readonly address: string;
  readonly amountSat: bigint;
  /** What the operators signed for this output, and their signatures; absent in a manifest without proof. */
  readonly approval?: ManifestApproval | undefined;
  /** The verifier's attestation over `approval.content`; absent when the operator box's trust file names no verifier. */
  readonly attestation?: Attestation | undefined;
}

export interface ManifestApproval {
  readonly content: ApprovalContent;
  readonly signatures: readonly Approval[];
}

/** At most this many signatures per output: more operators than any trust file lists is not an approval, it is padding. */
const MAX_SIGNATURES = 100;

export interface ManifestChange {
  readonly address: string;
  readonly amountSat: bigint;
  /** `m/84'/c'/0'/1/j`, informative; the signer recognises change by the PSBT's own derivation data. */
  readonly path?: string | undefined;
}

export interface PayoutManifest {
  readonly version: typeof MANIFEST_VERSION;
  readonly network: NetworkName;
  readonly unsignedTxid: string;
  readonly outputs: readonly ManifestOutput[];
  readonly change: readonly ManifestChange[];
}

function bad(message: string): CodedError {
  return new CodedError('INVALID_INPUT', `payout manifest: ${message}`);
}

function object(value: unknown, where: string, allowed: readonly string[], required: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`${where} expected an object, got ${show(Array.isArray(value) ? 'array' : value)}`);
  const rec = value as Record<string, unknown>;
  const unknown = Object.keys(rec).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw bad(`${where} has unknown key(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; expected only ${allowed.join(', ')}`);
  const missing = required.filter((k) => !(k in rec));
  if (missing.length > 0) throw bad(`${where} is missing ${missing.map((k) => `"${k}"`).join(', ')}`);
  return rec;
}

function text(value: unknown, where: string, max = 200): string {
  if (typeof value !== 'string' || value === '' || value.length > max) throw bad(`"${where}" expected a non-empty string of at most ${max} characters, got ${show(value)}`);
  return value;
}

function amount(value: unknown, where: string): bigint {
  if (typeof value !== 'string') throw bad(`"${where}" expected a decimal string of satoshis like "150000", got ${show(value)}`);
  try {
    return parseSat(value, where);
  } catch (e) {
    throw bad((e as Error).message);
  }
}

/**
 * Parse and check a manifest (JSON text or an already parsed value). Checks
 * the shape, the network name, the txid form, every amount and, because the
 * signer must refuse a mainnet address in a regtest payout, that every
 * address is valid for the manifest's own network (NETWORK_MISMATCH otherwise).
 *
 * @example
 * const m = parseManifest(readFileSync('payout-12.manifest.json', 'utf8'));
 * m.outputs[0].amountSat // 150000n
 */
export function parseManifest(input: string | unknown): PayoutManifest {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (cause) {
      throw new CodedError('INVALID_INPUT', 'payout manifest: not valid JSON', { cause });
    }
  }
  const rec = object(value, 'top level', ['format', 'version', 'network', 'unsigned_txid', 'outputs', 'change'], ['version', 'network', 'unsigned_txid', 'outputs']);
  if ('format' in rec && rec.format !== MANIFEST_FORMAT) throw bad(`"format" expected "${MANIFEST_FORMAT}", got ${show(rec.format)}`);
  if (rec.version !== MANIFEST_VERSION) throw bad(`"version" expected ${MANIFEST_VERSION}, got ${show(rec.version)}`);
  if (typeof rec.network !== 'string' || !(NETWORK_NAMES as readonly string[]).includes(rec.network)) {
    throw bad(`"network" expected one of ${NETWORK_NAMES.join(', ')}, got ${show(rec.network)}`);
  }
  const network = rec.network as NetworkName;
  if (typeof rec.unsigned_txid !== 'string' || !/^[0-9a-f]{64}$/.test(rec.unsigned_txid)) {
    throw bad(`"unsigned_txid" expected 64 lower-case hex characters, got ${show(rec.unsigned_txid)}`);
  }
  // empty only for a cancel (`payout cancel`): no withdrawal, its coin back to our change (checked below)
  if (!Array.isArray(rec.outputs)) throw bad(`"outputs" expected an array, got ${show(rec.outputs)}`);
  const outputs = rec.outputs.map((o: unknown, i: number): ManifestOutput => {
    const r = object(o, `outputs[${i}]`, ['withdrawal_id', 'address', 'amount_sat', 'approval', 'attestation'], ['withdrawal_id', 'address', 'amount_sat']);
    const out: ManifestOutput = { withdrawalId: text(r.withdrawal_id, `outputs[${i}].withdrawal_id`), address: text(r.address, `outputs[${i}].address`, 90), amountSat: amount(r.amount_sat, `outputs[${i}].amount_sat`) };
    const approval = r.approval === undefined ? undefined : parseApproval(r.approval, `outputs[${i}].approval`);
    // An attestation signs the approval's content: without that content it would vouch for nothing anyone can check.
    if (r.attestation !== undefined && approval === undefined) throw bad(`outputs[${i}].attestation needs the "approval" whose content it signs`);
    const attestation = r.attestation === undefined ? undefined : signed(r.attestation, `outputs[${i}].attestation`);
    return { ...out, ...(approval ? { approval } : {}), ...(attestation ? { attestation } : {}) };
  });
  const ids = new Set<string>();
  for (const o of outputs) {
    if (ids.has(o.withdrawalId)) throw bad(`withdrawal_id ${show(o.withdrawalId)} appears twice: a withdrawal is paid once`);
    ids.add(o.withdrawalId);
  }
  const rawChange = rec.change ?? [];
  if (!Array.isArray(rawChange)) throw bad(`"change" expected an array, got ${show(rawChange)}`);
  const change = rawChange.map((o: unknown, i: number): ManifestChange => {
    const r = object(o, `change[${i}]`, ['address', 'amount_sat', 'path'], ['address', 'amount_sat']);
    return { address: text(r.address, `change[${i}].address`, 90), amountSat: amount(r.amount_sat, `change[${i}].amount_sat`), path: r.path === undefined ? undefined : text(r.path, `change[${i}].path`, 100) };
  });
  if (outputs.length === 0 && change.length === 0) throw bad('"outputs" and "change" are both empty: a payout pays a withdrawal, a cancel its change');
  const manifest: PayoutManifest = { version: MANIFEST_VERSION, network, unsignedTxid: rec.unsigned_txid, outputs, change };
  return manifest;
}

function parseApproval(value: unknown, where: string): ManifestApproval {
  const r = object(value, where, ['content', 'signatures'], ['content', 'signatures']);
  let content: ApprovalContent;
  try {
    content = parseApprovalContent(r.content, `${where}.content`);
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (!Array.isArray(r.signatures) || r.signatures.length > MAX_SIGNATURES) throw bad(`"${where}.signatures" expected an array of at most ${MAX_SIGNATURES} signatures, got ${show(Array.isArray(r.signatures) ? `${r.signatures.length} entries` : r.signatures)}`);
  const signatures = r.signatures.map((s: unknown, k: number): Approval => signed(s, `${where}.signatures[${k}]`));
  return { content, signatures };
}

/** `{"key_id", "signature"}`: an operator's approval signature or the verifier's attestation. */
function signed(value: unknown, where: string): { keyId: string; signature: string } {
  const e = object(value, where, ['key_id', 'signature'], ['key_id', 'signature']);
  if (typeof e.key_id !== 'string' || !/^[0-9a-f]{16}$/.test(e.key_id)) throw bad(`"${where}.key_id" expected 16 lower-case hex characters, got ${show(e.key_id)}`);
  if (typeof e.signature !== 'string' || !/^[0-9a-f]{128}$/.test(e.signature)) throw bad(`"${where}.signature" expected 128 lower-case hex characters, got ${show(e.signature)}`);
  return { keyId: e.key_id, signature: e.signature };
}

/**
 * Check every address of a manifest against `network` (the signer's).
 * Returns one message per address that is not valid there (empty when all are).
 */
export function manifestAddressProblems(manifest: PayoutManifest, network: Network): { address: string; message: string; code: string }[] {
  const problems: { address: string; message: string; code: string }[] = [];
  for (const entry of [...manifest.outputs, ...manifest.change]) {
    try {
      parseAddress(entry.address, network);
    } catch (e) {
      problems.push({ address: entry.address, message: (e as Error).message, code: e instanceof CodedError ? e.code : 'INVALID_INPUT' });
    }
  }
  return problems;
}

/** The canonical text of a manifest (see the format above). */
export function formatManifest(manifest: PayoutManifest): string {
  const value = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    network: manifest.network,
    unsigned_txid: manifest.unsignedTxid,
    outputs: manifest.outputs.map((o) => ({
      withdrawal_id: o.withdrawalId, address: o.address, amount_sat: o.amountSat.toString(),
      ...(o.approval === undefined ? {} : {
        approval: { content: approvalContentJson(o.approval.content), signatures: o.approval.signatures.map((s) => ({ key_id: s.keyId, signature: s.signature })) },
      }),
      ...(o.attestation === undefined ? {} : { attestation: { key_id: o.attestation.keyId, signature: o.attestation.signature } }),
    })),
    change: manifest.change.map((c) => ({ address: c.address, amount_sat: c.amountSat.toString(), ...(c.path === undefined ? {} : { path: c.path }) })),
  };
  return `${JSON.stringify(value, null, 2)}\n`;
}
