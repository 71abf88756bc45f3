import { parseAddress } from '../core/address.js';
import { approvalContentFor, approvalContentJson } from '../core/approval.js';
import { approvalStanding, type StoredApproval } from '../core/approval-standing.js';
import { ChainVerifier, type AuditEntry, type ChainVerdict } from '../core/audit-chain.js';
import { CodedError, isCoded } from '../core/errors.js';
import { NETWORKS, parseNetwork, type Network, type NetworkName } from '../core/network.js';
import { BLOCKING_FLAGS, computeFlags, type RequestFacts, type WithdrawalPolicy } from '../core/withdrawal-policy.js';
import type {
  ApproveOptions, Approver, DecisionOutcome, ListQuery, ObserveOutcome, RequestOutcome, ReviewedWithdrawal, Totals, WithdrawalRecord, WithdrawalStore,
} from '../core/ports.js';
import { IntakeError, contentText, fingerprint, sameRequest, validateRequest, type RequestContent, type ValidRequest } from '../core/withdrawal-rules.js';
import { assertMove, isWithdrawalStatus, stateConflict, type WithdrawalStatus } from '../core/withdrawal-state.js';
import { appendAudit } from './audit-append.js';
import { attestationsOf } from './attestation-rows.js';
import { ensureSchemaCurrent, type SqlDb, type SqlExec, type SqlRow } from './sql-db.js';

/** Statuses whose amount counts toward limits and history. */
const LIVE = "('requested', 'approved', 'in_payout', 'broadcast', 'confirmed')";
const COLUMNS = 'id, app_id, user_id, destination, amount_sat, status, created_at, reviewer, reason, decided_at, payout_id';
/** What the web account may read (sql/mysql/grants.sql): the web door reads only these. */
const WEB_COLUMNS = 'id, app_id, user_id, destination, amount_sat, status, created_at, reason';
const OBSERVE_SLICE = 2000;
/**
 * Upper bound on the parameter bytes of one multi-row INSERT into
 * withdrawal_seen: far under max_allowed_packet (MySQL 5.7 4 MiB, MySQL 8
 * 64 MiB, MariaDB 16 MiB by default). A worst-case row (every text column
 * full of 4-byte characters) is ~3.5 KiB, so a statement carries >= 140 rows;
 * ordinary rows are ~300 bytes, so a slice of 500 is one statement.
 */
const SEEN_INSERT_MAX_BYTES = 512 * 1024;
const AUDIT_SLICE = 5000;
const HOUR_MS = 3_600_000;

export interface WithdrawalStoreOptions {
  /** The network requests are checked against when the pool has no pinned account yet (or to double-check it). */
  readonly network?: NetworkName;
}

/**
 * The withdrawal store over either dialect. Every decision runs in one
 * transaction that (1) locks the request row, (2) checks the state table and
 * the policy, (3) changes the row with a guarded `UPDATE … WHERE id = ? AND
 * status = ?`, (4) appends its audit entries: all or nothing.
 */
export class SqlWithdrawalStore implements WithdrawalStore {
  readonly dialect: 'sqlite' | 'mysql';
  readonly label: string;
  private cachedNetwork: Network | undefined;

  constructor(private readonly db: SqlDb, private readonly opts: WithdrawalStoreOptions = {}) {
    this.dialect = db.dialect;
    this.label = db.label;
  }

  private ready(): Promise<void> {
    return ensureSchemaCurrent(this.db);
  }

  async verifierNotes(ids: readonly bigint[]): Promise<Map<bigint, { note: string; notedAt: string }>> {
    await this.ready();
    const out = new Map<bigint, { note: string; notedAt: string }>();
    for (let k = 0; k < ids.length; k += 1_000) {
      const part = ids.slice(k, k + 1_000);
      // Oldest first: the latest note of each request is the one left in the map.
      const rows = await this.db.all(`SELECT withdrawal_id, note, noted_at FROM verifier_notes WHERE withdrawal_id IN (${part.map(() => '?').join(',')}) ORDER BY withdrawal_id, noted_at`, part);
      for (const r of rows) out.set(BigInt(String(r.withdrawal_id)), { note: String(r.note), notedAt: this.db.readTime(r.noted_at) });
    }
    return out;
  }

