/**
 * What the chain follower recorded (src/flows/chain-sync.ts writes it): the
 * account's coins and totals, and the deposits to pool addresses. Reads
 * only, no node needed.
 */
import type { ChainStore, ChainSummary, Coin, Deposit } from '../core/ports.js';

/** The synced tip, the totals and every unspent coin; `minConf` decides which coins count as spendable. */
export async function chainStatus(chain: ChainStore, minConf: number): Promise<{ summary: ChainSummary; coins: Coin[] }> {
  const summary = await chain.summary(minConf);
  const coins = await chain.coins(minConf);
  return { summary, coins };
}

/** Deposits to receive addresses, all or one user's, unconfirmed ones included. */
export function listDeposits(chain: ChainStore, query: { readonly user?: string } = {}): Promise<Deposit[]> {
  return chain.deposits(query.user === undefined ? {} : { user: query.user });
}
