import { CodedError } from '../core/errors.js';
import type {
  LedgerDebit, LedgerDeposit, MirroredUser, PendingMail, PinnedAccount, RecordedAddress, RequestUpdate, VerifierCommit, VerifierEvent, VerifierRequest, VerifierState, VerifierStore,
} from '../core/ports.js';
import { ChainVerifier, type AuditEntry, type ChainVerdict } from '../core/audit-chain.js';
import { appendAuditEntries } from './audit-append.js';
import { applyLedgerCommit } from './ledger-mirror.js';
import { ensureSchemaCurrent, type SqlDb, type SqlExec, type SqlRow } from './sql-db.js';

/** Request columns a guarded update may set, and their SQL names. */
const SETTABLE: Readonly<Record<string, string>> = {
  content: 'content', state: 'state', tokenHash: 'token_hash', supersededHashes: 'superseded_hashes', tokenExpiresAt: 'token_expires_at', tokenSentAt: 'token_sent_at',
  tokensIssued: 'tokens_issued', wrongTokens: 'wrong_tokens', confirmedAt: 'confirmed_at', attestedAt: 'attested_at',
  signature: 'signature', publishedAt: 'published_at', note: 'note',
};
const TIME_FIELDS = new Set(['tokenExpiresAt', 'tokenSentAt', 'confirmedAt', 'attestedAt', 'publishedAt', 'changedAt', 'holdUntil', 'missingSince']);
const MIRROR_SETTABLE: Readonly<Record<string, string>> = { email: 'email', changedAt: 'changed_at', holdUntil: 'hold_until', missingSince: 'missing_since' };
/** Recorded-address columns a step may set: the owner (once, guarded in SQL) and what the web row said. */
const ADDRESS_SETTABLE: Readonly<Record<string, string>> = { ownerSeenAt: 'owner_seen_at', webAddress: 'web_address', webUser: 'web_user_id', webStatus: 'web_status' };
const ADDRESS_COLUMNS = 'id, address, account_id, chain, idx, user_id, first_seen_at, owner_seen_at, web_address, web_user_id, web_status';
/** Rows per multi-row INSERT: far below MySQL's packet limit and SQLite's 32,766 parameters. */
const ROWS_PER_INSERT = 500;

/**
 * The verifier's own database over either dialect (sql/verifier/<dialect>/).
 * Every step of the verifier's loop is one `commit`: its request inserts and
 * guarded updates, mirror changes, outbox mail, events and cursors go in one
 * transaction, so a SIGKILL leaves either all of a step or none of it.
 */
export class SqlVerifierStore implements VerifierStore {
  readonly label: string;

  constructor(private readonly db: SqlDb) {
    this.label = db.label;
  }

  private async all(sql: string, params: readonly unknown[] = []): Promise<SqlRow[]> {
    await ensureSchemaCurrent(this.db);
    return this.db.all(sql, params);
  }

  async cursor(name: string): Promise<bigint> {
    const [row] = await this.all('SELECT value FROM cursors WHERE name = ?', [name]);
    return row ? BigInt(String(row.value)) : 0n;
  }

