import { CodedError } from '../core/errors.js';
import { isLivePayout, LIVE_PAYOUT_STATUSES, PAYOUT, type AbandonKind } from '../core/payout-state.js';
import type { BuiltPayout } from '../core/psbt-build.js';
import { appendAudit } from './audit-append.js';
import { abandonedClaims } from './payout-reservations.js';
import type { SqlDb, SqlExec } from './sql-db.js';

/**
 * The payout moves of issue 16, each run inside the payout store's
 * transaction (audit head locked, guarded UPDATEs, audited): give up,
 * first sight of the signed PSBT, the check that a new payout conflicts with
 * every abandoned payout of its withdrawals, and what a confirmation does to
 * the payouts it conflicts with and to its withdrawals.
 */

const LIVE = `(${LIVE_PAYOUT_STATUSES.map((s) => `'${s}'`).join(', ')})`;
const marks = (xs: readonly unknown[]): string => xs.map(() => '?').join(', ');

/**
 * The abandoned payouts whose reserved coins `built` may spend, after checking
 * it spends an input of each one that may still confirm among the abandoned
 * payouts of its withdrawals (and of the payout it cancels). Refused
 * (STATE_CONFLICT, nothing written) otherwise: the two could both confirm.
 */
export async function assertClaimsHonoured(t: SqlExec, built: BuiltPayout, cancels: bigint | undefined): Promise<Set<bigint>> {
  const spends = new Set(built.inputs.map((i) => `${i.txid}:${i.vout}`));
  const claims = await abandonedClaims(t, built.outputs.map((o) => o.withdrawalId));
  if (cancels !== undefined) {
    const [c] = await t.all('SELECT id, status FROM payouts WHERE id = ?', [cancels]);
    if (!c || String(c.status) !== PAYOUT.abandoned) throw new CodedError('STATE_CONFLICT', `payout ${cancels} is ${String(c?.status ?? 'gone')}; only an abandoned payout is cancelled`);
    const [own] = await abandonedClaimsOfPayout(t, cancels);
    if (own) claims.push(own);
  }
  for (const c of claims) {
    if (c.confirmedItself) {
      throw new CodedError('STATE_CONFLICT', `abandoned payout ${c.payoutId} (${c.unsignedTxid}) confirmed: it paid withdrawal(s) ${c.withdrawalIds.join(', ')}; nothing was recorded`, { hint: 'run `coldpool payout status` to record it' });
    }
    if (c.killedBy.length > 0) continue; // dead: it can never confirm
    if (!c.inputs.some((i) => spends.has(i))) {
      throw new CodedError('STATE_CONFLICT', `the new payout spends no input of abandoned payout ${c.payoutId}, which paid withdrawal(s) ${c.withdrawalIds.join(', ')} and may still confirm (a signed copy can be broadcast): both could confirm; nothing was recorded`, {
        hint: `build again (the builder spends one of its coins), or cancel it first: coldpool payout cancel ${c.payoutId}`, context: { payout: c.payoutId.toString() },
      });
    }
  }
  return new Set(claims.map((c) => c.payoutId));
}

/** The claim of one abandoned payout (by id), as `abandonedClaims` reads it. */
async function abandonedClaimsOfPayout(t: SqlExec, id: bigint) {
  const [w] = await t.all('SELECT withdrawal_id FROM payout_outputs WHERE payout_id = ? AND withdrawal_id IS NOT NULL ORDER BY n LIMIT 1', [id]);
  if (!w) return [];
  return (await abandonedClaims(t, [BigInt(String(w.withdrawal_id))])).filter((c) => c.payoutId === id);
}

/** built → signed with the signed PSBT; an abandoned payout keeps the evidence that a signed copy exists (audited), its status unchanged. */
export async function markSignedIn(db: SqlDb, t: SqlExec, id: bigint, signedPsbt: string, actor: string): Promise<boolean> {
  const [cur] = await t.all(`SELECT status, signed_at FROM payouts WHERE id = ?${db.forUpdate}`, [id]);
  if (!cur) throw new CodedError('NOT_FOUND', `payout ${id} does not exist`);
  const now = db.time(new Date());
  const status = String(cur.status);
  if (status === PAYOUT.built) {
    const u = await t.run('UPDATE payouts SET status = ?, signed_psbt = ?, signed_at = ?, updated_at = ? WHERE id = ? AND status = ?', [PAYOUT.signed, signedPsbt, now, now, id, PAYOUT.built]);
    if (u.changes !== 1) throw new CodedError('STATE_CONFLICT', `payout ${id} changed while its signature was recorded`);
    await appendAudit(db, t, actor, 'payout.signed', `payout:${id}`, { from: PAYOUT.built, to: PAYOUT.signed });
    return true;
  }
  if (cur.signed_at === null || cur.signed_at === undefined) {
    await t.run('UPDATE payouts SET signed_psbt = COALESCE(signed_psbt, ?), signed_at = ?, updated_at = ? WHERE id = ? AND signed_at IS NULL', [signedPsbt, now, now, id]);
    if (status === PAYOUT.abandoned) await appendAudit(db, t, actor, 'payout.signed_copy_seen', `payout:${id}`, { status });
  }
  return false;
}

