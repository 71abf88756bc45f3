import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { NetworkName } from '../../core/network.js';
import type {
  BatchStatus, ClaimedAddress, InsertBatchOptions, LoadOutcome, PinOutcome, PoolAccount, PoolStatus, PoolStore, VerifiedBatch,
} from '../../core/ports.js';
import {
  INSERT_SLICE_ROWS, accountOf, checkBatchShape, checkClaimInput, decideAccount, findAddressCollision, overlapRefusal, poolEmpty, refOfOtherUser, slotChooser, slotOf,
  type StoredAccount,
} from '../pool-rules.js';
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

  async claim(user: string, ref?: string): Promise<ClaimedAddress> {
    checkClaimInput(user, ref);
    await ensureSchemaCurrent(this.conn);
    return this.conn.write((db) => {
      if (ref !== undefined) {
        const prior = db.prepare('SELECT address, idx, user_id, assigned_at FROM addresses WHERE ref = ?').get(ref) as Row | undefined;
        if (prior) {
          if (String(prior.user_id) !== user) throw refOfOtherUser(ref, String(prior.user_id), user);
          return { address: String(prior.address), index: num(prior.idx), user, ref, assignedAt: new Date(String(prior.assigned_at)), reused: true };
        }
      }
      const at = now();
      const set = "UPDATE addresses SET status = 'assigned', user_id = ?, ref = ?, assigned_at = ?, claim_id = id WHERE id = ";
      let row = db.prepare(`${set}(SELECT id FROM addresses WHERE status = 'available' AND slot = ? ORDER BY idx LIMIT 1) RETURNING address, idx`)
        .get(user, ref ?? null, at, this.nextSlot()) as Row | undefined;
      row ??= db.prepare(`${set}(SELECT id FROM addresses WHERE status = 'available' AND slot IS NOT NULL ORDER BY slot, idx LIMIT 1) RETURNING address, idx`)
        .get(user, ref ?? null, at) as Row | undefined;
      if (!row) throw poolEmpty(this.label);
      return { address: String(row.address), index: num(row.idx), user, ref, assignedAt: new Date(at), reused: false };
    });
  }

  async countAvailable(): Promise<number> {
    await ensureSchemaCurrent(this.conn);
    return this.conn.read((db) => num((db.prepare("SELECT COUNT(*) AS n FROM addresses WHERE status = 'available' AND slot IS NOT NULL").get() as Row).n));
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
