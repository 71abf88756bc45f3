import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { CodedError } from '../core/errors.js';
import type { NetworkName } from '../core/network.js';
import type {
  BatchStatus, ClaimedAddress, InsertBatchOptions, LoadOutcome, MigrateOutcome, PinOutcome, PoolAccount, PoolStatus, PoolStore, VerifiedBatch,
} from '../core/ports.js';
import { openSqliteFile, stayedBusy } from './sqlite-file.js';
import { assertCurrent, loadMigrations, runMigrations, type AppliedMigration, type Migration, type MigrationDriver } from './migrate.js';
import {
  INSERT_SLICE_ROWS, accountOf, checkBatchShape, checkClaimInput, decideAccount, findAddressCollision, overlapRefusal, poolEmpty, refOfOtherUser, slotChooser, slotOf,
  type StoredAccount,
} from './pool-rules.js';

/** How long a writer waits for another process's write transaction before giving up. */
/** Rows per multi-row INSERT (7 parameters each, below SQLite's 32,766 limit). */
const SQLITE_SLICE_ROWS = 1000;
/** Page cache while loading a batch (negative: KiB), 128 MiB. */
const LOAD_CACHE_KIB = -131072;

type Row = Record<string, unknown>;

const now = (): string => new Date().toISOString();
const num = (v: unknown): number => Number(v as bigint);

/**
 * The embedded store: one SQLite file through better-sqlite3 (synchronous, so
 * each method is one uninterrupted transaction in this process). WAL lets
 * readers run beside the writer; every write starts with BEGIN IMMEDIATE, so
 * concurrent *processes* queue on the busy timeout instead of failing with
 * SQLITE_BUSY half-way through a transaction. Integers come back as bigint
 * (safeIntegers) and are narrowed only where they are indexes or counts.
 */
export class SqliteStore implements PoolStore {
  readonly dialect = 'sqlite' as const;
  readonly label: string;
  private readonly db: Database.Database;
  private readonly nextSlot = slotChooser();
  private readonly migrations: Migration[];
  private checked = false;

  constructor(path: string, migrations: Migration[] = loadMigrations('sqlite')) {
    this.label = `sqlite:${path}`;
    this.migrations = migrations;
    // The pool's tables reference each other (addresses → batches → accounts): enforced here.
    this.db = openSqliteFile(path, { foreignKeys: true });
  }

