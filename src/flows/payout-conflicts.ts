import { CodedError } from '../core/errors.js';
import type { AbandonedClaim } from '../core/ports.js';
import type { CandidateCoin } from '../core/psbt-build.js';

/**
 * The coins a new payout MUST spend so that it conflicts with every abandoned
 * payout of its withdrawals: then at most one of them can ever confirm,
 * whoever holds a signed copy of the abandoned one.
 *
 * - an abandoned payout that may still confirm (no input spent in a block by
 *   another transaction): one of its inputs, not taken by a live payout nor by
 *   an earlier group of this build;
 * - a dead one (an input spent in a block by transaction T, e.g. its cancel):
 *   no constraint from the chain, but an output of T when one is ours and
 *   free, so the signer's log (which knows T spends an input of it) sees the
 *   conflict too and the new payout stays invalid if T is ever reorged out.
 *
 * Pure; `coins` are the spendable coins of the chain record not locked by a
 * live payout (reserved ones included: these are the ones it may take).
 */
export function conflictCoins<C extends CandidateCoin>(claims: readonly AbandonedClaim[], group: ReadonlySet<bigint>, coins: readonly C[], used: ReadonlySet<string>): C[] {
  const chosen: C[] = [];
  const keyOf = (c: CandidateCoin): string => `${c.txid}:${c.vout}`;
  const has = (keys: readonly string[]): boolean => chosen.some((c) => keys.includes(keyOf(c)));
  const free = coins.filter((c) => !used.has(keyOf(c)));
  const largest = (cs: C[]): C | undefined => cs.sort((a, b) => (b.valueSat > a.valueSat ? 1 : b.valueSat < a.valueSat ? -1 : 0))[0];
  for (const claim of claims) {
    if (!claim.withdrawalIds.some((w) => group.has(w))) continue;
    if (claim.confirmedItself) {
      throw new CodedError('STATE_CONFLICT', `abandoned payout ${claim.payoutId} (${claim.unsignedTxid}) confirmed: it paid withdrawal(s) ${claim.withdrawalIds.join(', ')}`, { hint: 'run `coldpool payout status` to record it, then build again' });
    }
    if (claim.killedBy.length > 0) {
      const child = largest(free.filter((c) => claim.killedBy.includes(c.txid) && !chosen.includes(c)));
      if (child) chosen.push(child);
      continue;
    }
    if (has(claim.inputs)) continue;
    const pick = largest(free.filter((c) => claim.inputs.includes(keyOf(c)) && !claim.takenByLive.includes(keyOf(c))));
    if (!pick) {
      throw new CodedError('REFUSED', `abandoned payout ${claim.payoutId} paid withdrawal(s) ${claim.withdrawalIds.filter((w) => group.has(w)).join(', ')} and may still confirm, but none of its coins is free to spend (taken by live payout(s), by another group of this build, unconfirmed or spent in the mempool)`, {
        hint: `pay them in one payout (fewer --ids, more --max-outputs), or make payout ${claim.payoutId} impossible first: coldpool payout cancel ${claim.payoutId}; \`coldpool chain sync\` and \`payout status\` if its coins moved`,
        context: { payout: claim.payoutId.toString() },
      });
    }
    chosen.push(pick);
  }
  return chosen;
}

/**
 * Split what a build pays into payouts of at most `maxOutputs` withdrawals,
 * never splitting the withdrawals of one abandoned payout (that may still
 * confirm) across two payouts: each needs a coin of it, and it may have only
 * one. Withdrawals of an abandoned payout none of whose coins is free now
 * are held (not paid by this build, named with the reason) rather than
 * failing the whole build: the others are not stuck behind them.
 */
export function conflictGroups<W extends { readonly id: bigint }>(payable: readonly W[], claims: readonly AbandonedClaim[], coins: readonly CandidateCoin[], maxOutputs: number): {
  groups: W[][]; held: { id: bigint; payout: bigint; reason: string }[];
} {
  const alive = claims.filter((c) => c.killedBy.length === 0);
  const free = new Set(coins.map((c) => `${c.txid}:${c.vout}`));
  // union-find over withdrawals linked by an abandoned payout that paid both
  const parent = new Map<bigint, bigint>(payable.map((w) => [w.id, w.id]));
  const find = (x: bigint): bigint => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    return r;
  };
  for (const c of alive) {
    const ours = c.withdrawalIds.filter((w) => parent.has(w));
    for (const w of ours.slice(1)) parent.set(find(w), find(ours[0]!));
  }
  const clusters = new Map<bigint, W[]>();
  for (const w of payable) clusters.set(find(w.id), [...(clusters.get(find(w.id)) ?? []), w]);
  const held: { id: bigint; payout: bigint; reason: string }[] = [];
  const groups: W[][] = [];
  let current: W[] = [];
  for (const members of clusters.values()) {
    const ids = new Set(members.map((w) => w.id));
    const stuck = alive.find((c) => c.withdrawalIds.some((w) => ids.has(w)) && (c.confirmedItself || !c.inputs.some((i) => free.has(i) && !c.takenByLive.includes(i))));
    if (stuck) {
      const reason = stuck.confirmedItself
        ? `abandoned payout ${stuck.payoutId} confirmed (run \`coldpool payout status\`)`
        : `abandoned payout ${stuck.payoutId} may still confirm and none of its coins is free (a live payout, a cancel, or the mempool spends them): wait for that one, or \`coldpool chain sync\` / \`payout status\``;
      for (const w of members) held.push({ id: w.id, payout: stuck.payoutId, reason });
      continue;
    }
    if (current.length > 0 && current.length + members.length > maxOutputs) {
      groups.push(current);
      current = [];
    }
    current.push(...members);
  }
  if (current.length > 0) groups.push(current);
  return { groups, held };
}