  async network(): Promise<Network> {
    if (this.cachedNetwork) return this.cachedNetwork;
    await this.ready();
    const configured = this.opts.network ? NETWORKS[this.opts.network] : undefined;
    let rows: SqlRow[] = [];
    try {
      rows = await this.db.all('SELECT network FROM pool_accounts ORDER BY is_primary DESC, id LIMIT 1');
    } catch (e) {
      // The web account may not read pool_accounts (grants.sql): it must name the network itself.
      if (!(configured && [1142, 1143].includes((e as { errno?: number }).errno ?? 0))) throw e;
    }
    const pinned = rows[0] ? parseNetwork(String(rows[0].network)) : undefined;
    if (pinned && configured && pinned.name !== configured.name) {
      throw new CodedError('NETWORK_MISMATCH', `"--network" ${configured.name} does not match the pool's network ${pinned.name}`);
    }
    const network = pinned ?? configured;
    if (!network) throw new CodedError('USAGE', `the pool ${this.label} has no network yet (no batch loaded)`, { hint: 'load a batch first, or pass --network' });
    this.cachedNetwork = network;
    return network;
  }

  private record(r: SqlRow): WithdrawalRecord {
    return withdrawalRecord(this.db, r);
  }

  private content(w: WithdrawalRecord): RequestContent {
    return { id: w.id, appId: w.appId, user: w.user, destination: w.destination, amountSat: w.amountSat, createdAt: w.createdAt };
  }

  // ---- web door ----------------------------------------------------------

  async request(valid: ValidRequest): Promise<RequestOutcome> {
    await this.ready();
    const existing = async () => {
      const [row] = await this.db.all(`SELECT ${WEB_COLUMNS} FROM withdrawals WHERE app_id = ?`, [valid.appId]);
      if (!row) return undefined;
      const w = this.record(row);
      if (!sameRequest(w, valid)) {
        throw new CodedError('STATE_CONFLICT', `app id "${valid.appId}" is already withdrawal ${w.id} with other content (user ${w.user}, ${w.destination}, ${w.amountSat} sat)`, {
          hint: 'an app id names one request; use a new app id for a new request',
          context: { id: w.id.toString(), reason: 'app_id_reused' },
        });
      }
      return { kind: 'existing' as const, withdrawal: w };
    };
    const prior = await existing();
    if (prior) return prior;
    try {
      // Exactly the columns grants.sql lets the web account insert: created_at takes the server's
      // clock (the column default), as it does for a PHP app's raw INSERT.
      const r = await this.db.run('INSERT INTO withdrawals (app_id, user_id, destination, amount_sat) VALUES (?, ?, ?, ?)',
        [valid.appId, valid.user, valid.destination.address, valid.amountSat]);
      const [row] = await this.db.all(`SELECT ${WEB_COLUMNS} FROM withdrawals WHERE id = ?`, [r.lastId]);
      return { kind: 'created', withdrawal: this.record(row!) };
    } catch (e) {
      if (!this.db.isDuplicate(e)) throw e;
      const raced = await existing(); // the same app id arrived twice at once
      if (raced) return raced;
      throw e;
    }
  }

  // ---- operator: first read ---------------------------------------------

  /**
   * Fingerprint every request not seen yet, in slices of OBSERVE_SLICE, one
   * transaction each. The slice's transaction first locks the audit head (the
   * row every append locks), so two operator tools reading at once take turns:
   * each slice's rows are read, fingerprinted and audited by one of them only.
   * The fingerprints go in as multi-row INSERTs (one round trip per
   * SEEN_INSERT_MAX_BYTES, not per row: 10,000 rows cost 14 s on MariaDB one
   * row at a time).
   */
  async observe(actor: string): Promise<ObserveOutcome> {
    await this.ready();
    const network = await this.network();
    let seen = 0;
    const invalid: { id: bigint; reason: string; message: string }[] = [];
    // Keyset over ids; when it runs dry, one more pass from the start catches a row written with an explicit lower id.
    for (let after: bigint | undefined = -1n; after !== undefined;) {
      // The result comes back from the transaction (MySQL may retry it whole on a deadlock).
      const slice: ObserveOutcome & { lastId?: bigint } = await this.db.tx((t) => this.observeSlice(t, actor, network, after!));
      seen += slice.seen;
      invalid.push(...slice.invalid);
      after = slice.lastId ?? (after === -1n ? undefined : -1n);
    }
    return { seen, invalid };
  }