  async commit(c: VerifierCommit, at: Date): Promise<void> {
    await ensureSchemaCurrent(this.db);
    const t = (v: unknown): unknown => (v instanceof Date ? this.db.time(v) : typeof v === 'string' && v !== '' && /^\d{4}-\d\d-\d\dT/.test(v) ? this.db.time(new Date(v)) : v);
    await this.db.tx(async (x) => {
      await insertRows(x, 'requests', ['withdrawal_id', 'user_id', 'fingerprint', 'content', 'first_seen_at', 'state', 'note'],
        (c.inserts ?? []).map((r) => [r.withdrawalId, r.user, r.fingerprint, r.content ?? null, t(r.firstSeenAt), r.state, r.note ?? null]), this.db.insertIgnore);
      for (const run of sameShapeRuns(c.updates ?? [], (u) => u.id, (u) => [Object.keys(u.set).filter((k) => k in SETTABLE), u.from])) {
        await this.update(x, run, t);
      }
      await insertRows(x, 'mirror_users', ['user_id', 'email', 'first_seen_at', 'changed_at', 'hold_until', 'missing_since'],
        (c.mirrorAdd ?? []).map((m) => [m.user, m.email, t(m.firstSeenAt), t(m.changedAt ?? null), t(m.holdUntil ?? null), t(m.missingSince ?? null)]));
      for (const run of sameShapeRuns(c.mirrorSet ?? [], (m) => m.user, (m) => [Object.keys(m.set).filter((k) => k in MIRROR_SETTABLE)])) {
        const keys = Object.keys(run[0]!.set).filter((k) => k in MIRROR_SETTABLE);
        if (keys.length === 0) continue;
        const set = setClause(keys, MIRROR_SETTABLE, 'user_id', run.map((m) => ({ key: m.user, values: keys.map((k) => setValue(k, (m.set as Record<string, unknown>)[k], t)) })));
        await x.run(`UPDATE mirror_users SET ${set.sql} WHERE user_id IN (${run.map(() => '?').join(', ')})`, [...set.params, ...run.map((m) => m.user)]);
      }
      await insertRows(x, 'email_changes', ['user_id', 'old_email', 'new_email', 'noticed_at'],
        (c.emailChanges ?? []).map((e) => [e.user, e.oldEmail, e.newEmail, t(e.noticedAt)]));
      await insertRows(x, 'outbox', ['kind', 'recipient', 'subject', 'body', 'facts', 'created_at'],
        (c.outbox ?? []).map((o) => [o.kind, o.recipient ?? null, o.subject, o.body, JSON.stringify(o.facts, jsonBigint), t(at)]));
      // Every decision of the step, in the signed audit chain, in the step's own transaction.
      await appendAuditEntries(this.db, x, (c.events ?? []).map((e) => ({
        actor: 'verifier', action: e.kind, subject: e.withdrawalId !== undefined ? `withdrawal:${e.withdrawalId}` : e.user !== undefined ? `user:${e.user}` : 'verifier',
        data: { ...(e.user !== undefined ? { user: e.user } : {}), detail: e.detail, clock: at.toISOString() },
      })));
      for (const [name, value] of Object.entries(c.cursors ?? {})) {
        const changed = (await x.run('UPDATE cursors SET value = ? WHERE name = ? AND value <= ?', [value, name, value])).changes;
        if (changed === 0) await x.run(`${this.db.insertIgnore} INTO cursors (name, value) VALUES (?, ?)`, [name, value]);
      }
      await insertRows(x, 'relays', ['relay_id', 'withdrawal_id', 'outcome', 'judged_at'], (c.relays ?? []).map((r) => [r.id, r.withdrawalId, r.outcome, t(at)]));
      for (const name of c.resetCursors ?? []) await x.run('UPDATE cursors SET value = 0 WHERE name = ?', [name]);
      await this.commitLedger(x, c, t, at);
      await applyLedgerCommit(this.db, x, c.ledger);
    });
  }

