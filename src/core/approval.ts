import { sign, verify, type KeyObject } from 'node:crypto';
import { parseAddress } from './address.js';
import { checkAmountSat, parseSat } from './amount.js';
import { assertEd25519 } from './ed25519.js';
import { CodedError, show } from './errors.js';
import { NETWORK_NAMES, type Network, type NetworkName } from './network.js';
import { fingerprint, type RequestContent } from './withdrawal-rules.js';

/**
 * What an operator's approval of one withdrawal says, and the exact bytes
 * its Ed25519 signature covers.
 *
 * The content names the output the way the signer sees it (the scriptPubKey,
 * not the address text, so two spellings of one address cannot differ and an
 * address the web host swapped cannot match), the amount, and the request it
 * answers: network, withdrawal id, app id, user, and the fingerprint taken
 * when the operator tool first saw the row. So a signature made for one
 * request cannot be replayed on another, on another network, or on the same
 * row after an edit.
 *
 * Bytes: the domain prefix, then canonical JSON with exactly these keys in
 * exactly this order, numbers as decimal strings, no spaces, UTF-8:
 *
 * ```text
 * coldpool approval v1
 * {"network":"regtest","withdrawalId":"42","appId":"w-42","user":"u1","script":"0014…","amountSat":"150000","fingerprint":"<64 hex>"}
 * ```
 *
 * The prefix keeps a signature over this from ever being valid as any other
 * message an operator key signs (audit entries, later formats): they carry
 * other prefixes. Changing anything here is a new version with a new prefix;
 * test/approval.test.ts pins the bytes and a signature.
 */

export const APPROVAL_DOMAIN = 'coldpool approval v1\n';

export interface ApprovalContent {
  readonly network: NetworkName;
  readonly withdrawalId: bigint;
  readonly appId: string;
  readonly user: string;
  /** The destination's scriptPubKey, lower-case hex. */
  readonly script: string;
  readonly amountSat: bigint;
  /** sha256 of the request's content text when the operator tool first saw it (withdrawal-rules.ts), 64 lower-case hex. */
  readonly fingerprint: string;
}

/** The JSON form of ApprovalContent, as signed and as carried in files: ids and amounts as decimal strings. */
export interface ApprovalContentJson {
  readonly network: string;
  readonly withdrawalId: string;
  readonly appId: string;
  readonly user: string;
  readonly script: string;
  readonly amountSat: string;
  readonly fingerprint: string;
}

const CONTENT_KEYS = ['network', 'withdrawalId', 'appId', 'user', 'script', 'amountSat', 'fingerprint'] as const;
const HEX64 = /^[0-9a-f]{64}$/;
/** A scriptPubKey is at most 10,000 bytes by consensus; a standard one far less. */
const SCRIPT_HEX = /^(?:[0-9a-f]{2}){1,10000}$/;
const SIGNATURE_HEX = /^[0-9a-f]{128}$/;

/**
 * The content to sign for a request as it stands, with the fingerprint taken
 * at first sight. A caller compares `firstSight` with the current row's
 * fingerprint before signing: this function signs off on what the row says
 * now, with the first-sight fingerprint as the witness of what it said then.
 *
 * @example
 * approvalContentFor(NETWORKS.regtest, request, seenFingerprint)
 */
export function approvalContentFor(network: Network, request: RequestContent, firstSight: string = fingerprint(request)): ApprovalContent {
  const destination = parseAddress(request.destination, network);
  return checkContent({
    network: network.name,
    withdrawalId: request.id,
    appId: request.appId,
    user: request.user,
    script: destination.scriptHex,
    amountSat: request.amountSat,
    fingerprint: firstSight,
  });
}

/** The fields in their fixed order, numbers as decimal strings. */
export function approvalContentJson(c: ApprovalContent): ApprovalContentJson {
  checkContent(c);
  return {
    network: c.network,
    withdrawalId: c.withdrawalId.toString(),
    appId: c.appId,
    user: c.user,
    script: c.script,
    amountSat: c.amountSat.toString(),
    fingerprint: c.fingerprint,
  };
}

/** The exact bytes an approval signature covers. */
export function approvalBytes(c: ApprovalContent): Buffer {
  return Buffer.from(`${APPROVAL_DOMAIN}${JSON.stringify(approvalContentJson(c))}`, 'utf8');
}

