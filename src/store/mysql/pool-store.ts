import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { CodedError } from '../../core/errors.js';
import type { NetworkName } from '../../core/network.js';
import type {
  BatchStatus, ClaimedAddress, InsertBatchOptions, LoadOutcome, PinOutcome, PoolAccount, PoolStatus, PoolStore, VerifiedBatch,
} from '../../core/ports.js';
import { ensureSchemaCurrent } from '../sql-db.js';
import { errno, type MysqlConnection } from './connection.js';
import {
  INSERT_SLICE_ROWS, accountOf, checkBatchShape, checkClaimInput, decideAccount, findAddressCollision, overlapRefusal, poolEmpty, refOfOtherUser, slotChooser, slotOf,
  type StoredAccount,
} from '../pool-rules.js';

/** Deadlock (1213) and lock wait timeout (1205) are retried this many times. */
const MAX_LOCK_RETRIES = 8;
const LOCK_ERRORS = new Set([1213, 1205]);

/**
 * The two claim statements, the same as sql/README.md documents for other
 * languages. `CAST(? AS UNSIGNED)`: a slot bound as a string or a double (PDO
 * native prepares, mysql2 `execute`) otherwise makes MariaDB sort the whole
 * slot instead of reading its first row: measured 55 claims/s instead of 1,100.
 * `FORCE INDEX`: while every row is available, MariaDB otherwise prefers a
 * full scan and sort for the any-slot fallback.
 */
export const CLAIM_IN_SLOT_SQL =
  "UPDATE addresses FORCE INDEX (ix_addresses_claim) SET status = 'assigned', user_id = ?, ref = ?, assigned_at = UTC_TIMESTAMP(3), claim_id = LAST_INSERT_ID(id) " +
  "WHERE status = 'available' AND slot = CAST(? AS UNSIGNED) ORDER BY idx LIMIT 1";
export const CLAIM_ANY_SLOT_SQL =
  "UPDATE addresses FORCE INDEX (ix_addresses_claim) SET status = 'assigned', user_id = ?, ref = ?, assigned_at = UTC_TIMESTAMP(3), claim_id = LAST_INSERT_ID(id) " +
  "WHERE status = 'available' AND slot IS NOT NULL ORDER BY slot, idx LIMIT 1";
/**
 * Reads back the row the claim just took, in the same round trip as the
 * UPDATE (multi-statement): LAST_INSERT_ID() is the id the UPDATE stored; the
 * ROW_COUNT() guard makes it return nothing when the UPDATE took no row (the
 * session's LAST_INSERT_ID() would then be a previous claim's).
 */
export const CLAIM_READBACK_SQL = 'SELECT address, idx, assigned_at FROM addresses WHERE id = LAST_INSERT_ID() AND ROW_COUNT() = 1';

type Row = RowDataPacket & Record<string, unknown>;

/**
 * The rows of a batch as one `LOAD DATA LOCAL INFILE` stream (tab-separated,
 * `\N` for NULL). The file name is a label: the driver hands the server our
 * stream whatever name it asks for, never a file of this machine.
 */
const LOAD_ROWS_SQL =
  "LOAD DATA LOCAL INFILE 'coldpool-batch.tsv' INTO TABLE addresses CHARACTER SET utf8mb4 " +
  "FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' (address, batch_id, account_id, chain, idx, slot)";
/**
 * LOCAL INFILE refused, by the server or by `?localInfile=0`: 4166 (MariaDB
 * 10.5+), 1148 (older servers), 3948/3950 (MySQL 8, whose local_infile is
 * OFF by default). The statement changed nothing; the rows go in as INSERTs.
 */
const LOCAL_INFILE_REFUSED = new Set([4166, 1148, 3948, 3950]);
/** What LOAD DATA may put in a tab-separated field unescaped. */
const PLAIN_FIELD = /^[A-Za-z0-9]+$/;

