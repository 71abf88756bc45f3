import { parseBlock } from '../core/chain-scan.js';
import type { ChainSource, ChainStore, OutboxMail, VerifierEvent, VerifierStore } from '../core/ports.js';
import { ChainFollower } from '../flows/chain-sync.js';
import { alertMail } from './messages.js';

/**
 * Step 5 of DESIGN.md "The verifier": the verifier's OWN chain view. The
 * existing follower (flows/chain-sync.ts) runs against the verifier's own
 * node connection into the verifier's own database (schema 002), whose
 * `addresses` are the first-sight record of assignments.ts: a deposit is
 * credited to the owner recorded there, never to whoever the web database
 * names now, and only addresses that re-derived are watched at all. Each
 * block commits in one transaction with its hash (the follower's cursor); a
 * reorganisation rolls back to the fork, which undoes the credits of the
 * dropped blocks (balances.ts sums what the view holds now).
 *
 * Then attested payouts: each spend of a pool coin in a block of the view is
 * looked at once (the block read from the node), and an output paying an
 * attested request's script and amount marks that request paid at that
 * block. A sighting whose block a reorg removed is forgotten (pending again).
 */

export interface ChainViewReport {
  blocks: number;
  reorgs: number;
  dropped: number;
  paid: number;
}

export class ChainView {
  private follower: ChainFollower | undefined;

  constructor(private readonly source: ChainSource, private readonly chain: ChainStore, private readonly store: VerifierStore) {}

  /** Sync the view to the node's tip. `reopen`: addresses were recorded since the last sync (the follower's script index is rebuilt). */
  async step(now: Date, reopen: boolean): Promise<ChainViewReport> {
    const report: ChainViewReport = { blocks: 0, reorgs: 0, dropped: 0, paid: 0 };
    if ((await this.store.accounts()).length === 0) return report; // nothing pinned yet: nothing to look for
    if (this.follower === undefined || reopen) this.follower = await ChainFollower.open(this.source, this.chain);
    const result = await this.follower.sync();
    report.blocks = result.blocks;
    report.reorgs = result.reorgs.length;
    const outbox: OutboxMail[] = [];
    const events: VerifierEvent[] = [];
    for (const r of result.reorgs) events.push({ kind: 'reorg', detail: `rolled back to ${r.forkHeight} (depth ${r.depth}), ${r.dropped.length} deposit(s) in the dropped blocks` });
    for (const d of result.disappeared) {
      // d.user is the verifier's first-sight owner (the follower joins the verifier's own addresses).
      report.dropped++;
      outbox.push(alertMail('deposit-reorged', 'warning', `coldpool verifier: a deposit of ${d.amountSat} sat${d.user ? ` to user ${d.user}` : ''} left the chain in a reorganisation`,
        `${d.txid}:${d.vout} to ${d.address}, was at height ${d.height} (${d.blockHash}). It is no longer credited; withdrawals that relied on it are held.`,
        { user: d.user ?? null, users: d.user ? [d.user] : [], txid: d.txid, vout: d.vout, amountSat: d.amountSat.toString(), height: d.height }));
      events.push({ kind: 'deposit-reorged', user: d.user, detail: `${d.txid}:${d.vout} ${d.amountSat} sat at ${d.height} left the chain` });
    }
    if (outbox.length + events.length > 0) await this.store.commit({ outbox, events }, now);
    report.paid = await this.payouts(now);
    return report;
  }

  private async payouts(now: Date): Promise<number> {
    await this.store.forgetOrphanedPayouts();
    const spends = await this.store.unexaminedSpends();
    if (spends.length === 0) return 0;
    const unpaid = await this.store.attestedUnpaid();
    // script:amount → the attested requests it would pay, oldest first.
    const waiting = new Map<string, bigint[]>();
    for (const r of unpaid) {
      const c = JSON.parse(r.content!) as { script: string; amountSat: string };
      const key = `${c.script}:${c.amountSat}`;
      waiting.set(key, [...(waiting.get(key) ?? []), r.withdrawalId]);
    }
    const byBlock = new Map<string, { height: number; txids: Set<string> }>();
    for (const s of spends) {
      const b = byBlock.get(s.blockHash) ?? { height: s.height, txids: new Set<string>() };
      b.txids.add(s.txid);
      byBlock.set(s.blockHash, b);
    }
    let paid = 0;
    for (const [hash, b] of byBlock) {
      const raw = await this.source.rawBlock(hash);
      if (raw === undefined) continue; // the node moved on: the next cycle's sync rolls back first
      const payoutAdd: { withdrawalId: bigint; txid: string; vout: number; height: number; blockHash: string }[] = [];
      const events: VerifierEvent[] = [];
      for (const tx of parseBlock(raw, hash, this.source.label).txs) {
        const txid = tx.getId();
        if (!b.txids.has(txid)) continue;
        tx.outs.forEach((o, vout) => {
          const list = waiting.get(`${Buffer.from(o.script).toString('hex')}:${o.value}`);
          const id = list?.shift();
          if (id === undefined) return;
          payoutAdd.push({ withdrawalId: id, txid, vout, height: b.height, blockHash: hash });
          events.push({ kind: 'payout-confirmed', withdrawalId: id, detail: `paid by ${txid}:${vout} at ${b.height}` });
        });
      }
      await this.store.commit({ payoutAdd, events, spendsExamined: [...b.txids].map((txid) => ({ txid, blockHash: hash })) }, now);
      paid += payoutAdd.length;
    }
    return paid;
  }
}
