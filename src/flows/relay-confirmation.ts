import type { VerificationFeed } from '../core/ports.js';

/**
 * Flow 7, the web app's part: the user clicked the link the verifier emailed
 * (`…/confirm?w={id}&t={token}`); hand the token on to the verifier by
 * storing it in `withdrawal_confirmations`. Nothing is judged here: the web
 * host never learns whether a token is right (only the verifier holds its
 * hash), and a wrong one counts against the request at the verifier.
 * A PHP or other app runs the documented INSERT instead (sql/README.md).
 *
 * @example
 * const db = openDatabase(process.env.COLDPOOL_DB);
 * await relayConfirmation(db.verification, BigInt(query.w), String(query.t));
 */
export async function relayConfirmation(feed: Pick<VerificationFeed, 'relay'>, withdrawalId: bigint, token: string): Promise<void> {
  await feed.relay(withdrawalId, token);
}
