import type { KeyObject } from 'node:crypto';
import { parseSat } from './amount.js';
import { verifyApproval, type ApprovalContent } from './approval.js';
import { keyIdOf, publicKeyFromHex } from './ed25519.js';
import { CodedError, show } from './errors.js';
import { NETWORK_NAMES, type NetworkName } from './network.js';

/**
 * The trust file (`coldpool-trust.json`): whose approvals count, and how many
 * it takes. The operator box and the signer each keep their own copy; the
 * signer's is the one that decides, so nothing here is ever read from the
 * database.
 *
 * ```json
 * {
 *   "format": "coldpool-trust",
 *   "version": 1,
 *   "network": "mainnet",
 *   "operators": [
 *     { "name": "alice", "publicKey": "<64 hex>", "id": "<16 hex>" }
 *   ],
 *   "approvals": { "required": 2, "tiers": [{ "aboveSat": "100000000", "required": 3 }] },
 *   "verifier": null
 * }
 * ```
 *
 * - `publicKey` is the raw 32-byte Ed25519 public key as 64 lower-case hex
 *   (the same text `coldpool operator keygen` prints);
 * - `id` is the first 16 hex characters of sha256 over those 32 bytes. It is
 *   redundant on purpose: a person compares it with the id an operator reads
 *   out, and the parser refuses a file whose id does not match its key;
 * - `approvals.required` distinct operators must approve every withdrawal; a
 *   tier raises that for amounts strictly above `aboveSat` (satoshis as a
 *   decimal string), the highest matching tier wins;
 * - `verifier` is the verifier's public key (`{"publicKey": "<64 hex>"}`),
 *   or null until one is set up;
 * - `auditors` (optional, same shape as `operators`) are the keys of the
 *   programs that write audit entries of their own (the operator box's
 *   follower, a cron job): their signature makes an entry theirs, it never
 *   counts as an approval, and a decision (approve, reject, cancel) must be
 *   signed by the operator who made it.
 *
 * Parsing is strict: an unknown key anywhere is refused with its path (a
 * misspelt "tiers" must not silently mean "no tiers"), as are duplicate
 * names or keys and a requirement no set of listed operators could meet.
 */

export const TRUST_FORMAT = 'coldpool-trust';
export const TRUST_VERSION = 1;
/** The file name the CLI suggests. */
export const TRUST_FILE_NAME = 'coldpool-trust.json';
/** A trust file lists a few people; anything far larger is not one. */
export const MAX_TRUST_BYTES = 256 * 1024;
const MAX_OPERATORS = 100;

export interface TrustedOperator {
  readonly name: string;
  /** Raw Ed25519 public key, 64 lower-case hex. */
  readonly publicKey: string;
  /** keyIdOf(publicKey). */
  readonly id: string;
}

export interface ApprovalTier {
  readonly aboveSat: bigint;
  readonly required: number;
}

export interface Trust {
  readonly format: typeof TRUST_FORMAT;
  readonly version: typeof TRUST_VERSION;
  readonly network: NetworkName;
  readonly operators: readonly TrustedOperator[];
  readonly approvals: { readonly required: number; readonly tiers: readonly ApprovalTier[] };
  readonly verifier: { readonly publicKey: string } | null;
  /** Program keys that may sign audit entries (never approvals). */
  readonly auditors: readonly TrustedOperator[];
}

/** Operator names: what review screens and audit entries show. */
const NAME = /^[^\p{Cc}\p{Cf}\s](?:[^\p{Cc}\p{Cf}]{0,62}[^\p{Cc}\p{Cf}\s])?$/u;

const TOP_KEYS = ['format', 'version', 'network', 'operators', 'approvals', 'verifier', 'auditors'] as const;
const OPTIONAL_TOP_KEYS: readonly string[] = ['auditors'];
const OPERATOR_KEYS = ['name', 'publicKey', 'id'] as const;
const APPROVALS_KEYS = ['required', 'tiers'] as const;
const TIER_KEYS = ['aboveSat', 'required'] as const;
const VERIFIER_KEYS = ['publicKey'] as const;

