import { CodedError } from '../core/errors.js';
import type { LedgerEntry, LedgerFeed } from '../core/ports.js';
import { ensureSchemaCurrent, type SqlDb, type SqlRow } from './sql-db.js';

/** Balances per read: 100,000 users are 10 round trips. */
const BALANCE_SLICE = 10_000;
/** Users per IN (…) list. */
const IN_LIST = 1_000;

/**
 * The web app's published ledger (schema 011), read through the verifier's
 * account: the `coldpool_ledger` and `coldpool_balances` views only, never
 * the tables behind them (an app may replace the views with its own). A web
 * database without the views (an app's own schema without them) answers
 * "no ledger" rather than failing the verifier's cycle.
 */
export class SqlLedgerFeed implements LedgerFeed {
  readonly label: string;

  constructor(private readonly db: SqlDb) {
    this.label = db.label;
  }

  /** Rows of a query on `view`, or undefined when the view does not exist. */
  private async rows(view: string, sql: string, params: readonly unknown[]): Promise<SqlRow[] | undefined> {
    await ensureSchemaCurrent(this.db);
    try {
      return await this.db.all(sql, params);
    } catch (e) {
      if (this.db.isMissingTable(e, view)) return undefined;
      if (/ACCESS_DENIED/.test((e as { code?: string }).code ?? '')) {
        throw new CodedError('REFUSED', `the database account may not read ${view} on ${this.label}: ${(e as Error).message}`, {
          cause: e, hint: 'run sql/mysql/grants.sql again after `coldpool db migrate`: it grants the verifier SELECT on the ledger views (schema 011)',
        });
      }
      throw e;
    }
  }

  async entriesAfter(afterId: bigint, limit: number): Promise<LedgerEntry[] | undefined> {
    // Keyset paging on entry_id: over the shipped view that is one primary-key range per page.
    const rows = await this.rows('coldpool_ledger',
      `SELECT entry_id, user_id, amount_sat, kind, ref, created_at FROM coldpool_ledger WHERE entry_id > ? ORDER BY entry_id LIMIT ${Math.max(1, Math.floor(limit))}`, [afterId]);
    return rows?.map((r) => ({
      entryId: BigInt(String(r.entry_id)), user: String(r.user_id), amountSat: BigInt(String(r.amount_sat)), kind: String(r.kind),
      ref: r.ref === null || r.ref === undefined ? undefined : String(r.ref), createdAt: this.db.readTime(r.created_at),
    }));
  }

  async balances(onSlice: (rows: readonly { readonly user: string; readonly balanceSat: bigint }[]) => void): Promise<boolean> {
    let after: string | undefined;
    for (;;) {
      const rows = await this.rows('coldpool_balances',
        `SELECT user_id, balance_sat FROM coldpool_balances${after === undefined ? '' : ' WHERE user_id > ?'} ORDER BY user_id LIMIT ${BALANCE_SLICE}`, after === undefined ? [] : [after]);
      if (rows === undefined) return false;
      if (rows.length > 0) onSlice(rows.map((r) => ({ user: String(r.user_id), balanceSat: BigInt(String(r.balance_sat)) })));
      if (rows.length < BALANCE_SLICE) return true;
      after = String(rows[rows.length - 1]!.user_id);
    }
  }

  async balancesOf(users: readonly string[]): Promise<Map<string, bigint> | undefined> {
    const out = new Map<string, bigint>();
    const unique = [...new Set(users)];
    for (let k = 0; k < unique.length; k += IN_LIST) {
      const part = unique.slice(k, k + IN_LIST);
      const rows = await this.rows('coldpool_balances', `SELECT user_id, balance_sat FROM coldpool_balances WHERE user_id IN (${part.map(() => '?').join(',')})`, part);
      if (rows === undefined) return undefined;
      for (const r of rows) out.set(String(r.user_id), BigInt(String(r.balance_sat)));
    }
    return out;
  }
}
