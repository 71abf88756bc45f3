import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { NetworkName } from '../../core/network.js';
import { isCoded } from '../../core/errors.js';
import type {
  AddressSet, AssignOptions, AssignOutcome, BatchStatus, ClaimedAddress, InsertBatchOptions, LoadOutcome, PinOutcome, PoolAccount, PoolStatus, PoolStore, SetAddress,
  VerifiedBatch,
} from '../../core/ports.js';
import {
  INSERT_SLICE_ROWS, accountOf, checkAssignInput, checkBatchShape, checkClaimInput, decideAccount, findAddressCollision, overlapRefusal, poolEmpty, refOfOtherUser,
  setPoolEmpty, slotChooser, slotOf, topUpCount, type StoredAccount,
} from '../pool-rules.js';
import { SET_UNHANDED } from '../set-sql.js';
import { ensureSchemaCurrent } from '../sql-db.js';
import type { SqliteConnection } from './connection.js';

/** Rows per multi-row INSERT (7 parameters each, below SQLite's 32,766 limit). */
const SQLITE_SLICE_ROWS = 1000;
/** Page cache while loading a batch (negative: KiB), 128 MiB. */
const LOAD_CACHE_KIB = -131072;

type Row = Record<string, unknown>;

const now = (): string => new Date().toISOString();
const num = (v: unknown): number => Number(v as bigint);

/**
 * The address pool on SQLite, on the handle's one connection. Each method is
 * one synchronous unit of work in the connection's turn (better-sqlite3), so
 * nothing else runs in the middle of it; every write is BEGIN IMMEDIATE, so
 * concurrent *processes* queue on the busy timeout instead of failing with
 * SQLITE_BUSY half-way through a transaction. Integers come back as bigint
 * (safeIntegers) and are narrowed only where they are indexes or counts.
 */
export class SqlitePoolStore implements PoolStore {
  readonly dialect = 'sqlite' as const;
  readonly label: string;
  private readonly nextSlot = slotChooser();

  constructor(private readonly conn: SqliteConnection) {
    this.label = conn.label;
  }

  private storedAccounts(db: Database.Database): StoredAccount[] {
    return db.prepare('SELECT id, key_id, descriptor, network FROM pool_accounts ORDER BY is_primary DESC, id').all().map((r) => {
      const row = r as Row;
      return { id: row.id as bigint, keyId: String(row.key_id), descriptor: String(row.descriptor), network: String(row.network) as NetworkName };
    });
  }

  async accounts(): Promise<PoolAccount[]> {
    await ensureSchemaCurrent(this.conn);
    return this.conn.read((db) => this.storedAccounts(db).map(({ keyId, descriptor, network }) => ({ keyId, descriptor, network })));
  }

  async account(): Promise<PoolAccount | undefined> {
    return (await this.accounts())[0];
  }

  private pinSync(db: Database.Database, account: PoolAccount, add: boolean): { accountId: bigint; outcome: PinOutcome } {
    const decision = decideAccount(this.storedAccounts(db), account, add);
    if (decision.kind === 'existing') return decision;
    const info = db.prepare('INSERT INTO pool_accounts (key_id, descriptor, network, is_primary, pinned_at) VALUES (?, ?, ?, ?, ?)')
      .run(account.keyId, account.descriptor, account.network, decision.primary ? 1 : 0, now());
    return { accountId: BigInt(info.lastInsertRowid), outcome: decision.outcome };
  }

  async pinAccount(account: PoolAccount, opts: { readonly add?: boolean } = {}): Promise<PinOutcome> {
    await ensureSchemaCurrent(this.conn);
    return this.conn.write((db) => this.pinSync(db, account, opts.add ?? false).outcome);
  }

  async insertBatch(batch: VerifiedBatch, opts: InsertBatchOptions = {}): Promise<LoadOutcome> {
    checkBatchShape(batch);
    await ensureSchemaCurrent(this.conn);
    // The unique address index takes random inserts: with the default 16 MiB
    // page cache a 1,000,000-row batch thrashes (measured 68 s, 27 s with 128 MiB).
    const cacheSize = await this.conn.read((db) => {
      const before = db.pragma('cache_size', { simple: true }) as bigint;
      db.pragma(`cache_size = ${LOAD_CACHE_KIB}`);
      return before;
    });
    try {
      return await this.conn.write((db) => this.insertSync(db, batch, opts));
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw e;
      // Rolled back; now find which address collided, outside the transaction.
      throw await findAddressCollision(batch, (slice) => this.conn.read((db) => {
        const padded = [...slice, ...Array<string>(1000 - slice.length).fill('')];
        return db.prepare(`SELECT address, chain, idx FROM addresses WHERE address IN (${Array(1000).fill('?').join(',')})`).all(...padded)
          .map((r) => ({ address: String((r as Row).address), chain: num((r as Row).chain), index: num((r as Row).idx) }));
      }));
    } finally {
      await this.conn.read((db) => db.pragma(`cache_size = ${cacheSize}`)).catch(() => undefined);
    }
  }