/**
 * Parse the text of a trust file; `source` names it in messages. Every
 * refusal is INVALID_INPUT and names the path of the offending field.
 */
export function parseTrustText(text: string, source = 'trust file'): Trust {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CodedError('INVALID_INPUT', `${source} is not JSON: ${(e as Error).message}`);
  }
  try {
    return parseTrust(v);
  } catch (e) {
    if (e instanceof CodedError && e.code === 'INVALID_INPUT') throw new CodedError('INVALID_INPUT', `${source}: ${e.message}`, { hint: e.hint });
    throw e;
  }
}

/** Check a parsed trust object; see the module comment for every rule. */
export function parseTrust(v: unknown): Trust {
  const top = record(v, '(top level)');
  onlyKeys(top, TOP_KEYS, '', OPTIONAL_TOP_KEYS);
  if (top.format !== TRUST_FORMAT) throw bad('format', `"${TRUST_FORMAT}"`, top.format);
  if (top.version !== TRUST_VERSION) throw bad('version', String(TRUST_VERSION), top.version);
  if (typeof top.network !== 'string' || !(NETWORK_NAMES as readonly string[]).includes(top.network)) {
    throw bad('network', `one of ${NETWORK_NAMES.join(', ')}`, top.network);
  }
  if (!Array.isArray(top.operators)) throw bad('operators', 'an array of {name, publicKey, id}', top.operators);
  if (top.operators.length > MAX_OPERATORS) throw bad('operators', `at most ${MAX_OPERATORS} operators`, top.operators.length);
  const operators = top.operators.map((o, i) => parseOperator(o, `operators[${i}]`));
  refuseDuplicates(operators);

  const approvals = record(top.approvals, 'approvals');
  onlyKeys(approvals, APPROVALS_KEYS, 'approvals.');
  const required = count(approvals.required, 'approvals.required', operators.length);
  if (!Array.isArray(approvals.tiers)) throw bad('approvals.tiers', 'an array (empty for no tiers)', approvals.tiers);
  const tiers: ApprovalTier[] = [];
  approvals.tiers.forEach((t, i) => {
    const path = `approvals.tiers[${i}]`;
    const tier = record(t, path);
    onlyKeys(tier, TIER_KEYS, `${path}.`);
    if (typeof tier.aboveSat !== 'string') throw bad(`${path}.aboveSat`, 'satoshis as a decimal string', tier.aboveSat);
    const aboveSat = parseSat(tier.aboveSat, `${path}.aboveSat`);
    const n = count(tier.required, `${path}.required`, operators.length);
    const before = tiers[tiers.length - 1];
    if (before && aboveSat <= before.aboveSat) throw bad(`${path}.aboveSat`, `more than the tier before it (${before.aboveSat}): tiers go in increasing order`, tier.aboveSat);
    // A tier that asks fewer approvals for more money is a typo, not a policy.
    if (n < (before?.required ?? required)) throw bad(`${path}.required`, `at least ${before?.required ?? required} (a higher tier never needs fewer approvals)`, n);
    tiers.push({ aboveSat, required: n });
  });

  let verifier: Trust['verifier'] = null;
  if (top.verifier !== null) {
    const ver = record(top.verifier, 'verifier');
    onlyKeys(ver, VERIFIER_KEYS, 'verifier.');
    publicKeyFromHex(ver.publicKey, 'verifier.publicKey');
    verifier = { publicKey: ver.publicKey as string };
  }
  const rawAuditors = top.auditors ?? [];
  if (!Array.isArray(rawAuditors) || rawAuditors.length > MAX_OPERATORS) throw bad('auditors', `an array of at most ${MAX_OPERATORS} {name, publicKey, id}`, rawAuditors);
  const auditors = rawAuditors.map((o, i) => parseOperator(o, `auditors[${i}]`));
  refuseDuplicates(auditors, 'auditors');
  // One key is one party: a program key that is also an operator's would let the program sign decisions as that person.
  auditors.forEach((a, i) => {
    const o = operators.find((p) => p.publicKey === a.publicKey || p.name === a.name);
    if (o) throw bad(`auditors[${i}]`, `a name and key no operator has (${o.name} has ${o.publicKey === a.publicKey ? 'this key' : 'this name'})`, a.name);
  });
  // The verifier's testimony must come from a party of its own: a key that also approves (or signs audit entries) would let one holder be both witnesses.
  if (verifier !== null) {
    const twin = [...operators, ...auditors].find((o) => o.publicKey === verifier!.publicKey);
    if (twin) throw bad('verifier.publicKey', `a key no operator or auditor has (${twin.name} has this key): the verifier is a party of its own`, verifier.publicKey);
  }
  return { format: TRUST_FORMAT, version: TRUST_VERSION, network: top.network as NetworkName, operators, approvals: { required, tiers }, verifier, auditors };
}

