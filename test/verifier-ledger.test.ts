import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transaction } from 'bitcoinjs-lib';
import { requestWithdrawal } from '../src/flows/request-withdrawal.js';
import { relayConfirmation } from '../src/flows/relay-confirmation.js';
import { ledgers } from '../src/verifier/balances.js';
import { FakeNode } from './support/fake-node.js';
import { regtestBatch, sourceFor } from './support/chain-fixtures.js';
import type { Cleanup } from './support/pool-fixtures.js';
import { RegtestChain, addressOf, otherKey, p2wpkh, poolKey, spend, type Utxo } from './support/regtest-chain.js';
import { mariadbBackend, runOnline, sqliteBackend } from './support/withdrawal-backends.js';
import { attestationCell, attestationText } from '../src/core/attestation-view.js';
import { verifierFixture, type VerifierFixture } from './support/verifier-fixture.js';

/**
 * The attacks of issue 14 on the verifier's ledger, with REAL regtest blocks
 * served by the fake node to the verifier's own chain view: a funded address
 * reassigned in the web database, an available address overwritten with a
 * foreign one, a withdrawal above the balance, a reorg under a pending
 * withdrawal. Balances are asserted to the satoshi.
 */
const FEE = 10_000n;
const DEST = addressOf(otherKey(50));
const MIN = 60_000;