  /** Run `fn` in a BEGIN IMMEDIATE transaction; a busy database past the timeout is UNAVAILABLE. */
  private write<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
        throw stayedBusy(this.label, e);
      }
      throw e;
    }
  }

  private ensureCurrent(): void {
    if (this.checked) return;
    const hasTable = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    const applied = hasTable ? this.appliedSync() : [];
    assertCurrent(this.migrations, applied, this.label);
    this.checked = true;
  }

  private appliedSync(): AppliedMigration[] {
    return this.db.prepare('SELECT version, checksum FROM schema_migrations ORDER BY version').all()
      .map((r) => ({ version: num((r as Row).version), checksum: String((r as Row).checksum) }));
  }

  async migrate(): Promise<MigrateOutcome> {
    const driver: MigrationDriver = {
      // The whole run is one IMMEDIATE transaction: SQLite DDL is transactional.
      withLock: async (fn) => {
        this.db.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn();
          this.db.exec('COMMIT');
          return result;
        } catch (e) {
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
          throw e;
        }
      },
      ensureTable: async () => {
        this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)');
      },
      applied: async () => this.appliedSync(),
      apply: async (m) => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)').run(m.version, m.name, m.checksum, now());
      },
    };
    const outcome = await runMigrations(driver, this.migrations);
    this.checked = false;
    return outcome;
  }

  private storedAccounts(): StoredAccount[] {
    return this.db.prepare('SELECT id, key_id, descriptor, network FROM pool_accounts ORDER BY is_primary DESC, id').all().map((r) => {
      const row = r as Row;
      return { id: row.id as bigint, keyId: String(row.key_id), descriptor: String(row.descriptor), network: String(row.network) as NetworkName };
    });
  }

  async accounts(): Promise<PoolAccount[]> {
    this.ensureCurrent();
    return this.storedAccounts().map(({ keyId, descriptor, network }) => ({ keyId, descriptor, network }));
  }

  async account(): Promise<PoolAccount | undefined> {
    return (await this.accounts())[0];
  }

  private pinSync(account: PoolAccount, add: boolean): { accountId: bigint; outcome: PinOutcome } {
    const decision = decideAccount(this.storedAccounts(), account, add);
    if (decision.kind === 'existing') return decision;
    const info = this.db.prepare('INSERT INTO pool_accounts (key_id, descriptor, network, is_primary, pinned_at) VALUES (?, ?, ?, ?, ?)')
      .run(account.keyId, account.descriptor, account.network, decision.primary ? 1 : 0, now());
    return { accountId: BigInt(info.lastInsertRowid), outcome: decision.outcome };
  }

  async pinAccount(account: PoolAccount, opts: { readonly add?: boolean } = {}): Promise<PinOutcome> {
    this.ensureCurrent();
    return this.write(() => this.pinSync(account, opts.add ?? false).outcome);
  }

  async insertBatch(batch: VerifiedBatch, opts: InsertBatchOptions = {}): Promise<LoadOutcome> {
    checkBatchShape(batch);
    this.ensureCurrent();
    // The unique address index takes random inserts: with the default 16 MiB
    // page cache a 1,000,000-row batch thrashes (measured 68 s, 27 s with 128 MiB).
    const cacheSize = this.db.pragma('cache_size', { simple: true }) as bigint;
    this.db.pragma(`cache_size = ${LOAD_CACHE_KIB}`);
    try {
      return this.write(() => this.insertSync(batch, opts));
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw e;
      // Rolled back; now find which address collided, outside the transaction.
      const lookup = this.db.prepare(`SELECT address, chain, idx FROM addresses WHERE address IN (${Array(1000).fill('?').join(',')})`);
      throw await findAddressCollision(batch, async (slice) => {
        const padded = [...slice, ...Array<string>(1000 - slice.length).fill('')];
        return lookup.all(...padded).map((r) => ({ address: String((r as Row).address), chain: num((r as Row).chain), index: num((r as Row).idx) }));
      });
    } finally {
      this.db.pragma(`cache_size = ${cacheSize}`);
    }
  }

  private insertSync(batch: VerifiedBatch, opts: InsertBatchOptions): LoadOutcome {
    const loaded = this.db.prepare('SELECT id FROM address_batches WHERE digest = ?').get(batch.digest) as Row | undefined;
    if (loaded) return { kind: 'already-loaded', batchId: loaded.id as bigint };
    const { accountId } = this.pinSync(accountOf(batch), opts.addAccount ?? false);
    const end = batch.first + batch.count;
    const other = this.db.prepare(
      'SELECT id, first_index, count FROM address_batches WHERE account_id = ? AND chain = ? AND first_index < ? AND first_index + count > ? ORDER BY first_index LIMIT 1',
    ).get(accountId, batch.chain, end, batch.first) as Row | undefined;
    if (other) {
      const first = num(other.first_index);
      const index = Math.max(batch.first, first);
      const stored = this.db.prepare('SELECT address FROM addresses WHERE account_id = ? AND chain = ? AND idx = ?').get(accountId, batch.chain, index) as Row | undefined;
      throw overlapRefusal(batch, { id: other.id as bigint, first, count: num(other.count), storedAddress: stored ? String(stored.address) : undefined });
    }
    const info = this.db.prepare(
      'INSERT INTO address_batches (account_id, descriptor, network, chain, first_index, count, digest, created, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(accountId, batch.descriptor, batch.network, batch.chain, batch.first, batch.count, batch.digest, batch.created, now());
    const batchId = BigInt(info.lastInsertRowid);
    const insertRows = (n: number) => this.db.prepare(`INSERT INTO addresses (address, batch_id, account_id, chain, idx, slot) VALUES ${Array(n).fill('(?, ?, ?, ?, ?, ?)').join(', ')}`);
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
    this.ensureCurrent();
    return this.write(() => {
      if (ref !== undefined) {
        const prior = this.db.prepare('SELECT address, idx, user_id, assigned_at FROM addresses WHERE ref = ?').get(ref) as Row | undefined;
        if (prior) {
          if (String(prior.user_id) !== user) throw refOfOtherUser(ref, String(prior.user_id), user);
          return { address: String(prior.address), index: num(prior.idx), user, ref, assignedAt: new Date(String(prior.assigned_at)), reused: true };
        }
      }
      const at = now();
      const set = "UPDATE addresses SET status = 'assigned', user_id = ?, ref = ?, assigned_at = ?, claim_id = id WHERE id = ";
      let row = this.db.prepare(`${set}(SELECT id FROM addresses WHERE status = 'available' AND slot = ? ORDER BY idx LIMIT 1) RETURNING address, idx`)
        .get(user, ref ?? null, at, this.nextSlot()) as Row | undefined;
      row ??= this.db.prepare(`${set}(SELECT id FROM addresses WHERE status = 'available' AND slot IS NOT NULL ORDER BY slot, idx LIMIT 1) RETURNING address, idx`)
        .get(user, ref ?? null, at) as Row | undefined;
      if (!row) throw poolEmpty(this.label);
      return { address: String(row.address), index: num(row.idx), user, ref, assignedAt: new Date(at), reused: false };
    });
  }

  async countAvailable(): Promise<number> {
    this.ensureCurrent();
    return num((this.db.prepare("SELECT COUNT(*) AS n FROM addresses WHERE status = 'available' AND slot IS NOT NULL").get() as Row).n);
  }

  async status(): Promise<PoolStatus> {
    this.ensureCurrent();
    const accounts = this.storedAccounts();
    const primary = accounts[0];
    const totals = { available: 0, assigned: 0, used: 0 };
    for (const r of this.db.prepare('SELECT status, COUNT(*) AS n FROM addresses WHERE slot IS NOT NULL GROUP BY status').all() as Row[]) {
      totals[String(r.status) as keyof typeof totals] = num(r.n);
    }
    const perBatch = new Map<bigint, Record<string, number>>();
    for (const r of this.db.prepare('SELECT batch_id, status, COUNT(*) AS n FROM addresses GROUP BY batch_id, status').all() as Row[]) {
      const m = perBatch.get(r.batch_id as bigint) ?? {};
      m[String(r.status)] = num(r.n);
      perBatch.set(r.batch_id as bigint, m);
    }
    const batches: BatchStatus[] = (this.db.prepare('SELECT id, chain, first_index, count, digest, loaded_at FROM address_batches ORDER BY id').all() as Row[]).map((b) => {
      const c = perBatch.get(b.id as bigint) ?? {};
      return {
        id: b.id as bigint, chain: num(b.chain) as 0 | 1, first: num(b.first_index), count: num(b.count), digest: String(b.digest),
        loadedAt: new Date(String(b.loaded_at)), available: c.available ?? 0, assigned: c.assigned ?? 0, used: c.used ?? 0,
      };
    });
    const next = primary
      ? (this.db.prepare('SELECT MAX(first_index + count) AS n FROM address_batches WHERE account_id = ? AND chain = 0').get(primary.id) as Row).n
      : null;
    const maxIdx = (statuses: string): number | undefined => {
      const v = (this.db.prepare(`SELECT MAX(idx) AS n FROM addresses WHERE status IN (${statuses}) AND slot IS NOT NULL`).get() as Row).n;
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
    this.ensureCurrent();
    const h = createHash('sha256');
    for (const r of this.db.prepare('SELECT id, account_id, chain, first_index, count, digest FROM address_batches ORDER BY id').iterate()) h.update(`${JSON.stringify(Object.values(r as Row).map(String))}\n`);
    for (const r of this.db.prepare('SELECT id, address, batch_id, account_id, chain, idx, slot, status, user_id, ref, assigned_at FROM addresses ORDER BY id').iterate()) {
      h.update(`${JSON.stringify(Object.values(r as Row).map(String))}\n`);
    }
    return h.digest('hex');
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
