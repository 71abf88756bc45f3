import { createHash } from 'node:crypto';
import type {
  ChainStore, ChainSummary, Coin, Deposit, DroppedDeposit, FoundOutput, FoundSpend, ScriptOwner, StoredBlock, WatchAccount,
} from '../core/ports.js';
import { CodedError } from '../core/errors.js';
import { ensureSchemaCurrent, type SqlDb, type SqlExec, type SqlRow } from './sql-db.js';

const ADDRESS_SLICE = 50_000;
/** Chain records are read again from the node after a power cut: their commits need not wait for the disk. */
const RELAXED = { relaxedDurability: true } as const;
const OUTPUT_COLUMNS = 'o.txid, o.vout, o.value_sat, o.script, o.address, o.chain, o.idx, o.height, o.block_hash, o.spent_txid, o.spent_height';

/**
 * The chain follower's records (schema 004) over either dialect (SqlDb):
 * chain_blocks, chain_outputs, chain_dropped, and the `used` status of
 * addresses. One block = one transaction, committed with relaxed durability
 * on SQLite: a block lost to a power cut is simply read again by the next sync.
 */
export class SqlChainStore implements ChainStore {
  readonly dialect: 'sqlite' | 'mysql';
  readonly label: string;

  constructor(private readonly db: SqlDb) {
    this.dialect = db.dialect;
    this.label = db.label;
  }

  private ready(): Promise<void> {
    return ensureSchemaCurrent(this.db);
  }

  private async all(sql: string, params?: readonly unknown[]): Promise<SqlRow[]> {
    await this.ready();
    return this.db.all(sql, params);
  }

  async tip(): Promise<StoredBlock | undefined> {
    const rows = await this.all('SELECT height, hash, prev_hash, time FROM chain_blocks ORDER BY height DESC LIMIT 1');
    return rows[0] ? block(rows[0]) : undefined;
  }

  async hashAt(height: number): Promise<string | undefined> {
    const rows = await this.all('SELECT hash FROM chain_blocks WHERE height = ?', [height]);
    return rows[0] ? String(rows[0].hash) : undefined;
  }

  async firstHeight(): Promise<number | undefined> {
    const rows = await this.all('SELECT MIN(height) AS h FROM chain_blocks');
    return rows[0]?.h === null || rows[0]?.h === undefined ? undefined : Number(rows[0].h);
  }

  async birthday(): Promise<string | undefined> {
    const rows = await this.all('SELECT created FROM address_batches');
    const times = rows.map((r) => String(r.created)).filter((t) => !Number.isNaN(Date.parse(t)));
    times.sort((a, b) => Date.parse(a) - Date.parse(b));
    return times[0];
  }

  async accounts(): Promise<WatchAccount[]> {
    const rows = await this.all('SELECT id, descriptor, network FROM pool_accounts ORDER BY is_primary DESC, id');
    return rows.map((r) => ({ id: BigInt(String(r.id)), descriptor: String(r.descriptor), network: String(r.network) }));
  }

  async loadedAddresses(onSlice: (rows: ScriptOwner[]) => void): Promise<void> {
    let after = 0n;
    for (;;) {
      const rows = await this.all(`SELECT id, address, account_id, chain, idx FROM addresses WHERE id > ? ORDER BY id LIMIT ${ADDRESS_SLICE}`, [after]);
      if (rows.length === 0) return;
      onSlice(rows.map((r) => ({ accountId: BigInt(String(r.account_id)), chain: Number(r.chain) as 0 | 1, index: Number(r.idx), address: String(r.address) })));
      after = BigInt(String(rows[rows.length - 1]!.id));
    }
  }

  async highestChangeIndex(): Promise<Map<bigint, number>> {
    const rows = await this.all('SELECT account_id, MAX(idx) AS m FROM chain_outputs WHERE chain = 1 GROUP BY account_id');
    return new Map(rows.map((r) => [BigInt(String(r.account_id)), Number(r.m)]));
  }

  async openOutpoints(): Promise<string[]> {
    const rows = await this.all('SELECT txid, vout FROM chain_outputs WHERE height IS NOT NULL AND spent_height IS NULL');
    return rows.map((r) => `${String(r.txid)}:${Number(r.vout)}`);
  }