  private insertSync(db: Database.Database, batch: VerifiedBatch, opts: InsertBatchOptions): LoadOutcome {
    const loaded = db.prepare('SELECT id FROM address_batches WHERE digest = ?').get(batch.digest) as Row | undefined;
    if (loaded) return { kind: 'already-loaded', batchId: loaded.id as bigint };
    const { accountId } = this.pinSync(db, accountOf(batch), opts.addAccount ?? false);
    const end = batch.first + batch.count;
    const other = db.prepare(
      'SELECT id, first_index, count FROM address_batches WHERE account_id = ? AND chain = ? AND first_index < ? AND first_index + count > ? ORDER BY first_index LIMIT 1',
    ).get(accountId, batch.chain, end, batch.first) as Row | undefined;
    if (other) {
      const first = num(other.first_index);
      const index = Math.max(batch.first, first);
      const stored = db.prepare('SELECT address FROM addresses WHERE account_id = ? AND chain = ? AND idx = ?').get(accountId, batch.chain, index) as Row | undefined;
      throw overlapRefusal(batch, { id: other.id as bigint, first, count: num(other.count), storedAddress: stored ? String(stored.address) : undefined });
    }
    const info = db.prepare(
      'INSERT INTO address_batches (account_id, descriptor, network, chain, first_index, count, digest, created, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(accountId, batch.descriptor, batch.network, batch.chain, batch.first, batch.count, batch.digest, batch.created, now());
    const batchId = BigInt(info.lastInsertRowid);
    const insertRows = (n: number) => db.prepare(`INSERT INTO addresses (address, batch_id, account_id, chain, idx, slot) VALUES ${Array(n).fill('(?, ?, ?, ?, ?, ?)').join(', ')}`);
    const full = insertRows(SQLITE_SLICE_ROWS);
    for (let k = 0; k < batch.count; k += SQLITE_SLICE_ROWS) {
      const n = Math.min(SQLITE_SLICE_ROWS, batch.count - k);
      const params: unknown[] = [];
      for (let j = k; j < k + n; j++) {
        const index = batch.first + j;
        params.push(batch.addresses[j], batchId, accountId, batch.chain, index, slotOf(batch.chain, index));
      }
      (n === SQLITE_SLICE_ROWS ? full : insertRows(n)).run(...params);
      if (opts.onProgress && ((k + n) % INSERT_SLICE_ROWS === 0 || k + n === batch.count)) opts.onProgress(k + n, batch.count);
    }
    return { kind: 'loaded', batchId, inserted: batch.count };
  }

  /**
   * One IMMEDIATE transaction: the ref's earlier claim; else, for a user with
   * a set, the set's next address (refilling an empty set first) and a
   * top-up when it runs low; else (or when an empty set cannot be refilled)
   * one address of the pool. A top-up the pool cannot make whole writes
   * nothing and does not fail the claim.
   */
  async claim(user: string, ref?: string): Promise<ClaimedAddress> {
    checkClaimInput(user, ref);
    await ensureSchemaCurrent(this.conn);
    return this.conn.write((db): ClaimedAddress => {
      if (ref !== undefined) {
        const prior = db.prepare('SELECT address, idx, user_id, assigned_at FROM addresses WHERE ref = ?').get(ref) as Row | undefined;
        if (prior) {
          if (String(prior.user_id) !== user) throw refOfOtherUser(ref, String(prior.user_id), user);
          return { address: String(prior.address), index: num(prior.idx), user, ref, assignedAt: new Date(String(prior.assigned_at)), reused: true };
        }
      }
      const at = now();
      const set = db.prepare('SELECT size FROM address_sets WHERE user_id = ?').get(user) as Row | undefined;
      if (set) {
        const size = num(set.size);
        let toppedUp = 0;
        let topUpRefused: string | undefined;
        const topUp = (n: number) => {
          try {
            toppedUp += this.fillSync(db, user, n, at, 'top-up').length;
          } catch (e) {
            if (!isCoded(e, 'POOL_EMPTY')) throw e;
            topUpRefused = e.message;
          }
        };
        let row = this.handOutSync(db, user, ref, at);
        if (!row) {
          // Used up (an earlier top-up found the pool short): refill it first.
          topUp(size);
          row = this.handOutSync(db, user, ref, at);
        }
        if (row) {
          const left = this.unhandedCountSync(db, user);
          const more = topUpCount(size, left);
          if (more > 0 && topUpRefused === undefined) topUp(more);
          return {
            address: String(row.address), index: num(row.idx), user, ref, assignedAt: new Date(String(row.assigned_at)), reused: false, source: 'set',
            set: { remaining: this.unhandedCountSync(db, user), toppedUp, ...(topUpRefused === undefined ? {} : { topUpRefused }) },
          };
        }
        // The pool cannot refill the set: still give the user an address while any is left.
        const single = this.claimFromPoolSync(db, user, ref, at);
        return { ...single, set: { remaining: 0, toppedUp: 0, topUpRefused } };
      }
      return this.claimFromPoolSync(db, user, ref, at);
    });
  }

  /** Today's claim: the first available address of a slot, else of any slot; POOL_EMPTY when none. */
  private claimFromPoolSync(db: Database.Database, user: string, ref: string | undefined, at: string): ClaimedAddress {
    const set = "UPDATE addresses SET status = 'assigned', user_id = ?, ref = ?, assigned_at = ?, handed_out_at = ?, claim_id = id WHERE id = ";
    let row = db.prepare(`${set}(SELECT id FROM addresses WHERE status = 'available' AND slot = ? ORDER BY idx LIMIT 1) RETURNING address, idx`)
      .get(user, ref ?? null, at, at, this.nextSlot()) as Row | undefined;
    row ??= db.prepare(`${set}(SELECT id FROM addresses WHERE status = 'available' AND slot IS NOT NULL ORDER BY slot, idx LIMIT 1) RETURNING address, idx`)
      .get(user, ref ?? null, at, at) as Row | undefined;
    if (!row) throw poolEmpty(this.label);
    return { address: String(row.address), index: num(row.idx), user, ref, assignedAt: new Date(at), reused: false, source: 'pool' };
  }

  /** Hand out the user's next unhanded set address (lowest index), or undefined when none is left. */
  private handOutSync(db: Database.Database, user: string, ref: string | undefined, at: string): Row | undefined {
    return db.prepare(
      `UPDATE addresses SET handed_out_at = ?, ref = ?, claim_id = id WHERE id = (SELECT id FROM addresses WHERE user_id = ? AND ${SET_UNHANDED} ORDER BY idx LIMIT 1) ` +
      'RETURNING address, idx, assigned_at',
    ).get(at, ref ?? null, user) as Row | undefined;
  }

  private unhandedCountSync(db: Database.Database, user: string): number {
    return num((db.prepare(`SELECT COUNT(*) AS n FROM addresses WHERE user_id = ? AND ${SET_UNHANDED}`).get(user) as Row).n);
  }

  /**
   * Move the `n` lowest available receive addresses to `user`, or throw
   * POOL_EMPTY having written nothing (counted first: SQLite has no partial
   * rollback short of a savepoint, and the claim's top-up must not fail it).
   */
  private fillSync(db: Database.Database, user: string, n: number, at: string, what: 'set' | 'top-up'): SetAddress[] {
    const enough = num((db.prepare("SELECT COUNT(*) AS n FROM (SELECT 1 FROM addresses WHERE status = 'available' AND chain = 0 LIMIT ?)").get(n) as Row).n);
    if (enough < n) throw setPoolEmpty(this.label, user, n, this.countAvailableSync(db), what);
    const rows = db.prepare(
      "UPDATE addresses SET status = 'assigned', user_id = ?, assigned_at = ? " +
      "WHERE id IN (SELECT id FROM addresses WHERE status = 'available' AND chain = 0 ORDER BY idx LIMIT ?) RETURNING address, idx",
    ).all(user, at, n) as Row[];
    return rows.map((r) => ({ address: String(r.address), index: num(r.idx) })).sort((a, b) => a.index - b.index);
  }

  async assign(user: string, count: number, opts: AssignOptions = {}): Promise<AssignOutcome> {
    checkAssignInput(user, count);
    await ensureSchemaCurrent(this.conn);
    return this.conn.write((db): AssignOutcome => {
      const existing = db.prepare('SELECT size FROM address_sets WHERE user_id = ?').get(user) as Row | undefined;
      if (existing && !opts.add) return { kind: 'existing', added: [], set: this.setSync(db, user)! };
      const at = now();
      const added = this.fillSync(db, user, count, at, 'set');
      if (existing) db.prepare('UPDATE address_sets SET size = size + ? WHERE user_id = ?').run(count, user);
      else db.prepare('INSERT INTO address_sets (user_id, size, created_at) VALUES (?, ?, ?)').run(user, count, at);
      return { kind: existing ? 'added' : 'assigned', added, set: this.setSync(db, user)! };
    });
  }

  async addressSet(user: string): Promise<AddressSet | undefined> {
    checkClaimInput(user, undefined);
    await ensureSchemaCurrent(this.conn);
    return this.conn.read((db) => this.setSync(db, user));
  }

  private setSync(db: Database.Database, user: string): AddressSet | undefined {
    const set = db.prepare('SELECT size, created_at FROM address_sets WHERE user_id = ?').get(user) as Row | undefined;
    if (!set) return undefined;
    const unhanded = (db.prepare(`SELECT address, idx FROM addresses WHERE user_id = ? AND ${SET_UNHANDED} ORDER BY idx`).all(user) as Row[])
      .map((r) => ({ address: String(r.address), index: num(r.idx) }));
    const handedOut = num((db.prepare('SELECT COUNT(*) AS n FROM addresses WHERE user_id = ? AND handed_out_at IS NOT NULL').get(user) as Row).n);
    return { user, size: num(set.size), createdAt: new Date(String(set.created_at)), unhanded, handedOut };
  }

  private countAvailableSync(db: Database.Database): number {
    return num((db.prepare("SELECT COUNT(*) AS n FROM addresses WHERE status = 'available' AND slot IS NOT NULL").get() as Row).n);
  }

  async countAvailable(): Promise<number> {
    await ensureSchemaCurrent(this.conn);
    return this.conn.read((db) => this.countAvailableSync(db));
  }

  async status(): Promise<PoolStatus> {
    await ensureSchemaCurrent(this.conn);
    return this.conn.read((db) => this.statusSync(db));
  }

  private statusSync(db: Database.Database): PoolStatus {
    const accounts = this.storedAccounts(db);
    const primary = accounts[0];
    const totals = { available: 0, assigned: 0, used: 0 };
    for (const r of db.prepare('SELECT status, COUNT(*) AS n FROM addresses WHERE slot IS NOT NULL GROUP BY status').all() as Row[]) {
      totals[String(r.status) as keyof typeof totals] = num(r.n);
    }
    const perBatch = new Map<bigint, Record<string, number>>();
    for (const r of db.prepare('SELECT batch_id, status, COUNT(*) AS n FROM addresses GROUP BY batch_id, status').all() as Row[]) {
      const m = perBatch.get(r.batch_id as bigint) ?? {};
      m[String(r.status)] = num(r.n);
      perBatch.set(r.batch_id as bigint, m);
    }
    const batches: BatchStatus[] = (db.prepare('SELECT id, chain, first_index, count, digest, loaded_at FROM address_batches ORDER BY id').all() as Row[]).map((b) => {
      const c = perBatch.get(b.id as bigint) ?? {};
      return {
        id: b.id as bigint, chain: num(b.chain) as 0 | 1, first: num(b.first_index), count: num(b.count), digest: String(b.digest),
        loadedAt: new Date(String(b.loaded_at)), available: c.available ?? 0, assigned: c.assigned ?? 0, used: c.used ?? 0,
      };
    });
    const next = primary
      ? (db.prepare('SELECT MAX(first_index + count) AS n FROM address_batches WHERE account_id = ? AND chain = 0').get(primary.id) as Row).n
      : null;
    const maxIdx = (statuses: string): number | undefined => {
      const v = (db.prepare(`SELECT MAX(idx) AS n FROM addresses WHERE status IN (${statuses}) AND slot IS NOT NULL`).get() as Row).n;
      return v === null ? undefined : num(v);
    };
    return {
      account: primary ? { keyId: primary.keyId, descriptor: primary.descriptor, network: primary.network } : undefined,
      ...totals,
      batches,
      nextIndex: next === null ? 0 : num(next),
      highestAssignedIndex: maxIdx("'assigned', 'used'"),
      highestUsedIndex: maxIdx("'used'"),
      largestSet: num((db.prepare('SELECT COALESCE(MAX(size), 0) AS n FROM address_sets').get() as Row).n),
    };
  }

  async dumpDigest(): Promise<string> {
    await ensureSchemaCurrent(this.conn);
    return this.conn.read((db) => {
      const h = createHash('sha256');
      for (const r of db.prepare('SELECT id, account_id, chain, first_index, count, digest FROM address_batches ORDER BY id').iterate()) h.update(`${JSON.stringify(Object.values(r as Row).map(String))}\n`);
      for (const r of db.prepare('SELECT id, address, batch_id, account_id, chain, idx, slot, status, user_id, ref, assigned_at FROM addresses ORDER BY id').iterate()) {
        h.update(`${JSON.stringify(Object.values(r as Row).map(String))}\n`);
      }
      return h.digest('hex');
    });
  }
}
