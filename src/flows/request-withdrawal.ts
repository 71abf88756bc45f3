import type { RequestOutcome, WithdrawalStore } from '../core/ports.js';
import { validateRequest, type RequestInput } from '../core/withdrawal-rules.js';

/**
 * Flow 6 (web host): queue a withdrawal request. The rules are checked before
 * anything is written (a refused request leaves no row); the same `appId`
 * with the same content returns the existing request (`kind: 'existing'`),
 * with other content is refused with STATE_CONFLICT.
 *
 * Errors carry `context.reason`: app_id_invalid, user_invalid, address_format,
 * address_mixed_case, address_checksum, address_network, address_bech32_variant,
 * address_witness_version, address_program_length, address_padding,
 * amount_zero, amount_sign, amount_above_supply, amount_below_dust, …
 *
 * @example
 * const store = openWithdrawalStore(process.env.COLDPOOL_DB);
 * const { kind, withdrawal } = await requestWithdrawal(store, {
 *   appId: 'payout-2024-0001', user: 'alice', address: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', amountSat: 150_000n,
 * });
 */
export async function requestWithdrawal(store: WithdrawalStore, input: RequestInput): Promise<RequestOutcome> {
  const valid = validateRequest(input, await store.network());
  return store.request(valid);
}