/** LOAD DATA LOCAL turns a duplicate key into a skipped row and a warning; the batch must then be refused like ER_DUP_ENTRY. */
class RowsSkipped extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The production store: MySQL 8 / MariaDB 10.6+ through a mysql2 pool. BIGINT
 * columns arrive as strings (supportBigNumbers + bigNumberStrings) and become
 * bigint; DATETIME is UTC both ways (time_zone +00:00, timezone 'Z').
 */
export class MysqlPoolStore implements PoolStore {
  readonly dialect = 'mysql' as const;
  readonly label: string;
  private readonly nextSlot = slotChooser();
  /** Whether this server takes LOAD DATA LOCAL INFILE; unknown until the first load. */
  private localInfile: boolean | undefined;

  constructor(private readonly conn: MysqlConnection) {
    this.label = conn.label;
  }

  private q<T = Row[]>(sql: string, params: unknown[] = [], conn?: PoolConnection): Promise<T> {
    return this.conn.query<T>(sql, params, conn);
  }

  private ensureCurrent(): Promise<void> {
    return ensureSchemaCurrent(this.conn);
  }

  private async storedAccounts(conn?: PoolConnection, lock = false): Promise<StoredAccount[]> {
    const rows = await this.q<Row[]>(`SELECT id, key_id, descriptor, network FROM pool_accounts ORDER BY is_primary DESC, id${lock ? ' FOR UPDATE' : ''}`, [], conn);
    return rows.map((r) => ({ id: BigInt(String(r.id)), keyId: String(r.key_id), descriptor: String(r.descriptor), network: String(r.network) as NetworkName }));
  }

  async accounts(): Promise<PoolAccount[]> {
    await this.ensureCurrent();
    return (await this.storedAccounts()).map(({ keyId, descriptor, network }) => ({ keyId, descriptor, network }));
  }

  async account(): Promise<PoolAccount | undefined> {
    return (await this.accounts())[0];
  }

  private async pinOn(conn: PoolConnection, account: PoolAccount, add: boolean): Promise<{ accountId: bigint; outcome: PinOutcome }> {
    const decision = decideAccount(await this.storedAccounts(conn, true), account, add);
    if (decision.kind === 'existing') return decision;
    const r = await this.q<ResultSetHeader>('INSERT INTO pool_accounts (key_id, descriptor, network, is_primary, pinned_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3))',
      [account.keyId, account.descriptor, account.network, decision.primary ? 1 : 0], conn);
    return { accountId: BigInt(String(r.insertId)), outcome: decision.outcome };
  }

  private async transaction<T>(conn: PoolConnection, fn: () => Promise<T>): Promise<T> {
    await this.q('START TRANSACTION', [], conn);
    try {
      const result = await fn();
      await this.q('COMMIT', [], conn);
      return result;
    } catch (e) {
      await this.q('ROLLBACK', [], conn).catch(() => {});
      throw e;
    }
  }

  async pinAccount(account: PoolAccount, opts: { readonly add?: boolean } = {}): Promise<PinOutcome> {
    await this.ensureCurrent();
    return this.conn.withNamedLock('load', (conn) => this.transaction(conn, async () => (await this.pinOn(conn, account, opts.add ?? false)).outcome));
  }

  async insertBatch(batch: VerifiedBatch, opts: InsertBatchOptions = {}): Promise<LoadOutcome> {
    checkBatchShape(batch);
    await this.ensureCurrent();
    try {
      // The named lock serialises loads (two operators loading at once); the
      // transaction makes the batch all-or-nothing, even if the process dies.
      return await this.conn.withNamedLock('load', (conn) => this.transaction(conn, () => this.insertOn(conn, batch, opts)));
    } catch (e) {
      // ER_DUP_ENTRY, or rows LOAD DATA skipped as duplicates: rolled back; name the colliding index.
      if (errno(e) !== 1062 && !(e instanceof RowsSkipped)) throw e;
      throw await findAddressCollision(batch, async (slice) => {
        const rows = await this.q<Row[]>('SELECT address, chain, idx FROM addresses WHERE address IN (?)', [slice]);
        return rows.map((r) => ({ address: String(r.address), chain: Number(r.chain), index: Number(r.idx) }));
      });
    }
  }