  /** The assignment record, chain-view payouts and notes of a step (same transaction as the rest of it). */
  private async commitLedger(x: SqlExec, c: VerifierCommit, t: (v: unknown) => unknown, at: Date): Promise<void> {
    await insertRows(x, 'pool_accounts', ['id', 'key_id', 'descriptor', 'network', 'is_primary', 'pinned_at', 'web_descriptor'],
      (c.accountPins ?? []).map((a) => [a.id, a.keyId, a.descriptor, a.network, a.isPrimary ? 1 : 0, t(a.pinnedAt), a.webDescriptor]), this.db.insertIgnore);
    for (const a of c.accountWebDescriptor ?? []) await x.run('UPDATE pool_accounts SET web_descriptor = ? WHERE id = ?', [a.webDescriptor, a.id]);
    await insertRows(x, 'address_batches', ['id', 'account_id', 'chain', 'first_index', 'count', 'created', 'seen_at'],
      (c.batchAdd ?? []).map((b) => [b.id, b.accountId, b.chain, b.firstIndex, b.count, b.created, t(at)]), this.db.insertIgnore);
    await insertRows(x, 'addresses', ['id', 'address', 'account_id', 'chain', 'idx', 'status', 'user_id', 'assigned_at', 'first_seen_at', 'owner_seen_at', 'web_address', 'web_user_id', 'web_status'],
      (c.addressAdd ?? []).map((a) => [a.id, a.address, a.accountId, a.chain, a.index, a.user === undefined ? 'available' : 'assigned', a.user ?? null,
        t(a.ownerSeenAt ?? null), t(a.firstSeenAt), t(a.ownerSeenAt ?? null), a.webAddress, a.webUser ?? null, a.webStatus]), this.db.insertIgnore);
    for (const u of c.addressSet ?? []) {
      if (u.set.user !== undefined) {
        // The owner is written once, at first sight of the assignment: never over another one.
        await x.run("UPDATE addresses SET user_id = ?, assigned_at = ?, status = CASE WHEN status = 'available' THEN 'assigned' ELSE status END WHERE id = ? AND user_id IS NULL",
          [u.set.user, t(u.set.ownerSeenAt ?? at), u.id]);
      }
      const entries = Object.entries(u.set).filter(([k]) => k in ADDRESS_SETTABLE);
      if (entries.length === 0) continue;
      await x.run(`UPDATE addresses SET ${entries.map(([k]) => `${ADDRESS_SETTABLE[k]} = ?`).join(', ')} WHERE id = ?`,
        [...entries.map(([k, v]) => (k === 'ownerSeenAt' ? t(v ?? null) : v ?? null)), u.id]);
    }
    await insertRows(x, 'address_rejects', ['id', 'address', 'account_id', 'chain', 'idx', 'user_id', 'reason', 'seen_at'],
      (c.rejectAdd ?? []).map((r) => [r.id, r.address, r.accountId, r.chain, r.index, r.user ?? null, r.reason.slice(0, 1000), t(at)]), this.db.insertIgnore);
    await insertRows(x, 'web_notes', ['withdrawal_id', 'note', 'noted_at'], (c.notes ?? []).map((n) => [n.withdrawalId, n.note.slice(0, 1000), t(at)]));
    for (let k = 0; k < (c.notesPublished ?? []).length; k += 1_000) {
      const part = c.notesPublished!.slice(k, k + 1_000);
      await x.run(`UPDATE web_notes SET published_at = ? WHERE id IN (${part.map(() => '?').join(',')})`, [t(at), ...part]);
    }
    await insertRows(x, 'payout_outputs', ['withdrawal_id', 'txid', 'vout', 'height', 'block_hash'],
      (c.payoutAdd ?? []).map((p) => [p.withdrawalId, p.txid, p.vout, p.height, p.blockHash]), this.db.insertIgnore);
    await insertRows(x, 'spends_examined', ['txid', 'block_hash'], (c.spendsExamined ?? []).map((e) => [e.txid, e.blockHash]), this.db.insertIgnore);
  }

  async accounts(): Promise<PinnedAccount[]> {
    const rows = await this.all('SELECT id, key_id, descriptor, network, is_primary, pinned_at, web_descriptor FROM pool_accounts ORDER BY id');
    return rows.map((r) => ({
      id: BigInt(String(r.id)), keyId: String(r.key_id), descriptor: String(r.descriptor), network: String(r.network), isPrimary: Number(r.is_primary) === 1,
      pinnedAt: this.db.readTime(r.pinned_at), webDescriptor: String(r.web_descriptor),
    }));
  }

  async batchIds(): Promise<Set<bigint>> {
    return new Set((await this.all('SELECT id FROM address_batches')).map((r) => BigInt(String(r.id))));
  }