  async commitBlock(b: StoredBlock, outputs: readonly FoundOutput[], spends: readonly FoundSpend[]): Promise<void> {
    await this.ready();
    const now = this.db.time(new Date());
    await this.db.tx(async (t) => {
      const tip = await t.all(`SELECT height, hash FROM chain_blocks ORDER BY height DESC LIMIT 1${this.db.forUpdate}`);
      const last = tip[0];
      if (last && (Number(last.height) !== b.height - 1 || String(last.hash) !== b.prevHash)) {
        throw new CodedError('STATE_CONFLICT', `block ${b.height} ${b.hash} does not extend the recorded tip ${Number(last.height)} ${String(last.hash)}`, {
          hint: 'another `coldpool chain` process is writing to this database; run one follower at a time',
        });
      }
      await t.run('INSERT INTO chain_blocks (height, hash, prev_hash, time, synced_at) VALUES (?, ?, ?, ?, ?)', [b.height, b.hash, b.prevHash, b.time, now]);
      for (const o of outputs) await this.upsertOutput(t, o, b);
      for (const s of spends) {
        await t.run('UPDATE chain_outputs SET spent_txid = ?, spent_height = ? WHERE txid = ? AND vout = ?', [s.spendingTxid, b.height, s.txid, s.vout]);
      }
      await this.markUsed(t, outputs, now);
    }, RELAXED);
  }

  private async upsertOutput(t: SqlExec, o: FoundOutput, b: StoredBlock | undefined): Promise<void> {
    const values = [o.txid, o.vout, o.valueSat, o.script, o.owner.address, o.owner.accountId, o.owner.chain, o.owner.index, b?.height ?? null, b?.hash ?? null];
    const insert = 'INSERT INTO chain_outputs (txid, vout, value_sat, script, address, account_id, chain, idx, height, block_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
    if (b === undefined) {
      // A mempool sighting never overwrites a confirmed row.
      await t.run(`${this.db.insertIgnore}${insert.slice('INSERT'.length)}`, values);
    } else if (this.dialect === 'sqlite') {
      await t.run(`${insert} ON CONFLICT (txid, vout) DO UPDATE SET height = excluded.height, block_hash = excluded.block_hash`, values);
    } else {
      await t.run(`${insert} ON DUPLICATE KEY UPDATE height = VALUES(height), block_hash = VALUES(block_hash)`, values);
    }
  }

  /** available|assigned → used, guarded in SQL: a status only moves forward. */
  private async markUsed(t: SqlExec, outputs: readonly FoundOutput[], now: unknown): Promise<void> {
    for (const o of outputs) {
      await t.run("UPDATE addresses SET status = 'used', used_at = ? WHERE address = ? AND status IN ('available', 'assigned')", [now, o.owner.address]);
    }
  }

