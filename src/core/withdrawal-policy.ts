import { parseBtc, parseSat, formatBtc } from './amount.js';
import { CodedError, show } from './errors.js';

/**
 * The operator's withdrawal policy: a JSON file on the operator box (never in
 * the web database, which the web host could edit). Amounts in satoshis
 * (`…Sat`, integer or digit string) or BTC text (`…Btc`, "0.5").
 *
 * @example
 * {
 *   "maxWithdrawalBtc": "1", "maxUserDailyBtc": "2", "maxPayoutBtc": "10", "minWithdrawalSat": 10000,
 *   "blockedAddresses": ["bc1q…"], "approvalsRequired": 2, "nearDuplicateWindowHours": 24
 * }
 */
export interface WithdrawalPolicy {
  readonly maxWithdrawalSat: bigint | undefined;
  readonly maxUserDailySat: bigint | undefined;
  readonly maxPayoutSat: bigint | undefined;
  readonly minWithdrawalSat: bigint | undefined;
  readonly blockedAddresses: ReadonlySet<string>;
  readonly approvalsRequired: number;
  readonly nearDuplicateWindowHours: number;
}

export const DEFAULT_POLICY: WithdrawalPolicy = Object.freeze({
  maxWithdrawalSat: undefined,
  maxUserDailySat: undefined,
  maxPayoutSat: undefined,
  minWithdrawalSat: undefined,
  blockedAddresses: new Set<string>(),
  approvalsRequired: 1,
  nearDuplicateWindowHours: 24,
});

const AMOUNT_KEYS = ['maxWithdrawal', 'maxUserDaily', 'maxPayout', 'minWithdrawal'] as const;
const OTHER_KEYS = ['blockedAddresses', 'approvalsRequired', 'nearDuplicateWindowHours', '$comment'];

/** Parse a policy file's text; unknown keys are refused (a typo must not silently disable a limit). */
export function parsePolicy(text: string, source = 'policy'): WithdrawalPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CodedError('INVALID_INPUT', `${source}: expected a JSON object, got invalid JSON (${(e as Error).message})`, { cause: e });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CodedError('INVALID_INPUT', `${source}: expected a JSON object, got ${show(raw)}`);
  const obj = raw as Record<string, unknown>;
  const known = new Set([...AMOUNT_KEYS.flatMap((k) => [`${k}Sat`, `${k}Btc`]), ...OTHER_KEYS]);
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) throw new CodedError('INVALID_INPUT', `${source}: unknown key "${key}"`, { hint: `known keys: ${[...known].join(', ')}` });
  }
  const amount = (k: (typeof AMOUNT_KEYS)[number]): bigint | undefined => {
    const sat = obj[`${k}Sat`];
    const btc = obj[`${k}Btc`];
    if (sat !== undefined && btc !== undefined) throw new CodedError('INVALID_INPUT', `${source}: give either "${k}Sat" or "${k}Btc", not both`);
    if (sat !== undefined) return parseSat(sat, `${source}: ${k}Sat`);
    if (btc !== undefined) return parseBtc(btc, `${source}: ${k}Btc`);
    return undefined;
  };
  const blocked = obj.blockedAddresses ?? [];
  if (!Array.isArray(blocked) || blocked.some((a) => typeof a !== 'string')) throw new CodedError('INVALID_INPUT', `${source}: "blockedAddresses" expected an array of addresses`);
  const approvals = obj.approvalsRequired ?? 1;
  if (!Number.isInteger(approvals) || (approvals as number) < 1 || (approvals as number) > 10) {
    throw new CodedError('INVALID_INPUT', `${source}: "approvalsRequired" expected an integer 1..10, got ${show(approvals)}`);
  }
  const window = obj.nearDuplicateWindowHours ?? 24;
  if (typeof window !== 'number' || !(window > 0) || window > 24 * 365) {
    throw new CodedError('INVALID_INPUT', `${source}: "nearDuplicateWindowHours" expected a number of hours 0..8760, got ${show(window)}`);
  }
  return Object.freeze({
    maxWithdrawalSat: amount('maxWithdrawal'),
    maxUserDailySat: amount('maxUserDaily'),
    maxPayoutSat: amount('maxPayout'),
    minWithdrawalSat: amount('minWithdrawal'),
    // bech32 addresses compare in lower case; base58 ones are case-sensitive
    blockedAddresses: new Set((blocked as string[]).map(normalAddress)),
    approvalsRequired: approvals as number,
    nearDuplicateWindowHours: window,
  });
}

/** An address as compared: bech32 in lower case, base58 as is. */
export function normalAddress(a: string): string {
  return /^(bc|tb|bcrt)1/i.test(a) ? a.toLowerCase() : a;
}