  async addressesById(ids: readonly bigint[]): Promise<{ recorded: Map<bigint, RecordedAddress>; rejected: Set<bigint> }> {
    const recorded = new Map<bigint, RecordedAddress>();
    const rejected = new Set<bigint>();
    for (let k = 0; k < ids.length; k += 1_000) {
      const part = ids.slice(k, k + 1_000);
      const marks = part.map(() => '?').join(',');
      for (const r of await this.all(`SELECT ${ADDRESS_COLUMNS} FROM addresses WHERE id IN (${marks})`, part)) recorded.set(BigInt(String(r.id)), this.recorded(r));
      for (const r of await this.all(`SELECT id FROM address_rejects WHERE id IN (${marks})`, part)) rejected.add(BigInt(String(r.id)));
    }
    return { recorded, rejected };
  }

  async addressesBetween(afterId: bigint, toId: bigint): Promise<RecordedAddress[]> {
    return (await this.all(`SELECT ${ADDRESS_COLUMNS} FROM addresses WHERE id > ? AND id <= ? ORDER BY id`, [afterId, toId])).map((r) => this.recorded(r));
  }

  async rejectsBetween(afterId: bigint, toId: bigint): Promise<Set<bigint>> {
    return new Set((await this.all('SELECT id FROM address_rejects WHERE id > ? AND id <= ?', [afterId, toId])).map((r) => BigInt(String(r.id))));
  }

  async ledger(users?: readonly string[]): Promise<{ deposits: LedgerDeposit[]; debits: LedgerDebit[] }> {
    const deposits: LedgerDeposit[] = [];
    const debits: LedgerDebit[] = [];
    const slices = users === undefined ? [undefined] : chunks([...new Set(users)], 1_000);
    for (const part of slices) {
      if (part !== undefined && part.length === 0) continue;
      const inUsers = (col: string) => (part === undefined ? '' : ` AND ${col} IN (${part.map(() => '?').join(',')})`);
      // Credited to the owner recorded at first sight (the verifier's addresses), confirmed outputs of the receive chain only.
      const dep = await this.all(
        `SELECT a.user_id, o.address, o.txid, o.vout, o.value_sat, o.height FROM chain_outputs o JOIN addresses a ON a.address = o.address
         WHERE o.chain = 0 AND o.height IS NOT NULL AND a.user_id IS NOT NULL${inUsers('a.user_id')} ORDER BY o.height, o.txid, o.vout`, part ?? []);
      for (const r of dep) deposits.push({ user: String(r.user_id), address: String(r.address), txid: String(r.txid), vout: Number(r.vout), amountSat: BigInt(String(r.value_sat)), height: Number(r.height) });
      // Every attested request is debited at once (the payout may follow any time); `paid` once its output is in a block of the chain view.
      const deb = await this.all(
        `SELECT r.withdrawal_id, r.user_id, r.content, r.attested_at, p.txid, p.vout, p.height FROM requests r
         LEFT JOIN payout_outputs p ON p.withdrawal_id = r.withdrawal_id AND p.block_hash IN (SELECT hash FROM chain_blocks)
         WHERE r.state = 'attested'${inUsers('r.user_id')} ORDER BY r.withdrawal_id`, part ?? []);
      for (const r of deb) {
        debits.push({
          user: String(r.user_id), withdrawalId: BigInt(String(r.withdrawal_id)), amountSat: contentAmount(r.content), attestedAt: this.db.readTime(r.attested_at),
          paid: r.txid === null || r.txid === undefined ? undefined : { txid: String(r.txid), vout: Number(r.vout), height: Number(r.height) },
        });
      }
    }
    return { deposits, debits };
  }

  async attestedUnpaid(): Promise<VerifierRequest[]> {
    const rows = await this.all(`SELECT r.* FROM requests r WHERE r.state = 'attested' AND NOT EXISTS
      (SELECT 1 FROM payout_outputs p WHERE p.withdrawal_id = r.withdrawal_id AND p.block_hash IN (SELECT hash FROM chain_blocks)) ORDER BY r.withdrawal_id`);
    return rows.map((r) => this.request(r));
  }