/**
 * Give up the live payouts `ids` (a payout and its versions): → abandoned
 * (given_up, with the reason and what the node said), their withdrawals
 * in_payout|broadcast → approved (approvals and attestations untouched).
 * Refused when one is no longer live, or another live payout still pays one
 * of the withdrawals.
 */
export async function abandonPayouts(db: SqlDb, t: SqlExec, ids: readonly bigint[], reason: string, actor: string, evidence: Record<string, unknown>): Promise<bigint[]> {
  const now = db.time(new Date());
  for (const id of ids) {
    const [cur] = await t.all(`SELECT status FROM payouts WHERE id = ?${db.forUpdate}`, [id]);
    if (!cur || !isLivePayout(cur.status)) throw new CodedError('STATE_CONFLICT', `payout ${id} is ${String(cur?.status ?? 'gone')}; only a built, signed or broadcast payout can be abandoned`);
    const u = await t.run('UPDATE payouts SET status = ?, abandon_kind = ?, abandon_reason = ?, abandoned_at = ?, updated_at = ? WHERE id = ? AND status = ?',
      [PAYOUT.abandoned, 'given_up' satisfies AbandonKind, reason.slice(0, 500), now, now, id, String(cur.status)]);
    if (u.changes !== 1) throw new CodedError('STATE_CONFLICT', `payout ${id} changed while being abandoned`);
    await appendAudit(db, t, actor, 'payout.abandoned', `payout:${id}`, { from: String(cur.status), to: PAYOUT.abandoned, kind: 'given_up', reason, ...evidence });
  }
  const ws = (await t.all(`SELECT DISTINCT withdrawal_id FROM payout_outputs WHERE payout_id IN (${marks(ids)}) AND withdrawal_id IS NOT NULL ORDER BY withdrawal_id`, ids)).map((r) => BigInt(String(r.withdrawal_id)));
  if (ws.length === 0) return [];
  const still = await t.all(`SELECT DISTINCT p.id FROM payouts p JOIN payout_outputs o ON o.payout_id = p.id WHERE o.withdrawal_id IN (${marks(ws)}) AND p.status IN ${LIVE}`, ws);
  if (still.length > 0) {
    throw new CodedError('STATE_CONFLICT', `payout(s) ${still.map((r) => String(r.id)).join(', ')} still pay withdrawals of the abandoned payout; abandon them together`, { hint: 'abandon the newest version: its earlier versions go with it' });
  }
  const moved: bigint[] = [];
  for (const wid of ws) {
    const [w] = await t.all(`SELECT status FROM withdrawals WHERE id = ?${db.forUpdate}`, [wid]);
    const from = String(w?.status ?? 'gone');
    if (from !== 'in_payout' && from !== 'broadcast') continue; // already confirmed elsewhere, cancelled…: left as it is
    const m = await t.run(`UPDATE withdrawals SET status = 'approved', payout_id = NULL, updated_at = ? WHERE id = ? AND status = ? AND payout_id IN (${marks(ids)})`, [now, wid, from, ...ids]);
    if (m.changes !== 1) continue;
    moved.push(wid);
    await appendAudit(db, t, actor, 'withdrawal.approved', `withdrawal:${wid}`, { from, to: 'approved', abandonedPayouts: ids, reason });
  }
  return moved;
}

/** The root of a payout's versions (follow replaces_payout_id). */
async function rootOf(t: SqlExec, id: bigint): Promise<bigint> {
  let cur = id;
  for (let k = 0; k < 1000; k++) {
    const [r] = await t.all('SELECT replaces_payout_id FROM payouts WHERE id = ?', [cur]);
    if (!r || r.replaces_payout_id === null || r.replaces_payout_id === undefined) return cur;
    cur = BigInt(String(r.replaces_payout_id));
  }
  return cur;
}

