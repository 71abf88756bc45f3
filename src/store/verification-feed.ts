import { CodedError } from '../core/errors.js';
import type { PublishedAttestation, RelayedToken, UserEmail, VerificationFeed, WebAddress, WebBatch, WebPoolAccount, WithdrawalRecord } from '../core/ports.js';
import { ensureSchemaCurrent, type SqlDb, type SqlRow } from './sql-db.js';
import { withdrawalRecord } from './withdrawal-store.js';

/** Rows per read: 100,000 users are 20 round trips, never one 100,000-row result in memory twice. */
const SLICE = 5_000;
/** The columns the verifier's account may read (grants.sql): nothing about review or payouts. */
const REQUEST_COLUMNS = 'id, app_id, user_id, destination, amount_sat, status, created_at';
/** The address columns the verifier's account may read (grants.sql). */
const ADDRESS_COLUMNS = 'id, address, account_id, chain, idx, status, user_id, assigned_at';
/** A relayed token longer than this is not one of ours (ours are 43 characters). */
export const MAX_TOKEN_LENGTH = 200;

/**
 * The web database's side of verification (schema 008), over either dialect:
 * what the verifier reads through its read-only account (the emails view,
 * the requests, the relayed tokens), the attestations it inserts, and the
 * web app's one write (`relay`).
 */
export class SqlVerificationFeed implements VerificationFeed {
  readonly label: string;

  constructor(private readonly db: SqlDb) {
    this.label = db.label;
  }

  private async all(sql: string, params: readonly unknown[] = []): Promise<SqlRow[]> {
    await ensureSchemaCurrent(this.db);
    try {
      return await this.db.all(sql, params);
    } catch (e) {
      throw this.explain(e);
    }
  }

  private explain(e: unknown): unknown {
    const code = (e as { code?: string }).code ?? '';
    if (/ACCESS_DENIED/.test(code)) {
      return new CodedError('REFUSED', `the database account may not do this on ${this.label}: ${(e as Error).message}`, {
        cause: e,
        hint: 'the verifier reads through the coldpool_verifier account of sql/mysql/grants.sql; the web app relays through coldpool_web',
      });
    }
    return e;
  }

  async emails(onSlice: (rows: UserEmail[]) => void): Promise<void> {
    // Keyset paging on user_id: a view has no stable offset, and OFFSET rescans.
    let after: string | undefined;
    for (;;) {
      const rows = await this.all(
        `SELECT user_id, email FROM coldpool_user_emails${after === undefined ? '' : ' WHERE user_id > ?'} ORDER BY user_id LIMIT ${SLICE}`,
        after === undefined ? [] : [after],
      );
      if (rows.length === 0) return;
      onSlice(rows.map((r) => ({ user: String(r.user_id), email: String(r.email) })));
      if (rows.length < SLICE) return;
      after = String(rows[rows.length - 1]!.user_id);
    }
  }

  async requestsAfter(afterId: bigint, limit: number): Promise<WithdrawalRecord[]> {
    const rows = await this.all(`SELECT ${REQUEST_COLUMNS} FROM withdrawals WHERE id > ? ORDER BY id LIMIT ${Math.max(1, Math.floor(limit))}`, [afterId]);
    return rows.map((r) => withdrawalRecord(this.db, r));
  }

  async requests(ids: readonly bigint[]): Promise<Map<bigint, WithdrawalRecord>> {
    const out = new Map<bigint, WithdrawalRecord>();
    for (let k = 0; k < ids.length; k += 1_000) {
      const part = ids.slice(k, k + 1_000);
      const rows = await this.all(`SELECT ${REQUEST_COLUMNS} FROM withdrawals WHERE id IN (${part.map(() => '?').join(',')})`, part);
      for (const r of rows) {
        const w = withdrawalRecord(this.db, r);
        out.set(w.id, w);
      }
    }
    return out;
  }

  async relayedAfter(afterId: bigint, limit: number): Promise<RelayedToken[]> {
    const rows = await this.all(`SELECT id, withdrawal_id, token FROM withdrawal_confirmations WHERE id > ? ORDER BY id LIMIT ${Math.max(1, Math.floor(limit))}`, [afterId]);
    return rows.map((r) => ({ id: BigInt(String(r.id)), withdrawalId: BigInt(String(r.withdrawal_id)), token: String(r.token) }));
  }