export const FLAG_CODES = [
  'blocked_address', 'over_withdrawal_limit', 'over_user_24h_limit', 'over_payout_limit', 'below_minimum',
  'changed_since_first_seen', 'own_pool_address', 'first_time_destination', 'shared_destination', 'near_duplicate', 'unusual_output_type',
  'left_out_of_payout',
] as const;
export type FlagCode = (typeof FLAG_CODES)[number];

/** Flags that stop approval outright: raise the policy or reject. `changed_since_first_seen` needs an explicit override. */
export const BLOCKING_FLAGS: ReadonlySet<FlagCode> = new Set(['blocked_address', 'over_withdrawal_limit', 'over_user_24h_limit', 'over_payout_limit', 'below_minimum']);

export interface RiskFlag {
  readonly code: FlagCode;
  readonly detail: string;
}

/** What the store found out about one request (see WithdrawalStore.facts). */
export interface RequestFacts {
  /** Sum of this user's live requests created in the 24 h up to this one, this one included. */
  readonly userDailySat: bigint;
  /** Sum of approved requests not yet in a payout, other than this one. */
  readonly approvedUnpaidSat: bigint;
  /** The destination is one of our own pool addresses. */
  readonly ownPoolAddress: boolean;
  /** Earlier live requests of this user to this destination. */
  readonly priorToDestination: number;
  /** Other users who asked for this destination. */
  readonly otherUsersOnDestination: number;
  /** Other requests of this user, same destination and amount, within the window. */
  readonly nearDuplicates: number;
  /** False when the content no longer matches the fingerprint taken the first time the operator tool read it. */
  readonly unchangedSinceSeen: boolean;
  /** Output type of the destination, when it parses. */
  readonly outputType: string | undefined;
  /** Why the last `payout build` left this approved request out, until a build pays it. */
  readonly leftOut?: { readonly reason: string; readonly detail: string; readonly at: string } | undefined;
}

/**
 * The risk flags of one request under `policy`.
 *
 * @example
 * computeFlags({ destination: 'bc1q…', amountSat: 5n * 10n ** 8n, status: 'requested' }, facts, policy)
 * // [{ code: 'over_withdrawal_limit', detail: '5.00000000 BTC > limit 1.00000000 BTC' }]
 */
export function computeFlags(req: { destination: string; amountSat: bigint; status: string }, f: RequestFacts, policy: WithdrawalPolicy): RiskFlag[] {
  const flags: RiskFlag[] = [];
  const add = (code: FlagCode, detail: string) => flags.push({ code, detail });
  const btc = (s: bigint) => `${formatBtc(s)} BTC`;
  if (policy.blockedAddresses.has(normalAddress(req.destination))) add('blocked_address', 'destination is on the policy\'s blocked list');
  if (policy.maxWithdrawalSat !== undefined && req.amountSat > policy.maxWithdrawalSat) add('over_withdrawal_limit', `${btc(req.amountSat)} > limit ${btc(policy.maxWithdrawalSat)}`);
  if (policy.maxUserDailySat !== undefined && f.userDailySat > policy.maxUserDailySat) add('over_user_24h_limit', `user's 24 h total ${btc(f.userDailySat)} > limit ${btc(policy.maxUserDailySat)}`);
  if (policy.maxPayoutSat !== undefined) {
    const pending = req.status === 'requested' ? f.approvedUnpaidSat + req.amountSat : req.amountSat;
    if (pending > policy.maxPayoutSat) add('over_payout_limit', `approved total with this one ${btc(pending)} > payout limit ${btc(policy.maxPayoutSat)}`);
  }
  if (policy.minWithdrawalSat !== undefined && req.amountSat < policy.minWithdrawalSat) add('below_minimum', `${btc(req.amountSat)} < minimum ${btc(policy.minWithdrawalSat)}`);
  if (!f.unchangedSinceSeen) add('changed_since_first_seen', 'user, destination, amount or time differ from what the operator tool first saw');
  if (f.ownPoolAddress) add('own_pool_address', 'destination is one of our own deposit addresses');
  if (f.priorToDestination === 0) add('first_time_destination', 'first request of this user to this destination');
  if (f.otherUsersOnDestination > 0) add('shared_destination', `${f.otherUsersOnDestination} other user(s) asked for this destination`);
  if (f.nearDuplicates > 0) add('near_duplicate', `${f.nearDuplicates} other request(s) of this user, same destination and amount, within ${policy.nearDuplicateWindowHours} h`);
  if (f.leftOut) add('left_out_of_payout', `payout build left it out at ${f.leftOut.at}: ${f.leftOut.reason} (${f.leftOut.detail})`);
  if (f.outputType === 'witness_unknown') add('unusual_output_type', 'witness version 2..16: not defined yet, anyone could spend it');
  return flags;
}
