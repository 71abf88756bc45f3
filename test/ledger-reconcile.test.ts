import { afterAll, describe, expect, it } from 'vitest';
import type { CreditedDeposit } from '../src/core/ports.js';
import { reconciledInternal, reconcileLedger, type LedgerSettings } from '../src/verifier/ledger.js';
import { verifierLedger } from '../src/flows/verifier-status.js';
import { mariadbBackend, sqliteBackend } from './support/withdrawal-backends.js';
import type { Cleanup } from './support/pool-fixtures.js';
import { verifierFixture, type VerifierFixture } from './support/verifier-fixture.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const tx = (n: number, vout = 0) => `${n.toString(16).padStart(64, '0')}:${vout}`;

/** Step 6 of the verifier against a web ledger written by raw SQL, as a web app (or an attacker) would. */
describe.each(['sqlite', 'mariadb'] as const)('the verifier reconciles the web ledger on %s', (kind) => {
  const cleanups: Cleanup[] = [];
  const raw = kind === 'sqlite' ? sqliteBackend() : mariadbBackend();
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  interface World { f: VerifierFixture; chain: Map<string, CreditedDeposit> }

  async function setup(settings: Partial<LedgerSettings> = {}): Promise<World> {
    const chain = new Map<string, CreditedDeposit>();
    const f = await verifierFixture(kind, cleanups, {}, { ledger: (web, vdb) => ({
      feed: web.ledger, mirror: vdb.ledger, deposits: { creditedDeposits: async () => new Map(chain) }, settings: { settleMs: MIN, ...settings },
    }) });
    cleanups.push(() => f.close());
    return { f, chain };
  }
  const at = (ms: number) => (kind === 'sqlite' ? new Date(ms).toISOString() : new Date(ms).toISOString().replace('T', ' ').slice(0, 23));
  const entry = (w: World, id: number, user: string, amount: bigint, k: string, ref: string | null, createdMs = w.f.clock.t) =>
    raw.exec(w.f.webUrl, 'INSERT INTO ledger_entries (entry_id, user_id, amount_sat, kind, ref, created_at) VALUES (?, ?, ?, ?, ?, ?)', [id, user, amount.toString(), k, ref, at(createdMs)]);
  /** What an honest web app keeps: each balance the sum of its entries. */
  const honestBalances = async (w: World) => {
    await raw.exec(w.f.webUrl, 'DELETE FROM ledger_balances');
    await raw.exec(w.f.webUrl, 'INSERT INTO ledger_balances (user_id, balance_sat) SELECT user_id, SUM(amount_sat) FROM ledger_entries GROUP BY user_id');
  };
  const ledgerAlerts = (w: World) => w.f.alerts.alerts.filter((a) => a.kind.startsWith('ledger-'));
  const countByKind = (w: World) => {
    const out: Record<string, number> = {};
    for (const a of ledgerAlerts(w)) out[a.kind] = (out[a.kind] ?? 0) + 1;
    return out;
  };

  /** Deposits, a trade, a fee to the house, a withdrawal, an unchecked bonus: ids spaced so a row can be slipped in between. */
  async function honestWorld(settings: Partial<LedgerSettings> = {}): Promise<World> {
    const w = await setup(settings);
    w.chain.set(tx(1), { user: 'alice', amountSat: 100_000n, height: 100 });
    w.chain.set(tx(2, 1), { user: 'bob', amountSat: 50_000n, height: 101 });
    await entry(w, 10, 'alice', 100_000n, 'deposit', tx(1));
    await entry(w, 20, 'bob', 50_000n, 'deposit', tx(2, 1));
    await entry(w, 30, 'alice', -30_000n, 'trade', 'trade-1');
    await entry(w, 40, 'bob', 30_000n, 'trade', 'trade-1');
    await entry(w, 50, 'bob', -100n, 'fee', 'fee-1');
    await entry(w, 60, 'house', 100n, 'fee', 'fee-1');
    await entry(w, 70, 'alice', -20_000n, 'withdrawal', '1');
    await entry(w, 80, 'alice', 5_000n, 'bonus', null);
    await honestBalances(w);
    return w;
  }

  it('an honest ledger: mirrored once, late commits in the window and a later full pass alert nothing; reconciled internal totals', async () => {
    const w = await honestWorld();
    const r1 = await w.f.verifier.cycle();
    expect(r1.ledger).toMatchObject({ mode: 'full', read: 8, mirrored: 8, alerted: 0, depositsChecked: true });
    expect((await w.f.verifier.cycle()).ledger).toMatchObject({ mode: 'incremental', mirrored: 0, alerted: 0 });
    // An honest late commit (id 75 taken before 80, committed after), a new deposit, a new trade.
    w.f.clock.t += MIN;
    w.chain.set(tx(5), { user: 'carol', amountSat: 9_000n, height: 102 });
    await entry(w, 75, 'bob', 1_000n, 'bonus', null, w.f.clock.t - 2_000);
    await entry(w, 90, 'carol', 9_000n, 'deposit', tx(5));
    await entry(w, 100, 'carol', -4_000n, 'transfer', 'tr-7');
    await entry(w, 110, 'alice', 4_000n, 'transfer', 'tr-7');
    await honestBalances(w);
    expect((await w.f.verifier.cycle()).ledger).toMatchObject({ mode: 'incremental', mirrored: 4, alerted: 0 });
    w.f.clock.t += 2 * HOUR;
    expect((await w.f.verifier.cycle()).ledger).toMatchObject({ mode: 'full', read: 12, mirrored: 0, alerted: 0 });
    await w.f.verifier.cycle();
    expect(ledgerAlerts(w)).toEqual([]);
    // Debits always count, credits only in a zero-sum group that came in order: alice's bonus does not.
    const totals = await reconciledInternal(w.f.vdb.ledger, ['alice', 'bob', 'carol', 'house', 'nobody']);
    expect(Object.fromEntries(totals)).toEqual({ alice: -30_000n + 4_000n, bob: 30_000n - 100n, carol: -4_000n, house: 100n });
    // `verifier ledger` (every user) lists users whose balance is only internal entries (no chain view here: no deposits at all).
    const listed = await verifierLedger(w.f.vdb.store, undefined, w.f.vdb.ledger);
    expect(Object.fromEntries(listed.map((r) => [r.user, r.balanceSat]))).toEqual(Object.fromEntries(totals));
    // Every entry is mirrored with its fingerprint and the verifier's clock.
    const mirrored = await raw.query(w.f.verifierUrl, 'SELECT entry_id, fingerprint, first_seen_at FROM ledger_entries ORDER BY entry_id');
    expect(mirrored).toHaveLength(12);
    expect(String(mirrored[0]!.fingerprint)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('edited, deleted, backdated, a deposit credited twice, to the wrong user, without a chain deposit, a balance off, a group not summing to zero: each alerted exactly once', async () => {
    const w = await honestWorld();
    await w.f.verifier.cycle();
    const t = w.f.clock.t;
    w.chain.set(tx(3), { user: 'alice', amountSat: 7_000n, height: 103 });
    await entry(w, 90, 'carol', 1n, 'bonus', null, t - 2 * HOUR); // dated two hours before the latest entry
    await entry(w, 100, 'mallory', 100_000n, 'deposit', tx(1)); // alice's deposit, again, to mallory
    await entry(w, 110, 'mallory', 7_000n, 'deposit', tx(3)); // the chain credits alice
    await entry(w, 120, 'mallory', 40_000n, 'deposit', tx(4)); // no such deposit
    await entry(w, 130, 'mallory', 500n, 'trade', 't-9');
    await entry(w, 140, 'alice', -400n, 'trade', 't-9'); // 100 sat made from nothing
    await honestBalances(w);
    await raw.exec(w.f.webUrl, 'UPDATE ledger_entries SET amount_sat = -3000 WHERE entry_id = 30');
    await raw.exec(w.f.webUrl, 'DELETE FROM ledger_entries WHERE entry_id = 70');
    await raw.exec(w.f.webUrl, "UPDATE ledger_balances SET balance_sat = balance_sat + 1000 WHERE user_id = 'bob'");

    const r1 = await w.f.verifier.cycle();
    expect(r1.ledger).toMatchObject({ mode: 'incremental', mirrored: 6 });
    // At once: what no honest race explains. The rest waits: the chain view may lag, a trade's other leg may commit late, one balance read may race.
    expect(countByKind(w)).toEqual({ 'ledger-edited': 1, 'ledger-deleted': 1, 'ledger-out-of-order': 1, 'ledger-deposit-duplicate': 1, 'ledger-deposit-unmatched': 1 });
    w.f.clock.t += MIN + 1;
    await w.f.verifier.cycle();
    const expected = {
      'ledger-edited': 1, 'ledger-deleted': 1, 'ledger-out-of-order': 1, 'ledger-deposit-duplicate': 1, 'ledger-deposit-unmatched': 2,
      'ledger-internal-unbalanced': 1,
    };
    expect(countByKind(w)).toEqual(expected);
    await w.f.verifier.cycle();
    expect(countByKind(w)).toEqual(expected);
    // bob's balance changed alone (no new entry of his): the next full pass sees it, the check after confirms it.
    w.f.clock.t += 2 * HOUR;
    expect((await w.f.verifier.cycle()).ledger).toMatchObject({ mode: 'full', alerted: 0 });
    await w.f.verifier.cycle();
    await w.f.verifier.cycle();
    expect(countByKind(w)).toEqual({ ...expected, 'ledger-balance-mismatch': 1 });
    const text = ledgerAlerts(w).map((a) => a.text).join('\n');
    expect(text).toContain('users alice, mallory');
    expect(text).toContain('belongs to user alice');
    expect(text).toContain('difference 1000 sat');
    // Editing the same entry again is a new finding; undoing the balance change resolves that one (audit entry, no alert).
    await raw.exec(w.f.webUrl, 'UPDATE ledger_entries SET amount_sat = -1 WHERE entry_id = 30');
    await raw.exec(w.f.webUrl, "UPDATE ledger_balances SET balance_sat = balance_sat - 1000 WHERE user_id = 'bob'");
    const r2 = await w.f.verifier.cycle();
    expect(r2.ledger).toMatchObject({ alerted: 1, resolved: 1 });
    expect(countByKind(w)['ledger-edited']).toBe(2);
    const events = await w.f.vdb.store.events({ limit: 1000 });
    expect(events.filter((e) => e.kind === 'ledger-edited')).toHaveLength(2);
    expect(events.some((e) => e.kind === 'ledger-resolved' && e.detail.includes('balance:bob'))).toBe(true);
    expect((await w.f.vdb.store.verifyAudit()).ok).toBe(true);
  });

  it('a row slipped in below the rescan window is out of order at the next full pass; an old edit too', async () => {
    const w = await honestWorld({ rescan: 2n });
    await w.f.verifier.cycle();
    await entry(w, 15, 'carol', 1n, 'bonus', null);
    await raw.exec(w.f.webUrl, 'UPDATE ledger_entries SET user_id = ? WHERE entry_id = 20', ['mallory']);
    await honestBalances(w);
    // The incremental pass reads only above #78: neither is seen yet.
    expect((await w.f.verifier.cycle()).ledger).toMatchObject({ mode: 'incremental', read: 1, alerted: 0 });
    w.f.clock.t += 2 * HOUR;
    await w.f.verifier.cycle();
    const kinds = countByKind(w);
    expect(kinds['ledger-out-of-order']).toBe(1);
    expect(kinds['ledger-edited']).toBe(1);
    // bob's and mallory's published balances follow the edited row, not the mirror: that is a mismatch too (confirmed next check).
    await w.f.verifier.cycle();
    expect(countByKind(w)['ledger-balance-mismatch']).toBe(2);
    expect(ledgerAlerts(w).find((a) => a.kind === 'ledger-out-of-order')!.text).toContain('below 2 entries already mirrored');
  });

  it('a web app that publishes no ledger: nothing read, nothing said; without the views either', async () => {
    const w = await setup();
    expect((await w.f.verifier.cycle()).ledger).toMatchObject({ mode: 'none', read: 0 });
    await raw.exec(w.f.webUrl, 'DROP VIEW coldpool_ledger');
    await raw.exec(w.f.webUrl, 'DROP VIEW coldpool_balances');
    const r = await w.f.verifier.cycle();
    expect(r.ledger).toMatchObject({ mode: 'none' });
    expect(r.errors).toEqual([]);
    expect(ledgerAlerts(w)).toEqual([]);
  });

  it('pages commit two at a time: a later page landing first, then a crash before the earlier one, and the next pass mirrors everything, alerts nothing', async () => {
    const w = await honestWorld();
    const deps = { feed: w.f.web.ledger, mirror: w.f.vdb.ledger, deposits: { creditedDeposits: async () => new Map(w.chain) }, settings: { settleMs: MIN, page: 2 } };
    // The first page's commit waits until the second page's has committed, then dies (the process killed in between).
    let second!: () => void;
    const secondDone = new Promise<void>((r) => { second = r; });
    let n = 0;
    const store = new Proxy(w.f.vdb.store, {
      get(target, prop) {
        if (prop !== 'commit') return Reflect.get(target, prop);
        return async (...args: Parameters<typeof target.commit>) => {
          const k = ++n;
          if (k === 1) {
            await secondDone;
            throw new Error('killed before page 1 committed');
          }
          const out = await target.commit(...args);
          if (k === 2) second();
          return out;
        };
      },
    });
    await expect(reconcileLedger(deps, store, w.f.clock.now())).rejects.toThrow('killed before page 1 committed');
    // Page 2 (ids 30, 40) is mirrored, page 1 (10, 20) is not; the cursor moved past page 2 only.
    expect((await w.f.vdb.ledger.entriesBetween(0n, undefined, 100)).map((e) => e.entryId)).toEqual([30n, 40n]);
    expect(await w.f.vdb.store.cursor('ledger-entries')).toBe(40n);
    const again = await reconcileLedger(deps, w.f.vdb.store, w.f.clock.now());
    expect(again).toMatchObject({ mode: 'full', read: 8, mirrored: 6, alerted: 0 });
    expect((await w.f.vdb.ledger.entriesBetween(0n, undefined, 100)).map((e) => e.entryId)).toEqual([10n, 20n, 30n, 40n, 50n, 60n, 70n, 80n]);
    expect(await w.f.vdb.store.cursor('ledger-entries')).toBe(80n);
    // The indexes a first mirror drops are back (entriesOfRefs says FORCE INDEX on MySQL).
    expect((await w.f.vdb.ledger.entriesOfRefs(['trade-1'])).map((e) => e.entryId).sort()).toEqual([30n, 40n]);
  });
});
