/**
 * The review flows (src/flows/review-withdrawals.ts) on a real database, SQLite
 * and MariaDB, through the one handle: what the queue shows, one result per id
 * for a batch approval (partial failures included), which errors end a batch,
 * and the decisions' rules (observe first, the cancellation reason).
 */
import { bech32 } from 'bech32';
import { afterAll, describe, expect, it } from 'vitest';
import { CodedError, isCoded } from '../src/core/errors.js';
import type { Database, WithdrawalStore } from '../src/core/ports.js';
import { DEFAULT_POLICY, parsePolicy } from '../src/core/withdrawal-policy.js';
import { requestWithdrawal } from '../src/flows/request-withdrawal.js';
import {
  approveUnflagged, approveWithdrawals, cancelReason, cancelWithdrawal, isRefusal, listQueue, pendingPage, rejectWithdrawal, unflaggedPending, withdrawalDetail,
  type ApproveResult,
} from '../src/flows/review-withdrawals.js';
import { openDatabase } from '../src/store/db.js';
import { mariadbBackend, sqliteBackend, type Backend } from './support/withdrawal-backends.js';
import { approver } from './support/approvers.js';

/** A distinct testnet P2WPKH address per number. */
const dest = (i: number) => bech32.encode('tb', [0, ...bech32.toWords(Buffer.from(i.toString(16).padStart(40, '0'), 'hex'))]);

/** What a batch approval returned, as comparable text. */
const summary = (results: readonly ApproveResult[]) => results.map((r) => (r.outcome ? `${r.id} ${r.outcome.status} ${r.outcome.approvals.join(',')}` : `${r.id} ${r.error.code}`));

