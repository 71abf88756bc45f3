import type { LedgerCommit, LedgerFinding, LedgerMirror, MirroredEntry } from '../core/ports.js';
import { ensureSchemaCurrent, type SqlDb, type SqlExec, type SqlRow } from './sql-db.js';

/** Rows per multi-row INSERT: 9 columns x 1,000 = 9,000 parameters, under SQLite's 32,766 and far under MySQL's packet limit. */
const ROWS_PER_INSERT = 1_000;
const IN_LIST = 1_000;
const ENTRY_COLUMNS = 'entry_id, user_id, amount_sat, kind, ref, created_at, fingerprint, first_seen_at, late';

/**
 * The verifier's mirror of the web app's ledger (sql/verifier/<dialect>/
 * 003_ledger.sql). Reads here; writes only inside VerifierStore.commit
 * (`applyLedgerCommit`), so a step's mirror rows, findings, alerts, audit
 * entries and cursor land in one transaction.
 */
export class SqlLedgerMirror implements LedgerMirror {
  constructor(private readonly db: SqlDb) {}

  private async all(sql: string, params: readonly unknown[] = []): Promise<SqlRow[]> {
    await ensureSchemaCurrent(this.db);
    return this.db.all(sql, params);
  }

  async entriesBetween(afterId: bigint, toId: bigint | undefined, limit: number): Promise<MirroredEntry[]> {
    const rows = await this.all(`SELECT ${ENTRY_COLUMNS} FROM ledger_entries WHERE entry_id > ?${toId === undefined ? '' : ' AND entry_id <= ?'} ORDER BY entry_id LIMIT ${Math.max(1, Math.floor(limit))}`,
      toId === undefined ? [afterId] : [afterId, toId]);
    return rows.map((r) => this.entry(r));
  }

  async entriesOfRefs(refs: readonly string[]): Promise<MirroredEntry[]> {
    return this.inList('ref', refs);
  }

  async entriesOfUsers(users: readonly string[]): Promise<MirroredEntry[]> {
    return this.inList('user_id', users);
  }

  private async inList(column: string, values: readonly string[]): Promise<MirroredEntry[]> {
    const unique = [...new Set(values)];
    const out: MirroredEntry[] = [];
    for (let k = 0; k < unique.length; k += IN_LIST) {
      const part = unique.slice(k, k + IN_LIST);
      for (const r of await this.all(`SELECT ${ENTRY_COLUMNS} FROM ledger_entries WHERE ${column} IN (${part.map(() => '?').join(',')})`, part)) out.push(this.entry(r));
    }
    return out;
  }

  async sumsOf(users: readonly string[]): Promise<Map<string, bigint>> {
    const unique = [...new Set(users)];
    const out = new Map<string, bigint>();
    for (let k = 0; k < unique.length; k += IN_LIST) {
      const part = unique.slice(k, k + IN_LIST);
      // CAST: MySQL's SUM of a BIGINT is a DECIMAL; as text it stays exact either way.
      const rows = await this.all(`SELECT user_id, CAST(SUM(amount_sat) AS CHAR) AS total FROM ledger_entries WHERE user_id IN (${part.map(() => '?').join(',')}) GROUP BY user_id`, part);
      for (const r of rows) out.set(String(r.user_id), BigInt(String(r.total)));
    }
    return out;
  }

  async findings(): Promise<Map<string, LedgerFinding>> {
    const out = new Map<string, LedgerFinding>();
    for (const r of await this.all('SELECT * FROM ledger_findings')) {
      const f: LedgerFinding = {
        key: String(r.finding_key), kind: String(r.kind) as LedgerFinding['kind'], state: String(r.state) as LedgerFinding['state'], signature: String(r.signature),
        user: r.user_id === null || r.user_id === undefined ? undefined : String(r.user_id), detail: String(r.detail),
        firstSeenAt: this.db.readTime(r.first_seen_at), changedAt: this.db.readTime(r.changed_at),
      };
      out.set(f.key, f);
    }
    return out;
  }

  private entry(r: SqlRow): MirroredEntry {
    return {
      entryId: BigInt(String(r.entry_id)), user: String(r.user_id), amountSat: BigInt(String(r.amount_sat)), kind: String(r.kind),
      ref: r.ref === null || r.ref === undefined ? undefined : String(r.ref), createdAt: String(r.created_at), fingerprint: String(r.fingerprint),
      firstSeenAt: this.db.readTime(r.first_seen_at), late: Number(r.late) !== 0,
    };
  }
}

/** The ledger part of a verifier commit, inside its transaction (called by SqlVerifierStore.commit). */
export async function applyLedgerCommit(db: SqlDb, x: SqlExec, c: LedgerCommit | undefined): Promise<void> {
  if (c === undefined) return;
  const entries = c.entries ?? [];
  for (let k = 0; k < entries.length; k += ROWS_PER_INSERT) {
    const part = entries.slice(k, k + ROWS_PER_INSERT);
    // Mirror rows are never updated: IGNORE makes a step re-run after a crash (between reading and committing) harmless.
    await x.run(`${db.insertIgnore} INTO ledger_entries (${ENTRY_COLUMNS}) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      part.flatMap((e) => [e.entryId, e.user, e.amountSat, e.kind, e.ref ?? null, e.createdAt, e.fingerprint, db.time(new Date(e.firstSeenAt)), e.late ? 1 : 0]));
  }
  const drop = [...new Set([...(c.findingsDrop ?? []), ...(c.findingsSet ?? []).map((f) => f.key)])];
  for (let k = 0; k < drop.length; k += IN_LIST) {
    const part = drop.slice(k, k + IN_LIST);
    await x.run(`DELETE FROM ledger_findings WHERE finding_key IN (${part.map(() => '?').join(',')})`, part);
  }
  const set = c.findingsSet ?? [];
  for (let k = 0; k < set.length; k += ROWS_PER_INSERT) {
    const part = set.slice(k, k + ROWS_PER_INSERT);
    await x.run(`INSERT INTO ledger_findings (finding_key, kind, state, signature, user_id, detail, first_seen_at, changed_at) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      part.flatMap((f) => [f.key, f.kind, f.state, f.signature.slice(0, 255), f.user ?? null, f.detail.slice(0, 2000), db.time(new Date(f.firstSeenAt)), db.time(new Date(f.changedAt))]));
  }
}
