import type { CreditedDeposits, VerifierDatabase } from '../core/ports.js';

/**
 * The ledger step's view of the verifier's own chain: every confirmed deposit
 * the chain view credits, keyed `txid:vout`, to the user recorded at first
 * sight of its address (never whoever the web database names now). Only with
 * a chain view (the verifier has a node of its own): without one the ledger
 * step checks no deposit entry and its report says `depositsChecked: false`.
 */
export function chainViewDeposits(own: VerifierDatabase): CreditedDeposits {
  return {
    creditedDeposits: async () => new Map((await own.store.ledger()).deposits.map((d) => [`${d.txid}:${d.vout}`, { user: d.user, amountSat: d.amountSat, height: d.height }])),
  };
}
