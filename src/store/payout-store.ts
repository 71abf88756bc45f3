import type { AuditEntry } from '../core/audit-chain.js';
import { CodedError } from '../core/errors.js';
import { ABANDON_KINDS, canMovePayout, isLivePayout, isPayoutStatus, PAYOUT, type AbandonKind, type PayoutStatus } from '../core/payout-state.js';
import type { BuiltPayout } from '../core/psbt-build.js';
import type { ApprovalEvidence, StoredApproval } from '../core/approval-standing.js';
import type { AbandonedClaim, ApprovedWithdrawal, ConfirmOutcome, LeftOut, PayoutInputRow, PayoutOutputRow, PayoutRow, PayoutStore, SpendState } from '../core/ports.js';
import { appendAudit } from './audit-append.js';
import { abandonPayouts, assertClaimsHonoured, confirmSiblings, markSignedIn, payWithdrawals } from './payout-abandon.js';
import { abandonedClaims, liveOutpoints, reservedOutpoints } from './payout-reservations.js';
import { attestationsOf } from './attestation-rows.js';
import { ensureSchemaCurrent, type SqlDb, type SqlExec, type SqlRow } from './sql-db.js';

/**
 * Payouts (schema 001 `payouts`, 005 `payout_inputs`/`payout_outputs`) over
 * either dialect. Every change of state runs in one transaction that first
 * locks the audit head (so payout writers take turns), moves rows with
 * guarded `UPDATE … WHERE status = ?` and appends its audit entries: all or
 * nothing. A withdrawal gets into a payout only through
 * `UPDATE withdrawals … WHERE id = ? AND status = 'approved'`, so two builds
 * racing each other cannot both lock it. A payout's status moves along the
 * arrows of src/core/payout-state.ts.
 */

const PAYOUT_COLUMNS = 'id, status, psbt, signed_psbt, unsigned_txid, txid, fee_sat, fee_rate_sat_kvb, replaces_payout_id, created_at, confirmations, abandon_kind, abandon_reason, signed_at, cancels_payout_id';
/** Withdrawals per evidence read: far below any placeholder limit (SQLite 32,766, MySQL 65,535). */
const EVIDENCE_SLICE = 1000;
const opt = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

function payoutStatus(v: unknown, id: unknown): PayoutStatus {
  if (!isPayoutStatus(v)) throw new CodedError('INTERNAL', `payout ${String(id)} has status ${JSON.stringify(v)}, which is not one of the payout table's`);
  return v;
}

export class SqlPayoutStore implements PayoutStore {
  readonly dialect: 'sqlite' | 'mysql';
  readonly label: string;

  constructor(private readonly db: SqlDb) {
    this.dialect = db.dialect;
    this.label = db.label;
  }

  private ready(): Promise<void> {
    return ensureSchemaCurrent(this.db);
  }

  private row(r: SqlRow): PayoutRow {
    return {
      id: BigInt(String(r.id)), status: payoutStatus(r.status, r.id), psbt: String(r.psbt), signedPsbt: opt(r.signed_psbt), unsignedTxid: String(r.unsigned_txid),
      txid: opt(r.txid), feeSat: BigInt(String(r.fee_sat)), feeRateSatKvb: BigInt(String(r.fee_rate_sat_kvb)),
      replacesPayoutId: r.replaces_payout_id === null || r.replaces_payout_id === undefined ? undefined : BigInt(String(r.replaces_payout_id)),
      createdAt: this.db.readTime(r.created_at), confirmations: Number(r.confirmations ?? 0),
      abandonKind: r.status === PAYOUT.abandoned ? ((ABANDON_KINDS as readonly unknown[]).includes(r.abandon_kind) ? (r.abandon_kind as AbandonKind) : 'replaced') : undefined,
      abandonReason: opt(r.abandon_reason), signedAt: r.signed_at === null || r.signed_at === undefined ? undefined : this.db.readTime(r.signed_at),
      cancelsPayoutId: r.cancels_payout_id === null || r.cancels_payout_id === undefined ? undefined : BigInt(String(r.cancels_payout_id)),
    };
  }