  async publish(rows: readonly PublishedAttestation[]): Promise<void> {
    if (rows.length === 0) return;
    await ensureSchemaCurrent(this.db);
    // The verifier's account has INSERT only: an existing row (the same deterministic signature) is ignored, never updated.
    for (let k = 0; k < rows.length; k += 500) {
      const part = rows.slice(k, k + 500);
      try {
        await this.db.run(
          `${this.db.insertIgnore} INTO attestations (withdrawal_id, key_id, content, signature, attested_at) VALUES ${part.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
          part.flatMap((a) => [a.withdrawalId, a.keyId, a.content, a.signature, this.db.time(a.attestedAt)]),
        );
      } catch (e) {
        throw this.explain(e);
      }
    }
  }

  async attestations(ids: readonly bigint[]): Promise<Map<bigint, { keyId: string; content: string; signature: string }[]>> {
    const out = new Map<bigint, { keyId: string; content: string; signature: string }[]>();
    for (let k = 0; k < ids.length; k += 1_000) {
      const part = ids.slice(k, k + 1_000);
      if (part.length === 0) break;
      const rows = await this.all(`SELECT withdrawal_id, key_id, content, signature FROM attestations WHERE withdrawal_id IN (${part.map(() => '?').join(',')}) ORDER BY withdrawal_id, attested_at`, part);
      for (const r of rows) {
        const id = BigInt(String(r.withdrawal_id));
        const list = out.get(id) ?? [];
        list.push({ keyId: String(r.key_id), content: String(r.content), signature: String(r.signature) });
        out.set(id, list);
      }
    }
    return out;
  }

  async poolAccounts(): Promise<WebPoolAccount[]> {
    const rows = await this.all('SELECT id, key_id, descriptor, network, is_primary FROM pool_accounts ORDER BY id');
    return rows.map((r) => ({ id: BigInt(String(r.id)), keyId: String(r.key_id), descriptor: String(r.descriptor), network: String(r.network), isPrimary: Number(r.is_primary) === 1 }));
  }

  async batches(): Promise<WebBatch[]> {
    const rows = await this.all('SELECT id, account_id, chain, first_index, count, created FROM address_batches ORDER BY id');
    return rows.map((r) => ({ id: BigInt(String(r.id)), accountId: BigInt(String(r.account_id)), chain: Number(r.chain) as 0 | 1, firstIndex: Number(r.first_index), count: Number(r.count), created: String(r.created) }));
  }

  async addressesAfter(afterId: bigint, limit: number): Promise<WebAddress[]> {
    const rows = await this.all(`SELECT ${ADDRESS_COLUMNS} FROM addresses WHERE id > ? ORDER BY id LIMIT ${Math.max(1, Math.floor(limit))}`, [afterId]);
    return rows.map((r) => this.address(r));
  }

  async assignedAfter(at: Date, afterId: bigint, limit: number): Promise<WebAddress[]> {
    // Keyset on (assigned_at, id) over ix_addresses_assigned_at (schema 002): many claims share a millisecond.
    const t = this.db.time(at);
    const rows = await this.all(
      `SELECT ${ADDRESS_COLUMNS} FROM addresses WHERE assigned_at > ? OR (assigned_at = ? AND id > ?) ORDER BY assigned_at, id LIMIT ${Math.max(1, Math.floor(limit))}`,
      [t, t, afterId]);
    return rows.map((r) => this.address(r));
  }

  private address(r: SqlRow): WebAddress {
    return {
      id: BigInt(String(r.id)), address: String(r.address), accountId: BigInt(String(r.account_id)), chain: Number(r.chain) as 0 | 1, index: Number(r.idx),
      status: String(r.status), user: r.user_id === null || r.user_id === undefined ? undefined : String(r.user_id),
      assignedAt: r.assigned_at === null || r.assigned_at === undefined ? undefined : this.db.readTime(r.assigned_at),
    };
  }

  async publishNotes(rows: readonly { readonly withdrawalId: bigint; readonly note: string; readonly notedAt: Date }[]): Promise<void> {
    if (rows.length === 0) return;
    await ensureSchemaCurrent(this.db);
    // INSERT only (grants.sql): a note published again after a crash is the same (withdrawal, time), ignored.
    for (let k = 0; k < rows.length; k += 500) {
      const part = rows.slice(k, k + 500);
      try {
        await this.db.run(`${this.db.insertIgnore} INTO verifier_notes (withdrawal_id, note, noted_at) VALUES ${part.map(() => '(?, ?, ?)').join(', ')}`,
          part.flatMap((n) => [n.withdrawalId, n.note.slice(0, 1000), this.db.time(n.notedAt)]));
      } catch (e) {
        throw this.explain(e);
      }
    }
  }

  async latestNotes(ids: readonly bigint[]): Promise<Map<bigint, { note: string; notedAt: string }>> {
    const out = new Map<bigint, { note: string; notedAt: string }>();
    for (let k = 0; k < ids.length; k += 1_000) {
      const part = ids.slice(k, k + 1_000);
      if (part.length === 0) break;
      const rows = await this.all(`SELECT withdrawal_id, note, noted_at FROM verifier_notes WHERE withdrawal_id IN (${part.map(() => '?').join(',')}) ORDER BY withdrawal_id, noted_at`, part);
      for (const r of rows) out.set(BigInt(String(r.withdrawal_id)), { note: String(r.note), notedAt: this.db.readTime(r.noted_at) });
    }
    return out;
  }

  async relay(withdrawalId: bigint, token: string): Promise<void> {
    if (typeof withdrawalId !== 'bigint' || withdrawalId < 1n) throw new CodedError('INVALID_INPUT', `"withdrawal" expected a positive id, got ${String(withdrawalId)}`);
    // The token is passed on as typed: judging it is the verifier's job, and a wrong one counts against the request there.
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
      throw new CodedError('INVALID_INPUT', `"token" expected 1..${MAX_TOKEN_LENGTH} printable characters without spaces (the t= part of the confirmation link)`);
    }
    await ensureSchemaCurrent(this.db);
    try {
      await this.db.run('INSERT INTO withdrawal_confirmations (withdrawal_id, token) VALUES (?, ?)', [withdrawalId, token]);
    } catch (e) {
      throw this.explain(e);
    }
  }
}