  private async observeSlice(t: SqlExec, actor: string, network: Network, afterId: bigint): Promise<ObserveOutcome & { lastId?: bigint }> {
    await t.all(`SELECT seq FROM audit_head WHERE id = 1${this.db.forUpdate}`); // one observer at a time
    const rows = await t.all(`SELECT ${COLUMNS.split(', ').map((c) => `w.${c}`).join(', ')} FROM withdrawals w LEFT JOIN withdrawal_seen s ON s.withdrawal_id = w.id WHERE s.withdrawal_id IS NULL AND w.id > ? ORDER BY w.id LIMIT ${OBSERVE_SLICE}`, [afterId]);
    if (rows.length === 0) return { seen: 0, invalid: [] };
    const now = this.db.time(new Date());
    const items = rows.map((row) => {
      const w = this.record(row);
      const c = this.content(w);
      return { w, fingerprint: fingerprint(c), text: contentText(c) };
    });
    let inserted = 0;
    for (const chunk of byteSlices(items, (i) => [i.w.id, i.fingerprint, i.text, now, actor], SEEN_INSERT_MAX_BYTES)) {
      const r = await t.run(`${this.db.insertIgnore} INTO withdrawal_seen (withdrawal_id, fingerprint, content, seen_at, seen_by) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}`, chunk.flat());
      inserted += r.changes;
    }
    if (inserted !== items.length) {
      // Cannot happen while every observer holds the head lock; roll back rather than audit rows another tool saw.
      throw new CodedError('INTERNAL', `withdrawal_seen: inserted ${inserted} of ${items.length} fingerprints; another writer bypassed the audit head lock`, { hint: 'retry; check that nothing else writes withdrawal_seen' });
    }
    const invalid: { id: bigint; reason: string; message: string }[] = [];
    const fingerprints: Record<string, string> = {};
    for (const { w, fingerprint: fp } of items) {
      fingerprints[w.id.toString()] = fp;
      const refusal = this.intakeRefusal(w, network);
      if (!refusal) continue;
      const r = await t.run("UPDATE withdrawals SET status = 'invalid', reason = ?, reviewer = ?, decided_at = ?, updated_at = ? WHERE id = ? AND status = ?",
        [`${refusal.reason}: ${refusal.message}`.slice(0, 1000), actor, now, now, w.id, w.status]);
      if (r.changes === 1) {
        invalid.push({ id: w.id, ...refusal });
        await this.append(t, actor, 'withdrawal.invalid', `withdrawal:${w.id}`, { from: w.status, to: 'invalid', reason: refusal.reason, message: refusal.message, fingerprint: fp });
      }
    }
    await this.append(t, actor, 'withdrawals.seen', 'withdrawals', { fingerprints });
    return { seen: items.length, invalid, lastId: items[items.length - 1]!.w.id };
  }

  /** Why a stored row breaks the intake rules (it came in through raw SQL), or undefined. */
  private intakeRefusal(w: WithdrawalRecord, network: Network): { reason: string; message: string } | undefined {
    if (w.status !== 'requested' || w.reviewer !== undefined || w.decidedAt !== undefined || w.payoutId !== undefined) {
      return { reason: 'arrived_decided', message: `a new request must arrive as "requested" with no reviewer, decision or payout; it arrived as ${w.status}` };
    }
    try {
      validateRequest({ appId: w.appId, user: w.user, address: w.destination, amountSat: w.amountSat }, network);
      return undefined;
    } catch (e) {
      if (e instanceof IntakeError) return { reason: e.reason, message: e.message };
      throw e;
    }
  }

  // ---- operator: reading -------------------------------------------------

