import type { CreditedDeposits, VerifierDatabase } from '../core/ports.js';

/**
 * THE ADAPTER POINT between the ledger step and the verifier's own chain
 * view (branch verifier-chain, not merged here yet): the chain deposits the
 * verifier credits, keyed `txid:vout`, each to the user recorded at first
 * sight of its address.
 *
 * Until that view lands this returns undefined: the ledger step then checks
 * no deposit entry (its report says `depositsChecked: false`) rather than
 * alerting every deposit as unmatched. Wiring it is one function, e.g.
 * `{ creditedDeposits: async () => new Map((await own.store.ledgerDeposits()).map((d) => [`${d.txid}:${d.vout}`, d])) }`.
 */
export function chainViewDeposits(_own: VerifierDatabase): CreditedDeposits | undefined {
  return undefined;
}
