import { hash } from 'node:crypto';
import type { LedgerEntry, MirroredEntry } from './ports.js';

/**
 * The rules the verifier reconciles the web app's ledger by (sql/README.md,
 * "The ledger views"). Pure: no I/O.
 *
 * - kind 'deposit' is a chain deposit, ref 'txid:vout', amount positive;
 *   kind 'withdrawal' a payout, amount negative; any other kind is an
 *   internal movement the chain cannot confirm.
 * - An internal entry WITH a ref belongs to a zero-sum group: the internal
 *   entries sharing that ref must sum to zero across users (a trade, a
 *   transfer, a fee credited to a house account). One WITHOUT a ref (a
 *   bonus, an adjustment) is unchecked.
 * - The verifier's balance counts an internal entry when it is a debit
 *   (a debit never lets anyone withdraw more), or a credit in a group that
 *   sums to zero and that came in order; other credits are not counted.
 */

export const DEPOSIT = 'deposit';
export const WITHDRAWAL = 'withdrawal';

export function isInternal(kind: string): boolean {
  return kind !== DEPOSIT && kind !== WITHDRAWAL;
}

/** The canonical text of an entry: every column, unambiguous (a field cannot spill into the next). */
export function entryText(e: LedgerEntry): string {
  return JSON.stringify([e.entryId.toString(), e.user, e.amountSat.toString(), e.kind, e.ref ?? null, e.createdAt]);
}

/** sha256 hex of the canonical entry: equal fingerprints, equal entries. */
export function entryFingerprint(e: LedgerEntry): string {
  // crypto.hash (Node 20.12+): the one-shot digest, without a Hash object per entry (a full pass makes 1,000,000).
  return hash('sha256', entryText(e), 'hex');
}

/** `txid:vout` as a deposit entry's ref must be (64 hex digits, a colon, a decimal output index). */
export function isOutpointRef(ref: string | undefined): ref is string {
  return ref !== undefined && /^[0-9a-f]{64}:(0|[1-9][0-9]{0,5})$/.test(ref);
}

/** A group of internal entries sharing a ref: its sum, size and the latest first sight in it. */
export interface RefGroup {
  sum: bigint;
  count: number;
  lastSeenMs: number;
  /** Some entry of it came in out of order. */
  late: boolean;
}

/** Date.parse of the last first-sight text: a pass's entries share a handful of them, parsed once each in a row. */
let lastSeenText = '';
let lastSeenMs = Number.NaN;
function parseSeen(text: string): number {
  if (text !== lastSeenText) {
    lastSeenText = text;
    lastSeenMs = Date.parse(text);
  }
  return lastSeenMs;
}

export function addToGroup(groups: Map<string, RefGroup>, e: MirroredEntry): void {
  if (!isInternal(e.kind) || e.ref === undefined || e.ref === '') return;
  const seen = parseSeen(e.firstSeenAt);
  const g = groups.get(e.ref);
  if (g === undefined) groups.set(e.ref, { sum: e.amountSat, count: 1, lastSeenMs: seen, late: e.late });
  else {
    g.sum += e.amountSat;
    g.count++;
    if (seen > g.lastSeenMs) g.lastSeenMs = seen;
    g.late ||= e.late;
  }
}

/** Whether an internal entry counts in the verifier's balance, given the groups of its ref. */
export function countsAsReconciled(e: MirroredEntry, groups: ReadonlyMap<string, RefGroup>): boolean {
  if (!isInternal(e.kind)) return false;
  if (e.amountSat < 0n) return true;
  if (e.late || e.ref === undefined || e.ref === '') return false;
  const g = groups.get(e.ref);
  return g !== undefined && g.sum === 0n && !g.late;
}

/** Each user's reconciled internal total over these entries (every entry of their groups must be among them). */
export function reconciledTotals(entries: readonly MirroredEntry[], users?: ReadonlySet<string>): Map<string, bigint> {
  const groups = new Map<string, RefGroup>();
  for (const e of entries) addToGroup(groups, e);
  const out = new Map<string, bigint>();
  for (const e of entries) {
    if (users !== undefined && !users.has(e.user)) continue;
    if (!countsAsReconciled(e, groups)) continue;
    out.set(e.user, (out.get(e.user) ?? 0n) + e.amountSat);
  }
  return out;
}
