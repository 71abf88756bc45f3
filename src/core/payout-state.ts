import { CodedError } from './errors.js';

/**
 * The life of a payout (DESIGN.md, "State"): a status only moves along these
 * arrows. Checked here in code, and guarded again in SQL by the payout store
 * (`UPDATE payouts … WHERE id = ? AND status = ?`), so two operators racing
 * on one payout cannot both win.
 *
 * `signed` when the operator box first sees the signed PSBT (`payout
 * record-signed`, or `payout broadcast` before it sends); `broadcast` when the
 * signed PSBT is sent; `confirmed` when the chain record shows its coins spent
 * by its txid (from any live status: a payout broadcast elsewhere confirms
 * too); `abandoned` for one of the ABANDON_KINDS (schema 012). An abandoned
 * payout may still become `confirmed`: one given up while a signed copy
 * existed can be broadcast by whoever holds it, and the chain is the truth.
 */
export const PAYOUT_STATUSES = ['built', 'signed', 'broadcast', 'confirmed', 'abandoned'] as const;
export type PayoutStatus = (typeof PAYOUT_STATUSES)[number];

/** Each status by name, for code that names one (`PAYOUT.broadcast`, not a string literal). */
export const PAYOUT: Readonly<{ [S in PayoutStatus]: S }> = Object.freeze({
  built: 'built', signed: 'signed', broadcast: 'broadcast', confirmed: 'confirmed', abandoned: 'abandoned',
});

export const PAYOUT_TRANSITIONS: Readonly<Record<PayoutStatus, readonly PayoutStatus[]>> = Object.freeze({
  built: ['signed', 'broadcast', 'confirmed', 'abandoned'],
  signed: ['broadcast', 'confirmed', 'abandoned'],
  broadcast: ['confirmed', 'abandoned'],
  confirmed: [],
  // it confirmed anyway (a signed copy was broadcast): recorded, alerted
  abandoned: ['confirmed'],
});

/** The statuses that hold their coins and withdrawals: can be signed, broadcast, bumped, confirmed. */
export const LIVE_PAYOUT_STATUSES: readonly PayoutStatus[] = Object.freeze(['built', 'signed', 'broadcast'] as const);

/**
 * Why a payout is abandoned (payouts.abandon_kind, schema 012):
 * - `replaced`: another version of it (a bump) confirmed (NULL on rows older than 012);
 * - `given_up`: the operator gave it up (`payout abandon`); its withdrawals went back to
 *   approved, and until one of its coins is spent by another transaction in a block, the
 *   next payout of any of them must spend one of its coins (so at most one confirms);
 * - `failed`: a payout it conflicts with confirmed first (its withdrawals were paid by that one).
 */
export const ABANDON_KINDS = ['replaced', 'given_up', 'failed'] as const;
export type AbandonKind = (typeof ABANDON_KINDS)[number];

export function isPayoutStatus(s: unknown): s is PayoutStatus {
  return typeof s === 'string' && (PAYOUT_STATUSES as readonly string[]).includes(s);
}

/** True for built, signed and broadcast (not for confirmed, abandoned or anything unknown). */
export function isLivePayout(s: unknown): s is PayoutStatus {
  return isPayoutStatus(s) && LIVE_PAYOUT_STATUSES.includes(s);
}

export function canMovePayout(from: PayoutStatus, to: PayoutStatus): boolean {
  return PAYOUT_TRANSITIONS[from].includes(to);
}