describe.each(['sqlite', 'mariadb'] as const)('the verifier\'s ledger on %s', (kind) => {
  const cleanups: Cleanup[] = [];
  const raw = kind === 'sqlite' ? sqliteBackend() : mariadbBackend();
  let node: FakeNode;
  beforeAll(async () => {
    node = await new FakeNode(RegtestChain.create()).start();
  });
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await node.stop();
  });

  interface World {
    f: VerifierFixture;
    chain: RegtestChain;
    /** The miner's coins not spent yet. */
    coins: Utxo[];
    addressOf(user: string): Promise<{ address: string; index: number }>;
  }

  async function setup(users: string[]): Promise<World> {
    const chain = RegtestChain.create();
    chain.mineEmpty(3);
    node.setChain(chain);
    const source = sourceFor(node, 'rpc');
    cleanups.push(() => source.close());
    const f = await verifierFixture(kind, cleanups, {}, { network: 'regtest', source });
    cleanups.push(() => f.close());
    await f.web.pool.insertBatch(regtestBatch(0, 20));
    for (const u of users) await raw.exec(f.webUrl, 'INSERT INTO user_emails (user_id, email) VALUES (?, ?)', [u, `${u}@mail.example`]);
    const coins = [1, 2, 3].flatMap((h) => chain.coinbaseUtxos(h));
    return {
      f, chain, coins,
      async addressOf(user) {
        const c = await f.web.pool.claim(user);
        return { address: c.address, index: c.index };
      },
    };
  }

  /** Mine a block paying `amountSat` to `script` from a miner coin. */
  function pay(w: World, script: Uint8Array, amountSat: bigint): Transaction {
    const coin = w.coins.shift()!;
    const tx = spend([coin], [{ script, valueSat: amountSat }, { key: otherKey(99), valueSat: coin.valueSat - amountSat - FEE }]);
    w.chain.mine([tx]);
    node.setChain(w.chain);
    return tx;
  }

  /** Request, mail, relay: the request is confirmed by its user and judged in the cycle after the relay. */
  async function withdraw(w: World, appId: string, user: string, amountSat: bigint): Promise<bigint> {
    const id = (await requestWithdrawal(w.f.web.withdrawals, { appId, user, address: DEST, amountSat })).withdrawal.id;
    await w.f.verifier.cycle();
    const token = w.f.tokenFromMail(id);
    expect(token, `token for ${appId}`).toBeDefined();
    await relayConfirmation(w.f.web.verification, id, token!);
    return id;
  }
  const stateOf = async (w: World, id: bigint) => (await w.f.vdb.store.requests([id])).get(id);
  const balanceOf = async (w: World, user: string) => (await ledgers(w.f.vdb.store, [user])).get(user)!;
  const alertsOf = (w: World, kind: string) => w.f.alerts.alerts.filter((a) => a.kind === kind);
  const webNotes = (w: World, id: bigint) => raw.query(w.f.webUrl, 'SELECT note FROM verifier_notes WHERE withdrawal_id = ? ORDER BY noted_at', [id]);

  it('a funded address reassigned in the web database: the deposit stays its first owner\'s, the alert names both, the new "owner" is held', async () => {
    const w = await setup(['alice', 'mallory']);
    const a = await w.addressOf('alice');
    const deposit = pay(w, p2wpkh(poolKey(0, a.index)), 1_000_000n);
    const r1 = await w.f.verifier.cycle();
    expect(r1.errors).toEqual([]);
    expect(r1.assignments).toMatchObject({ recorded: 20, rejected: 0 });
    expect((await balanceOf(w, 'alice')).balanceSat).toBe(1_000_000n);
    expect((await balanceOf(w, 'alice')).deposits.map((d) => `${d.txid}:${d.vout}`)).toEqual([`${deposit.getId()}:0`]);

    // The attacker, with the web host's database: the funded address is now mallory's.
    await raw.exec(w.f.webUrl, "UPDATE addresses SET user_id = 'mallory' WHERE address = ?", [a.address]);
    w.f.clock.t += 11 * MIN;
    const r2 = await w.f.verifier.cycle();
    expect(r2.assignments?.changed).toBe(1);
    const [alert] = alertsOf(w, 'address-reassigned');
    expect(alert).toBeDefined();
    expect(alert!.text).toContain('alice');
    expect(alert!.text).toContain('mallory');
    expect(alert!.facts).toMatchObject({ firstOwner: 'alice', before: 'alice', after: 'mallory', address: a.address });
    // The web's own view believes the edit; the verifier's does not.
    expect((await w.f.web.chain.deposits({ user: 'mallory' })).length).toBe(0); // the web follower never ran; what counts is the verifier
    expect((await balanceOf(w, 'alice')).balanceSat).toBe(1_000_000n);
    expect((await balanceOf(w, 'mallory')).balanceSat).toBe(0n);
    // Alerted once, not every cycle.
    w.f.clock.t += 11 * MIN;
    await w.f.verifier.cycle();
    expect(alertsOf(w, 'address-reassigned')).toHaveLength(1);

    const m = await withdraw(w, 'w-mallory', 'mallory', 900_000n);
    const v = await withdraw(w, 'w-alice', 'alice', 400_000n);
    const r3 = await w.f.verifier.cycle();
    expect(r3).toMatchObject({ attested: 1, heldForBalance: 1 });
    expect((await stateOf(w, m))!.state).toBe('confirmed');
    expect((await stateOf(w, m))!.note).toMatch(/^held: above the balance: user mallory has 0 sat at the verifier/);
    expect((await stateOf(w, v))!.state).toBe('attested');
    const [hold] = alertsOf(w, 'balance-hold');
    expect(hold!.facts).toMatchObject({ user: 'mallory', amountSat: '900000', balanceSat: '0' });
    expect((await webNotes(w, m)).map((r) => String(r.note))).toEqual([(await stateOf(w, m))!.note]);
    expect((await raw.query(w.f.webUrl, 'SELECT withdrawal_id FROM attestations')).map((r) => BigInt(String(r.withdrawal_id)))).toEqual([v]);
    const alice = await balanceOf(w, 'alice');
    expect(alice).toMatchObject({ creditedSat: 1_000_000n, pendingDebitSat: 400_000n, confirmedDebitSat: 0n, balanceSat: 600_000n });

    // The payout of alice's request confirms on the verifier's chain: the debit is confirmed, the balance the same.
    const payout = spend([{ txid: deposit.getId(), vout: 0, valueSat: 1_000_000n, key: poolKey(0, a.index) }],
      [{ script: p2wpkh(otherKey(50)), valueSat: 400_000n }, { key: poolKey(1, 0), valueSat: 600_000n - FEE }]);
    w.chain.mine([payout]);
    node.setChain(w.chain);
    const r4 = await w.f.verifier.cycle();
    expect(r4.chain?.paid).toBe(1);
    expect(await balanceOf(w, 'alice')).toMatchObject({ creditedSat: 1_000_000n, pendingDebitSat: 0n, confirmedDebitSat: 400_000n, balanceSat: 600_000n });
    expect((await balanceOf(w, 'alice')).debits[0]!.paid).toMatchObject({ txid: payout.getId(), vout: 0, height: w.chain.height });
    // A third cycle holds mallory still, with no second alert.
    await w.f.verifier.cycle();
    expect(alertsOf(w, 'balance-hold')).toHaveLength(1);
    expect((await stateOf(w, m))!.state).toBe('confirmed');

    // `verifier ledger`: the balances, their entries and the alerts naming each user.
    const cli = await runOnline(['verifier', 'ledger', '--db', w.f.verifierUrl, '--json']);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const users = (JSON.parse(cli.stdout) as { users: { user: string; balanceSat: string; deposits: unknown[]; withdrawals: { state: string; amountSat: string }[]; alerts: { kind: string }[] }[] }).users;
    const byUser = new Map(users.map((u) => [u.user, u]));
    expect(byUser.get('alice')).toMatchObject({ balanceSat: '600000', withdrawals: [{ state: 'confirmed', amountSat: '400000' }] });
    expect(byUser.get('alice')!.deposits).toHaveLength(1);
    expect(byUser.get('alice')!.alerts.map((a) => a.kind)).toEqual(['address-reassigned']);
    expect(byUser.get('mallory')).toMatchObject({ balanceSat: '0', deposits: [], withdrawals: [] });
    expect(byUser.get('mallory')!.alerts.map((a) => a.kind).sort()).toEqual(['address-reassigned', 'balance-hold']);
    const text = await runOnline(['verifier', 'ledger', '--db', w.f.verifierUrl, '--user', 'alice']);
    expect(text.stdout).toContain('user alice  balance 600000 sat  (deposits 1000000, attested withdrawals pending 0, confirmed 400000, reconciled internal entries 0)');
    expect(text.stdout).toContain(`deposit ${deposit.getId()}:0 at 4 to ${a.address}`);

    // Review: the operator box reads the verifier's latest note next to the attestation state.
    const notes = await w.f.web.withdrawals.verifierNotes([m, v]);
    expect(notes.get(m)?.note).toBe((await stateOf(w, m))!.note);
    expect(notes.has(v)).toBe(false);
    const view = { state: 'missing' as const, verifier: 'abcd', problems: [], note: notes.get(m)!.note };
    expect(attestationCell(view)).toBe('held');
    expect(attestationText(view)).toContain('not attested yet; the verifier says: held: above the balance: user mallory has 0 sat');
  });

  it('an available address overwritten with a foreign one: alerted, and a deposit to it is never credited (before or after first sight)', async () => {
    const w = await setup(['bob']);
    const foreignA = addressOf(otherKey(60));
    const foreignB = addressOf(otherKey(61));
    // Before the verifier ever saw it: idx 7 is a foreign address, handed to bob.
    await raw.exec(w.f.webUrl, "UPDATE addresses SET address = ?, status = 'assigned', user_id = 'bob' WHERE idx = 7", [foreignA]);
    const r1 = await w.f.verifier.cycle();
    expect(r1.assignments).toMatchObject({ recorded: 19, rejected: 1 });
    const [bad] = alertsOf(w, 'address-not-derived');
    expect(bad!.facts).toMatchObject({ address: foreignA, index: 7, user: 'bob' });
    // After first sight: idx 8 (available, recorded with its derived text) overwritten, then handed to bob.
    await raw.exec(w.f.webUrl, "UPDATE addresses SET address = ? WHERE idx = 8", [foreignB]);
    await raw.exec(w.f.webUrl, "UPDATE addresses SET status = 'assigned', user_id = 'bob', assigned_at = ? WHERE idx = 8", [kind === 'sqlite' ? new Date(w.f.clock.t).toISOString() : new Date(w.f.clock.t)]);
    w.f.clock.t += 11 * MIN;
    await w.f.verifier.cycle();
    const [changed] = alertsOf(w, 'address-text-changed');
    expect(changed!.facts).toMatchObject({ before: addressOf(poolKey(0, 8)), after: foreignB });
    // Deposits to both foreign addresses: nothing credited to bob. (One to bob's real idx 8 would be.)
    pay(w, p2wpkh(otherKey(60)), 500_000n);
    pay(w, p2wpkh(otherKey(61)), 700_000n);
    await w.f.verifier.cycle();
    expect((await balanceOf(w, 'bob')).balanceSat).toBe(0n);
    pay(w, p2wpkh(poolKey(0, 8)), 123_456n);
    await w.f.verifier.cycle();
    expect(await balanceOf(w, 'bob')).toMatchObject({ creditedSat: 123_456n, balanceSat: 123_456n });
    const id = await withdraw(w, 'w-bob', 'bob', 500_000n);
    await w.f.verifier.cycle();
    expect((await stateOf(w, id))!.state).toBe('confirmed');
  });

  it('a withdrawal above the verifier\'s balance is held with a note and one alert, and attested once a deposit covers it', async () => {
    const w = await setup(['carol']);
    const c = await w.addressOf('carol');
    pay(w, p2wpkh(poolKey(0, c.index)), 300_000n);
    const id = await withdraw(w, 'w-carol', 'carol', 500_000n);
    await w.f.verifier.cycle();
    await w.f.verifier.cycle();
    expect((await stateOf(w, id))!.state).toBe('confirmed');
    expect((await stateOf(w, id))!.note).toContain('carol has 300000 sat');
    expect((await stateOf(w, id))!.note).toContain('this request is 500000 sat');
    expect(alertsOf(w, 'balance-hold')).toHaveLength(1);
    expect(await webNotes(w, id)).toHaveLength(1);
    expect(await raw.query(w.f.webUrl, 'SELECT * FROM attestations')).toHaveLength(0);

    pay(w, p2wpkh(poolKey(0, c.index)), 250_000n);
    w.f.clock.t += MIN;
    const r = await w.f.verifier.cycle();
    expect(r.attested).toBe(1);
    expect((await stateOf(w, id))!.state).toBe('attested');
    expect(await balanceOf(w, 'carol')).toMatchObject({ creditedSat: 550_000n, pendingDebitSat: 500_000n, balanceSat: 50_000n });
    expect((await webNotes(w, id)).map((n) => String(n.note))).toHaveLength(2);
    expect(String((await webNotes(w, id))[1]!.note)).toBe('attested');
    expect(await raw.query(w.f.webUrl, 'SELECT * FROM attestations')).toHaveLength(1);
  });

  it('a reorg that removes a credited deposit lowers the balance, and the pending withdrawal that relied on it is held', async () => {
    const w = await setup(['dave']);
    const d = await w.addressOf('dave');
    const keep = pay(w, p2wpkh(poolKey(0, d.index)), 100_000n);
    const forkAt = w.chain.height;
    pay(w, p2wpkh(poolKey(0, d.index)), 700_000n);
    await w.f.verifier.cycle();
    expect((await balanceOf(w, 'dave')).balanceSat).toBe(800_000n);
    const id = await withdraw(w, 'w-dave', 'dave', 600_000n); // confirmed by dave, judged next cycle

    // The block with the 700,000 sat deposit is replaced by two empty ones.
    const next = w.chain.fork(forkAt);
    next.mineEmpty(2);
    w.chain = next;
    node.setChain(next);
    const r = await w.f.verifier.cycle();
    expect(r.chain).toMatchObject({ reorgs: 1, dropped: 1 });
    expect(await balanceOf(w, 'dave')).toMatchObject({ creditedSat: 100_000n, balanceSat: 100_000n });
    expect((await balanceOf(w, 'dave')).deposits.map((x) => x.txid)).toEqual([keep.getId()]);
    expect((await stateOf(w, id))!.state).toBe('confirmed');
    expect((await stateOf(w, id))!.note).toContain('dave has 100000 sat');
    expect(alertsOf(w, 'deposit-reorged')[0]!.facts).toMatchObject({ user: 'dave', amountSat: '700000' });
    expect(await raw.query(w.f.webUrl, 'SELECT * FROM attestations')).toHaveLength(0);
  });
});