  async unexaminedSpends(): Promise<{ txid: string; height: number; blockHash: string }[]> {
    const rows = await this.all(`SELECT DISTINCT o.spent_txid, o.spent_height, b.hash FROM chain_outputs o JOIN chain_blocks b ON b.height = o.spent_height
      WHERE o.spent_height IS NOT NULL AND NOT EXISTS (SELECT 1 FROM spends_examined e WHERE e.txid = o.spent_txid AND e.block_hash = b.hash) ORDER BY o.spent_height`);
    return rows.map((r) => ({ txid: String(r.spent_txid), height: Number(r.spent_height), blockHash: String(r.hash) }));
  }

  async forgetOrphanedPayouts(): Promise<number> {
    await ensureSchemaCurrent(this.db);
    return this.db.tx(async (x) => {
      const n = (await x.run('DELETE FROM payout_outputs WHERE block_hash NOT IN (SELECT hash FROM chain_blocks)')).changes;
      await x.run('DELETE FROM spends_examined WHERE block_hash NOT IN (SELECT hash FROM chain_blocks)');
      return n;
    });
  }

  async unpublishedNotes(limit: number): Promise<{ id: bigint; withdrawalId: bigint; note: string; notedAt: string }[]> {
    const rows = await this.all(`SELECT id, withdrawal_id, note, noted_at FROM web_notes WHERE published_at IS NULL ORDER BY id LIMIT ${Math.max(1, Math.floor(limit))}`);
    return rows.map((r) => ({ id: BigInt(String(r.id)), withdrawalId: BigInt(String(r.withdrawal_id)), note: String(r.note), notedAt: this.db.readTime(r.noted_at) }));
  }

  async alerts(): Promise<PendingMail[]> {
    const rows = await this.all('SELECT * FROM outbox WHERE recipient IS NULL ORDER BY id');
    return rows.map((r) => this.mail(r));
  }

  private recorded(r: SqlRow): RecordedAddress {
    const opt = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
    return {
      id: BigInt(String(r.id)), address: String(r.address), accountId: BigInt(String(r.account_id)), chain: Number(r.chain) as 0 | 1, index: Number(r.idx),
      user: opt(r.user_id), firstSeenAt: this.db.readTime(r.first_seen_at), ownerSeenAt: r.owner_seen_at == null ? undefined : this.db.readTime(r.owner_seen_at),
      webAddress: String(r.web_address), webUser: opt(r.web_user_id), webStatus: String(r.web_status),
    };
  }

  /**
   * Guarded updates of requests that set the same columns from the same
   * states, each of another request, as ONE statement (a column whose values
   * differ is a CASE on withdrawal_id): attesting or publishing 1,000
   * requests was 1,000 round trips, most of the step's time on MariaDB. Every
   * row must match its guard, as one UPDATE per row required; the first that
   * does not, in the caller's order, fails the step the same way. A run of
   * several rows reads (and on MySQL locks) their states first: after a
   * partial UPDATE the states no longer tell which row was off its guard.
   */
  private async update(x: SqlExec, run: readonly RequestUpdate[], t: (v: unknown) => unknown): Promise<void> {
    const first = run[0]!;
    const keys = Object.keys(first.set).filter((k) => k in SETTABLE);
    if (keys.length === 0) return;
    const ids = run.map(() => '?').join(', ');
    if (run.length > 1) {
      const found = await x.all(`SELECT withdrawal_id, state FROM requests WHERE withdrawal_id IN (${ids})${this.db.dialect === 'mysql' ? ' FOR UPDATE' : ''}`, run.map((u) => u.id));
      const stateOf = new Map(found.map((r) => [String(r.withdrawal_id), String(r.state)]));
      const off = run.find((u) => !(u.from as readonly string[]).includes(stateOf.get(u.id.toString()) ?? ''));
      if (off !== undefined) throw stateConflict(off, stateOf.get(off.id.toString()));
    }
    const set = setClause(keys, SETTABLE, 'withdrawal_id', run.map((u) => ({ key: u.id, values: keys.map((k) => setValue(k, (u.set as Record<string, unknown>)[k], t)) })));
    const changes = (await x.run(
      `UPDATE requests SET ${set.sql} WHERE withdrawal_id IN (${ids}) AND state IN (${first.from.map(() => '?').join(', ')})`,
      [...set.params, ...run.map((u) => u.id), ...first.from],
    )).changes;
    if (changes === run.length) return;
    const [row] = await x.all('SELECT state FROM requests WHERE withdrawal_id = ?', [first.id]);
    throw stateConflict(first, row ? String(row.state) : undefined);
  }

