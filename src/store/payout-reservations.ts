import { LIVE_PAYOUT_STATUSES, PAYOUT } from '../core/payout-state.js';
import type { AbandonedClaim } from '../core/ports.js';
import type { SqlExec } from './sql-db.js';

/**
 * Which coins a payout holds, read inside the caller's transaction.
 *
 * A live payout (built, signed, broadcast) holds its inputs. An abandoned
 * payout whose coins were never spent in a block by another transaction may
 * still confirm (someone may hold a signed copy), so it keeps its inputs
 * RESERVED: only a payout that pays one of its withdrawals (it must spend one
 * of them: the two conflict, at most one confirms) or one that cancels it may
 * spend them. Once one of its inputs is spent in a block by another
 * transaction it is dead: it can never confirm (short of a reorg of that
 * block) and its other coins are free again.
 *
 * "Dead" is read from the chain record, never from a status or a kind column:
 * whoever edits those (the web host on SQLite holds the whole file) cannot
 * free a reserved coin that way. The signer's own log is the second guard.
 */

const LIVE = `(${LIVE_PAYOUT_STATUSES.map((s) => `'${s}'`).join(', ')})`;

/** Payout p has an input spent in a block by a transaction other than itself. */
const DEAD = `EXISTS (SELECT 1 FROM payout_inputs di JOIN chain_outputs dc ON dc.txid = di.txid AND dc.vout = di.vout
  WHERE di.payout_id = p.id AND dc.spent_height IS NOT NULL AND dc.spent_txid <> p.unsigned_txid)`;

const key = (txid: unknown, vout: unknown): string => `${String(txid)}:${Number(vout)}`;

/** Outpoints spent by a live payout. */
export async function liveOutpoints(x: SqlExec): Promise<Set<string>> {
  const rows = await x.all(`SELECT i.txid, i.vout FROM payout_inputs i JOIN payouts p ON p.id = i.payout_id WHERE p.status IN ${LIVE}`);
  return new Set(rows.map((r) => key(r.txid, r.vout)));
}

/** Outpoints reserved by an abandoned payout that is not dead: outpoint → the payouts reserving it. */
export async function reservedOutpoints(x: SqlExec): Promise<Map<string, bigint[]>> {
  const rows = await x.all(`SELECT i.txid, i.vout, p.id FROM payout_inputs i JOIN payouts p ON p.id = i.payout_id WHERE p.status = '${PAYOUT.abandoned}' AND NOT ${DEAD}`);
  const out = new Map<string, bigint[]>();
  for (const r of rows) {
    const k = key(r.txid, r.vout);
    out.set(k, [...(out.get(k) ?? []), BigInt(String(r.id))]);
  }
  return out;
}

/**
 * Every abandoned payout that paid one of `withdrawalIds`, with its inputs and
 * what the chain record says of them: the payouts a new payout of those
 * withdrawals must conflict with (or that are dead already).
 */
export async function abandonedClaims(x: SqlExec, withdrawalIds: readonly bigint[]): Promise<AbandonedClaim[]> {
  if (withdrawalIds.length === 0) return [];
  const out: AbandonedClaim[] = [];
  for (let k = 0; k < withdrawalIds.length; k += 1000) {
    const slice = withdrawalIds.slice(k, k + 1000);
    const rows = await x.all(`SELECT DISTINCT p.id, p.unsigned_txid FROM payouts p JOIN payout_outputs o ON o.payout_id = p.id
      WHERE p.status = '${PAYOUT.abandoned}' AND o.withdrawal_id IN (${slice.map(() => '?').join(', ')}) ORDER BY p.id`, slice);
    for (const r of rows) {
      const id = BigInt(String(r.id));
      if (out.some((c) => c.payoutId === id)) continue;
      const txid = String(r.unsigned_txid);
      const ins = await x.all(`SELECT i.txid, i.vout, c.spent_txid, c.spent_height,
          (SELECT COUNT(*) FROM payout_inputs li JOIN payouts lp ON lp.id = li.payout_id WHERE li.txid = i.txid AND li.vout = i.vout AND lp.status IN ${LIVE}) AS live
        FROM payout_inputs i LEFT JOIN chain_outputs c ON c.txid = i.txid AND c.vout = i.vout WHERE i.payout_id = ? ORDER BY i.n`, [id]);
      const killers = [...new Set(ins.filter((i) => i.spent_height !== null && i.spent_height !== undefined && String(i.spent_txid) !== txid).map((i) => String(i.spent_txid)))];
      const ws = await x.all('SELECT withdrawal_id FROM payout_outputs WHERE payout_id = ? AND withdrawal_id IS NOT NULL ORDER BY n', [id]);
      out.push({
        payoutId: id, unsignedTxid: txid,
        withdrawalIds: ws.map((w) => BigInt(String(w.withdrawal_id))),
        inputs: ins.map((i) => key(i.txid, i.vout)),
        takenByLive: ins.filter((i) => Number(i.live) > 0).map((i) => key(i.txid, i.vout)),
        killedBy: killers,
        confirmedItself: ins.length > 0 && ins.every((i) => i.spent_height !== null && i.spent_height !== undefined && String(i.spent_txid) === txid),
      });
    }
  }
  return out;
}
