import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { CodedError, isCoded } from '../../core/errors.js';
import type { NetworkName } from '../../core/network.js';
import type {
  AddressSet, AssignOptions, AssignOutcome, BatchStatus, ClaimedAddress, InsertBatchOptions, LoadOutcome, PinOutcome, PoolAccount, PoolStatus, PoolStore, SetAddress,
  SetAfterClaim, VerifiedBatch,
} from '../../core/ports.js';
import { ensureSchemaCurrent, type SqlExec } from '../sql-db.js';
import { SET_UNHANDED } from '../set-sql.js';
import { errno, type MysqlConnection } from './connection.js';
import {
  INSERT_SLICE_ROWS, accountOf, checkAssignInput, checkBatchShape, checkClaimInput, decideAccount, findAddressCollision, overlapRefusal, poolEmpty, refOfOtherUser,
  setPoolEmpty, slotChooser, slotOf, topUpCount, type StoredAccount,
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
  "UPDATE addresses FORCE INDEX (ix_addresses_claim) SET status = 'assigned', user_id = ?, ref = ?, assigned_at = UTC_TIMESTAMP(3), handed_out_at = UTC_TIMESTAMP(3), claim_id = LAST_INSERT_ID(id) " +
  "WHERE status = 'available' AND slot = CAST(? AS UNSIGNED) ORDER BY idx LIMIT 1";
export const CLAIM_ANY_SLOT_SQL =
  "UPDATE addresses FORCE INDEX (ix_addresses_claim) SET status = 'assigned', user_id = ?, ref = ?, assigned_at = UTC_TIMESTAMP(3), handed_out_at = UTC_TIMESTAMP(3), claim_id = LAST_INSERT_ID(id) " +
  "WHERE status = 'available' AND slot IS NOT NULL ORDER BY slot, idx LIMIT 1";
/**
 * Reads back the row the claim just took, in the same round trip as the
 * UPDATE (multi-statement): LAST_INSERT_ID() is the id the UPDATE stored; the
 * ROW_COUNT() guard makes it return nothing when the UPDATE took no row (the
 * session's LAST_INSERT_ID() would then be a previous claim's).
 */
export const CLAIM_READBACK_SQL = 'SELECT address, idx, assigned_at FROM addresses WHERE id = LAST_INSERT_ID() AND ROW_COUNT() = 1';

/**
 * Schema 009, the statements sql/README.md documents ("Addresses per user").
 * Hand out the user's next set address, lowest index first; read back with
 * CLAIM_READBACK_SQL. One index dive on (user_id, handed_out_at IS NULL).
 */
export const HAND_OUT_SQL =
  'UPDATE addresses FORCE INDEX (ix_addresses_user) SET handed_out_at = UTC_TIMESTAMP(3), ref = ?, claim_id = LAST_INSERT_ID(id) ' +
  `WHERE user_id = ? AND ${SET_UNHANDED} ORDER BY idx LIMIT 1`;
/**
 * Lock the N lowest available receive addresses for a set, in a transaction.
 * SKIP LOCKED: concurrent signups each take rows no other one holds, instead
 * of queueing on the same first rows (with 64 at once, the last would wait
 * for 63 commits); a row a concurrent claim holds is skipped too.
 */
export const SET_PICK_SQL =
  "SELECT id FROM addresses FORCE INDEX (ix_addresses_handout) WHERE status = 'available' AND chain = 0 ORDER BY idx LIMIT ? FOR UPDATE SKIP LOCKED";
/** Assign the picked rows; `status = 'available'` again as the guard the state rule asks for. */
export const SET_ASSIGN_SQL = "UPDATE addresses SET status = 'assigned', user_id = ?, assigned_at = UTC_TIMESTAMP(3) WHERE id IN (?) AND status = 'available'";

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
   * The ref's earlier claim; else, for a user with a set, the set's next
   * address (refilling a used-up set first) and a top-up when it runs low;
   * else (or when the pool cannot refill the set) one address of the pool:
   * an autocommit UPDATE takes the first available address of a slot (the
   * slots rotate, so concurrent claimers rarely meet on one row), an empty
   * slot falls back to any slot, and the row is read back by the id the
   * UPDATE left in LAST_INSERT_ID. Deadlocks and lock wait timeouts are
   * retried; a top-up is its own transaction, and one the pool cannot make
   * whole writes nothing and does not fail the claim.
   */
  async claim(user: string, ref?: string): Promise<ClaimedAddress> {
    checkClaimInput(user, ref);
    await this.ensureCurrent();
    if (ref !== undefined) {
      const prior = await this.claimedByRef(ref, user);
      if (prior) return prior;
    }
    const [set] = await this.q<Row[]>('SELECT size FROM address_sets WHERE user_id = ?', [user]);
    if (!set) return this.retryingClaim(user, ref, () => this.claimFromPool(user, ref));
    const size = Number(set.size);
    let toppedUp = 0;
    let topUpRefused: string | undefined;
    const topUp = async () => {
      try {
        toppedUp += await this.topUp(user);
      } catch (e) {
        if (!isCoded(e, 'POOL_EMPTY')) throw e;
        topUpRefused = e.message;
      }
    };
    const handOut = () => this.retryingClaim(user, ref, async () => {
      const row = await this.claimOnce(HAND_OUT_SQL, [ref ?? null, user]);
      return row && this.claimed(row, user, ref, 'set');
    });
    let taken = await handOut();
    if (!taken) {
      // Used up (an earlier top-up found the pool short): refill it first.
      await topUp();
      taken = await handOut();
    }
    if (taken?.reused) return taken;
    if (!taken) {
      // The pool cannot refill the set: still give the user an address while any is left.
      const single = await this.retryingClaim(user, ref, () => this.claimFromPool(user, ref));
      return single.reused ? single : { ...single, set: { remaining: 0, toppedUp: 0, topUpRefused } };
    }
    if (topUpRefused === undefined && topUpCount(size, await this.unhandedCount(user)) > 0) await topUp();
    const after: SetAfterClaim = { remaining: await this.unhandedCount(user), toppedUp, ...(topUpRefused === undefined ? {} : { topUpRefused }) };
    return { ...taken, set: after };
  }

  private claimed(row: Row, user: string, ref: string | undefined, source: 'set' | 'pool'): ClaimedAddress {
    return { address: String(row.address), index: Number(row.idx), user, ref, assignedAt: row.assigned_at as Date, reused: false, source };
  }

  private async claimFromPool(user: string, ref: string | undefined): Promise<ClaimedAddress> {
    let taken = await this.claimOnce(CLAIM_IN_SLOT_SQL, [user, ref ?? null, this.nextSlot()]);
    taken ??= await this.claimOnce(CLAIM_ANY_SLOT_SQL, [user, ref ?? null]);
    if (!taken) throw poolEmpty(this.label);
    return this.claimed(taken, user, ref, 'pool');
  }

  /**
   * `fn` (one claim UPDATE and its read-back), retried on deadlocks and lock
   * wait timeouts; a duplicate ref means a concurrent request with the same
   * ref won the race: its address is the answer.
   */
  private async retryingClaim<T extends ClaimedAddress | undefined>(user: string, ref: string | undefined, fn: () => Promise<T>): Promise<T | ClaimedAddress> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (errno(e) === 1062 && ref !== undefined) {
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

  private async unhandedCount(user: string, t?: SqlExec): Promise<number> {
    const sql = `SELECT COUNT(*) AS n FROM addresses FORCE INDEX (ix_addresses_user) WHERE user_id = ? AND ${SET_UNHANDED}`;
    const [row] = t ? await t.all(sql, [user]) : await this.q<Row[]>(sql, [user]);
    return Number(row?.n ?? 0);
  }

  /**
   * Move the `n` lowest available receive addresses to `user` inside the
   * caller's transaction, or throw POOL_EMPTY (the caller's rollback then
   * leaves everything as it was).
   */
  private async fill(t: SqlExec, user: string, n: number, what: 'set' | 'top-up'): Promise<SetAddress[]> {
    const picked = (await t.all(SET_PICK_SQL, [n])).map((r) => String(r.id));
    if (picked.length < n) {
      // Counted on the transaction's own connection: a pool of one connection (one per web worker) has no other.
      const [row] = await t.all("SELECT COUNT(*) AS n FROM addresses WHERE status = 'available' AND slot IS NOT NULL");
      throw setPoolEmpty(this.label, user, n, Number(row?.n ?? 0), what);
    }
    const { changes } = await t.run(SET_ASSIGN_SQL, [user, picked]);
    if (changes !== n) throw new CodedError('INTERNAL', `a set of ${n} locked ${picked.length} rows but assigned ${changes}`);
    return (await t.all('SELECT address, idx FROM addresses WHERE id IN (?) ORDER BY idx', [picked])).map((r) => ({ address: String(r.address), index: Number(r.idx) }));
  }

  /**
   * Refill the user's set back to its size when it is low, in one
   * transaction holding the set's row, so two claims of one user never both
   * refill it. Returns how many addresses it added (0: not low after all).
   */
  private topUp(user: string): Promise<number> {
    return this.conn.tx(async (t) => {
      const [set] = await t.all('SELECT size FROM address_sets WHERE user_id = ? FOR UPDATE', [user]);
      if (!set) return 0;
      const n = topUpCount(Number(set.size), await this.unhandedCount(user, t));
      return n === 0 ? 0 : (await this.fill(t, user, n, 'top-up')).length;
    });
  }

  /**
   * One transaction: the set's row first (its primary key makes a second
   * signup of the same user wait for the first, then find it), then the
   * addresses; POOL_EMPTY rolls both back.
   */
  async assign(user: string, count: number, opts: AssignOptions = {}): Promise<AssignOutcome> {
    checkAssignInput(user, count);
    await this.ensureCurrent();
    const outcome = await this.conn.tx(async (t): Promise<{ kind: AssignOutcome['kind']; added: SetAddress[] }> => {
      let kind: AssignOutcome['kind'] = 'assigned';
      if (opts.add) {
        const [set] = await t.all('SELECT size FROM address_sets WHERE user_id = ? FOR UPDATE', [user]);
        if (set) kind = 'added';
      }
      if (kind === 'assigned') {
        try {
          await t.run('INSERT INTO address_sets (user_id, size) VALUES (?, ?)', [user, count]);
        } catch (e) {
          if (errno(e) !== 1062) throw e;
          if (!opts.add) return { kind: 'existing', added: [] };
          kind = 'added'; // a concurrent signup created it after our locking read found none
        }
      }
      if (kind === 'added') await t.run('UPDATE address_sets SET size = size + ? WHERE user_id = ?', [count, user]);
      return { kind, added: await this.fill(t, user, count, 'set') };
    });
    const set = await this.addressSet(user);
    if (!set) throw new CodedError('INTERNAL', `the set of user ${JSON.stringify(user)} vanished after it was assigned`);
    return { ...outcome, set };
  }

  async addressSet(user: string): Promise<AddressSet | undefined> {
    checkClaimInput(user, undefined);
    await this.ensureCurrent();
    const [set] = await this.q<Row[]>('SELECT size, created_at FROM address_sets WHERE user_id = ?', [user]);
    if (!set) return undefined;
    const unhanded = (await this.q<Row[]>(`SELECT address, idx FROM addresses FORCE INDEX (ix_addresses_user) WHERE user_id = ? AND ${SET_UNHANDED} ORDER BY idx`, [user]))
      .map((r) => ({ address: String(r.address), index: Number(r.idx) }));
    const [handed] = await this.q<Row[]>('SELECT COUNT(*) AS n FROM addresses WHERE user_id = ? AND handed_out_at IS NOT NULL', [user]);
    return { user, size: Number(set.size), createdAt: set.created_at as Date, unhanded, handedOut: Number(handed?.n ?? 0) };
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
      largestSet: Number((await this.q<Row[]>('SELECT COALESCE(MAX(size), 0) AS n FROM address_sets'))[0]?.n ?? 0),
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
