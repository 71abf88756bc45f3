import { CodedError } from './errors.js';

/**
 * The life of a payout (DESIGN.md, "State"): a status only moves along these
 * arrows. Checked here in code, and guarded again in SQL by the payout store
 * (`UPDATE payouts … WHERE id = ? AND status = ?`), so two operators racing
 * on one payout cannot both win.
 *
 * `broadcast` is reached from built (or signed) when the signed PSBT is sent;
 * `confirmed` when the chain record shows its coins spent by its txid (from
 * any live status: a payout broadcast elsewhere confirms too); `abandoned`
 * when another version of it (a bump) confirmed. Nothing records `signed`
 * yet (the signer is offline and broadcast records the signed PSBT), but
 * the schema has it and every step treats it as live.
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
  abandoned: [],
});

/** The statuses a payout can still leave: it holds its coins and withdrawals, can be broadcast, bumped, confirmed. */
export const LIVE_PAYOUT_STATUSES: readonly PayoutStatus[] = Object.freeze(PAYOUT_STATUSES.filter((s) => PAYOUT_TRANSITIONS[s].length > 0));

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
