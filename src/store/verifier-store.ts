import { CodedError } from '../core/errors.js';
import type {
  MirroredUser, PendingMail, RequestUpdate, VerifierCommit, VerifierEvent, VerifierRequest, VerifierState, VerifierStore,
} from '../core/ports.js';
import { ChainVerifier, type AuditEntry, type ChainVerdict } from '../core/audit-chain.js';
import { appendAuditEntries } from './audit-append.js';
import { applyLedgerCommit } from './ledger-mirror.js';
import { ensureSchemaCurrent, type SqlDb, type SqlExec, type SqlRow } from './sql-db.js';

/** Request columns a guarded update may set, and their SQL names. */
const SETTABLE: Readonly<Record<string, string>> = {
  content: 'content', state: 'state', tokenHash: 'token_hash', tokenExpiresAt: 'token_expires_at', tokenSentAt: 'token_sent_at',
  tokensIssued: 'tokens_issued', wrongTokens: 'wrong_tokens', confirmedAt: 'confirmed_at', attestedAt: 'attested_at',
  signature: 'signature', publishedAt: 'published_at', note: 'note',
};
const TIME_FIELDS = new Set(['tokenExpiresAt', 'tokenSentAt', 'confirmedAt', 'attestedAt', 'publishedAt', 'changedAt', 'holdUntil', 'missingSince']);
const MIRROR_SETTABLE: Readonly<Record<string, string>> = { email: 'email', changedAt: 'changed_at', holdUntil: 'hold_until', missingSince: 'missing_since' };
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
      for (const u of c.updates ?? []) await this.update(x, u, t);
      await insertRows(x, 'mirror_users', ['user_id', 'email', 'first_seen_at', 'changed_at', 'hold_until', 'missing_since'],
        (c.mirrorAdd ?? []).map((m) => [m.user, m.email, t(m.firstSeenAt), t(m.changedAt ?? null), t(m.holdUntil ?? null), t(m.missingSince ?? null)]));
      for (const m of c.mirrorSet ?? []) {
        const entries = Object.entries(m.set).filter(([k]) => k in MIRROR_SETTABLE);
        if (entries.length === 0) continue;
        await x.run(`UPDATE mirror_users SET ${entries.map(([k]) => `${MIRROR_SETTABLE[k]} = ?`).join(', ')} WHERE user_id = ?`,
          [...entries.map(([k, v]) => (TIME_FIELDS.has(k) ? t(v ?? null) : v ?? null)), m.user]);
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
      await applyLedgerCommit(this.db, x, c.ledger);
    });
  }

  private async update(x: SqlExec, u: RequestUpdate, t: (v: unknown) => unknown): Promise<void> {
    const entries = Object.entries(u.set).filter(([k]) => k in SETTABLE);
    if (entries.length === 0) return;
    const changes = (await x.run(
      `UPDATE requests SET ${entries.map(([k]) => `${SETTABLE[k]} = ?`).join(', ')} WHERE withdrawal_id = ? AND state IN (${u.from.map(() => '?').join(', ')})`,
      [...entries.map(([k, v]) => (TIME_FIELDS.has(k) ? t(v ?? null) : v ?? null)), u.id, ...u.from],
    )).changes;
    if (changes !== 1) {
      const [row] = await x.all('SELECT state FROM requests WHERE withdrawal_id = ?', [u.id]);
      throw new CodedError('STATE_CONFLICT', `verifier: request ${u.id} is ${row ? String(row.state) : 'not recorded'}, expected ${u.from.join(' or ')}: another verifier process moved it first`, {
        hint: 'run one verifier per verifier database; this step was not written and is retried on the next cycle',
      });
    }
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
    return rows.map((r) => ({
      id: BigInt(String(r.id)), kind: String(r.kind), recipient: r.recipient === null ? undefined : String(r.recipient), subject: String(r.subject),
      body: String(r.body), facts: JSON.parse(String(r.facts)) as Record<string, unknown>, createdAt: this.db.readTime(r.created_at), attempts: Number(r.attempts),
    }));
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
      firstSeenAt: this.db.readTime(r.first_seen_at), state: String(r.state) as VerifierState, tokenHash: opt(r.token_hash),
      tokenExpiresAt: time(r.token_expires_at), tokenSentAt: time(r.token_sent_at), tokensIssued: Number(r.tokens_issued), wrongTokens: Number(r.wrong_tokens),
      confirmedAt: time(r.confirmed_at), attestedAt: time(r.attested_at), signature: opt(r.signature), publishedAt: time(r.published_at), note: opt(r.note),
    };
  }
}

async function insertRows(x: SqlExec, table: string, columns: readonly string[], rows: readonly unknown[][], verb = 'INSERT'): Promise<void> {
  for (let k = 0; k < rows.length; k += ROWS_PER_INSERT) {
    const part = rows.slice(k, k + ROWS_PER_INSERT);
    const one = `(${columns.map(() => '?').join(', ')})`;
    await x.run(`${verb} INTO ${table} (${columns.join(', ')}) VALUES ${part.map(() => one).join(', ')}`, part.flat());
  }
}

function jsonBigint(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
