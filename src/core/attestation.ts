import { sign, verify, type KeyObject } from 'node:crypto';
import { approvalContentJson, parseApprovalContent, sameApprovalContent, type ApprovalContent } from './approval.js';
import { assertEd25519, keyIdOf, publicKeyFromHex } from './ed25519.js';
import type { Trust } from './trust.js';

/**
 * The verifier's attestation: its Ed25519 signature saying "the user
 * confirmed this request through the one-time token I emailed to the address
 * in my own mirror, the request did not change since I first saw it, and the
 * user was not on hold".
 *
 * It signs the same content an operator's approval signs (approval.ts: the
 * network, the request's id, app id and user, the destination script, the
 * amount and the first-sight fingerprint), under its own domain prefix, so
 * an attestation can never pass for an approval nor the other way round. The
 * verifier computes the fingerprint from its own first sight: when the
 * request changed before the operator tool first saw it, the two contents
 * differ and the attestation covers nothing the operators approved.
 *
 * ```text
 * coldpool attestation v1
 * {"network":"regtest","withdrawalId":"42",…,"fingerprint":"<64 hex>"}
 * ```
 *
 * test/attestation.test.ts pins the bytes and a signature.
 */
export const ATTESTATION_DOMAIN = 'coldpool attestation v1\n';

const SIGNATURE_HEX = /^[0-9a-f]{128}$/;

/** The exact bytes an attestation signature covers. */
export function attestationBytes(c: ApprovalContent): Buffer {
  return Buffer.from(`${ATTESTATION_DOMAIN}${JSON.stringify(approvalContentJson(c))}`, 'utf8');
}

/** Sign with the verifier's Ed25519 private key: 128 lower-case hex, deterministic (RFC 8032). */
export function signAttestation(c: ApprovalContent, privateKey: KeyObject): string {
  assertEd25519(privateKey);
  return sign(null, attestationBytes(c), privateKey).toString('hex');
}

/** True only when `signature` is `publicKey`'s attestation over exactly `c`; malformed input is false. */
export function verifyAttestation(c: ApprovalContent, signature: unknown, publicKey: KeyObject): boolean {
  if (typeof signature !== 'string' || !SIGNATURE_HEX.test(signature)) return false;
  return verify(null, attestationBytes(c), publicKey, Buffer.from(signature, 'hex'));
}

/** An attestation as stored in the web database (`attestations`) or carried in a manifest. */
export interface Attestation {
  /** keyIdOf(the verifier's public key), as the row claims it. */
  readonly keyId: string;
  readonly signature: string;
}

/** An attestation row as read: the content it claims (JSON text) and its signature. */
export interface StoredAttestation extends Attestation {
  readonly content: string;
}

export type AttestationState =
  /** The trust file's verifier signed exactly this content. */
  | 'attested'
  /** No attestation row at all (not confirmed yet, held, or refused). */
  | 'missing'
  /** Rows exist but none is the trusted verifier's signature over this content (forged, or over other content). */
  | 'invalid'
  /** The trust file names no verifier: attestations are not required and not checked. */
  | 'no-verifier';

export interface AttestationCheck {
  readonly state: AttestationState;
  /** The attestation that counted (state 'attested'). */
  readonly attestation: Attestation | undefined;
  /** Why rows were not counted, one per row. */
  readonly problems: readonly string[];
}

const keyCache = new WeakMap<Trust, { key: KeyObject; id: string }>();

/** The trust file's verifier key, or undefined when it names none. */
export function verifierKeyOf(trust: Trust): { key: KeyObject; id: string } | undefined {
  if (trust.verifier === null) return undefined;
  let k = keyCache.get(trust);
  if (!k) {
    k = { key: publicKeyFromHex(trust.verifier.publicKey, 'verifier.publicKey'), id: keyIdOf(trust.verifier.publicKey) };
    keyCache.set(trust, k);
  }
  return k;
}

/**
 * Which of the attestations of one request counts under `trust`: one whose
 * signature by the trust file's verifier key covers exactly `content` (the
 * content the operators approved). The row's own content text is the web
 * database's word and is only compared, never believed.
 */
export function checkAttestation(trust: Trust, content: ApprovalContent, rows: readonly (Attestation & { content?: string })[]): AttestationCheck {
  const verifier = verifierKeyOf(trust);
  if (!verifier) return { state: 'no-verifier', attestation: undefined, problems: [] };
  if (rows.length === 0) return { state: 'missing', attestation: undefined, problems: [] };
  const problems: string[] = [];
  for (const row of rows) {
    if (row.keyId !== verifier.id) {
      problems.push(`signed by key ${row.keyId}, not the trusted verifier ${verifier.id}`);
      continue;
    }
    if (row.content !== undefined && !sameContentText(row.content, content)) {
      problems.push('its content is not the content the operators approved (the request changed, or the row was edited)');
      continue;
    }
    if (!verifyAttestation(content, row.signature, verifier.key)) {
      problems.push('its signature does not verify under the trusted verifier key over this content (a forged or edited row)');
      continue;
    }
    return { state: 'attested', attestation: { keyId: row.keyId, signature: row.signature }, problems };
  }
  return { state: 'invalid', attestation: undefined, problems };
}

function sameContentText(text: string, content: ApprovalContent): boolean {
  try {
    return sameApprovalContent(parseApprovalContent(JSON.parse(text)), content);
  } catch {
    return false;
  }
}