  /** The pool's account (descriptor, network). */
  async account(): Promise<{ descriptor: string; network: string }> {
    await this.ready();
    const [r] = await this.db.all('SELECT descriptor, network FROM pool_accounts ORDER BY is_primary DESC, id LIMIT 1');
    if (!r) throw new CodedError('USAGE', `the pool ${this.label} has no account yet`, { hint: 'load a batch first: coldpool pool load FILE' });
    return { descriptor: String(r.descriptor), network: String(r.network) };
  }

  async approved(ids?: readonly bigint[]): Promise<ApprovedWithdrawal[]> {
    await this.ready();
    const where = ids && ids.length > 0 ? ` AND id IN (${ids.map(() => '?').join(', ')})` : '';
    const rows = await this.db.all(`SELECT id FROM withdrawals WHERE status = 'approved'${where} ORDER BY id`, ids ?? []);
    const evidence = await this.evidence(rows.map((r) => BigInt(String(r.id))));
    return [...evidence.values()].map((e) => ({ id: e.request.id, destination: e.request.destination, amountSat: e.request.amountSat, evidence: e }));
  }

  /** Each withdrawal's row, first-sight fingerprint, stored approvals and attestations, in id order; read in slices so a large build stays a few round trips. */
  async evidence(ids: readonly bigint[]): Promise<Map<bigint, ApprovalEvidence>> {
    await this.ready();
    const out = new Map<bigint, ApprovalEvidence>();
    const sorted = [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (let i = 0; i < sorted.length; i += EVIDENCE_SLICE) {
      const slice = sorted.slice(i, i + EVIDENCE_SLICE);
      const marks = slice.map(() => '?').join(', ');
      const rows = await this.db.all(`SELECT w.id, w.app_id, w.user_id, w.destination, w.amount_sat, w.created_at, s.fingerprint FROM withdrawals w LEFT JOIN withdrawal_seen s ON s.withdrawal_id = w.id WHERE w.id IN (${marks}) ORDER BY w.id`, slice);
      const sigs = await this.db.all(`SELECT withdrawal_id, key_id, operator, content, signature FROM withdrawal_signatures WHERE withdrawal_id IN (${marks}) ORDER BY withdrawal_id, signed_at, key_id`, slice);
      const byId = new Map<string, StoredApproval[]>();
      for (const r of sigs) {
        const k = String(r.withdrawal_id);
        if (!byId.has(k)) byId.set(k, []);
        byId.get(k)!.push({ keyId: String(r.key_id), operator: String(r.operator), content: String(r.content), signature: String(r.signature) });
      }
      const attestations = await attestationsOf(this.db, slice, marks);
      for (const r of rows) {
        const id = BigInt(String(r.id));
        out.set(id, {
          request: { id, appId: String(r.app_id), user: String(r.user_id), destination: String(r.destination), amountSat: BigInt(String(r.amount_sat)), createdAt: this.db.readTime(r.created_at) },
          seenFingerprint: opt(r.fingerprint),
          approvals: byId.get(String(r.id)) ?? [],
          attestations: attestations.get(String(r.id)) ?? [],
        });
      }
    }
    return out;
  }

  async leaveOut(items: readonly LeftOut[], actor: string): Promise<void> {
    await this.ready();
    if (items.length === 0) return;
    await this.db.tx(async (t) => {
      await t.all(`SELECT seq FROM audit_head WHERE id = 1${this.db.forUpdate}`);
      const now = this.db.time(new Date());
      for (const i of items) {
        await t.run('DELETE FROM payout_exclusions WHERE withdrawal_id = ?', [i.id]);
        await t.run('INSERT INTO payout_exclusions (withdrawal_id, reason, detail, excluded_at, excluded_by) VALUES (?, ?, ?, ?, ?)', [i.id, i.reason, i.detail.slice(0, 1000), now, actor]);
        await this.append(t, actor, 'withdrawal.left_out', `withdrawal:${i.id}`, { reason: i.reason, detail: i.detail });
      }
    });
  }

  /** Outpoints ("txid:vout") spent by a live payout or reserved by an abandoned one that may still confirm (store/payout-reservations.ts). */
  async lockedOutpoints(): Promise<Set<string>> {
    await this.ready();
    return new Set([...(await liveOutpoints(this.db)), ...(await reservedOutpoints(this.db)).keys()]);
  }

  async abandonedClaims(withdrawalIds: readonly bigint[]): Promise<AbandonedClaim[]> {
    await this.ready();
    return abandonedClaims(this.db, withdrawalIds);
  }

  async markSigned(id: bigint, signedPsbt: string, actor: string): Promise<boolean> {
    await this.ready();
    return this.db.tx(async (t) => {
      await t.all(`SELECT seq FROM audit_head WHERE id = 1${this.db.forUpdate}`);
      return markSignedIn(this.db, t, id, signedPsbt, actor);
    });
  }

  async abandon(ids: readonly bigint[], reason: string, actor: string, evidence: Record<string, unknown>): Promise<bigint[]> {
    await this.ready();
    return this.db.tx(async (t) => {
      await t.all(`SELECT seq FROM audit_head WHERE id = 1${this.db.forUpdate}`);
      return abandonPayouts(this.db, t, ids, reason, actor, evidence);
    });
  }

  /** The next change index j: past every change output the chain record saw and every payout built. */
  async nextChangeIndex(): Promise<number> {
    await this.ready();
    const [a] = await this.db.all('SELECT MAX(idx) AS m FROM chain_outputs WHERE chain = 1');
    const [b] = await this.db.all('SELECT MAX(change_index) AS m FROM payout_outputs');
    const m = Math.max(a?.m === null || a?.m === undefined ? -1 : Number(a.m), b?.m === null || b?.m === undefined ? -1 : Number(b.m));
    return m + 1;
  }

  async get(id: bigint): Promise<PayoutRow | undefined> {
    await this.ready();
    const [r] = await this.db.all(`SELECT ${PAYOUT_COLUMNS} FROM payouts WHERE id = ?`, [id]);
    return r ? this.row(r) : undefined;
  }

  async byUnsignedTxid(txid: string): Promise<PayoutRow | undefined> {
    await this.ready();
    const [r] = await this.db.all(`SELECT ${PAYOUT_COLUMNS} FROM payouts WHERE unsigned_txid = ? ORDER BY id DESC LIMIT 1`, [txid]);
    return r ? this.row(r) : undefined;
  }

  async list(statuses?: readonly PayoutStatus[]): Promise<PayoutRow[]> {
    await this.ready();
    const where = statuses && statuses.length > 0 ? ` WHERE status IN (${statuses.map(() => '?').join(', ')})` : '';
    return (await this.db.all(`SELECT ${PAYOUT_COLUMNS} FROM payouts${where} ORDER BY id`, statuses ?? [])).map((r) => this.row(r));
  }

  async outputs(id: bigint): Promise<PayoutOutputRow[]> {
    await this.ready();
    const rows = await this.db.all('SELECT n, withdrawal_id, address, amount_sat, change_index FROM payout_outputs WHERE payout_id = ? ORDER BY n', [id]);
    return rows.map((r) => ({
      n: Number(r.n), withdrawalId: r.withdrawal_id === null || r.withdrawal_id === undefined ? undefined : BigInt(String(r.withdrawal_id)),
      address: String(r.address), amountSat: BigInt(String(r.amount_sat)), changeIndex: r.change_index === null || r.change_index === undefined ? undefined : Number(r.change_index),
    }));
  }

  async inputs(id: bigint): Promise<PayoutInputRow[]> {
    await this.ready();
    const rows = await this.db.all('SELECT n, txid, vout, value_sat, chain, idx FROM payout_inputs WHERE payout_id = ? ORDER BY n', [id]);
    return rows.map((r) => ({ n: Number(r.n), txid: String(r.txid), vout: Number(r.vout), valueSat: BigInt(String(r.value_sat)), chain: Number(r.chain) as 0 | 1, index: Number(r.idx) }));
  }

  /** The withdrawals' current status, by id. */
  async withdrawalStatus(ids: readonly bigint[]): Promise<Map<bigint, { status: string; payoutId: bigint | undefined }>> {
    await this.ready();
    if (ids.length === 0) return new Map();
    const rows = await this.db.all(`SELECT id, status, payout_id FROM withdrawals WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
    return new Map(rows.map((r) => [BigInt(String(r.id)), { status: String(r.status), payoutId: r.payout_id === null || r.payout_id === undefined ? undefined : BigInt(String(r.payout_id)) }]));
  }

  /** How the chain record sees the coins a payout spends, and the synced tip height. */
  async spends(id: bigint): Promise<{ tip: number | undefined; coins: SpendState[] }> {
    await this.ready();
    const [t] = await this.db.all('SELECT MAX(height) AS h FROM chain_blocks');
    const rows = await this.db.all('SELECT i.txid, i.vout, o.spent_txid, o.spent_height FROM payout_inputs i LEFT JOIN chain_outputs o ON o.txid = i.txid AND o.vout = i.vout WHERE i.payout_id = ? ORDER BY i.n', [id]);
    return {
      tip: t?.h === null || t?.h === undefined ? undefined : Number(t.h),
      coins: rows.map((r) => ({ txid: String(r.txid), vout: Number(r.vout), spentTxid: opt(r.spent_txid), spentHeight: r.spent_height === null || r.spent_height === undefined ? undefined : Number(r.spent_height) })),
    };
  }

  /**
   * Record a built payout and lock its withdrawals to it (approved → in_payout),
   * or, with `replaces`, a replacement of a live payout paying the same
   * withdrawals (they stay in_payout). One transaction; STATE_CONFLICT when a
   * withdrawal is no longer approved or a coin is spent by another live payout.
   */
  async insert(built: BuiltPayout, actor: string, replaces?: PayoutRow, opts: { readonly cancels?: bigint } = {}): Promise<bigint> {
    await this.ready();
    return this.db.tx(async (t) => {
      await t.all(`SELECT seq FROM audit_head WHERE id = 1${this.db.forUpdate}`); // payout writers take turns
      const locked = await liveOutpoints(t);
      // the abandoned payouts it must conflict with, checked again here whatever the builder chose; their reserved coins are its to spend
      const claims = await assertClaimsHonoured(t, built, opts.cancels);
      for (const [k, by] of await reservedOutpoints(t)) if (!by.some((p) => claims.has(p))) locked.add(k);
      if (replaces) {
        const [cur] = await t.all(`SELECT status FROM payouts WHERE id = ?${this.db.forUpdate}`, [replaces.id]);
        if (!cur || !isLivePayout(cur.status)) {
          throw new CodedError('STATE_CONFLICT', `payout ${replaces.id} is ${String(cur?.status ?? 'gone')}; only a built, signed or broadcast payout can be bumped`);
        }
        for (const i of await t.all('SELECT txid, vout FROM payout_inputs WHERE payout_id = ?', [replaces.id])) locked.delete(`${String(i.txid)}:${Number(i.vout)}`);
      }
      const taken = built.inputs.filter((i) => locked.has(`${i.txid}:${i.vout}`));
      if (taken.length > 0) {
        throw new CodedError('STATE_CONFLICT', `coin(s) ${taken.map((i) => `${i.txid}:${i.vout}`).join(', ')} are already spent by another live payout`, { hint: 'another build ran at the same time; run the build again' });
      }
      const now = this.db.time(new Date());
      const r = await t.run('INSERT INTO payouts (status, psbt, unsigned_txid, fee_sat, fee_rate_sat_kvb, replaces_payout_id, cancels_payout_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [PAYOUT.built, built.psbt.toBase64(), built.unsignedTxid, built.feeSat, built.feeRateSatKvb, replaces?.id ?? null, opts.cancels ?? null, now]);
      const id = r.lastId;
      for (const [n, i] of built.inputs.entries()) {
        await t.run('INSERT INTO payout_inputs (payout_id, n, txid, vout, value_sat, chain, idx) VALUES (?, ?, ?, ?, ?, ?, ?)', [id, n, i.txid, i.vout, i.valueSat, i.chain, i.index]);
      }
      for (const o of built.outputs) {
        await t.run('INSERT INTO payout_outputs (payout_id, n, withdrawal_id, address, amount_sat, change_index) VALUES (?, ?, ?, ?, ?, NULL)', [id, o.vout, o.withdrawalId, o.address, o.amountSat]);
      }
      if (built.change) {
        await t.run('INSERT INTO payout_outputs (payout_id, n, withdrawal_id, address, amount_sat, change_index) VALUES (?, ?, NULL, ?, ?, ?)', [id, built.change.vout, built.change.address, built.change.amountSat, built.change.index]);
      }
      if (!replaces) {
        for (const o of built.outputs) {
          const wid = o.withdrawalId;
          // Destination and amount in the guard: a row edited between the approval check and this lock does not join.
          const u = await t.run("UPDATE withdrawals SET status = 'in_payout', payout_id = ?, updated_at = ? WHERE id = ? AND status = 'approved' AND destination = ? AND amount_sat = ?", [id, now, wid, o.address, o.amountSat]);
          if (u.changes !== 1) {
            const [cur] = await t.all('SELECT status, payout_id, destination, amount_sat FROM withdrawals WHERE id = ?', [wid]);
            if (cur && String(cur.status) === 'approved') {
              throw new CodedError('STATE_CONFLICT', `withdrawal ${wid} changed while payout ${id} was being built (now ${String(cur.amount_sat)} sat to ${String(cur.destination)}); nothing was recorded`, {
                hint: 'run the build again: it leaves out what changed after approval', context: { id: wid.toString() },
              });
            }
            throw new CodedError('STATE_CONFLICT', `withdrawal ${wid} is ${String(cur?.status ?? 'gone')}${cur?.payout_id ? ` (payout ${String(cur.payout_id)})` : ''}, not approved; it cannot join payout ${id}`, {
              hint: 'another build locked it first; run the build again for what is still approved', context: { id: wid.toString() },
            });
          }
          await t.run('DELETE FROM payout_exclusions WHERE withdrawal_id = ?', [wid]);
          await this.append(t, actor, 'withdrawal.in_payout', `withdrawal:${wid}`, { from: 'approved', to: 'in_payout', payout: id, vout: o.vout });
        }
      }
      await this.append(t, actor, replaces ? 'payout.bumped' : opts.cancels !== undefined ? 'payout.cancel_built' : 'payout.built', `payout:${id}`, {
        unsignedTxid: built.unsignedTxid, feeSat: built.feeSat, feeRateSatKvb: built.feeRateSatKvb, inputs: built.inputs.length, inputTotalSat: built.inputTotalSat,
        withdrawals: built.outputs.map((o) => o.withdrawalId), paymentTotalSat: built.paymentTotalSat, changeSat: built.change?.amountSat ?? 0n,
        ...(replaces ? { replaces: replaces.id, replacesTxid: replaces.unsignedTxid } : {}),
        ...(opts.cancels !== undefined ? { cancels: opts.cancels } : {}), ...(claims.size > 0 ? { conflictsWith: [...claims] } : {}),
      });
      return id;
    });
  }

  /**
   * built|signed → broadcast with its txid and signed PSBT, and its
   * withdrawals in_payout → broadcast. Already broadcast with the same txid:
   * nothing changes (returns false).
   */
  async markBroadcast(id: bigint, txid: string, signedPsbt: string, actor: string): Promise<boolean> {
    await this.ready();
    return this.db.tx(async (t) => {
      await t.all(`SELECT seq FROM audit_head WHERE id = 1${this.db.forUpdate}`);
      const [cur] = await t.all(`SELECT status, txid FROM payouts WHERE id = ?${this.db.forUpdate}`, [id]);
      if (!cur) throw new CodedError('NOT_FOUND', `payout ${id} does not exist`);
      const status = payoutStatus(cur.status, id);
      if ((status === PAYOUT.broadcast || status === PAYOUT.confirmed) && String(cur.txid) === txid) return false;
      // broadcast again with another txid: the one recorded before is corrected, the status stays
      if (status !== PAYOUT.broadcast && !canMovePayout(status, PAYOUT.broadcast)) {
        throw new CodedError('STATE_CONFLICT', `payout ${id} is ${status}; it cannot be broadcast`);
      }
      const now = this.db.time(new Date());
      const u = await t.run('UPDATE payouts SET status = ?, txid = ?, signed_psbt = ?, broadcast_at = ?, updated_at = ? WHERE id = ? AND status = ?', [PAYOUT.broadcast, txid, signedPsbt, now, now, id, status]);
      if (u.changes !== 1) throw new CodedError('STATE_CONFLICT', `payout ${id} changed while being broadcast`);
      const ws = await t.all("SELECT w.id FROM withdrawals w JOIN payout_outputs o ON o.withdrawal_id = w.id WHERE o.payout_id = ? AND w.status = 'in_payout' ORDER BY w.id", [id]);
      for (const w of ws) {
        const m = await t.run("UPDATE withdrawals SET status = 'broadcast', updated_at = ? WHERE id = ? AND status = 'in_payout'", [now, w.id]);
        if (m.changes === 1) await this.append(t, actor, 'withdrawal.broadcast', `withdrawal:${String(w.id)}`, { from: 'in_payout', to: 'broadcast', payout: id, txid });
      }
      await this.append(t, actor, 'payout.broadcast', `payout:${id}`, { from: status, to: PAYOUT.broadcast, txid });
      return true;
    });
  }

  /** Update the confirmations of a payout that is not yet confirmed enough. */
  async setConfirmations(id: bigint, confirmations: number): Promise<void> {
    await this.ready();
    await this.db.run('UPDATE payouts SET confirmations = ? WHERE id = ?', [confirmations, id]);
  }

  /**
   * Payout `id` (txid) confirmed: → confirmed (from a live status, or from
   * abandoned: given up but broadcast anyway); every other live payout it
   * conflicts with (sharing a withdrawal or a coin) → abandoned, `replaced`
   * for its own versions (bumps), `failed` for the others (a rebuild, a
   * cancel); its withdrawals → confirmed with payout_id = id, never a
   * withdrawal already paid by another payout (that one is reported).
   */
  async markConfirmed(id: bigint, txid: string, confirmations: number, actor: string): Promise<ConfirmOutcome> {
    await this.ready();
    return this.db.tx(async (t) => {
      await t.all(`SELECT seq FROM audit_head WHERE id = 1${this.db.forUpdate}`);
      const [cur] = await t.all(`SELECT status FROM payouts WHERE id = ?${this.db.forUpdate}`, [id]);
      const status = String(cur?.status ?? 'gone');
      if (!isPayoutStatus(status) || !canMovePayout(status, PAYOUT.confirmed)) throw new CodedError('STATE_CONFLICT', `payout ${id} is ${status}; it cannot become confirmed`);
      const now = this.db.time(new Date());
      await t.run('UPDATE payouts SET status = ?, txid = ?, confirmations = ?, confirmed_at = ?, updated_at = ? WHERE id = ? AND status = ?', [PAYOUT.confirmed, txid, confirmations, now, now, id, status]);
      const ws = (await t.all('SELECT withdrawal_id FROM payout_outputs WHERE payout_id = ? AND withdrawal_id IS NOT NULL ORDER BY n', [id])).map((r) => BigInt(String(r.withdrawal_id)));
      const { abandoned, failed } = await confirmSiblings(this.db, t, id, ws, txid, actor);
      const anomalies = await payWithdrawals(this.db, t, id, ws, txid, confirmations, actor);
      await this.append(t, actor, 'payout.confirmed', `payout:${id}`, { from: status, to: PAYOUT.confirmed, txid, confirmations, abandoned, failed, ...(anomalies.length > 0 ? { anomalies } : {}) });
      return { abandoned, failed, withdrawals: ws, wasAbandoned: status === PAYOUT.abandoned, anomalies };
    });
  }

  /** One entry in the caller's transaction (store/audit-append.ts). */
  private append(t: SqlExec, actor: string, action: string, subject: string, data: Record<string, unknown>): Promise<AuditEntry> {
    return appendAudit(this.db, t, actor, action, subject, data);
  }

}