  async list(query: ListQuery, policy: WithdrawalPolicy): Promise<ReviewedWithdrawal[]> {
    await this.ready();
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.status) (where.push('status = ?'), params.push(query.status));
    if (query.user !== undefined) (where.push('user_id = ?'), params.push(query.user));
    if (query.destination !== undefined) (where.push('destination = ?'), params.push(query.destination));
    if (query.afterId !== undefined) (where.push('id > ?'), params.push(query.afterId));
    const limit = Math.max(1, Math.min(10_000, Math.floor(query.limit)));
    const rows = await this.db.all(`SELECT ${COLUMNS} FROM withdrawals${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ${limit}`, params);
    const approvedSat = await this.approvedUnpaid(this.db);
    const out: ReviewedWithdrawal[] = [];
    for (const row of rows) out.push(await this.review(this.db, this.record(row), policy, approvedSat));
    return out;
  }

  async get(id: bigint, policy: WithdrawalPolicy): Promise<ReviewedWithdrawal | undefined> {
    await this.ready();
    const [row] = await this.db.all(`SELECT ${COLUMNS} FROM withdrawals WHERE id = ?`, [id]);
    return row ? this.review(this.db, this.record(row), policy, await this.approvedUnpaid(this.db)) : undefined;
  }

  async totals(status: WithdrawalStatus): Promise<Totals> {
    await this.ready();
    const [row] = await this.db.all('SELECT COUNT(*) AS n, COALESCE(SUM(amount_sat), 0) AS s FROM withdrawals WHERE status = ?', [status]);
    return { count: Number(row?.n ?? 0), amountSat: BigInt(String(row?.s ?? 0)) };
  }

  private async approvedUnpaid(x: SqlExec): Promise<bigint> {
    const [row] = await x.all("SELECT COALESCE(SUM(amount_sat), 0) AS s FROM withdrawals WHERE status = 'approved'");
    return BigInt(String(row?.s ?? 0));
  }

  private async review(x: SqlExec, w: WithdrawalRecord, policy: WithdrawalPolicy, approvedSat: bigint): Promise<ReviewedWithdrawal> {
    const facts = await this.facts(x, w, policy, approvedSat);
    const approvals = (await x.all('SELECT operator FROM withdrawal_approvals WHERE withdrawal_id = ? ORDER BY approved_at, operator', [w.id])).map((r) => String(r.operator));
    const [seen] = await x.all('SELECT fingerprint FROM withdrawal_seen WHERE withdrawal_id = ?', [w.id]);
    const attestations = (await attestationsOf(x, [w.id])).get(w.id.toString()) ?? [];
    return { ...w, flags: computeFlags(w, facts, policy), approvals, outputType: facts.outputType, seenFingerprint: seen ? String(seen.fingerprint) : undefined, attestations };
  }

  private async facts(x: SqlExec, w: WithdrawalRecord, policy: WithdrawalPolicy, approvedSat: bigint): Promise<RequestFacts> {
    const created = Date.parse(w.createdAt);
    const t = (ms: number) => this.db.time(new Date(Number.isNaN(created) ? Date.now() : ms));
    const window = policy.nearDuplicateWindowHours * HOUR_MS;
    const one = async (sql: string, params: unknown[]) => (await x.all(sql, params))[0] ?? {};
    const daily = await one(`SELECT COALESCE(SUM(amount_sat), 0) AS s FROM withdrawals WHERE user_id = ? AND id <= ? AND created_at > ? AND status IN ${LIVE}`, [w.user, w.id, t(created - 24 * HOUR_MS)]);
    const own = await x.all('SELECT 1 AS x FROM addresses WHERE address = ? LIMIT 1', [w.destination]);
    const prior = await one(`SELECT COUNT(*) AS n FROM withdrawals WHERE destination = ? AND user_id = ? AND id < ? AND status IN ${LIVE}`, [w.destination, w.user, w.id]);
    const others = await one("SELECT COUNT(DISTINCT user_id) AS n FROM withdrawals WHERE destination = ? AND user_id <> ? AND status <> 'invalid'", [w.destination, w.user]);
    const dups = await one("SELECT COUNT(*) AS n FROM withdrawals WHERE destination = ? AND user_id = ? AND amount_sat = ? AND id <> ? AND created_at > ? AND created_at < ? AND status <> 'invalid'",
      [w.destination, w.user, w.amountSat, w.id, t(created - window), t(created + window)]);
    const [seen] = await x.all('SELECT fingerprint FROM withdrawal_seen WHERE withdrawal_id = ?', [w.id]);
    const [excluded] = await x.all('SELECT reason, detail, excluded_at FROM payout_exclusions WHERE withdrawal_id = ?', [w.id]);
    let outputType: string | undefined;
    try {
      outputType = parseAddress(w.destination, await this.network()).type;
    } catch (e) {
      if (!isCoded(e)) throw e;
    }
    const live = w.status === 'approved' ? approvedSat - w.amountSat : approvedSat;
    return {
      userDailySat: BigInt(String(daily.s ?? 0)),
      approvedUnpaidSat: live,
      ownPoolAddress: own.length > 0,
      priorToDestination: Number(prior.n ?? 0),
      otherUsersOnDestination: Number(others.n ?? 0),
      nearDuplicates: Number(dups.n ?? 0),
      unchangedSinceSeen: seen === undefined || String(seen.fingerprint) === fingerprint(this.content(w)),
      outputType,
      // The exclusion row stays as the record of the last build; the flag is news only while the request still waits to be paid.
      leftOut: excluded && w.status === 'approved' ? { reason: String(excluded.reason), detail: String(excluded.detail), at: this.db.readTime(excluded.excluded_at) } : undefined,
    };
  }

  // ---- operator: decisions -------------------------------------------------

  private async lockRow(t: SqlExec, id: bigint): Promise<WithdrawalRecord> {
    const [row] = await t.all(`SELECT ${COLUMNS} FROM withdrawals WHERE id = ?${this.db.forUpdate}`, [id]);
    if (!row) throw new CodedError('NOT_FOUND', `withdrawal ${id} does not exist`, { hint: 'see `coldpool withdrawals list`' });
    return this.record(row);
  }

  /** The guarded UPDATE: 0 rows means someone else moved it first; name the state it is in now. */
  private async guardedMove(t: SqlExec, w: WithdrawalRecord, to: WithdrawalStatus, actor: string, reason?: string): Promise<void> {
    assertMove(w.id, w.status, to);
    const now = this.db.time(new Date());
    const r = await t.run('UPDATE withdrawals SET status = ?, reviewer = ?, decided_at = ?, updated_at = ?, reason = COALESCE(?, reason) WHERE id = ? AND status = ?',
      [to, actor, now, now, reason ?? null, w.id, w.status]);
    if (r.changes !== 1) {
      const [cur] = await t.all('SELECT status FROM withdrawals WHERE id = ?', [w.id]);
      throw stateConflict(w.id, String(cur?.status ?? 'gone'), to, w.status);
    }
  }

  async approve(id: bigint, approver: Approver, policy: WithdrawalPolicy, opts: ApproveOptions = {}): Promise<DecisionOutcome> {
    await this.ready();
    const network = await this.network();
    const actor = approver.operator.name;
    const keyId = approver.operator.id;
    if (approver.trust.network !== network.name) {
      throw new CodedError('NETWORK_MISMATCH', `the trust file is for ${approver.trust.network}, the pool ${this.label} is ${network.name}`, { hint: 'use the trust file of this pool\'s network' });
    }
    return this.db.tx(async (t) => {
      const w = await this.lockRow(t, id);
      if (w.status !== 'requested') throw stateConflict(id, w.status, 'approved', 'requested');
      const [seen] = await t.all('SELECT fingerprint, content FROM withdrawal_seen WHERE withdrawal_id = ?', [id]);
      if (!seen) throw new CodedError('STATE_CONFLICT', `withdrawal ${id} has not been seen by the operator tool yet`, { hint: 'list it first (`coldpool withdrawals list`), then decide' });
      const reviewed = await this.review(t, w, policy, await this.approvedUnpaid(t));
      if (opts.onlyIfUnflagged && reviewed.flags.length > 0) {
        throw new CodedError('REFUSED', `withdrawal ${id} has flags now (${reviewed.flags.map((f) => f.code).join(', ')}); not approved as unflagged`, { context: { id: id.toString() } });
      }
      const changed = reviewed.flags.some((f) => f.code === 'changed_since_first_seen');
      if (changed && !opts.overrideChanged) {
        throw new CodedError('REFUSED', `withdrawal ${id} changed since the operator tool first saw it; refusing to sign an approval of it`, {
          hint: 'look at it (`coldpool review`), reject it, or approve with --override-changed (signs what it says now; audited)', context: { id: id.toString(), reason: 'changed_since_first_seen' },
        });
      }
      const blocking = reviewed.flags.filter((f) => BLOCKING_FLAGS.has(f.code));
      if (blocking.length > 0) {
        throw new CodedError('REFUSED', `withdrawal ${id} is refused by policy: ${blocking.map((f) => `${f.code} (${f.detail})`).join('; ')}`, {
          hint: 'reject it, or change the policy file', context: { id: id.toString(), flags: blocking.map((f) => f.code) },
        });
      }
      const stored = await this.storedApprovals(t, id);
      if (stored.some((a) => a.keyId === keyId)) {
        throw new CodedError('STATE_CONFLICT', `key ${keyId} (${actor}) already approved withdrawal ${id}; two approvals with one key are one approval`, {
          hint: 'another operator, with their own key, must approve it', context: { id: id.toString(), keyId },
        });
      }
      if (reviewed.approvals.includes(actor)) {
        throw new CodedError('STATE_CONFLICT', `operator "${actor}" already approved withdrawal ${id}; it needs different operators`, {
          hint: 'another operator must approve it', context: { id: id.toString(), approvals: reviewed.approvals },
        });
      }
      // Signed over the row as locked now, with the first-sight fingerprint as the witness of what it said then.
      const content = approvalContentFor(network, this.content(w), String(seen.fingerprint));
      const signature = approver.sign(content);
      const contentJson = JSON.stringify(approvalContentJson(content));
      const now = this.db.time(new Date());
      await t.run('INSERT INTO withdrawal_approvals (withdrawal_id, operator, approved_at, override_changed) VALUES (?, ?, ?, ?)', [id, actor, now, changed]);
      await t.run('INSERT INTO withdrawal_signatures (withdrawal_id, key_id, operator, content, signature, signed_at) VALUES (?, ?, ?, ?, ?, ?)', [id, keyId, actor, contentJson, signature, now]);
      const standing = approvalStanding(approver.trust, content, [...stored, { keyId, operator: actor, content: contentJson, signature }], policy.approvalsRequired);
      if (!standing.valid.some((o) => o.id === keyId)) {
        // Our own fresh signature not verifying means the key is not the trust file's: never store that.
        throw new CodedError('INTERNAL', `the approval just signed by key ${keyId} does not verify under the trust file`);
      }
      const approvals = standing.valid.map((o) => o.name);
      const flags = reviewed.flags.map((f) => f.code);
      if (changed) {
        await this.append(t, actor, 'withdrawal.override_changed', `withdrawal:${id}`, {
          seen: String(seen.content), seenFingerprint: String(seen.fingerprint), now: contentText(this.content(w)), fingerprint: fingerprint(this.content(w)), keyId, signed: contentJson,
        });
      }
      const notCounted = standing.problems.map((p) => ({ keyId: p.keyId, problem: p.problem }));
      await this.append(t, actor, 'withdrawal.approval', `withdrawal:${id}`, {
        approvals: approvals.length, required: standing.required, flags, amountSat: w.amountSat, destination: w.destination, keyId, content: contentJson, signature,
        ...(standing.mismatched > 0 || notCounted.length > 0 ? { notCounted, overOtherContent: standing.mismatched } : {}),
      });
      if (!standing.covered) return { id, status: 'requested', approvals, approvalsRequired: standing.required };
      await this.guardedMove(t, w, 'approved', actor);
      await this.append(t, actor, 'withdrawal.approved', `withdrawal:${id}`, {
        from: w.status, to: 'approved', approvers: approvals, keyIds: standing.valid.map((o) => o.id), content: contentJson, fingerprint: fingerprint(this.content(w)),
      });
      return { id, status: 'approved', approvals, approvalsRequired: standing.required };
    });
  }

  private async storedApprovals(x: SqlExec, id: bigint): Promise<StoredApproval[]> {
    const rows = await x.all('SELECT key_id, operator, content, signature FROM withdrawal_signatures WHERE withdrawal_id = ? ORDER BY signed_at, key_id', [id]);
    return rows.map((r) => ({ keyId: String(r.key_id), operator: String(r.operator), content: String(r.content), signature: String(r.signature) }));
  }

  async reject(id: bigint, actor: string, reason: string): Promise<DecisionOutcome> {
    const text = typeof reason === 'string' ? reason.trim() : '';
    if (text === '') throw new CodedError('USAGE', '"--reason" expected a non-empty reason for the rejection, got ""', { hint: 'the reason is shown to whoever reads the audit log' });
    if (text.length > 1000) throw new CodedError('USAGE', `"--reason" expected at most 1000 characters, got ${text.length}`);
    await this.ready();
    return this.db.tx(async (t) => {
      const w = await this.lockRow(t, id);
      if (w.status !== 'requested') throw stateConflict(id, w.status, 'rejected', 'requested');
      await this.guardedMove(t, w, 'rejected', actor, text);
      await this.append(t, actor, 'withdrawal.rejected', `withdrawal:${id}`, { from: w.status, to: 'rejected', reason: text });
      return { id, status: 'rejected', approvals: [], approvalsRequired: 0 };
    });
  }

  async move(id: bigint, to: WithdrawalStatus, actor: string, data: Record<string, unknown> = {}): Promise<DecisionOutcome> {
    await this.ready();
    return this.db.tx(async (t) => {
      const w = await this.lockRow(t, id);
      if (!isWithdrawalStatus(w.status)) throw stateConflict(id, w.status, to);
      await this.guardedMove(t, w, to, actor, typeof data.reason === 'string' ? data.reason : undefined);
      await this.append(t, actor, `withdrawal.${to}`, `withdrawal:${id}`, { ...data, from: w.status, to });
      return { id, status: to, approvals: [], approvalsRequired: 0 };
    });
  }

  // ---- audit chain ------------------------------------------------------------

  /** One entry in the caller's transaction (store/audit-append.ts). */
  private append(t: SqlExec, actor: string, action: string, subject: string, data: Record<string, unknown>): Promise<AuditEntry> {
    return appendAudit(this.db, t, actor, action, subject, data);
  }

  async audit(actor: string, action: string, subject: string, data: Record<string, unknown>): Promise<AuditEntry> {
    await this.ready();
    return this.db.tx((t) => this.append(t, actor, action, subject, data));
  }

  async *auditEntries(): AsyncIterable<AuditEntry> {
    await this.ready();
    for (let after = -1n; ;) {
      const rows = await this.db.all(`SELECT l.seq, l.at, l.actor, l.action, l.subject, l.data, l.prev_hash, l.hash, s.key_id, s.signature FROM audit_log l LEFT JOIN audit_signatures s ON s.seq = l.seq WHERE l.seq > ? ORDER BY l.seq LIMIT ${AUDIT_SLICE}`, [after]);
      if (rows.length === 0) return;
      for (const r of rows) {
        const e: AuditEntry = {
          seq: BigInt(String(r.seq)), at: this.db.readTime(r.at), actor: String(r.actor), action: String(r.action), subject: String(r.subject),
          data: String(r.data), prevHash: String(r.prev_hash), hash: String(r.hash),
          ...(r.key_id == null ? {} : { keyId: String(r.key_id), signature: r.signature == null ? undefined : String(r.signature) }),
        };
        after = e.seq;
        yield e;
      }
    }
  }

  async verifyAudit(): Promise<ChainVerdict> {
    const v = new ChainVerifier();
    for await (const e of this.auditEntries()) v.push(e);
    const [head] = await this.db.all('SELECT seq, hash FROM audit_head WHERE id = 1');
    return v.end(head ? { seq: BigInt(String(head.seq)), hash: String(head.hash) } : undefined);
  }

}

