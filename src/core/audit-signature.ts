import { sign, verify, type KeyObject } from 'node:crypto';
import type { AuditEntry } from './audit-chain.js';
import type { AuditSigner } from './ports.js';
import { auditKeyOf, type Trust } from './trust.js';

/**
 * Signed audit entries. The hash chain alone proves order, not authorship:
 * anyone who can write the table can recompute every sha256. So each entry's
 * hash (which covers its fields and the hash before it) is signed with the
 * Ed25519 key of whoever wrote it, and `audit verify --trust` checks every
 * signature against keys the database never holds: a forged or rewritten
 * entry needs a private key that is not on the web host.
 *
 * The signed message is a domain prefix and the 64-hex hash, so an audit
 * signature can never be replayed as an approval (approval.ts has its own
 * prefix) or the other way round.
 */
export const AUDIT_DOMAIN = 'coldpool audit v1\n';

/**
 * What only an operator may decide: these entries must be signed by an
 * operator key whose trust-file name is the entry's actor; a program key
 * (an auditor) signing one is refused.
 */
export const OPERATOR_DECISIONS: ReadonlySet<string> = new Set([
  'withdrawal.approval', 'withdrawal.approved', 'withdrawal.rejected', 'withdrawal.cancelled', 'withdrawal.override_changed',
]);

export function auditMessage(hash: string): Buffer {
  return Buffer.from(`${AUDIT_DOMAIN}${hash}`, 'utf8');
}

/** An AuditSigner over an Ed25519 private key (an operator key file's, or the operator box's own). */
export function auditSigner(keyId: string, privateKey: KeyObject): AuditSigner {
  return Object.freeze({ keyId, sign: (hash: string) => sign(null, auditMessage(hash), privateKey).toString('hex') });
}

export type AuditSignatureProblem = 'missing signature' | 'unknown key' | 'bad signature' | 'not its operator';

/**
 * Why one entry's signature does not make it its author's, or undefined when
 * it does. Checks the signature over the entry's stored hash: the chain
 * verifier separately checks that the hash is the entry's.
 */
export function auditSignatureProblem(e: AuditEntry, trust: Trust): { problem: AuditSignatureProblem; message: string } | undefined {
  const what = `audit entry ${e.seq} (${e.action} ${e.subject} by ${e.actor})`;
  if (e.keyId === undefined || e.signature === undefined) return { problem: 'missing signature', message: `${what} is not signed` };
  const known = auditKeyOf(trust, e.keyId);
  if (!known) return { problem: 'unknown key', message: `${what} is signed by key ${e.keyId}, which is not in the trust file` };
  const ok = /^[0-9a-f]{128}$/.test(e.signature) && verify(null, auditMessage(e.hash), known.key, Buffer.from(e.signature, 'hex'));
  if (!ok) return { problem: 'bad signature', message: `${what}: the signature by ${known.party.name} (${e.keyId}) does not verify` };
  if (OPERATOR_DECISIONS.has(e.action) && (known.kind !== 'operator' || known.party.name !== e.actor)) {
    return { problem: 'not its operator', message: `${what} is a decision signed by ${known.kind} ${known.party.name} (${e.keyId}), not by operator ${e.actor}` };
  }
  return undefined;
}
