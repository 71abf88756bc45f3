import type { LedgerCommit, LedgerFinding, LedgerMirror, MirroredEntry } from '../core/ports.js';
import { ensureSchemaCurrent, type SqlDb, type SqlExec, type SqlRow } from './sql-db.js';

/** Rows per multi-row INSERT: 9 columns x 1,000 = 9,000 parameters, under SQLite's 32,766 and far under MySQL's packet limit. */
const ROWS_PER_INSERT = 1_000;
const IN_LIST = 1_000;
const ENTRY_COLUMNS = 'entry_id, user_id, amount_sat, kind, ref, created_at, fingerprint, first_seen_at, late';
/** Rows per Buffer of the LOAD DATA stream (the driver sends each as packets). */
const LOAD_CHUNK_ROWS = 2_000;
/** The file name is a label: the driver serves our stream whatever name the server asks for. */
const LOAD_ENTRIES_SQL =
  "LOAD DATA LOCAL INFILE 'coldpool-ledger.tsv' IGNORE INTO TABLE ledger_entries CHARACTER SET utf8mb4 " +
  `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${ENTRY_COLUMNS})`;

/**
 * The mirror's secondary indexes exactly as sql/verifier/<dialect>/003_ledger.sql
 * creates them (a test compares the table after a first mirror with a freshly
 * migrated one): dropped for the first mirror, built again right after it.
 */
const SECONDARY_INDEXES: readonly { readonly name: string; readonly columns: string }[] = [
  { name: 'ix_ledger_entries_user', columns: 'user_id, amount_sat' },
  { name: 'ix_ledger_entries_ref', columns: 'ref' },
];

/**
 * The verifier's mirror of the web app's ledger (sql/verifier/<dialect>/
 * 003_ledger.sql). Reads here; writes only inside VerifierStore.commit
 * (`applyLedgerCommit`), so a step's mirror rows, findings, alerts, audit
 * entries and cursor land in one transaction.
 */
export class SqlLedgerMirror implements LedgerMirror {
  /** Set once this handle found (or built) every secondary index; a first mirror in progress on this handle also counts. */
  private indexed = false;

  constructor(private readonly db: SqlDb) {}

  private async all(sql: string, params: readonly unknown[] = []): Promise<SqlRow[]> {
    await ensureSchemaCurrent(this.db);
    // A verifier killed during its first mirror left the indexes dropped: every read's FORCE INDEX needs them back.
    if (!this.indexed) await this.restoreIndexes();
    return this.db.all(sql, params);
  }

  async beginFirstMirror(): Promise<boolean> {
    await ensureSchemaCurrent(this.db);
    if ((await this.db.all('SELECT entry_id FROM ledger_entries LIMIT 1')).length > 0) return false;
    const present = await this.presentIndexes();
    const drop = SECONDARY_INDEXES.filter((i) => present.has(i.name));
    if (drop.length > 0) {
      // DDL: MySQL commits around it; nothing else is in a transaction here (the walk has not begun).
      if (this.db.dialect === 'mysql') await this.db.run(`ALTER TABLE ledger_entries ${drop.map((i) => `DROP INDEX ${i.name}`).join(', ')}`);
      else for (const i of drop) await this.db.run(`DROP INDEX IF EXISTS ${i.name}`);
    }
    this.indexed = true; // this handle's own reads during the walk use the primary key only
    return true;
  }

  async restoreIndexes(): Promise<void> {
    this.indexed = false; // until every index is there
    await ensureSchemaCurrent(this.db);
    const present = await this.presentIndexes();
    const add = SECONDARY_INDEXES.filter((i) => !present.has(i.name));
    if (add.length > 0) {
      try {
        // One ALTER for both on MySQL: one pass over the table, each index built by a sort.
        if (this.db.dialect === 'mysql') await this.db.run(`ALTER TABLE ledger_entries ${add.map((i) => `ADD INDEX ${i.name} (${i.columns})`).join(', ')}`);
        else for (const i of add) await this.db.run(`CREATE INDEX IF NOT EXISTS ${i.name} ON ledger_entries (${i.columns})`);
      } catch (e) {
        // Another verifier process (`verifier ledger` during a first mirror) built them first: fine if they are all there now.
        const now = await this.presentIndexes();
        if (!add.every((i) => now.has(i.name))) throw e;
      }
    }
    this.indexed = true;
  }

  private async presentIndexes(): Promise<Set<string>> {
    const rows = this.db.dialect === 'mysql'
      ? await this.db.all("SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ledger_entries'")
      : await this.db.all("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger_entries'");
    return new Set(rows.map((r) => String(r.name)));
  }

  async entriesBetween(afterId: bigint, toId: bigint | undefined, limit: number): Promise<MirroredEntry[]> {
    const rows = await this.all(`SELECT ${ENTRY_COLUMNS} FROM ledger_entries WHERE entry_id > ?${toId === undefined ? '' : ' AND entry_id <= ?'} ORDER BY entry_id LIMIT ${Math.max(1, Math.floor(limit))}`,
      toId === undefined ? [afterId] : [afterId, toId]);
    return rows.map((r) => this.entry(r));
  }

  async entriesOfRefs(refs: readonly string[]): Promise<MirroredEntry[]> {
    return this.inList('ref', 'ix_ledger_entries_ref', refs);
  }

  async entriesOfUsers(users: readonly string[]): Promise<MirroredEntry[]> {
    return this.inList('user_id', 'ix_ledger_entries_user', users);
  }

  /**
   * ` FORCE INDEX (…)` on MySQL: an IN list of up to 1,000 values is past
   * eq_range_index_dive_limit, so MariaDB costs it from the index statistics,
   * and right after the first mirror (1,000,000 rows in seconds) those may
   * still be the empty table's: the incremental cycle's refs then took a full
   * scan, 1.1 s instead of 10 ms, in some bench runs.
   */
  private index(name: string): string {
    return this.db.dialect === 'mysql' ? ` FORCE INDEX (${name})` : '';
  }

