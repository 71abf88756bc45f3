import { CodedError } from './errors.js';

/**
 * The life of a withdrawal request (DESIGN.md, "State"): a status only moves
 * along these arrows. Checked here in code, and guarded again in SQL by every
 * store (`UPDATE … WHERE id = ? AND status = ?`), so two operators racing on
 * one request cannot both win.
 */
export const WITHDRAWAL_STATUSES = ['requested', 'approved', 'rejected', 'invalid', 'in_payout', 'broadcast', 'confirmed', 'failed', 'cancelled'] as const;
export type WithdrawalStatus = (typeof WITHDRAWAL_STATUSES)[number];

export const WITHDRAWAL_TRANSITIONS: Readonly<Record<WithdrawalStatus, readonly WithdrawalStatus[]>> = Object.freeze({
  requested: ['approved', 'rejected', 'invalid', 'cancelled'],
  // confirmed straight from approved: a payout given up (`payout abandon`) confirmed anyway
  approved: ['in_payout', 'cancelled', 'confirmed'],
  // back to approved when the payout it was locked to is given up (built, signed, or broadcast but dropped by the node)
  in_payout: ['broadcast', 'approved'],
  broadcast: ['confirmed', 'failed', 'approved'],
  rejected: [],
  invalid: [],
  confirmed: [],
  failed: [],
  cancelled: [],
});

export function isWithdrawalStatus(s: unknown): s is WithdrawalStatus {
  return typeof s === 'string' && (WITHDRAWAL_STATUSES as readonly string[]).includes(s);
}

export function canMove(from: WithdrawalStatus, to: WithdrawalStatus): boolean {
  return WITHDRAWAL_TRANSITIONS[from].includes(to);
}

/**
 * Throw STATE_CONFLICT unless `from → to` is an arrow of the table.
 *
 * @example
 * assertMove(5n, 'approved', 'rejected') // throws: withdrawal 5 is approved; approved → rejected is not allowed
 */
export function assertMove(id: bigint, from: WithdrawalStatus | string, to: WithdrawalStatus): void {
  if (isWithdrawalStatus(from) && canMove(from, to)) return;
  throw stateConflict(id, from, to);
}

/** The error of a move that is not allowed from the current state (or lost a race to another operator). */
export function stateConflict(id: bigint, current: string, to: WithdrawalStatus, expected?: string): CodedError {
  const allowed = isWithdrawalStatus(current) ? WITHDRAWAL_TRANSITIONS[current] : [];
  return new CodedError('STATE_CONFLICT', `withdrawal ${id} is ${current}${expected && expected !== current ? `, not ${expected}` : ''}; ${current} → ${to} is not allowed`, {
    hint: allowed.length > 0 ? `from ${current} it can only become ${allowed.join(' or ')}` : `${current} is final`,
    context: { id: id.toString(), current, to },
  });
}