  async mirror(): Promise<Map<string, MirroredUser>> {
    const out = new Map<string, MirroredUser>();
    let after: string | undefined;
    for (;;) {
      const rows = await this.all(`SELECT * FROM mirror_users${after === undefined ? '' : ' WHERE user_id > ?'} ORDER BY user_id LIMIT 20000`, after === undefined ? [] : [after]);
      for (const r of rows) out.set(String(r.user_id), this.user(r));
      if (rows.length < 20_000) return out;
      after = String(rows[rows.length - 1]!.user_id);
    }
  }

  async mirrorOf(users: readonly string[]): Promise<Map<string, MirroredUser>> {
    const out = new Map<string, MirroredUser>();
    const unique = [...new Set(users)];
    for (let k = 0; k < unique.length; k += 1_000) {
      const part = unique.slice(k, k + 1_000);
      for (const r of await this.all(`SELECT * FROM mirror_users WHERE user_id IN (${part.map(() => '?').join(',')})`, part)) out.set(String(r.user_id), this.user(r));
    }
    return out;
  }

  async requests(ids: readonly bigint[]): Promise<Map<bigint, VerifierRequest>> {
    const out = new Map<bigint, VerifierRequest>();
    for (let k = 0; k < ids.length; k += 1_000) {
      const part = ids.slice(k, k + 1_000);
      for (const r of await this.all(`SELECT * FROM requests WHERE withdrawal_id IN (${part.map(() => '?').join(',')})`, part)) {
        const req = this.request(r);
        out.set(req.withdrawalId, req);
      }
    }
    return out;
  }

  async relaysJudged(ids: readonly bigint[]): Promise<Set<bigint>> {
    const out = new Set<bigint>();
    for (let k = 0; k < ids.length; k += 1_000) {
      const part = ids.slice(k, k + 1_000);
      for (const r of await this.all(`SELECT relay_id FROM relays WHERE relay_id IN (${part.map(() => '?').join(',')})`, part)) out.add(BigInt(String(r.relay_id)));
    }
    return out;
  }

  async inState(states: readonly VerifierState[], limit: number): Promise<VerifierRequest[]> {
    const rows = await this.all(`SELECT * FROM requests WHERE state IN (${states.map(() => '?').join(',')}) ORDER BY withdrawal_id LIMIT ${Math.max(1, Math.floor(limit))}`, states);
    return rows.map((r) => this.request(r));
  }

  async unpublished(limit: number): Promise<VerifierRequest[]> {
    const rows = await this.all(`SELECT * FROM requests WHERE state = 'attested' AND published_at IS NULL ORDER BY withdrawal_id LIMIT ${Math.max(1, Math.floor(limit))}`);
    return rows.map((r) => this.request(r));
  }

  async pendingMail(limit: number): Promise<PendingMail[]> {
    const rows = await this.all(`SELECT * FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ${Math.max(1, Math.floor(limit))}`);
    return rows.map((r) => this.mail(r));
  }

  private mail(r: SqlRow): PendingMail {
    return {
      id: BigInt(String(r.id)), kind: String(r.kind), recipient: r.recipient === null ? undefined : String(r.recipient), subject: String(r.subject),
      body: String(r.body), facts: JSON.parse(String(r.facts)) as Record<string, unknown>, createdAt: this.db.readTime(r.created_at), attempts: Number(r.attempts),
    };
  }

  async mailSent(id: bigint, at: Date): Promise<void> {
    await this.db.run('UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ? AND sent_at IS NULL', [this.db.time(at), id]);
  }