/**
 * Read the JSON form back (from a manifest or a database row), strictly:
 * every key present, no other key, each field well formed. `field` prefixes
 * the path in error messages ("outputs[2].approval.content.script").
 */
export function parseApprovalContent(v: unknown, field = 'content'): ApprovalContent {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(field, 'an object', v);
  const r = v as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!(CONTENT_KEYS as readonly string[]).includes(k)) throw new CodedError('INVALID_INPUT', `"${field}.${k}" is not a field of an approval's content (expected ${CONTENT_KEYS.join(', ')})`);
  }
  for (const k of CONTENT_KEYS) if (!(k in r)) throw new CodedError('INVALID_INPUT', `"${field}.${k}" is missing`);
  if (typeof r.withdrawalId !== 'string' || !/^[1-9]\d{0,18}$/.test(r.withdrawalId)) throw bad(`${field}.withdrawalId`, 'a positive decimal integer string', r.withdrawalId);
  if (typeof r.amountSat !== 'string') throw bad(`${field}.amountSat`, 'satoshis as a decimal string', r.amountSat);
  return checkContent({
    network: r.network as NetworkName,
    withdrawalId: BigInt(r.withdrawalId),
    appId: r.appId as string,
    user: r.user as string,
    script: r.script as string,
    amountSat: parseSat(r.amountSat, `${field}.amountSat`),
    fingerprint: r.fingerprint as string,
  }, field);
}

/** True when two contents are the same approval target, field for field. */
export function sameApprovalContent(a: ApprovalContent, b: ApprovalContent): boolean {
  return approvalBytes(a).equals(approvalBytes(b));
}

/** Sign `c` with an operator's Ed25519 private key; 64 bytes as 128 lower-case hex. Deterministic (RFC 8032). */
export function signApproval(c: ApprovalContent, privateKey: KeyObject): string {
  assertEd25519(privateKey);
  if (privateKey.type !== 'private') throw new CodedError('INVALID_INPUT', 'signing an approval needs an Ed25519 private key, got a public one');
  return sign(null, approvalBytes(c), privateKey).toString('hex');
}

/**
 * True only when `signature` (128 lower-case hex) is `publicKey`'s signature
 * over exactly `c`. Malformed signatures are false, not errors: to the
 * caller they are one more approval that counts for nothing.
 */
export function verifyApproval(c: ApprovalContent, signature: string, publicKey: KeyObject): boolean {
  assertEd25519(publicKey);
  if (typeof signature !== 'string' || !SIGNATURE_HEX.test(signature)) return false;
  return verify(null, approvalBytes(c), publicKey, Buffer.from(signature, 'hex'));
}

function checkContent(c: ApprovalContent, field = 'content'): ApprovalContent {
  if (!(NETWORK_NAMES as readonly string[]).includes(c.network)) throw bad(`${field}.network`, `one of ${NETWORK_NAMES.join(', ')}`, c.network);
  if (typeof c.withdrawalId !== 'bigint' || c.withdrawalId < 1n) throw bad(`${field}.withdrawalId`, 'a positive integer id', c.withdrawalId);
  for (const k of ['appId', 'user'] as const) {
    if (typeof c[k] !== 'string' || c[k] === '' || c[k].length > 190) throw bad(`${field}.${k}`, '1..190 characters', c[k]);
  }
  if (typeof c.script !== 'string' || !SCRIPT_HEX.test(c.script)) throw bad(`${field}.script`, 'a scriptPubKey as lower-case hex', c.script);
  if (typeof c.amountSat !== 'bigint') throw bad(`${field}.amountSat`, 'satoshis as a bigint', c.amountSat);
  checkAmountSat(c.amountSat, `${field}.amountSat`);
  if (typeof c.fingerprint !== 'string' || !HEX64.test(c.fingerprint)) throw bad(`${field}.fingerprint`, 'a sha256 as 64 lower-case hex characters', c.fingerprint);
  return c;
}

function bad(field: string, expected: string, got: unknown): CodedError {
  return new CodedError('INVALID_INPUT', `"${field}" expected ${expected}, got ${show(got)}`);
}