  private async insertOn(conn: PoolConnection, batch: VerifiedBatch, opts: InsertBatchOptions): Promise<LoadOutcome> {
    const [loaded] = await this.q<Row[]>('SELECT id FROM address_batches WHERE digest = ?', [batch.digest], conn);
    if (loaded) return { kind: 'already-loaded', batchId: BigInt(String(loaded.id)) };
    const { accountId } = await this.pinOn(conn, accountOf(batch), opts.addAccount ?? false);
    const [other] = await this.q<Row[]>(
      'SELECT id, first_index, count FROM address_batches WHERE account_id = ? AND chain = ? AND first_index < ? AND first_index + count > ? ORDER BY first_index LIMIT 1',
      [accountId, batch.chain, batch.first + batch.count, batch.first], conn);
    if (other) {
      const first = Number(other.first_index);
      const [stored] = await this.q<Row[]>('SELECT address FROM addresses WHERE account_id = ? AND chain = ? AND idx = ?', [accountId, batch.chain, Math.max(batch.first, first)], conn);
      throw overlapRefusal(batch, { id: BigInt(String(other.id)), first, count: Number(other.count), storedAddress: stored ? String(stored.address) : undefined });
    }
    const r = await this.q<ResultSetHeader>(
      'INSERT INTO address_batches (account_id, descriptor, network, chain, first_index, count, digest, created, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))',
      [accountId, batch.descriptor, batch.network, batch.chain, batch.first, batch.count, batch.digest, batch.created], conn);
    const batchId = BigInt(String(r.insertId));
    if (!(await this.loadRows(conn, batch, batchId, accountId, opts))) await this.insertRows(conn, batch, batchId, accountId, opts);
    return { kind: 'loaded', batchId, inserted: batch.count };
  }

  /**
   * The batch's rows through `LOAD DATA LOCAL INFILE`, the server's bulk path
   * (the insert phase of 1,000,000 rows went from 1.21-1.25x to 1.04x the raw
   * `LOAD DATA` baseline, see bench/README.md). False, having written
   * nothing, when the server refuses LOCAL INFILE or an address is not plain
   * alphanumeric; the caller then INSERTs.
   */
  private async loadRows(conn: PoolConnection, batch: VerifiedBatch, batchId: bigint, accountId: bigint, opts: InsertBatchOptions): Promise<boolean> {
    if (this.localInfile === false || !batch.addresses.every((a) => PLAIN_FIELD.test(a))) return false;
    const fixed = `\t${batchId}\t${accountId}\t${batch.chain}\t`;
    function* rows(): Generator<Buffer> {
      for (let k = 0; k < batch.count; k += INSERT_SLICE_ROWS) {
        const n = Math.min(INSERT_SLICE_ROWS, batch.count - k);
        let text = '';
        for (let j = 0; j < n; j++) {
          const index = batch.first + k + j;
          text += `${batch.addresses[k + j]}${fixed}${index}\t${slotOf(batch.chain, index) ?? '\\N'}\n`;
        }
        yield Buffer.from(text); // the driver copies Buffers into packets, one per chunk
        opts.onProgress?.(k + n, batch.count);
      }
    }
    let result: ResultSetHeader;
    try {
      [result] = await conn.query<ResultSetHeader>({ sql: LOAD_ROWS_SQL, infileStreamFactory: () => Readable.from(rows()) });
    } catch (e) {
      if (!LOCAL_INFILE_REFUSED.has(errno(e))) throw this.conn.wrap(e);
      this.localInfile = false;
      return false;
    }
    this.localInfile = true;
    if (result.affectedRows !== batch.count || result.warningStatus !== 0) {
      throw new RowsSkipped(`LOAD DATA stored ${result.affectedRows} of ${batch.count} rows with ${result.warningStatus} warning(s)`);
    }
    return true;
  }