  async mailFailed(id: bigint): Promise<void> {
    await this.db.run('UPDATE outbox SET attempts = attempts + 1 WHERE id = ?', [id]);
  }

  async counts(): Promise<{ states: Record<string, number>; users: number; held: number; pendingMail: number }> {
    const states: Record<string, number> = {};
    for (const r of await this.all('SELECT state, COUNT(*) AS n FROM requests GROUP BY state')) states[String(r.state)] = Number(r.n);
    const [u] = await this.all('SELECT COUNT(*) AS n FROM mirror_users');
    const [h] = await this.all('SELECT COUNT(*) AS n FROM mirror_users WHERE hold_until > ?', [this.db.time(new Date())]);
    const [m] = await this.all('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL');
    return { states, users: Number(u?.n ?? 0), held: Number(h?.n ?? 0), pendingMail: Number(m?.n ?? 0) };
  }

  async events(query: { readonly withdrawalId?: bigint; readonly limit: number }): Promise<(VerifierEvent & { id: bigint; at: string })[]> {
    const limit = Math.max(1, Math.floor(query.limit));
    const rows = query.withdrawalId === undefined
      ? await this.all(`SELECT seq, at, action, subject, data FROM audit_log ORDER BY seq DESC LIMIT ${limit}`)
      : await this.all(`SELECT seq, at, action, subject, data FROM audit_log WHERE subject = ? ORDER BY seq DESC LIMIT ${limit}`, [`withdrawal:${query.withdrawalId}`]);
    return rows.reverse().map((r) => {
      const subject = String(r.subject);
      const data = JSON.parse(String(r.data)) as { user?: string; detail?: string };
      return {
        id: BigInt(String(r.seq)), at: this.db.readTime(r.at), kind: String(r.action),
        withdrawalId: subject.startsWith('withdrawal:') ? BigInt(subject.slice('withdrawal:'.length)) : undefined, user: data.user, detail: data.detail ?? '',
      };
    });
  }

  async *auditEntries(): AsyncIterable<AuditEntry> {
    for (let after = -1n; ;) {
      const rows = await this.all(`SELECT l.seq, l.at, l.actor, l.action, l.subject, l.data, l.prev_hash, l.hash, s.key_id, s.signature FROM audit_log l LEFT JOIN audit_signatures s ON s.seq = l.seq WHERE l.seq > ? ORDER BY l.seq LIMIT 5000`, [after]);
      if (rows.length === 0) return;
      for (const r of rows) {
        after = BigInt(String(r.seq));
        yield {
          seq: after, at: this.db.readTime(r.at), actor: String(r.actor), action: String(r.action), subject: String(r.subject), data: String(r.data),
          prevHash: String(r.prev_hash), hash: String(r.hash), ...(r.key_id == null ? {} : { keyId: String(r.key_id), signature: String(r.signature) }),
        };
      }
    }
  }

  async verifyAudit(onEntry?: (e: AuditEntry) => void): Promise<ChainVerdict> {
    const v = new ChainVerifier();
    for await (const e of this.auditEntries()) {
      v.push(e);
      onEntry?.(e);
    }
    const [head] = await this.all('SELECT seq, hash FROM audit_head WHERE id = 1');
    return v.end(head ? { seq: BigInt(String(head.seq)), hash: String(head.hash) } : undefined);
  }

  private user(r: SqlRow): MirroredUser {
    const time = (v: unknown) => (v === null || v === undefined ? undefined : this.db.readTime(v));
    return { user: String(r.user_id), email: String(r.email), firstSeenAt: this.db.readTime(r.first_seen_at), changedAt: time(r.changed_at), holdUntil: time(r.hold_until), missingSince: time(r.missing_since) };
  }