  async rollbackFrom(height: number): Promise<DroppedDeposit[]> {
    await this.ready();
    const now = this.db.time(new Date());
    return this.db.tx(async (t) => {
      const rows = await t.all(
        `SELECT o.txid, o.vout, o.value_sat, o.address, o.height, o.block_hash, a.user_id FROM chain_outputs o
         LEFT JOIN addresses a ON a.address = o.address
         WHERE o.height >= ? AND o.chain = 0 ORDER BY o.height, o.txid, o.vout${this.db.forUpdate}`, [height]);
      const dropped = rows.map((r): DroppedDeposit => ({
        address: String(r.address), user: opt(r.user_id), txid: String(r.txid), vout: Number(r.vout),
        amountSat: BigInt(String(r.value_sat)), height: Number(r.height), blockHash: String(r.block_hash),
      }));
      for (const d of dropped) {
        await t.run('INSERT INTO chain_dropped (txid, vout, address, value_sat, height, block_hash, dropped_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [d.txid, d.vout, d.address, d.amountSat, d.height, d.blockHash, now]);
      }
      await t.run('UPDATE chain_outputs SET spent_txid = NULL, spent_height = NULL WHERE spent_height >= ?', [height]);
      await t.run('DELETE FROM chain_outputs WHERE height >= ?', [height]);
      await t.run('DELETE FROM chain_blocks WHERE height >= ?', [height]);
      return dropped;
    }, RELAXED);
  }

  async replaceMempool(outputs: readonly FoundOutput[], spends: readonly FoundSpend[]): Promise<void> {
    await this.ready();
    const now = this.db.time(new Date());
    await this.db.tx(async (t) => {
      await t.run('DELETE FROM chain_outputs WHERE height IS NULL');
      await t.run('UPDATE chain_outputs SET spent_txid = NULL WHERE spent_height IS NULL AND spent_txid IS NOT NULL');
      for (const o of outputs) await this.upsertOutput(t, o, undefined);
      for (const s of spends) {
        await t.run('UPDATE chain_outputs SET spent_txid = ? WHERE txid = ? AND vout = ? AND spent_height IS NULL', [s.spendingTxid, s.txid, s.vout]);
      }
      await this.markUsed(t, outputs, now);
    }, RELAXED);
  }

  async hasOutput(txid: string, vout: number): Promise<boolean> {
    return (await this.all('SELECT 1 AS x FROM chain_outputs WHERE txid = ? AND vout = ?', [txid, vout])).length > 0;
  }

  private async syncedHeight(): Promise<number | undefined> {
    return (await this.tip())?.height;
  }

  async deposits(query: { readonly user?: string } = {}): Promise<Deposit[]> {
    const tip = await this.syncedHeight();
    const where = query.user === undefined ? '' : ' AND a.user_id = ?';
    const rows = await this.all(
      `SELECT ${OUTPUT_COLUMNS}, a.user_id FROM chain_outputs o LEFT JOIN addresses a ON a.address = o.address
       WHERE o.chain = 0${where} ORDER BY CASE WHEN o.height IS NULL THEN 1 ELSE 0 END, o.height, o.txid, o.vout`,
      query.user === undefined ? [] : [query.user]);
    return rows.map((r) => {
      const height = r.height === null || r.height === undefined ? undefined : Number(r.height);
      return {
        address: String(r.address), user: opt(r.user_id), txid: String(r.txid), vout: Number(r.vout), amountSat: BigInt(String(r.value_sat)),
        height, blockHash: opt(r.block_hash), confirmations: confirmations(height, tip), spentBy: opt(r.spent_txid),
      };
    });
  }

  async coins(minConf: number): Promise<Coin[]> {
    const tip = await this.syncedHeight();
    const rows = await this.all(`SELECT ${OUTPUT_COLUMNS} FROM chain_outputs o WHERE o.spent_txid IS NULL ORDER BY CASE WHEN o.height IS NULL THEN 1 ELSE 0 END, o.height, o.txid, o.vout`);
    return rows.map((r) => {
      const height = r.height === null || r.height === undefined ? undefined : Number(r.height);
      const conf = confirmations(height, tip);
      return {
        txid: String(r.txid), vout: Number(r.vout), valueSat: BigInt(String(r.value_sat)), script: String(r.script), address: String(r.address),
        chain: Number(r.chain) as 0 | 1, index: Number(r.idx), height, confirmations: conf, spendable: height !== undefined && conf >= Math.max(1, minConf),
      };
    });
  }

  async summary(minConf: number): Promise<ChainSummary> {
    const synced = await this.tip();
    const coins = await this.coins(minConf);
    const deposits = await this.all('SELECT COUNT(*) AS n FROM chain_outputs WHERE chain = 0');
    const sum = (xs: Coin[]) => xs.reduce((s, c) => s + c.valueSat, 0n);
    return {
      synced,
      firstHeight: await this.firstHeight(),
      confirmedSat: sum(coins.filter((c) => c.height !== undefined)),
      spendableSat: sum(coins.filter((c) => c.spendable)),
      unconfirmedSat: sum(coins.filter((c) => c.height === undefined)),
      coins: coins.length,
      deposits: Number(deposits[0]?.n ?? 0),
    };
  }

  async dump(): Promise<string> {
    const blocks = await this.all('SELECT height, hash, prev_hash, time FROM chain_blocks ORDER BY height');
    const outputs = await this.all(`SELECT ${OUTPUT_COLUMNS} FROM chain_outputs o ORDER BY o.txid, o.vout`);
    const lines = [
      ...blocks.map((r) => `block ${Number(r.height)} ${String(r.hash)} ${String(r.prev_hash)} ${Number(r.time)}`),
      ...outputs.map((r) => `output ${String(r.txid)}:${Number(r.vout)} ${String(r.value_sat)} ${String(r.address)} ${Number(r.chain)}/${Number(r.idx)} ` +
        `h=${r.height ?? '-'} ${r.block_hash ?? '-'} spent=${r.spent_txid ?? '-'}@${r.spent_height ?? '-'}`),
    ];
    return lines.join('\n');
  }

  /** sha256 of `dump()`, for quick equality checks. */
  async dumpDigest(): Promise<string> {
    return createHash('sha256').update(await this.dump()).digest('hex');
  }

}

function block(r: SqlRow): StoredBlock {
  return { height: Number(r.height), hash: String(r.hash), prevHash: String(r.prev_hash), time: Number(r.time) };
}

function opt(v: unknown): string | undefined {
  return v === null || v === undefined ? undefined : String(v);
}

function confirmations(height: number | undefined, tip: number | undefined): number {
  return height === undefined || tip === undefined || tip < height ? 0 : tip - height + 1;
}
