/**
 * The audit log (flow 8's record): check its hash chain, alone or against an
 * export kept on another machine, and read it out for such an export.
 */
import { compareWithExport, type AuditEntry, type ChainVerdict, type ExportVerdict } from '../core/audit-chain.js';
import { auditSignatureProblem, type AuditSignatureProblem } from '../core/audit-signature.js';
import type { AuditLog } from '../core/ports.js';
import type { Trust } from '../core/trust.js';

export interface AuditCheck {
  /** The live chain on its own: every hash, every link, the recorded head. */
  readonly live: ChainVerdict;
  /**
   * The live chain against `exported`; undefined without an export, or when
   * the live chain is already broken (then the export is not read at all).
   */
  readonly against: ExportVerdict | undefined;
  /**
   * With a trust file: every entry signed by its author's trusted key
   * (`problem` names the first that is not); undefined without a trust
   * file, or when the chain is already broken.
   */
  readonly signatures: SignatureVerdict | undefined;
}

export type SignatureVerdict =
  | { readonly ok: true; readonly count: number }
  | { readonly ok: false; readonly count: number; readonly seq: bigint; readonly problem: AuditSignatureProblem; readonly message: string };

/**
 * Verify the chain, then its signatures against `trust`, then compare it
 * with an earlier export. A chain rewritten with every hash recomputed
 * verifies on its own, but not against the copy, and not against the trust
 * file: its new hashes carry no signature of a key the database never held.
 */
export async function verifyAuditLog(log: AuditLog, exported?: AsyncIterable<AuditEntry> | Iterable<AuditEntry>, trust?: Trust): Promise<AuditCheck> {
  const live = await log.verifyAudit();
  if (!live.ok) return { live, against: undefined, signatures: undefined };
  const signatures = trust === undefined ? undefined : await checkSignatures(log.auditEntries(), trust);
  if (exported === undefined || (signatures && !signatures.ok)) return { live, against: undefined, signatures };
  return { live, against: await compareWithExport(log.auditEntries(), exported), signatures };
}

async function checkSignatures(entries: AsyncIterable<AuditEntry>, trust: Trust): Promise<SignatureVerdict> {
  let count = 0;
  for await (const e of entries) {
    count++;
    const p = auditSignatureProblem(e, trust);
    if (p) return { ok: false, count, seq: e.seq, problem: p.problem, message: p.message };
  }
  return { ok: true, count };
}

/** Every entry in seq order, streamed (an export may be large). */
export function auditEntries(log: AuditLog): AsyncIterable<AuditEntry> {
  return log.auditEntries();
}