/**
 * A withdrawals row as a record: the one mapping, so the operator tool and the
 * verifier compute the same fingerprint from the same row.
 */
export function withdrawalRecord(db: Pick<SqlDb, 'readTime'>, r: SqlRow): WithdrawalRecord {
  const opt = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
  return {
    id: BigInt(String(r.id)),
    appId: String(r.app_id),
    user: String(r.user_id),
    destination: String(r.destination),
    amountSat: BigInt(String(r.amount_sat)),
    status: String(r.status),
    createdAt: db.readTime(r.created_at),
    reviewer: opt(r.reviewer),
    reason: opt(r.reason),
    decidedAt: r.decided_at === null || r.decided_at === undefined ? undefined : db.readTime(r.decided_at),
    payoutId: r.payout_id === null || r.payout_id === undefined ? undefined : BigInt(String(r.payout_id)),
  };
}

/** Split items into runs whose parameters stay under maxBytes (UTF-8), at least one item each. */
function byteSlices<T>(items: readonly T[], params: (item: T) => unknown[], maxBytes: number): unknown[][][] {
  const out: unknown[][][] = [];
  let cur: unknown[][] = [];
  let bytes = 0;
  for (const item of items) {
    const p = params(item);
    const size = p.reduce<number>((n, v) => n + 16 + (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : 24), 0);
    if (cur.length > 0 && bytes + size > maxBytes) (out.push(cur), (cur = []), (bytes = 0));
    cur.push(p);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