/** The canonical text of a trust file: fixed key order, two-space indent, one trailing newline. */
export function serializeTrust(t: Trust): string {
  const ordered = {
    format: t.format,
    version: t.version,
    network: t.network,
    operators: t.operators.map((o) => ({ name: o.name, publicKey: o.publicKey, id: o.id })),
    approvals: { required: t.approvals.required, tiers: t.approvals.tiers.map((x) => ({ aboveSat: x.aboveSat.toString(), required: x.required })) },
    verifier: t.verifier === null ? null : { publicKey: t.verifier.publicKey },
    // Written only when there are some, so a file without auditors keeps its bytes.
    ...(t.auditors.length === 0 ? {} : { auditors: t.auditors.map((o) => ({ name: o.name, publicKey: o.publicKey, id: o.id })) }),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** A trust file with no operators yet; `required` is checked when the first operators are added. */
export function emptyTrust(network: NetworkName): Trust {
  return { format: TRUST_FORMAT, version: TRUST_VERSION, network, operators: [], approvals: { required: 1, tiers: [] }, verifier: null, auditors: [] };
}

/**
 * `trust` with one more operator. Refuses (EXISTS) a name or key already
 * listed, so adding the same key file twice cannot make one person count
 * as two.
 */
export function withOperator(trust: Trust, operator: { name: string; publicKey: string }): Trust {
  const id = keyIdOf(operator.publicKey);
  const byName = trust.operators.find((o) => o.name === operator.name);
  if (byName) throw new CodedError('EXISTS', `operator name ${show(operator.name)} is already in the trust file (key ${byName.id})`, { hint: 'operator names are unique; remove the old entry first to replace a key' });
  const byKey = trust.operators.find((o) => o.publicKey === operator.publicKey);
  if (byKey) throw new CodedError('EXISTS', `key ${id} is already in the trust file as ${show(byKey.name)}`, { hint: 'one key is one operator: it cannot be listed twice under two names' });
  const next = { ...trust, operators: [...trust.operators, { name: operator.name, publicKey: operator.publicKey, id }] };
  // Re-check the whole file, so what is written is always what the parser accepts.
  return parseTrust(JSON.parse(serializeTrust(next)));
}

/**
 * `trust` with one more program key that may sign audit entries (never an
 * approval). Refuses (EXISTS) a name or key already listed anywhere in the
 * file: an operator's key must not double as a program's.
 */
export function withAuditor(trust: Trust, auditor: { name: string; publicKey: string }): Trust {
  const id = keyIdOf(auditor.publicKey);
  const taken = [...trust.operators, ...trust.auditors].find((o) => o.name === auditor.name || o.publicKey === auditor.publicKey);
  if (taken) throw new CodedError('EXISTS', `${taken.name === auditor.name ? `name ${show(auditor.name)}` : `key ${id}`} is already in the trust file (${taken.name}, key ${taken.id})`, { hint: 'a program key is a key of its own: make one with `coldpool operator keygen`' });
  const next = { ...trust, auditors: [...trust.auditors, { name: auditor.name, publicKey: auditor.publicKey, id }] };
  return parseTrust(JSON.parse(serializeTrust(next)));
}

/**
 * `trust` naming `publicKey` (64 hex, raw Ed25519) as its verifier, replacing
 * any earlier one. Refuses (EXISTS) a key that is an operator's or an
 * auditor's: the attestation is a second, independent testimony, so its key
 * must belong to nobody who approves.
 */
export function withVerifier(trust: Trust, publicKey: string): Trust {
  publicKeyFromHex(publicKey, '--public-key');
  const taken = [...trust.operators, ...trust.auditors].find((o) => o.publicKey === publicKey);
  if (taken) {
    throw new CodedError('EXISTS', `key ${keyIdOf(publicKey)} is already in the trust file as ${show(taken.name)} (${trust.operators.includes(taken) ? 'an operator' : 'an auditor'}): the verifier must have a key of its own`, {
      hint: 'give the public key the verifier printed (`coldpool verifier init`), not an operator key',
    });
  }
  return parseTrust(JSON.parse(serializeTrust({ ...trust, verifier: { publicKey } })));
}

/** `trust` with another base requirement; refused (INVALID_INPUT) when above the operators listed or a tier's. */
export function withRequired(trust: Trust, required: number): Trust {
  return parseTrust(JSON.parse(serializeTrust({ ...trust, approvals: { ...trust.approvals, required } })));
}

/**
 * How many distinct operators must approve `amountSat`: the highest tier
 * whose `aboveSat` is strictly below the amount, else `approvals.required`.
 */
export function requiredApprovals(trust: Trust, amountSat: bigint): number {
  let n = trust.approvals.required;
  for (const tier of trust.approvals.tiers) if (amountSat > tier.aboveSat) n = tier.required;
  return n;
}

export interface Approval {
  /** The id of the key that made the signature, as the approval claims it. */
  readonly keyId: string;
  /** 128 lower-case hex (approval.ts). */
  readonly signature: string;
}

export type ApprovalProblem = 'unknown key' | 'bad signature' | 'duplicate key' | 'wrong network';

export interface ApprovalCheck {
  /** Distinct trusted operators whose signature verifies over exactly this content, in the order their approvals came. */
  readonly valid: readonly TrustedOperator[];
  /** One entry per approval that counts for nothing, with its index in the input. */
  readonly problems: readonly { readonly index: number; readonly keyId: string; readonly problem: ApprovalProblem }[];
  /** requiredApprovals(trust, content.amountSat). */
  readonly required: number;
  /** True when `valid` has at least `required` operators. */
  readonly covered: boolean;
}

/**
 * Which approvals of one withdrawal count under `trust`. An approval counts
 * when its key is in the trust file and its signature verifies over exactly
 * `content`; a second valid approval by the same key counts once (two
 * approvals need two people). Content for another network than the trust
 * file's counts for nothing at all.
 */
export function checkApprovals(trust: Trust, content: ApprovalContent, approvals: readonly Approval[]): ApprovalCheck {
  const required = requiredApprovals(trust, content.amountSat);
  const keys = keysOf(trust);
  const valid: TrustedOperator[] = [];
  const problems: { index: number; keyId: string; problem: ApprovalProblem }[] = [];
  approvals.forEach((a, index) => {
    const keyId = a.keyId;
    if (content.network !== trust.network) return void problems.push({ index, keyId, problem: 'wrong network' });
    const known = keys.get(keyId);
    if (!known) return void problems.push({ index, keyId, problem: 'unknown key' });
    if (!verifyApproval(content, a.signature, known.key)) return void problems.push({ index, keyId, problem: 'bad signature' });
    if (valid.includes(known.operator)) return void problems.push({ index, keyId, problem: 'duplicate key' });
    valid.push(known.operator);
  });
  return { valid, problems, required, covered: valid.length >= required };
}

/** The operator a key id names, or undefined. */
export function operatorById(trust: Trust, keyId: string): TrustedOperator | undefined {
  return trust.operators.find((o) => o.id === keyId);
}

// Building a KeyObject per check would dominate checking a 1,000-output payout.
const keyCache = new WeakMap<Trust, Map<string, { operator: TrustedOperator; key: KeyObject }>>();

function keysOf(trust: Trust): Map<string, { operator: TrustedOperator; key: KeyObject }> {
  let keys = keyCache.get(trust);
  if (!keys) {
    keys = new Map(trust.operators.map((o) => [o.id, { operator: o, key: publicKeyFromHex(o.publicKey) }]));
    keyCache.set(trust, keys);
  }
  return keys;
}

/** An operator name: 1..64 printable characters without surrounding spaces; INVALID_INPUT naming `field` otherwise. */
export function checkOperatorName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !NAME.test(name)) throw bad(field, '1..64 printable characters without surrounding spaces', name);
  return name;
}