  private request(r: SqlRow): VerifierRequest {
    const opt = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
    const time = (v: unknown) => (v === null || v === undefined ? undefined : this.db.readTime(v));
    return {
      withdrawalId: BigInt(String(r.withdrawal_id)), user: String(r.user_id), fingerprint: String(r.fingerprint), content: opt(r.content),
      firstSeenAt: this.db.readTime(r.first_seen_at), state: String(r.state) as VerifierState, tokenHash: opt(r.token_hash), supersededHashes: opt(r.superseded_hashes),
      tokenExpiresAt: time(r.token_expires_at), tokenSentAt: time(r.token_sent_at), tokensIssued: Number(r.tokens_issued), wrongTokens: Number(r.wrong_tokens),
      confirmedAt: time(r.confirmed_at), attestedAt: time(r.attested_at), signature: opt(r.signature), publishedAt: time(r.published_at), note: opt(r.note),
    };
  }
}

function stateConflict(u: RequestUpdate, state: string | undefined): CodedError {
  return new CodedError('STATE_CONFLICT', `verifier: request ${u.id} is ${state ?? 'not recorded'}, expected ${u.from.join(' or ')}: another verifier process moved it first`, {
    hint: 'run one verifier per verifier database; this step was not written and is retried on the next cycle',
  });
}

/**
 * Split updates into runs that may go as one statement: consecutive, of the
 * same shape (the columns they set, the states they start from), each of a
 * different row, at most ROWS_PER_INSERT. Order is kept: two updates of one
 * row (two wrong tokens relayed for one request) stay in two statements, one
 * after the other, as before.
 */
function sameShapeRuns<T>(items: readonly T[], keyOf: (item: T) => unknown, shapeOf: (item: T) => unknown): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let shape = '';
  let keys = new Set<string>();
  for (const item of items) {
    const s = JSON.stringify(shapeOf(item));
    const key = String(keyOf(item));
    if (run.length === 0 || s !== shape || keys.has(key) || run.length >= ROWS_PER_INSERT) {
      if (run.length > 0) runs.push(run);
      run = [];
      keys = new Set();
      shape = s;
    }
    run.push(item);
    keys.add(key);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

function setValue(k: string, v: unknown, t: (v: unknown) => unknown): unknown {
  return TIME_FIELDS.has(k) ? t(v ?? null) : v ?? null;
}

/** `col = ?` when every row gets the same value, else `col = CASE keyColumn WHEN ? THEN ? … END`. */
function setClause(keys: readonly string[], columns: Readonly<Record<string, string>>, keyColumn: string, rows: readonly { key: unknown; values: unknown[] }[]): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  keys.forEach((k, i) => {
    const v0 = rows[0]!.values[i];
    if (rows.every((r) => r.values[i] === v0)) {
      parts.push(`${columns[k]} = ?`);
      params.push(v0);
    } else {
      parts.push(`${columns[k]} = CASE ${keyColumn}${' WHEN ? THEN ?'.repeat(rows.length)} END`);
      for (const r of rows) params.push(r.key, r.values[i]);
    }
  });
  return { sql: parts.join(', '), params };
}

async function insertRows(x: SqlExec, table: string, columns: readonly string[], rows: readonly unknown[][], verb = 'INSERT'): Promise<void> {
  for (let k = 0; k < rows.length; k += ROWS_PER_INSERT) {
    const part = rows.slice(k, k + ROWS_PER_INSERT);
    const one = `(${columns.map(() => '?').join(', ')})`;
    await x.run(`${verb} INTO ${table} (${columns.join(', ')}) VALUES ${part.map(() => one).join(', ')}`, part.flat());
  }
}

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let k = 0; k < xs.length; k += size) out.push(xs.slice(k, k + size));
  return out;
}

/** The amount of an attested request, from the content it signed (the only amount the verifier ever vouched for). */
function contentAmount(content: unknown): bigint {
  try {
    const amount = (JSON.parse(String(content)) as { amountSat?: unknown }).amountSat;
    if (typeof amount === 'string' && /^\d+$/.test(amount)) return BigInt(amount);
  } catch {
    // fall through
  }
  throw new CodedError('INTERNAL', `verifier: an attested request's content has no amountSat: ${String(content).slice(0, 200)}`);
}

function jsonBigint(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
