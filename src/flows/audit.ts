/**
 * The audit log (flow 8's record): check its hash chain, alone or against an
 * export kept on another machine, and read it out for such an export.
 */
import { compareWithExport, type AuditEntry, type ChainVerdict, type ExportVerdict } from '../core/audit-chain.js';
import type { AuditLog } from '../core/ports.js';

export interface AuditCheck {
  /** The live chain on its own: every hash, every link, the recorded head. */
  readonly live: ChainVerdict;
  /**
   * The live chain against `exported`; undefined without an export, or when
   * the live chain is already broken (then the export is not read at all).
   */
  readonly against: ExportVerdict | undefined;
}

/**
 * Verify the chain, then compare it with an earlier export: a chain
 * rewritten with every hash recomputed verifies on its own, but not against
 * the copy.
 */
export async function verifyAuditLog(log: AuditLog, exported?: AsyncIterable<AuditEntry> | Iterable<AuditEntry>): Promise<AuditCheck> {
  const live = await log.verifyAudit();
  if (!live.ok || exported === undefined) return { live, against: undefined };
  return { live, against: await compareWithExport(log.auditEntries(), exported) };
}

/** Every entry in seq order, streamed (an export may be large). */
export function auditEntries(log: AuditLog): AsyncIterable<AuditEntry> {
  return log.auditEntries();
}