function parseOperator(v: unknown, path: string): TrustedOperator {
  const o = record(v, path);
  onlyKeys(o, OPERATOR_KEYS, `${path}.`);
  checkOperatorName(o.name, `${path}.name`);
  publicKeyFromHex(o.publicKey, `${path}.publicKey`);
  const id = keyIdOf(o.publicKey as string);
  if (o.id !== id) throw bad(`${path}.id`, `${JSON.stringify(id)} (the first 16 hex of sha256 of its publicKey)`, o.id);
  return { name: o.name as string, publicKey: o.publicKey as string, id };
}

function refuseDuplicates(operators: readonly TrustedOperator[], list = 'operators'): void {
  operators.forEach((o, i) => {
    const j = operators.findIndex((p) => p.name === o.name);
    if (j < i) throw bad(`${list}[${i}].name`, `a name not already used by ${list}[${j}]`, o.name);
    const k = operators.findIndex((p) => p.publicKey === o.publicKey);
    if (k < i) throw bad(`${list}[${i}].publicKey`, `a key not already listed as ${list}[${k}] (${operators[k]!.name}): one key is one party`, o.publicKey);
  });
}

function count(v: unknown, path: string, operators: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw bad(path, 'an integer of at least 1', v);
  if (v > operators) {
    throw new CodedError('INVALID_INPUT', `"${path}" is ${v}, but only ${operators} operator${operators === 1 ? ' is' : 's are'} listed: no approval could ever be enough`, {
      hint: 'add operators (`coldpool trust add-operator`) before raising the requirement',
    });
  }
  return v;
}

