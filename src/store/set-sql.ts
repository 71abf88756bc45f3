/**
 * The one predicate both stores and sql/README.md use for "an address of the
 * user's set not handed out yet" (schema 009), after `user_id = ?`:
 *
 * - `handed_out_at IS NULL`: no claim gave it to the user yet;
 * - `status = 'assigned'`: not paid already (a set address someone paid
 *   before it was handed out stays the user's, but is never shown again:
 *   one address, one deposit);
 * - `claim_id IS NULL`: every claim sets claim_id; a claim by a web app still
 *   running the pre-009 statements (which do not know handed_out_at) must
 *   not turn the address it handed out into a set address handed out twice.
 */
export const SET_UNHANDED = "handed_out_at IS NULL AND status = 'assigned' AND claim_id IS NULL";
