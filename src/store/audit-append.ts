import { canonicalJson, nextEntry, type AuditEntry } from '../core/audit-chain.js';
import { CodedError } from '../core/errors.js';
import type { SqlDb, SqlExec } from './sql-db.js';

/**
 * Append one audit entry inside the caller's transaction `t`, so the entry
 * lands with the state change it records or not at all. The `audit_head` row
 * is locked first (`FOR UPDATE` on MySQL; SQLite's write transaction is
 * already exclusive), so two operators' entries queue up and the hash chain
 * never forks. Every store that writes audit entries calls this one function.
 * With the handle's audit signer, the entry's hash is signed by its author's
 * key in the same transaction, so no entry is ever stored half-signed.
 */
export async function appendAudit(db: SqlDb, t: SqlExec, actor: string, action: string, subject: string, data: Record<string, unknown>): Promise<AuditEntry> {
  const [head] = await t.all(`SELECT seq, hash FROM audit_head WHERE id = 1${db.forUpdate}`);
  if (!head) throw new CodedError('INTERNAL', 'audit_head is missing its row (schema 003 not applied?)');
  const prev = BigInt(String(head.seq)) === 0n ? undefined : { seq: BigInt(String(head.seq)), hash: String(head.hash) };
  const at = db.readTime(db.time(new Date()));
  const unsigned = nextEntry(prev, { at, actor, action, subject, data: canonicalJson(data) });
  const signer = db.auditSigner;
  const e: AuditEntry = signer ? { ...unsigned, keyId: signer.keyId, signature: signer.sign(unsigned.hash) } : unsigned;
  await t.run('INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [e.seq, db.time(new Date(e.at)), e.actor, e.action, e.subject, e.data, e.prevHash, e.hash]);
  if (e.keyId !== undefined) await t.run('INSERT INTO audit_signatures (seq, key_id, signature) VALUES (?, ?, ?)', [e.seq, e.keyId, e.signature]);
  await t.run('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1', [e.seq, e.hash]);
  return e;
}