  /** The batch's rows as multi-row INSERTs of INSERT_SLICE_ROWS rows. */
  private async insertRows(conn: PoolConnection, batch: VerifiedBatch, batchId: bigint, accountId: bigint, opts: InsertBatchOptions): Promise<void> {
    const fixed = `${batchId},${accountId},${batch.chain}`;
    for (let k = 0; k < batch.count; k += INSERT_SLICE_ROWS) {
      const n = Math.min(INSERT_SLICE_ROWS, batch.count - k);
      const values = new Array<string>(n);
      for (let j = 0; j < n; j++) {
        const index = batch.first + k + j;
        values[j] = `(${this.conn.pool.escape(batch.addresses[k + j])},${fixed},${index},${slotOf(batch.chain, index) ?? 'NULL'})`;
      }
      await this.q(`INSERT INTO addresses (address, batch_id, account_id, chain, idx, slot) VALUES ${values.join(',')}`, [], conn);
      opts.onProgress?.(k + n, batch.count);
    }
  }

  private async claimedByRef(ref: string, user: string): Promise<ClaimedAddress | undefined> {
    const [prior] = await this.q<Row[]>('SELECT address, idx, user_id, assigned_at FROM addresses WHERE ref = ?', [ref]);
    if (!prior) return undefined;
    if (String(prior.user_id) !== user) throw refOfOtherUser(ref, String(prior.user_id), user);
    return { address: String(prior.address), index: Number(prior.idx), user, ref, assignedAt: prior.assigned_at as Date, reused: true };
  }