/** The live payouts conflicting with confirmed payout `id`: its versions → abandoned (replaced), the others → abandoned (failed). */
export async function confirmSiblings(db: SqlDb, t: SqlExec, id: bigint, ws: readonly bigint[], txid: string, actor: string): Promise<{ abandoned: bigint[]; failed: bigint[] }> {
  const byWithdrawal = ws.length === 0 ? [] : await t.all(`SELECT DISTINCT p.id, p.status FROM payouts p JOIN payout_outputs o ON o.payout_id = p.id WHERE o.withdrawal_id IN (${marks(ws)}) AND p.id <> ? AND p.status IN ${LIVE}`, [...ws, id]);
  const byCoin = await t.all(`SELECT DISTINCT p.id, p.status FROM payouts p JOIN payout_inputs i ON i.payout_id = p.id JOIN payout_inputs mine ON mine.txid = i.txid AND mine.vout = i.vout AND mine.payout_id = ? WHERE p.id <> ? AND p.status IN ${LIVE}`, [id, id]);
  const seen = new Set<string>();
  const abandoned: bigint[] = [];
  const failed: bigint[] = [];
  const root = await rootOf(t, id);
  const now = db.time(new Date());
  for (const s of [...byWithdrawal, ...byCoin]) {
    if (seen.has(String(s.id))) continue;
    seen.add(String(s.id));
    const sid = BigInt(String(s.id));
    const kind: AbandonKind = (await rootOf(t, sid)) === root ? 'replaced' : 'failed';
    const m = await t.run('UPDATE payouts SET status = ?, abandon_kind = ?, abandoned_at = ?, updated_at = ? WHERE id = ? AND status = ?', [PAYOUT.abandoned, kind, now, now, sid, String(s.status)]);
    if (m.changes !== 1) continue;
    (kind === 'replaced' ? abandoned : failed).push(sid);
    await appendAudit(db, t, actor, 'payout.abandoned', `payout:${sid}`, { from: String(s.status), to: PAYOUT.abandoned, kind, paidBy: id, txid });
  }
  return { abandoned, failed };
}

/**
 * The withdrawals of confirmed payout `id` → confirmed (payout_id = id), from
 * approved (its payout was given up), in_payout or broadcast. One already
 * confirmed by another payout, or closed, is never moved: it is returned to be
 * alerted (and audited), since the chain says it was paid by `id` too.
 */
export async function payWithdrawals(db: SqlDb, t: SqlExec, id: bigint, ws: readonly bigint[], txid: string, confirmations: number, actor: string): Promise<{ withdrawalId: bigint; status: string; payoutId: bigint | undefined }[]> {
  const now = db.time(new Date());
  const anomalies: { withdrawalId: bigint; status: string; payoutId: bigint | undefined }[] = [];
  for (const wid of ws) {
    const [w] = await t.all(`SELECT status, payout_id FROM withdrawals WHERE id = ?${db.forUpdate}`, [wid]);
    let from = String(w?.status ?? 'gone');
    const paidBy = w?.payout_id === null || w?.payout_id === undefined ? undefined : BigInt(String(w.payout_id));
    if (from === 'confirmed' && paidBy === id) continue;
    if (from === 'in_payout') {
      const m = await t.run("UPDATE withdrawals SET status = 'broadcast', updated_at = ? WHERE id = ? AND status = 'in_payout'", [now, wid]);
      if (m.changes === 1) await appendAudit(db, t, actor, 'withdrawal.broadcast', `withdrawal:${wid}`, { from: 'in_payout', to: 'broadcast', payout: id, txid });
      from = 'broadcast';
    }
    if (from === 'broadcast' || from === 'approved') {
      const m = await t.run('UPDATE withdrawals SET status = \'confirmed\', payout_id = ?, updated_at = ? WHERE id = ? AND status = ?', [id, now, wid, from]);
      if (m.changes === 1) {
        await appendAudit(db, t, actor, 'withdrawal.confirmed', `withdrawal:${wid}`, { from, to: 'confirmed', payout: id, txid, confirmations });
        continue;
      }
    }
    anomalies.push({ withdrawalId: wid, status: from, payoutId: paidBy });
    await appendAudit(db, t, actor, 'withdrawal.paid_again', `withdrawal:${wid}`, { status: from, recordedPayout: paidBy ?? null, payout: id, txid });
  }
  return anomalies;
}