/** The real store, except that approving `id` throws `error` (a database lost mid-batch, a bug). */
function failingOn(store: WithdrawalStore, id: bigint, error: Error): WithdrawalStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'approve') return (wid: bigint, ...rest: [never, never, never]) => (wid === id ? Promise.reject(error) : target.approve(wid, ...rest));
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe.each([sqliteBackend(), mariadbBackend()])('review flows on $name', (backend: Backend) => {
  afterAll(() => backend.cleanup());

  async function withDb(fn: (db: Database, url: string) => Promise<void>): Promise<void> {
    const url = await backend.fresh();
    const db = openDatabase(url, { network: 'testnet' });
    try {
      await fn(db, url);
    } finally {
      await db.close();
    }
  }
  const ask = async (db: Database, appId: string, user: string, d: number, amountSat: bigint) =>
    (await requestWithdrawal(db.withdrawals, { appId, user, address: dest(d), amountSat })).withdrawal.id;
  const statuses = async (url: string) => (await backend.query(url, 'SELECT id, status FROM withdrawals ORDER BY id')).map((r) => `${r.id} ${r.status}`);
  const actions = async (db: Database) => {
    const out: string[] = [];
    for await (const e of db.audit.auditEntries()) out.push(`${e.action} ${e.subject}`);
    return out;
  };

  it('listQueue observes first (a raw-SQL row breaking a rule is marked invalid), then one page and the totals of the whole status', async () => {
    await withDb(async (db, url) => {
      await ask(db, 'a', 'alice', 1, 100_000n);
      await ask(db, 'b', 'bob', 2, 200_000n);
      await ask(db, 'c', 'alice', 3, 300_000n);
      await backend.exec(url, 'INSERT INTO withdrawals (app_id, user_id, destination, amount_sat) VALUES (?, ?, ?, ?)', ['raw', 'mallory', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', '5000']);

      const first = await listQueue(db.withdrawals, 'op1', DEFAULT_POLICY, { status: 'requested', limit: 2 });
      expect(first.invalid.map((i) => [i.id, i.reason])).toEqual([[4n, 'address_network']]);
      expect(first.rows.map((w) => w.id)).toEqual([1n, 2n]);
      expect(first.totals).toEqual({ count: 3, amountSat: 600_000n }); // every requested one, not only the page

      const next = await listQueue(db.withdrawals, 'op1', DEFAULT_POLICY, { status: 'requested', afterId: 2n, limit: 2 });
      expect(next.invalid).toEqual([]); // seen once
      expect(next.rows.map((w) => w.id)).toEqual([3n]);

      const alice = await listQueue(db.withdrawals, 'op1', DEFAULT_POLICY, { status: 'all', user: 'alice', limit: 10 });
      expect(alice.rows.map((w) => w.id)).toEqual([1n, 3n]);
      expect(alice.totals).toBeUndefined();
      expect((await listQueue(db.withdrawals, 'op1', DEFAULT_POLICY, { status: 'invalid', limit: 10 })).totals).toEqual({ count: 1, amountSat: 5000n });
      expect(await actions(db)).toEqual(['withdrawal.invalid withdrawal:4', 'withdrawals.seen withdrawals']); // reading decides nothing else
    });
  });

  it('approveWithdrawals: one result per id in order; unknown, wrong-state, changed and blocked ids are refused, the others approved', async () => {
    await withDb(async (db, url) => {
      const policy = parsePolicy(JSON.stringify({ maxWithdrawalBtc: '0.01' }));
      const ok1 = await ask(db, 'a', 'alice', 1, 100_000n);
      const rejected = await ask(db, 'b', 'bob', 2, 200_000n);
      const changed = await ask(db, 'c', 'carol', 3, 300_000n);
      const tooBig = await ask(db, 'd', 'dave', 4, 5_000_000n);
      const ok2 = await ask(db, 'e', 'erin', 5, 150_000n);
      await rejectWithdrawal(db.withdrawals, 'op1', rejected, 'unknown destination');
      await backend.exec(url, 'UPDATE withdrawals SET amount_sat = ? WHERE id = ?', ['350000', String(changed)]);

      const seen: ApproveResult[] = [];
      const results = await approveWithdrawals(db.withdrawals, approver('op1'), policy, [ok1, 99n, rejected, changed, tooBig, ok2], { onResult: (r) => seen.push(r) });
      expect(summary(results)).toEqual(['1 approved op1', '99 NOT_FOUND', '2 STATE_CONFLICT', '3 REFUSED', '4 REFUSED', '5 approved op1']);
      expect(seen).toEqual(results); // reported as each lands
      expect(results[3]!.error!.message).toBe('withdrawal 3 changed since the operator tool first saw it; refusing to sign an approval of it');
      expect(results[4]!.error!.message).toMatch(/^withdrawal 4 is refused by policy: over_withdrawal_limit/);
      expect(await statuses(url)).toEqual(['1 approved', '2 rejected', '3 requested', '4 requested', '5 approved']);

      // the override is passed through, and only the named ids are touched
      expect(summary(await approveWithdrawals(db.withdrawals, approver('op1'), policy, [changed], { overrideChanged: true }))).toEqual(['3 approved op1']);
      expect((await actions(db)).filter((a) => a.startsWith('withdrawal.override_changed'))).toEqual(['withdrawal.override_changed withdrawal:3']);
    });
  });

  it('approveWithdrawals observes first: a request no one has listed yet can be approved; with two approvals required it stays requested', async () => {
    await withDb(async (db, url) => {
      const id = await ask(db, 'a', 'alice', 1, 100_000n);
      const policy = parsePolicy('{"approvalsRequired": 2}');
      expect(summary(await approveWithdrawals(db.withdrawals, approver('op1'), policy, [id]))).toEqual(['1 requested op1']);
      expect(summary(await approveWithdrawals(db.withdrawals, approver('op1'), policy, [id]))).toEqual(['1 STATE_CONFLICT']); // the same operator twice
      expect(summary(await approveWithdrawals(db.withdrawals, approver('op2'), policy, [id]))).toEqual(['1 approved op1,op2']);
      expect(await statuses(url)).toEqual(['1 approved']);
      expect((await actions(db))[0]).toBe('withdrawals.seen withdrawals');
    });
  });

  it('approveWithdrawals: a database lost on one id is that id\'s result and the batch goes on; a bug is thrown after what was already decided is reported', async () => {
    await withDb(async (db, url) => {
      const [a, b, c] = [await ask(db, 'a', 'alice', 1, 100_000n), await ask(db, 'b', 'bob', 2, 200_000n), await ask(db, 'c', 'carol', 3, 300_000n)];
      const lost = failingOn(db.withdrawals, b, new CodedError('UNAVAILABLE', 'database went away'));
      expect(summary(await approveWithdrawals(lost, approver('op1'), DEFAULT_POLICY, [a, b, c]))).toEqual(['1 approved op1', '2 UNAVAILABLE', '3 approved op1']);

      const d = await ask(db, 'd', 'dave', 4, 100_000n);
      const e = await ask(db, 'e', 'erin', 5, 100_000n);
      const seen: ApproveResult[] = [];
      const buggy = failingOn(db.withdrawals, e, new TypeError('boom'));
      await expect(approveWithdrawals(buggy, approver('op1'), DEFAULT_POLICY, [d, e, b], { onResult: (r) => seen.push(r) })).rejects.toThrow(TypeError);
      expect(summary(seen)).toEqual(['4 approved op1']);
      expect(await statuses(url)).toEqual(['1 approved', '2 requested', '3 approved', '4 approved', '5 requested']);
    });
  });

  it('unflaggedPending and approveUnflagged: only requests without a flag; a flag raised since is a refusal, a lost database ends the batch', async () => {
    await withDb(async (db, url) => {
      const policy = parsePolicy('{"approvalsRequired": 2}');
      await ask(db, 'a1', 'alice', 1, 100_000n); // #1 first_time_destination
      await ask(db, 'a2', 'alice', 1, 200_000n); // #2 clean
      await ask(db, 'b1', 'bob', 2, 100_000n); // #3 first_time_destination
      await ask(db, 'b2', 'bob', 2, 150_000n); // #4 clean
      await ask(db, 'c1', 'carol', 3, 100_000n); // #5 first_time_destination
      await ask(db, 'c2', 'carol', 3, 250_000n); // #6 clean
      await listQueue(db.withdrawals, 'op1', policy, { status: 'requested', limit: 10 });
      expect((await unflaggedPending(db.withdrawals, 'op1', policy)).map((w) => w.id)).toEqual([2n, 4n, 6n]);

      await ask(db, 'b3', 'bob', 2, 150_000n); // #7: a near duplicate of #4, which now has a flag too
      await listQueue(db.withdrawals, 'op1', policy, { status: 'requested', limit: 10 });
      const results = await approveUnflagged(db.withdrawals, approver('op1'), policy, [2n, 4n, 6n]);
      expect(summary(results)).toEqual(['2 requested op1', '4 REFUSED', '6 requested op1']);
      expect(results[1]!.error!.message).toMatch(/^withdrawal 4 has flags now \(.*near_duplicate.*\); not approved as unflagged$/);
      // what op1 approved already is not offered to op1 again; op2 still sees it
      expect((await unflaggedPending(db.withdrawals, 'op1', policy)).map((w) => w.id)).toEqual([]);
      expect((await unflaggedPending(db.withdrawals, 'op2', policy)).map((w) => w.id)).toEqual([2n, 6n]);

      const seen: ApproveResult[] = [];
      const lost = failingOn(db.withdrawals, 6n, new CodedError('UNAVAILABLE', 'database went away'));
      await expect(approveUnflagged(lost, approver('op2'), policy, [2n, 6n, 4n], { onResult: (r) => seen.push(r) })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect(summary(seen)).toEqual(['2 approved op1,op2']);
      expect((await statuses(url)).filter((s) => s.endsWith('approved'))).toEqual(['2 approved']);
    });
  });

  it('pendingPage and withdrawalDetail: the screen\'s page with the totals of all pending; histories without the request itself, latest last, at most ten', async () => {
    await withDb(async (db) => {
      for (let i = 1; i <= 12; i++) await ask(db, `a${i}`, 'alice', 1, BigInt(i) * 1000n + 100_000n); // #1..#12
      await ask(db, 'b1', 'bob', 1, 500_000n); // #13: alice's destination
      await ask(db, 'b2', 'bob', 2, 600_000n); // #14
      await rejectWithdrawal(db.withdrawals, 'op1', 14n, 'no');

      const page = await pendingPage(db.withdrawals, DEFAULT_POLICY, 10n, 2);
      expect(page.rows.map((w) => w.id)).toEqual([11n, 12n]);
      expect(page.totals.count).toBe(13);

      const d = await withdrawalDetail(db.withdrawals, DEFAULT_POLICY, 12n);
      expect(d!.withdrawal.appId).toBe('a12');
      expect(d!.userHistory.map((w) => w.id)).toEqual([2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n]);
      expect(d!.destinationHistory.map((w) => w.id)).toEqual([3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n, 13n]);
      const bob = await withdrawalDetail(db.withdrawals, DEFAULT_POLICY, 13n);
      expect(bob!.userHistory.map((w) => `${w.id} ${w.status}`)).toEqual(['14 rejected']);
      expect(await withdrawalDetail(db.withdrawals, DEFAULT_POLICY, 99n)).toBeUndefined();
    });
  });

  it('rejectWithdrawal and cancelWithdrawal: observe first, the reason trimmed and checked before anything is written; a held request cannot be cancelled', async () => {
    await withDb(async (db, url) => {
      const [a, b, c] = [await ask(db, 'a', 'alice', 1, 100_000n), await ask(db, 'b', 'bob', 2, 200_000n), await ask(db, 'c', 'carol', 3, 300_000n)];
      expect((await rejectWithdrawal(db.withdrawals, 'op1', a, '  not ours ')).status).toBe('rejected');
      await expect(rejectWithdrawal(db.withdrawals, 'op1', b, '   ')).rejects.toMatchObject({ code: 'USAGE' });

      expect(cancelReason('  user withdrew  ')).toBe('user withdrew');
      const before = (await actions(db)).length;
      await expect(cancelWithdrawal(db.withdrawals, 'op1', b, ' ')).rejects.toMatchObject({
        code: 'USAGE', message: '"--reason" expected a non-empty reason for the cancellation, got ""',
      });
      await expect(cancelWithdrawal(db.withdrawals, 'op1', b, 'x'.repeat(1001))).rejects.toMatchObject({ code: 'USAGE', message: '"--reason" expected at most 1000 characters, got 1001' });
      expect((await actions(db)).length).toBe(before);

      expect((await cancelWithdrawal(db.withdrawals, 'op1', b, '  user withdrew  ')).status).toBe('cancelled');
      const [row] = await backend.query(url, 'SELECT reason FROM withdrawals WHERE id = ?', [String(b)]);
      expect(row!.reason).toBe('user withdrew');

      await approveWithdrawals(db.withdrawals, approver('op1'), DEFAULT_POLICY, [c]);
      await db.withdrawals.move(c, 'in_payout', 'op1', { payout: 1 });
      const held = await cancelWithdrawal(db.withdrawals, 'op1', c, 'too late').then(() => undefined, (e: unknown) => e);
      expect(isCoded(held, 'STATE_CONFLICT') && isRefusal(held)).toBe(true);
      expect(await statuses(url)).toEqual(['1 rejected', '2 cancelled', '3 in_payout']);
    });
  });
});

describe('isRefusal', () => {
  it('a refusal is a coded error the operator can act on; a lost database, an internal error or an uncoded error is not', () => {
    expect(isRefusal(new CodedError('STATE_CONFLICT', 'x'))).toBe(true);
    expect(isRefusal(new CodedError('REFUSED', 'x'))).toBe(true);
    expect(isRefusal(new CodedError('NOT_FOUND', 'x'))).toBe(true);
    expect(isRefusal(new CodedError('UNAVAILABLE', 'x'))).toBe(false);
    expect(isRefusal(new CodedError('INTERNAL', 'x'))).toBe(false);
    expect(isRefusal(new TypeError('x'))).toBe(false);
  });
});
