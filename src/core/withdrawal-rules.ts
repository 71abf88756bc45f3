import { createHash } from 'node:crypto';
import { AmountError, checkAmountSat, formatBtc } from './amount.js';
import { AddressError, parseAddress, type Destination } from './address.js';
import { CodedError, show } from './errors.js';
import type { Network } from './network.js';

/**
 * The intake rules of a withdrawal request, one set for the three doors (the
 * library, `coldpool withdrawals request`, a raw SQL INSERT read later by the
 * operator tool). Policy (limits, blocked addresses) is NOT checked here: it
 * lives on the operator box and shows up as risk flags in review.
 */
export interface RequestInput {
  readonly appId: string;
  readonly user: string;
  readonly address: string;
  readonly amountSat: bigint;
}

export interface ValidRequest {
  readonly appId: string;
  readonly user: string;
  readonly destination: Destination;
  readonly amountSat: bigint;
}

export type IntakeReason = 'app_id_invalid' | 'user_invalid' | 'amount_below_dust' | AddressError['reason'] | AmountError['reason'];

/** Ids are 1..190 printable characters without control codes (VARCHAR(190) in MySQL). */
const ID_TEXT = /^[^\p{Cc}\p{Cf}]{1,190}$/u;

export class IntakeError extends CodedError {
  readonly reason: IntakeReason;
  constructor(reason: IntakeReason, message: string, cause?: CodedError) {
    super(cause?.code ?? 'INVALID_INPUT', message, { context: { reason }, ...(cause ? { cause, hint: cause.hint } : {}) });
    this.reason = reason;
  }
}

/**
 * Check a request; throws IntakeError whose `reason` is a stable code and
 * whose message names the field, what was expected and what came.
 *
 * @example
 * validateRequest({ appId: 'w-1', user: 'u1', address: 'tb1q…', amountSat: 150000n }, NETWORKS.testnet)
 */
export function validateRequest(input: RequestInput, network: Network): ValidRequest {
  if (typeof input.appId !== 'string' || !ID_TEXT.test(input.appId) || input.appId.trim() !== input.appId) {
    throw new IntakeError('app_id_invalid', `"app_id" expected 1..190 printable characters without surrounding spaces, got ${show(input.appId)}`);
  }
  if (typeof input.user !== 'string' || !ID_TEXT.test(input.user) || input.user.trim() !== input.user) {
    throw new IntakeError('user_invalid', `"user" expected 1..190 printable characters without surrounding spaces, got ${show(input.user)}`);
  }
  let destination: Destination;
  try {
    destination = parseAddress(input.address, network);
  } catch (e) {
    if (e instanceof AddressError) throw new IntakeError(e.reason, e.message, e);
    throw e;
  }
  let amountSat: bigint;
  try {
    if (typeof input.amountSat !== 'bigint') throw new AmountError('amount_not_a_number', `"amount_sat" expected an integer number of satoshis, got ${show(input.amountSat)}`);
    amountSat = checkAmountSat(input.amountSat);
  } catch (e) {
    if (e instanceof AmountError) throw new IntakeError(e.reason, e.message, e);
    throw e;
  }
  if (amountSat < destination.dustSat) {
    throw new IntakeError('amount_below_dust', `"amount_sat" expected at least ${destination.dustSat} sat (the dust limit of a ${destination.type} output), got ${amountSat} (${formatBtc(amountSat)} BTC)`);
  }
  return { appId: input.appId, user: input.user, destination, amountSat };
}

/** What a request is, for idempotency and for the "changed since first seen" fingerprint. */
export interface RequestContent {
  readonly id: bigint;
  readonly appId: string;
  readonly user: string;
  readonly destination: string;
  readonly amountSat: bigint;
  /** As stored (ISO-8601 UTC). */
  readonly createdAt: string;
}

/** The canonical text of a request's content; its sha256 is the fingerprint. */
export function contentText(c: RequestContent): string {
  return JSON.stringify([c.id.toString(), c.appId, c.user, c.destination, c.amountSat.toString(), c.createdAt]);
}

export function fingerprint(c: RequestContent): string {
  return createHash('sha256').update(contentText(c), 'utf8').digest('hex');
}

/** True when a retry with the same app id asks for the same thing. */
export function sameRequest(stored: { user: string; destination: string; amountSat: bigint }, asked: ValidRequest): boolean {
  return stored.user === asked.user && stored.destination === asked.destination.address && stored.amountSat === asked.amountSat;
}
