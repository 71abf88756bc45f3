import type { StoredAttestation } from '../core/attestation.js';
import type { SqlExec } from './sql-db.js';

/**
 * The verifier's attestation rows (schema 008) of `ids`, by withdrawal id as
 * text, in a fixed order (so a forged row cannot change which valid one is
 * carried from one run to the next). Rows are claims: the caller checks each
 * against the trust file's verifier key.
 */
export async function attestationsOf(x: SqlExec, ids: readonly bigint[], marks = ids.map(() => '?').join(', ')): Promise<Map<string, StoredAttestation[]>> {
  const out = new Map<string, StoredAttestation[]>();
  if (ids.length === 0) return out;
  const rows = await x.all(`SELECT withdrawal_id, key_id, content, signature FROM attestations WHERE withdrawal_id IN (${marks}) ORDER BY withdrawal_id, attested_at, signature`, ids);
  for (const r of rows) {
    const k = String(r.withdrawal_id);
    if (!out.has(k)) out.set(k, []);
    out.get(k)!.push({ keyId: String(r.key_id), content: String(r.content), signature: String(r.signature) });
  }
  return out;
}
