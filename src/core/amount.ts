import { CodedError, show } from './errors.js';

/** Satoshis in one bitcoin. */
export const SAT_PER_BTC = 100_000_000n;
/** 21,000,000 BTC: no amount can be larger (the consensus MAX_MONEY). */
export const MAX_MONEY_SAT = 21_000_000n * SAT_PER_BTC;

/** Why an amount was refused; `reason` is a stable code for scripts and tests. */
export type AmountReason = 'amount_not_a_number' | 'amount_exponent' | 'amount_sign' | 'amount_too_precise' | 'amount_zero' | 'amount_above_supply';

export class AmountError extends CodedError {
  readonly reason: AmountReason;
  constructor(reason: AmountReason, message: string) {
    super('INVALID_INPUT', message, { context: { reason } });
    this.reason = reason;
  }
}

const BTC_TEXT = /^(\d+)(?:\.(\d*))?$|^\.(\d+)$/;

/**
 * Parse a BTC amount as typed by a person or sent by a web app into exact
 * satoshis, by splitting the string: never through a float. At most 8
 * decimals; no exponent, sign, spaces or thousands separators; more than 0 and
 * at most 21,000,000 BTC.
 *
 * @example
 * parseBtc('0.0015') // 150000n
 * parseBtc('1e-3')   // throws INVALID_INPUT, reason amount_exponent
 */
export function parseBtc(text: unknown, field = 'amount'): bigint {
  if (typeof text !== 'string') throw new AmountError('amount_not_a_number', `"${field}" expected BTC text like "0.0015", got ${show(text)}`);
  if (/[eE]/.test(text) && /\d/.test(text)) throw new AmountError('amount_exponent', `"${field}" expected plain decimal BTC without an exponent, got ${show(text)}`);
  if (/^[+-]/.test(text)) throw new AmountError('amount_sign', `"${field}" expected a positive BTC amount without a sign, got ${show(text)}`);
  const m = BTC_TEXT.exec(text);
  if (!m) throw new AmountError('amount_not_a_number', `"${field}" expected BTC text like "0.0015" (digits, one optional dot), got ${show(text)}`);
  const whole = m[1] ?? '0';
  const frac = m[2] ?? m[3] ?? '';
  if (frac.length > 8) throw new AmountError('amount_too_precise', `"${field}" expected at most 8 decimals (1 sat = 0.00000001 BTC), got ${show(text)}`);
  if (whole.length > 9) throw new AmountError('amount_above_supply', `"${field}" expected at most 21000000 BTC, got ${show(text)}`);
  const sat = BigInt(whole) * SAT_PER_BTC + BigInt(frac.padEnd(8, '0'));
  return checkAmountSat(sat, field);
}

/**
 * Parse an integer amount in satoshis (`--amount-sat`, a JSON field): digits
 * only, 1..2,100,000,000,000,000.
 *
 * @example
 * parseSat('150000') // 150000n
 */
export function parseSat(value: unknown, field = 'amount_sat'): bigint {
  if (typeof value === 'bigint') return checkAmountSat(value, field);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new AmountError('amount_not_a_number', `"${field}" expected an integer number of satoshis, got ${show(value)}`);
    return checkAmountSat(BigInt(value), field);
  }
  if (typeof value !== 'string') throw new AmountError('amount_not_a_number', `"${field}" expected an integer number of satoshis, got ${show(value)}`);
  if (/^\d+[eE]/.test(value)) throw new AmountError('amount_exponent', `"${field}" expected an integer number of satoshis without an exponent, got ${show(value)}`);
  if (/^[+-]/.test(value)) throw new AmountError('amount_sign', `"${field}" expected a positive number of satoshis without a sign, got ${show(value)}`);
  if (!/^\d+$/.test(value)) throw new AmountError('amount_not_a_number', `"${field}" expected an integer number of satoshis, got ${show(value)}`);
  if (value.length > 19) throw new AmountError('amount_above_supply', `"${field}" expected at most ${MAX_MONEY_SAT} sat, got ${show(value)}`);
  return checkAmountSat(BigInt(value), field);
}

/** 1..MAX_MONEY_SAT, or an AmountError naming the bound. */
export function checkAmountSat(sat: bigint, field = 'amount_sat'): bigint {
  if (sat < 0n) throw new AmountError('amount_sign', `"${field}" expected 1..${MAX_MONEY_SAT} sat, got ${sat}`);
  if (sat === 0n) throw new AmountError('amount_zero', `"${field}" expected 1..${MAX_MONEY_SAT} sat, got 0`);
  if (sat > MAX_MONEY_SAT) throw new AmountError('amount_above_supply', `"${field}" expected 1..${MAX_MONEY_SAT} sat (21000000 BTC), got ${sat}`);
  return sat;
}

/**
 * Satoshis as BTC text with exactly 8 decimals, the way Bitcoin Core prints
 * amounts. `parseBtc(formatBtc(x)) === x` for every valid amount.
 *
 * @example
 * formatBtc(150000n) // '0.00150000'
 */
export function formatBtc(sat: bigint): string {
  const negative = sat < 0n;
  const abs = negative ? -sat : sat;
  return `${negative ? '-' : ''}${abs / SAT_PER_BTC}.${(abs % SAT_PER_BTC).toString().padStart(8, '0')}`;
}
