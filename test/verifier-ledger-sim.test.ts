import { afterAll, describe, expect, it } from 'vitest';
import type { CreditedDeposit } from '../src/core/ports.js';
import { reconciledInternal } from '../src/verifier/ledger.js';
import { mariadbBackend, sqliteBackend } from './support/withdrawal-backends.js';
import type { Cleanup } from './support/pool-fixtures.js';
import { verifierFixture } from './support/verifier-fixture.js';
import { prng } from './support/prng.js';

const MIN = 60_000;
const HOUR = 3_600_000;

interface Row { id: number; user: string; amount: bigint; kind: string; ref: string | null; createdMs: number }

/**
 * A seeded simulation of a web app's ledger: thousands of users depositing
 * (chain deposits through the fake chain-view port), trading and paying fees
 * (zero-sum internal groups), withdrawing, receiving unmarked bonuses; the
 * verifier cycling between rounds. Then an attacker edits random past rows.
 * Every edit is found, honest activity never alerts, and the verifier's
 * numbers equal an independent recomputation.
 */
describe.each([['sqlite', 7], ['mariadb', 11]] as const)('a seeded ledger simulation on %s (seed %i)', (kind, seed) => {
  const cleanups: Cleanup[] = [];
  const raw = kind === 'sqlite' ? sqliteBackend() : mariadbBackend();
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('thousands of users: honest rounds silent, every attacker edit detected, balances recomputed independently', { timeout: 240_000 }, async () => {
    const rand = prng(seed);
    const USERS = 2_000;
    const chain = new Map<string, CreditedDeposit>();
    const f = await verifierFixture(kind, cleanups, {}, { ledger: (web, vdb) => ({
      feed: web.ledger, mirror: vdb.ledger, deposits: { creditedDeposits: async () => new Map(chain) }, settings: { settleMs: MIN, page: 2_000 },
    }) });
    cleanups.push(() => f.close());
    const at = (ms: number) => (kind === 'sqlite' ? new Date(ms).toISOString() : new Date(ms).toISOString().replace('T', ' ').slice(0, 23));
    const rows: Row[] = [];
    let nextId = 1;
    let refs = 0;
    let outputs = 0;
    const pending: Row[] = [];
    const add = (user: string, amount: bigint, k: string, ref: string | null) => {
      const r = { id: nextId++, user, amount, kind: k, ref, createdMs: f.clock.t - Math.floor(rand() * 5_000) };
      rows.push(r);
      pending.push(r);
    };
    const flush = async () => {
      // Shuffled within the batch: ids are taken in order, commits land in any order.
      pending.sort(() => rand() - 0.5);
      for (let k = 0; k < pending.length; k += 300) {
        const part = pending.slice(k, k + 300);
        await raw.exec(f.webUrl, `INSERT INTO ledger_entries (entry_id, user_id, amount_sat, kind, ref, created_at) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
          part.flatMap((r) => [r.id, r.user, r.amount.toString(), r.kind, r.ref, at(r.createdMs)]));
      }
      pending.length = 0;
      await raw.exec(f.webUrl, 'DELETE FROM ledger_balances');
      await raw.exec(f.webUrl, 'INSERT INTO ledger_balances (user_id, balance_sat) SELECT user_id, SUM(amount_sat) FROM ledger_entries GROUP BY user_id');
    };
    const user = () => `u${Math.floor(rand() * USERS)}`;
    const round = (n: number) => {
      for (let i = 0; i < n; i++) {
        const x = rand();
        if (x < 0.3) {
          const u = user();
          const txid = (++outputs).toString(16).padStart(64, '0');
          const amount = BigInt(10_000 + Math.floor(rand() * 1_000_000));
          chain.set(`${txid}:0`, { user: u, amountSat: amount, height: 100 + outputs });
          add(u, amount, 'deposit', `${txid}:0`);
        } else if (x < 0.75) {
          const amount = BigInt(1 + Math.floor(rand() * 50_000));
          const ref = `trade-${++refs}`;
          add(user(), -amount, 'trade', ref);
          add(user(), amount, 'trade', ref);
        } else if (x < 0.85) {
          const ref = `fee-${++refs}`;
          add(user(), -25n, 'fee', ref);
          add('house', 25n, 'fee', ref);
        } else if (x < 0.95) {
          add(user(), -BigInt(1 + Math.floor(rand() * 20_000)), 'withdrawal', String(++refs));
        } else {
          add(user(), 1_000n, 'bonus', null);
        }
      }
    };

    for (let r = 0; r < 6; r++) {
      round(1_500);
      await flush();
      f.clock.t += r === 3 ? 2 * HOUR : MIN; // one full pass in the middle
      const report = await f.verifier.cycle();
      expect(report.ledger!.alerted).toBe(0);
    }
    expect(f.alerts.alerts.filter((a) => a.kind.startsWith('ledger-'))).toEqual([]);
    const total = nextId - 1;
    expect(Number((await raw.query(f.verifierUrl, 'SELECT COUNT(*) AS n FROM ledger_entries'))[0]!.n)).toBe(total);

    // An independent recomputation from the simulation's own rows.
    const sums = new Map<string, bigint>();
    const groups = new Map<string, bigint>();
    for (const r of rows) {
      sums.set(r.user, (sums.get(r.user) ?? 0n) + r.amount);
      if (r.ref !== null && !['deposit', 'withdrawal'].includes(r.kind)) groups.set(r.ref, (groups.get(r.ref) ?? 0n) + r.amount);
    }
    const internal = new Map<string, bigint>();
    for (const r of rows) {
      if (['deposit', 'withdrawal'].includes(r.kind)) continue;
      if (r.amount < 0n || (r.ref !== null && groups.get(r.ref) === 0n)) internal.set(r.user, (internal.get(r.user) ?? 0n) + r.amount);
    }
    const users = [...sums.keys()];
    expect(await f.vdb.ledger.sumsOf(users)).toEqual(sums);
    const reconciled = await reconciledInternal(f.vdb.ledger, users);
    for (const u of users) expect(reconciled.get(u) ?? 0n).toBe(internal.get(u) ?? 0n);
    const published = new Map((await raw.query(f.webUrl, 'SELECT user_id, balance_sat FROM coldpool_balances')).map((r) => [String(r.user_id), BigInt(String(r.balance_sat))]));
    expect(published).toEqual(sums);
    // The chain deposits per user equal the deposit entries per user (what the deposit check relied on).
    const chainPerUser = new Map<string, bigint>();
    for (const d of chain.values()) chainPerUser.set(d.user, (chainPerUser.get(d.user) ?? 0n) + d.amountSat);
    const depositPerUser = new Map<string, bigint>();
    for (const r of rows) if (r.kind === 'deposit') depositPerUser.set(r.user, (depositPerUser.get(r.user) ?? 0n) + r.amount);
    expect(depositPerUser).toEqual(chainPerUser);

    // The attacker edits 60 random past rows, one column each, balances untouched.
    const edited = new Set<number>();
    while (edited.size < 60) edited.add(1 + Math.floor(rand() * total));
    for (const id of edited) {
      const r = rows[id - 1]!;
      const col = Math.floor(rand() * 5);
      if (col === 0) await raw.exec(f.webUrl, 'UPDATE ledger_entries SET amount_sat = amount_sat + 1 WHERE entry_id = ?', [id]);
      else if (col === 1) await raw.exec(f.webUrl, 'UPDATE ledger_entries SET user_id = ? WHERE entry_id = ?', [`${r.user}x`, id]);
      else if (col === 2) await raw.exec(f.webUrl, 'UPDATE ledger_entries SET kind = ? WHERE entry_id = ?', [r.kind === 'trade' ? 'transfer' : 'trade', id]);
      else if (col === 3) await raw.exec(f.webUrl, 'UPDATE ledger_entries SET ref = ? WHERE entry_id = ?', [`${r.ref ?? ''}x`, id]);
      else await raw.exec(f.webUrl, 'UPDATE ledger_entries SET created_at = ? WHERE entry_id = ?', [at(r.createdMs + 1), id]);
    }
    f.clock.t += 2 * HOUR;
    await f.verifier.cycle();
    await f.verifier.cycle();
    const findings = await f.vdb.ledger.findings();
    expect(new Set([...findings.keys()])).toEqual(new Set([...edited].map((id) => `entry:${id}`)));
    expect([...findings.values()].every((x) => x.kind === 'ledger-edited' && x.state === 'open')).toBe(true);
    const events = await f.vdb.store.events({ limit: 10_000 });
    expect(events.filter((e) => e.kind === 'ledger-edited')).toHaveLength(60);
    // Mail: each edit once (at most 20 alerts per kind and commit, then one summary naming the rest).
    const mails = f.alerts.alerts.filter((a) => a.kind.startsWith('ledger-'));
    expect(mails.every((a) => a.kind === 'ledger-edited')).toBe(true);
    const singles = mails.flatMap((a) => (typeof a.facts.finding === 'string' ? [a.facts.finding] : []));
    expect(new Set(singles).size).toBe(singles.length);
    expect(singles.length + mails.reduce((n, a) => n + Number(a.facts.findings ?? 0), 0)).toBe(60);
    // The mirror still holds what was first seen: the verifier's sums did not move.
    expect(await f.vdb.ledger.sumsOf(users)).toEqual(sums);
  });
});