  private async inList(column: string, index: string, values: readonly string[]): Promise<MirroredEntry[]> {
    const unique = [...new Set(values)];
    const out: MirroredEntry[] = [];
    for (let k = 0; k < unique.length; k += IN_LIST) {
      const part = unique.slice(k, k + IN_LIST);
      for (const r of await this.all(`SELECT ${ENTRY_COLUMNS} FROM ledger_entries${this.index(index)} WHERE ${column} IN (${part.map(() => '?').join(',')})`, part)) out.push(this.entry(r));
    }
    return out;
  }

  async sumsOf(users: readonly string[]): Promise<Map<string, bigint>> {
    const unique = [...new Set(users)];
    const out = new Map<string, bigint>();
    for (let k = 0; k < unique.length; k += IN_LIST) {
      const part = unique.slice(k, k + IN_LIST);
      // CAST: MySQL's SUM of a BIGINT is a DECIMAL; as text it stays exact either way.
      const rows = await this.all(`SELECT user_id, CAST(SUM(amount_sat) AS CHAR) AS total FROM ledger_entries${this.index('ix_ledger_entries_user')} WHERE user_id IN (${part.map(() => '?').join(',')}) GROUP BY user_id`, part);
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
      firstSeenAt: this.seenText(r.first_seen_at), late: Number(r.late) !== 0,
    };
  }

  /** readTime of first_seen_at, memoized on the last value: a page's rows mostly share one first sight. */
  private lastSeen: unknown;
  private lastSeenText = '';
  private seenText(v: unknown): string {
    const same = v instanceof Date && this.lastSeen instanceof Date ? v.getTime() === this.lastSeen.getTime() : v === this.lastSeen && typeof v === 'string';
    if (!same) {
      this.lastSeen = v;
      this.lastSeenText = this.db.readTime(v);
    }
    return this.lastSeenText;
  }
}

/**
 * The mirror rows of a commit as one `LOAD DATA LOCAL INFILE` stream (MySQL):
 * the server's bulk path, ~2x the rows/s of 1,000-row INSERTs here and
 * without this process building 9,000-parameter arrays (a third of its CPU
 * went to collecting them). IGNORE as the INSERT's: a duplicate id is
 * skipped; any other value is stored as INSERT IGNORE would store it. False,
 * having written nothing, on SQLite or when LOCAL INFILE is refused.
 */
async function loadEntries(x: SqlExec, entries: readonly MirroredEntry[]): Promise<boolean> {
  if (x.loadLocal === undefined) return false;
  function* chunks(): Generator<Buffer> {
    let lastSeen = '';
    let lastSeenText = '';
    for (let k = 0; k < entries.length; k += LOAD_CHUNK_ROWS) {
      let text = '';
      for (let j = k, end = Math.min(entries.length, k + LOAD_CHUNK_ROWS); j < end; j++) {
        const e = entries[j]!;
        // A page's entries share one first sight: format it once (MysqlConnection.time's text).
        if (e.firstSeenAt !== lastSeen) {
          lastSeen = e.firstSeenAt;
          lastSeenText = new Date(e.firstSeenAt).toISOString().replace('T', ' ').slice(0, 23);
        }
        text += `${e.entryId}\t${tsvField(e.user)}\t${e.amountSat}\t${tsvField(e.kind)}\t${e.ref === undefined ? '\\N' : tsvField(e.ref)}\t${tsvField(e.createdAt)}\t${tsvField(e.fingerprint)}\t${lastSeenText}\t${e.late ? 1 : 0}\n`;
      }
      yield Buffer.from(text);
    }
  }
  return (await x.loadLocal(LOAD_ENTRIES_SQL, chunks)) !== undefined;
}

/** A value as a LOAD DATA field (ESCAPED BY '\\'): the escape, tab, newline, CR and NUL escaped, so any text survives. */
function tsvField(v: string): string {
  return TSV_SPECIAL.test(v) ? v.replace(TSV_SPECIAL_ALL, (ch) => TSV_ESCAPES[ch]!) : v;
}
const TSV_SPECIAL = /[\\\t\n\r\0]/;
const TSV_SPECIAL_ALL = /[\\\t\n\r\0]/g;
const TSV_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/** first_seen_at as a parameter, formatted once per distinct value (a page's rows share it). */
function firstSeenParam(db: SqlDb): (iso: string) => unknown {
  let last = '';
  let value: unknown;
  return (iso) => {
    if (iso !== last) {
      last = iso;
      value = db.time(new Date(iso));
    }
    return value;
  };
}

/** The ledger part of a verifier commit, inside its transaction (called by SqlVerifierStore.commit). */
export async function applyLedgerCommit(db: SqlDb, x: SqlExec, c: LedgerCommit | undefined): Promise<void> {
  if (c === undefined) return;
  const entries = c.entries ?? [];
  // Mirror rows are never updated: IGNORE makes a step re-run after a crash (between reading and committing) harmless.
  if (entries.length > 0 && !(await loadEntries(x, entries))) {
    const seen = firstSeenParam(db);
    for (let k = 0; k < entries.length; k += ROWS_PER_INSERT) {
      const part = entries.slice(k, k + ROWS_PER_INSERT);
      await x.run(`${db.insertIgnore} INTO ledger_entries (${ENTRY_COLUMNS}) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        part.flatMap((e) => [e.entryId, e.user, e.amountSat, e.kind, e.ref ?? null, e.createdAt, e.fingerprint, seen(e.firstSeenAt), e.late ? 1 : 0]));
    }
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