  /**
   * One autocommit UPDATE takes the first available address of a slot (the
   * slots rotate, so concurrent claimers rarely meet on one row); an empty
   * slot falls back to any slot; the row is read back by the id the UPDATE
   * left in LAST_INSERT_ID. Deadlocks and lock wait timeouts are retried.
   */
  async claim(user: string, ref?: string): Promise<ClaimedAddress> {
    checkClaimInput(user, ref);
    await this.ensureCurrent();
    if (ref !== undefined) {
      const prior = await this.claimedByRef(ref, user);
      if (prior) return prior;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        let taken = await this.claimOnce(CLAIM_IN_SLOT_SQL, [user, ref ?? null, this.nextSlot()]);
        taken ??= await this.claimOnce(CLAIM_ANY_SLOT_SQL, [user, ref ?? null]);
        if (!taken) throw poolEmpty(this.label);
        return { address: String(taken.address), index: Number(taken.idx), user, ref, assignedAt: taken.assigned_at as Date, reused: false };
      } catch (e) {
        if (errno(e) === 1062 && ref !== undefined) {
          // Another request with the same ref won the race: return its address.
          const prior = await this.claimedByRef(ref, user);
          if (prior) return prior;
        }
        if (LOCK_ERRORS.has(errno(e)) && attempt < MAX_LOCK_RETRIES) {
          await sleep(Math.random() * 5 * (attempt + 1));
          continue;
        }
        if (LOCK_ERRORS.has(errno(e))) {
          throw new CodedError('UNAVAILABLE', `claim gave up after ${MAX_LOCK_RETRIES + 1} deadlocks or lock timeouts on ${this.label}`, { cause: e, hint: 'the database is overloaded; retry' });
        }
        throw e;
      }
    }
  }

  /** One claim statement and its read-back; undefined when the UPDATE took no row. */
  private async claimOnce(sql: string, params: unknown[]): Promise<Row | undefined> {
    const [header, rows] = await this.q<[ResultSetHeader, Row[]]>(`${sql};\n${CLAIM_READBACK_SQL}`, params);
    if (header.affectedRows === 0) return undefined;
    const row = rows[0];
    if (header.affectedRows !== 1 || !row) throw new CodedError('INTERNAL', `claim took ${header.affectedRows} rows and read back ${rows.length}`);
    return row;
  }

  async countAvailable(): Promise<number> {
    await this.ensureCurrent();
    const [row] = await this.q<Row[]>("SELECT COUNT(*) AS n FROM addresses WHERE status = 'available' AND slot IS NOT NULL");
    return Number(row?.n ?? 0);
  }

  /** Highest receive index in a status: one index dive per slot (loose index scan). */
  private async maxIndex(statuses: string[]): Promise<number | undefined> {
    const rows = await this.q<Row[]>('SELECT status, slot, MAX(idx) AS n FROM addresses WHERE status IN (?) AND slot IS NOT NULL GROUP BY status, slot', [statuses]);
    return rows.length === 0 ? undefined : Math.max(...rows.map((r) => Number(r.n)));
  }

  async status(): Promise<PoolStatus> {
    await this.ensureCurrent();
    const accounts = await this.storedAccounts();
    const primary = accounts[0];
    const totals = { available: 0, assigned: 0, used: 0 };
    for (const r of await this.q<Row[]>('SELECT status, COUNT(*) AS n FROM addresses WHERE slot IS NOT NULL GROUP BY status')) {
      totals[String(r.status) as keyof typeof totals] = Number(r.n);
    }
    const perBatch = new Map<string, Record<string, number>>();
    for (const r of await this.q<Row[]>('SELECT batch_id, status, COUNT(*) AS n FROM addresses GROUP BY batch_id, status')) {
      const m = perBatch.get(String(r.batch_id)) ?? {};
      m[String(r.status)] = Number(r.n);
      perBatch.set(String(r.batch_id), m);
    }
    const batches: BatchStatus[] = (await this.q<Row[]>('SELECT id, chain, first_index, count, digest, loaded_at FROM address_batches ORDER BY id')).map((b) => {
      const c = perBatch.get(String(b.id)) ?? {};
      return {
        id: BigInt(String(b.id)), chain: Number(b.chain) as 0 | 1, first: Number(b.first_index), count: Number(b.count), digest: String(b.digest),
        loadedAt: b.loaded_at as Date, available: c.available ?? 0, assigned: c.assigned ?? 0, used: c.used ?? 0,
      };
    });
    let nextIndex = 0;
    if (primary) {
      const [row] = await this.q<Row[]>('SELECT MAX(first_index + count) AS n FROM address_batches WHERE account_id = ? AND chain = 0', [String(primary.id)]);
      nextIndex = row?.n === null || row?.n === undefined ? 0 : Number(row.n);
    }
    return {
      account: primary ? { keyId: primary.keyId, descriptor: primary.descriptor, network: primary.network } : undefined,
      ...totals,
      batches,
      nextIndex,
      highestAssignedIndex: await this.maxIndex(['assigned', 'used']),
      highestUsedIndex: await this.maxIndex(['used']),
    };
  }

  async dumpDigest(): Promise<string> {
    await this.ensureCurrent();
    const h = createHash('sha256');
    const line = (r: Row) => h.update(`${JSON.stringify(Object.values(r).map((v) => (v instanceof Date ? v.toISOString() : String(v))))}\n`);
    (await this.q<Row[]>('SELECT id, account_id, chain, first_index, count, digest FROM address_batches ORDER BY id')).forEach(line);
    for (let after = '0'; ;) {
      const rows = await this.q<Row[]>('SELECT id, address, batch_id, account_id, chain, idx, slot, status, user_id, ref, assigned_at FROM addresses WHERE id > ? ORDER BY id LIMIT 50000', [after]);
      if (rows.length === 0) break;
      rows.forEach(line);
      after = String(rows[rows.length - 1]!.id);
    }
    return h.digest('hex');
  }
}
