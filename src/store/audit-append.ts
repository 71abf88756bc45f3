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
  const [e] = await appendAuditEntries(db, t, [{ actor, action, subject, data }]);
  return e!;
}

/** Rows per multi-row INSERT of audit entries. */
const ENTRIES_PER_INSERT = 500;

/**
 * Append several entries in order, inside `t`: the head is read and locked
 * once, the chain computed in memory, the rows written in multi-row INSERTs
 * (a verifier cycle that records 1,000 first sights does not pay 4,000
 * statements), the head moved once.
 */
export async function appendAuditEntries(db: SqlDb, t: SqlExec, items: readonly { actor: string; action: string; subject: string; data: Record<string, unknown> }[]): Promise<AuditEntry[]> {
  if (items.length === 0) return [];
  const [head] = await t.all(`SELECT seq, hash FROM audit_head WHERE id = 1${db.forUpdate}`);
  if (!head) throw new CodedError('INTERNAL', 'audit_head is missing its row (schema 003 not applied?)');
  let prev = BigInt(String(head.seq)) === 0n ? undefined : { seq: BigInt(String(head.seq)), hash: String(head.hash) };
  const at = db.readTime(db.time(new Date()));
  const signer = db.auditSigner;
  const entries: AuditEntry[] = items.map((item) => {
    const unsigned = nextEntry(prev, { at, actor: item.actor, action: item.action, subject: item.subject, data: canonicalJson(item.data) });
    prev = unsigned;
    return signer ? { ...unsigned, keyId: signer.keyId, signature: signer.sign(unsigned.hash) } : unsigned;
  });
  for (let k = 0; k < entries.length; k += ENTRIES_PER_INSERT) {
    const part = entries.slice(k, k + ENTRIES_PER_INSERT);
    await t.run(`INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      part.flatMap((e) => [e.seq, db.time(new Date(e.at)), e.actor, e.action, e.subject, e.data, e.prevHash, e.hash]));
    const signed = part.filter((e) => e.keyId !== undefined);
    if (signed.length > 0) {
      await t.run(`INSERT INTO audit_signatures (seq, key_id, signature) VALUES ${signed.map(() => '(?, ?, ?)').join(', ')}`, signed.flatMap((e) => [e.seq, e.keyId, e.signature]));
    }
  }
  const last = entries[entries.length - 1]!;
  await t.run('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1', [last.seq, last.hash]);
  return entries;
}
