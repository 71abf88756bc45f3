import { CodedError, show } from './errors.js';

/**
 * The signer's own caps, from its own config file on the air-gapped machine
 * (never from the PSBT or the online side). bitcoinjs-lib's fee check says
 * "NOT TO BE RELIED ON"; these are the caps `coldpool-offline sign` relies on.
 *
 * Config file (JSON, every key optional, unknown keys refused):
 *
 * ```json
 * { "max_fee_sat": "1000000", "max_fee_rate_sat_vb": 500,
 *   "trust": "coldpool-trust.json", "max_payout_sat": "50000000", "max_24h_sat": "200000000" }
 * ```
 *
 * - `max_fee_sat`: absolute fee cap in satoshis (string or integer). Default 1,000,000 (0.01 BTC).
 * - `max_fee_rate_sat_vb`: fee-rate cap in sat/vB, up to 3 decimals (`"12.5"` or `12.5`).
 *   Default 500 sat/vB. Or `max_fee_rate_sat_kvb` (integer sat/kvB), not both.
 * - `trust`: the signer's own trust file (a path, relative to the config file's
 *   directory). With it, every external output must carry enough valid operator
 *   approvals and a manifest is required. Default none (approvals not checked).
 * - `max_payout_sat`: cap on the external outputs of one payout (change is not
 *   counted). Default none.
 * - `max_24h_sat`: cap on the external outputs signed in any rolling 24 hours,
 *   summed from the signer's own sign log, this payout included. Default none.
 *
 * The CLI reads `--config FILE`, else `coldpool-signer.json` beside the keystore when it exists,
 * else these defaults.
 */
export interface SignerPolicy {
  readonly maxFeeSat: bigint;
  readonly maxFeeRateSatKvb: bigint;
  /** Where the caps came from: a file path or "defaults". */
  readonly source: string;
  /** The trust file as written in the config (relative to its directory), or null. */
  readonly trust: string | null;
  readonly maxPayoutSat: bigint | null;
  readonly max24hSat: bigint | null;
}

export const DEFAULT_MAX_FEE_SAT = 1_000_000n;
export const DEFAULT_MAX_FEE_RATE_SAT_KVB = 500_000n;

export const DEFAULT_SIGNER_POLICY: SignerPolicy = Object.freeze({
  maxFeeSat: DEFAULT_MAX_FEE_SAT,
  maxFeeRateSatKvb: DEFAULT_MAX_FEE_RATE_SAT_KVB,
  source: 'defaults',
  trust: null,
  maxPayoutSat: null,
  max24hSat: null,
});

const KEYS = ['max_fee_sat', 'max_fee_rate_sat_vb', 'max_fee_rate_sat_kvb', 'trust', 'max_payout_sat', 'max_24h_sat'];

function bad(source: string, message: string): CodedError {
  return new CodedError('INVALID_INPUT', `signer config ${source}: ${message}`);
}

function positiveInteger(value: unknown, field: string, source: string): bigint {
  const textForm = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof textForm !== 'string' || !/^\d{1,16}$/.test(textForm) || BigInt(textForm) === 0n) {
    throw bad(source, `"${field}" expected a positive integer, got ${show(value)}`);
  }
  return BigInt(textForm);
}

/** sat/vB text or number with at most 3 decimals, as sat/kvB. */
export function parseSatPerVb(value: unknown, field: string, source = 'input'): bigint {
  const textForm = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  const m = typeof textForm === 'string' ? /^(\d{1,9})(?:\.(\d{1,3}))?$/.exec(textForm) : null;
  if (!m) throw bad(source, `"${field}" expected sat/vB with at most 3 decimals, like 500 or "12.5", got ${show(value)}`);
  const kvb = BigInt(m[1]!) * 1000n + BigInt((m[2] ?? '').padEnd(3, '0'));
  if (kvb === 0n) throw bad(source, `"${field}" must be above 0`);
  return kvb;
}

/**
 * Parse a signer config (JSON text). `source` names the file in messages.
 *
 * @example
 * parseSignerPolicy('{"max_fee_sat":"250000","max_fee_rate_sat_vb":"50"}', 'signer.json')
 * // { maxFeeSat: 250000n, maxFeeRateSatKvb: 50000n, source: 'signer.json' }
 */
export function parseSignerPolicy(json: string, source: string): SignerPolicy {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (cause) {
    throw new CodedError('INVALID_INPUT', `signer config ${source}: not valid JSON`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(source, 'expected a JSON object');
  const rec = value as Record<string, unknown>;
  const unknown = Object.keys(rec).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0) throw bad(source, `unknown key(s) ${unknown.join(', ')}; expected only ${KEYS.join(', ')}`);
  if (rec.max_fee_rate_sat_vb !== undefined && rec.max_fee_rate_sat_kvb !== undefined) {
    throw bad(source, 'give max_fee_rate_sat_vb or max_fee_rate_sat_kvb, not both');
  }
  if (rec.trust !== undefined && (typeof rec.trust !== 'string' || rec.trust === '' || rec.trust.length > 4096)) {
    throw bad(source, `"trust" expected the path of a trust file, got ${show(rec.trust)}`);
  }
  return Object.freeze({
    maxFeeSat: rec.max_fee_sat === undefined ? DEFAULT_MAX_FEE_SAT : positiveInteger(rec.max_fee_sat, 'max_fee_sat', source),
    maxFeeRateSatKvb: rec.max_fee_rate_sat_kvb !== undefined
      ? positiveInteger(rec.max_fee_rate_sat_kvb, 'max_fee_rate_sat_kvb', source)
      : rec.max_fee_rate_sat_vb !== undefined ? parseSatPerVb(rec.max_fee_rate_sat_vb, 'max_fee_rate_sat_vb', source) : DEFAULT_MAX_FEE_RATE_SAT_KVB,
    source,
    trust: (rec.trust as string | undefined) ?? null,
    maxPayoutSat: rec.max_payout_sat === undefined ? null : positiveInteger(rec.max_payout_sat, 'max_payout_sat', source),
    max24hSat: rec.max_24h_sat === undefined ? null : positiveInteger(rec.max_24h_sat, 'max_24h_sat', source),
  });
}

/** sat/kvB as sat/vB text with 3 decimals trimmed: 12500n -> "12.5". */
export function formatSatPerVb(satKvb: bigint): string {
  const whole = satKvb / 1000n;
  const frac = (satKvb % 1000n).toString().padStart(3, '0').replace(/0+$/, '');
  return frac === '' ? whole.toString() : `${whole}.${frac}`;
}