function record(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(path, 'an object', v);
  return v as Record<string, unknown>;
}

function onlyKeys(r: Record<string, unknown>, allowed: readonly string[], prefix: string, optional: readonly string[] = []): void {
  for (const k of Object.keys(r)) {
    if (!allowed.includes(k)) throw new CodedError('INVALID_INPUT', `"${prefix}${k}" is not a field of a trust file (expected ${allowed.map((a) => prefix + a).join(', ')})`);
  }
  for (const k of allowed) if (!(k in r) && !optional.includes(k)) throw new CodedError('INVALID_INPUT', `"${prefix}${k}" is missing`);
}

/** The party a key id names for the audit log: an operator or an auditor (program) key, with its KeyObject; undefined when neither. */
export function auditKeyOf(trust: Trust, keyId: string): { party: TrustedOperator; kind: 'operator' | 'auditor'; key: KeyObject } | undefined {
  const op = keysOf(trust).get(keyId);
  if (op) return { party: op.operator, kind: 'operator', key: op.key };
  let auditors = auditorCache.get(trust);
  if (!auditors) {
    auditors = new Map(trust.auditors.map((o) => [o.id, { operator: o, key: publicKeyFromHex(o.publicKey) }]));
    auditorCache.set(trust, auditors);
  }
  const a = auditors.get(keyId);
  return a ? { party: a.operator, kind: 'auditor', key: a.key } : undefined;
}
const auditorCache = new WeakMap<Trust, Map<string, { operator: TrustedOperator; key: KeyObject }>>();

function bad(path: string, expected: string, got: unknown): CodedError {
  return new CodedError('INVALID_INPUT', `"${path}" expected ${expected}, got ${show(got)}`);
}
