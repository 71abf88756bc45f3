/**
 * Issue 16 through the real, built CLIs on SQLite and MariaDB: a payout
 * never gets stuck and never pays twice.
 *
 * - abandon → rebuild: the new PSBT spends an input of the abandoned one, the
 *   signer's APPROVAL_ALREADY_PAID rule lets it through; once it confirmed,
 *   the abandoned signed copy is refused by the node (-25) and by broadcast;
 * - the abandoned one confirming first: its withdrawals are paid by it, the
 *   rebuild failed, an alert (stderr and webhook), nothing paid twice;
 * - abandon refused while the node has the payout (mempool, unsynced block,
 *   mined) or cannot answer;
 * - cancel: a change-only payout spending one of its coins; once it confirmed
 *   the rebuild spends the cancel's change and the signer lets it through;
 * - an attacker holding the payout tables: a payout of the withdrawals that
 *   does not conflict is refused when recorded; editing the kind frees
 *   nothing; hiding the abandoned payout (its status) gets a non-conflicting
 *   payout built, which the signer's own log refuses (APPROVAL_ALREADY_PAID).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Psbt } from 'bitcoinjs-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitcoindRpc } from '../src/chain/bitcoind-rpc.js';
import { isCoded } from '../src/core/errors.js';
import { buildPayoutPsbt } from '../src/core/psbt-build.js';
import { parseAccountDescriptor } from '../src/core/descriptor.js';
import { NETWORKS } from '../src/core/network.js';
import { previousTx } from '../src/flows/payout.js';
import { openPayoutStore } from './support/open-repos.js';
import { mariadbBackend, sqliteBackend } from './support/withdrawal-backends.js';
import { WebhookSink } from './support/alert-sinks.js';
import { runCli, tempDir } from './support/cli.js';
import type { FakeNode } from './support/fake-node.js';
import { fundedPool, startFundedNode } from './support/funded-pool.js';
import { json, mineMempool, ok, payoutDesk, payoutStatus, requestAndApprove, signCli, type PayoutDesk } from './support/payout-cli.js';
import type { Cleanup } from './support/pool-fixtures.js';
import { externalAddress } from './support/psbt-fixtures.js';

let dir: string;
let desk: PayoutDesk;
const cleanups: Cleanup[] = [];

beforeAll(async () => {
  dir = tempDir('coldpool-payout-abandon-');
  desk = await payoutDesk(dir);
});

afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
});


interface Built { id: string; unsigned_txid: string; psbt: string; manifest: string; outputs: unknown[] }

const inputsOf = (file: string): string[] =>
  Psbt.fromBase64(readFileSync(file, 'utf8').trim()).txInputs.map((i) => `${Buffer.from(i.hash).reverse().toString('hex')}:${i.index}`);

/** The final transaction hex of a signed PSBT: what anyone holding the file can send. */
const finalHex = (file: string): string => Psbt.fromBase64(readFileSync(file, 'utf8').trim()).finalizeAllInputs().extractTransaction().toHex();

async function rawSend(node: FakeNode, hex: string): Promise<string> {
  const rpc = new BitcoindRpc({ url: node.rpcUrl, retries: 0 });
  try {
    return await rpc.broadcast(hex);
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  } finally {
    await rpc.close();
  }
}

describe.each(['sqlite', 'mariadb'] as const)('abandon, rebuild, cancel on %s', (kind) => {
  const raw = kind === 'sqlite' ? sqliteBackend() : mariadbBackend();
  let n = 0;
  /** A fresh node and pool; `name` prefixes files and app ids. */
  async function world(): Promise<{ node: FakeNode; db: string; name: string; nodeArgs: string[] }> {
    const node = await startFundedNode();
    cleanups.push(() => node.stop());
    const db = await fundedPool(kind, node, cleanups);
    const name = `${kind}-${++n}`;
    return { node, db, name, nodeArgs: ['--node', node.rpcUrl, '--db', db, '--operator', 'op1'] };
  }
  const build = async (w: { name: string; nodeArgs: string[] }, tag: string): Promise<Built> =>
    json<Built[]>(await runCli('coldpool', ['payout', 'build', ...desk.trustArgs, '--fee-rate', '2', '--out', join(dir, `${w.name}-${tag}.psbt`), ...w.nodeArgs, '--json']))[0]!;
  const signed = async (b: Built): Promise<string> => {
    const out = b.psbt.replace(/\.psbt$/, '.signed.psbt');
    ok(await signCli(desk, b.psbt, b.manifest, out));
    return out;
  };
  const broadcast = (w: { nodeArgs: string[] }, file: string, txid: string) => runCli('coldpool', ['payout', 'broadcast', file, '--confirm', txid.slice(0, 8), ...w.nodeArgs, '--json']);
  const sync = async (w: { node: FakeNode; db: string }) => ok(await runCli('coldpool', ['chain', 'sync', '--node', w.node.rpcUrl, '--db', w.db]));

  it('abandon → rebuild spends an input of the abandoned payout; once it confirmed, the abandoned signed copy is refused by the node; nothing paid twice', async () => {
    const w = await world();
    const [wid] = await requestAndApprove(desk, w.db, [{ app: `${w.name}-1`, address: externalAddress(0), sat: 150_000n }]);
    const p1 = await build(w, 'p1');
    const s1 = await signed(p1);
    expect(json(await runCli('coldpool', ['payout', 'record-signed', s1, '--db', w.db, '--json']))).toEqual({ id: p1.id, status: 'signed', recorded: true });
    expect(json(await runCli('coldpool', ['payout', 'record-signed', s1, '--db', w.db, '--json']))).toEqual({ id: p1.id, status: 'signed', recorded: false });

    const noReason = await runCli('coldpool', ['payout', 'abandon', p1.id, ...w.nodeArgs]);
    expect(noReason.code).toBe(2);
    const ab = json(await runCli('coldpool', ['payout', 'abandon', p1.id, '--reason', 'signed PSBT left on the wrong stick', ...w.nodeArgs, '--json']));
    expect(ab).toMatchObject({ payouts: [p1.id], withdrawals: [wid], signed_copy: true, checked: [p1.unsigned_txid] });
    const again = await runCli('coldpool', ['payout', 'abandon', p1.id, '--reason', 'twice', ...w.nodeArgs, '--json']);
    expect(again.code).toBe(4);
    let states = await payoutStatus(w.db);
    expect(states.map((s) => [s.id, s.status, s.abandon_kind])).toEqual([[p1.id, 'abandoned', 'given_up']]);
    expect(states[0]!.withdrawals.map((x) => x.status)).toEqual(['approved']);

    // the rebuild spends a coin of the abandoned payout: the two conflict
    const p2 = await build(w, 'p2');
    expect(inputsOf(p2.psbt).some((i) => inputsOf(p1.psbt).includes(i))).toBe(true);
    const s2 = await signed(p2); // the signer's log: p1 paid this approval, p2 spends one of its inputs: allowed
    expect(json(await broadcast(w, s2, p2.unsigned_txid))).toMatchObject({ txid: p2.unsigned_txid, recorded: true });
    mineMempool(w.node);
    await sync(w);
    states = await payoutStatus(w.db);
    expect(states.map((s) => [s.id, s.status])).toEqual([[p1.id, 'abandoned'], [p2.id, 'confirmed']]);
    expect(states[1]!.withdrawals).toEqual([expect.objectContaining({ id: wid, status: 'confirmed', paid_by_payout: p2.id })]);

    // whoever holds the abandoned signed copy: broadcast refuses it, and so does the node (its coin is spent)
    const refused = await broadcast(w, s1, p1.unsigned_txid);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/abandoned \(given_up: signed PSBT left on the wrong stick\); it is not broadcast/);
    expect(await rawSend(w.node, finalHex(s1))).toMatch(/^refused: .*bad-txns-inputs-missingorspent \(RPC error -25\)/);
    mineMempool(w.node);
    await sync(w);
    states = await payoutStatus(w.db);
    expect(states.filter((s) => s.status === 'confirmed').map((s) => s.id)).toEqual([p2.id]);
    expect(new Set(states.flatMap((s) => s.withdrawals.map((x) => `${x.id} ${x.status} ${x.paid_by_payout}`)))).toEqual(new Set([`${wid} confirmed ${p2.id}`]));
    expect(json<{ ok: boolean }>(await runCli('coldpool', ['audit', 'verify', '--json', '--db', w.db])).ok).toBe(true);
  }, 120_000);

  it('the abandoned payout confirms first: its withdrawals are paid by it, the rebuild failed, an alert; the rebuild is refused by the node', async () => {
    const w = await world();
    const hook = await new WebhookSink().start();
    cleanups.push(() => hook.stop());
    const ids = await requestAndApprove(desk, w.db, [{ app: `${w.name}-1`, address: externalAddress(1), sat: 120_000n }, { app: `${w.name}-2`, address: externalAddress(2), sat: 130_000n }]);
    const p1 = await build(w, 'p1');
    const s1 = await signed(p1);
    ok(await runCli('coldpool', ['payout', 'abandon', p1.id, '--reason', 'operator thought it lost', ...w.nodeArgs]));
    const p2 = await build(w, 'p2');
    const s2 = await signed(p2);
    // someone holding the signed copy of p1 sends it before p2 is broadcast
    expect(await rawSend(w.node, finalHex(s1))).toBe(p1.unsigned_txid);
    // p2 pays no more fee than p1: the node will not replace it
    expect(await rawSend(w.node, finalHex(s2))).toMatch(/txn-mempool-conflict/);
    mineMempool(w.node);
    await sync(w);
    const r = await runCli('coldpool', ['payout', 'status', '--json', '--db', w.db, '--operator', 'op1'], { env: { COLDPOOL_WEBHOOK_URL: hook.url } });
    const states = json<Awaited<ReturnType<typeof payoutStatus>>>(r);
    expect(states.map((s) => [s.id, s.status, s.abandon_kind])).toEqual([[p1.id, 'confirmed', null], [p2.id, 'abandoned', 'failed']]);
    expect(states[0]!.withdrawals.map((x) => [x.id, x.status, x.paid_by_payout])).toEqual([[ids[0], 'confirmed', p1.id], [ids[1], 'confirmed', p1.id]]);
    expect(r.stderr).toMatch(new RegExp(`alert: abandoned payout ${p1.id} confirmed anyway`));
    expect(hook.hooks.map((h) => h.body.kind)).toEqual(['payout-given-up-confirmed']);
    // once only: a second status has nothing new to say
    const r2 = await runCli('coldpool', ['payout', 'status', '--json', '--db', w.db, '--operator', 'op1'], { env: { COLDPOOL_WEBHOOK_URL: hook.url } });
    expect(r2.stderr).not.toMatch(/alert:/);
    expect(hook.hooks).toHaveLength(1);
    // the rebuild can never be sent now
    expect((await broadcast(w, s2, p2.unsigned_txid)).code).toBe(4);
    expect(await rawSend(w.node, finalHex(s2))).toMatch(/bad-txns-inputs-missingorspent/);
  }, 120_000);

  it('abandon is refused while the node has the payout (mempool, a block not synced yet, mined) or cannot answer', async () => {
    const w = await world();
    await requestAndApprove(desk, w.db, [{ app: `${w.name}-1`, address: externalAddress(3), sat: 110_000n }]);
    const p1 = await build(w, 'p1');
    const s1 = await signed(p1);
    const abandon = () => runCli('coldpool', ['payout', 'abandon', p1.id, '--reason', 'stuck', ...w.nodeArgs, '--retries', '0']);
    w.node.faults = { down: true };
    try {
      expect((await abandon()).code).toBe(5);
    } finally {
      w.node.faults = {};
    }
    ok(await broadcast(w, s1, p1.unsigned_txid));
    const inMempool = await abandon();
    expect(inMempool.code).toBe(4);
    expect(inMempool.stderr).toMatch(/is in the mempool of bitcoind/);
    mineMempool(w.node);
    const unsynced = await abandon();
    expect(unsynced.code).toBe(3);
    expect(unsynced.stderr).toMatch(/chain record is at height \d+, the node .* at \d+/);
    await sync(w);
    const mined = await abandon();
    expect(mined.code).toBe(4);
    expect(mined.stderr).toMatch(/known to bitcoind|was mined at height/);
    const states = await payoutStatus(w.db);
    expect(states.map((s) => [s.id, s.status])).toEqual([[p1.id, 'confirmed']]);
  }, 120_000);

  it('cancel: a change-only payout spends a coin of the abandoned one; once it confirmed, the rebuild spends its change and the signer lets it through', async () => {
    const w = await world();
    const [wid] = await requestAndApprove(desk, w.db, [{ app: `${w.name}-1`, address: externalAddress(4), sat: 140_000n }]);
    const p1 = await build(w, 'p1');
    const s1 = await signed(p1);
    const live = await runCli('coldpool', ['payout', 'cancel', p1.id, '--fee-rate', '3', '--out', join(dir, `${w.name}-c0.psbt`), ...w.nodeArgs]);
    expect(live.code).toBe(4); // only an abandoned payout is cancelled
    ok(await runCli('coldpool', ['payout', 'abandon', p1.id, '--reason', 'fee too low', ...w.nodeArgs]));
    const c = json<Built & { cancels: string; change: { amount_sat: string } }>(await runCli('coldpool', ['payout', 'cancel', p1.id, '--fee-rate', '3', '--out', join(dir, `${w.name}-c.psbt`), ...w.nodeArgs, '--json']));
    expect(c).toMatchObject({ cancels: p1.id, outputs: [] });
    expect(inputsOf(c.psbt)).toHaveLength(1);
    expect(inputsOf(p1.psbt)).toContain(inputsOf(c.psbt)[0]);
    const cs = await signed(c);
    ok(await broadcast(w, cs, c.unsigned_txid));
    mineMempool(w.node);
    await sync(w);
    let states = await payoutStatus(w.db);
    expect(states.map((s) => [s.id, s.status, s.cancels])).toEqual([[p1.id, 'abandoned', null], [c.id, 'confirmed', p1.id]]);
    // the abandoned one can never confirm now
    expect(await rawSend(w.node, finalHex(s1))).toMatch(/bad-txns-inputs-missingorspent/);
    const p2 = await build(w, 'p2');
    expect(inputsOf(p2.psbt).some((i) => i.startsWith(`${c.unsigned_txid}:`))).toBe(true);
    const s2 = await signed(p2); // the sign log: c spends an input of p1, p2 spends c's change
    ok(await broadcast(w, s2, p2.unsigned_txid));
    mineMempool(w.node);
    await sync(w);
    states = await payoutStatus(w.db);
    expect(states.find((s) => s.id === p2.id)).toMatchObject({ status: 'confirmed', withdrawals: [expect.objectContaining({ id: wid, status: 'confirmed', paid_by_payout: p2.id })] });
  }, 120_000);

  it('a coin of a live payout spent by a transaction built elsewhere: status says it can never confirm, which withdrawals are unpaid, what to do; abandon, then pay again', async () => {
    const w = await world();
    const [wid] = await requestAndApprove(desk, w.db, [{ app: `${w.name}-1`, address: externalAddress(6), sat: 120_000n }]);
    const p1 = await build(w, 'p1');
    const coin = inputsOf(p1.psbt)[0]!;
    // A sweep of the same coin signed outside coldpool (another wallet holding the seed, or a thief).
    const sweepFile = join(dir, `${w.name}-sweep.psbt`);
    const store = openPayoutStore(w.db);
    try {
      const account = parseAccountDescriptor((await store.account()).descriptor, NETWORKS.regtest);
      const c = (await store.database.chain.coins(1)).find((x) => `${x.txid}:${x.vout}` === coin)!;
      const rpc = new BitcoindRpc({ url: w.node.rpcUrl, retries: 0 });
      const prevTx = await previousTx(rpc, c).finally(() => rpc.close());
      const sweep = buildPayoutPsbt({
        network: NETWORKS.regtest, account, payments: [{ withdrawalId: 0n, address: externalAddress(7), amountSat: c.valueSat - 10_000n }], coins: [],
        mustSpend: [{ ...c, prevTx }], feeRateSatKvb: 2000n, changeIndex: 60,
      });
      writeFileSync(sweepFile, sweep.psbt.toBase64());
    } finally {
      await store.close();
    }
    const sweepSigned = sweepFile.replace(/\.psbt$/, '.signed.psbt');
    ok(await runCli('coldpool-offline', ['sign', sweepFile, '--keystore', desk.keystore, '--password-file', desk.passwordFile, '--out', sweepSigned,
      '--log', join(dir, `${w.name}-elsewhere.jsonl`), '--new-log', '--yes', '--json']));
    expect(await rawSend(w.node, finalHex(sweepSigned))).toMatch(/^[0-9a-f]{64}$/);
    mineMempool(w.node);
    await sync(w);
    const [s] = await payoutStatus(w.db);
    expect(s!.id).toBe(p1.id);
    expect(s!.conflict).toContain(coin);
    expect(s!.conflict).toMatch(/none of the payouts built here/);
    expect(s!.advice).toContain(`payout ${p1.id} can never confirm`);
    expect(s!.advice).toContain(`withdrawal(s) ${wid} are NOT paid by it`);
    expect(s!.advice).toContain(`coldpool payout abandon ${p1.id}`);
    expect(s!.advice).toMatch(/stop signing and investigate/);
    // Following the advice: abandoned (the node never saw it), the withdrawal approved again, paid from other coins.
    ok(await runCli('coldpool', ['payout', 'abandon', p1.id, '--reason', 'coin spent elsewhere', ...w.nodeArgs]));
    const p2 = await build(w, 'p2');
    expect(inputsOf(p2.psbt)).not.toContain(coin);
    const states = await payoutStatus(w.db);
    expect(states.find((x) => x.id === p2.id)!.withdrawals.map((x) => [x.id, x.status])).toEqual([[wid, 'in_payout']]);
  }, 120_000);

  it('an attacker holding the payout tables: a non-conflicting payout is refused when recorded; the kind frees nothing; hiding the abandoned payout is caught by the signer', async () => {
    const w = await world();
    const [wid] = await requestAndApprove(desk, w.db, [{ app: `${w.name}-1`, address: externalAddress(5), sat: 100_000n }]);
    const p1 = await build(w, 'p1');
    await signed(p1);
    ok(await runCli('coldpool', ['payout', 'abandon', p1.id, '--reason', 'gone', ...w.nodeArgs]));
    const abandonedIns = inputsOf(p1.psbt);

    // a payout of the withdrawal on other coins, handed straight to the store: refused, nothing recorded
    const store = openPayoutStore(w.db);
    try {
      const account = parseAccountDescriptor((await store.account()).descriptor, NETWORKS.regtest);
      const other = (await store.database.chain.coins(1)).find((c) => c.spendable && !abandonedIns.includes(`${c.txid}:${c.vout}`))!;
      const rpc = new BitcoindRpc({ url: w.node.rpcUrl, retries: 0 });
      const prevTx = await previousTx(rpc, other).finally(() => rpc.close());
      const sneaky = buildPayoutPsbt({
        network: NETWORKS.regtest, account, payments: [{ withdrawalId: BigInt(wid!), address: externalAddress(5), amountSat: 100_000n }], coins: [],
        mustSpend: [{ ...other, prevTx }], feeRateSatKvb: 2000n, changeIndex: 50,
      });
      const e = await store.insert(sneaky, 'mallory').then(() => undefined, (x: unknown) => x);
      expect(isCoded(e, 'STATE_CONFLICT'), String(e)).toBe(true);
      expect(String((e as Error).message)).toMatch(new RegExp(`spends no input of abandoned payout ${p1.id}`));
    } finally {
      await store.close();
    }
    expect((await payoutStatus(w.db)).map((s) => s.id)).toEqual([p1.id]);

    // the kind column is only a label: "replaced" does not free the reserved coin
    await raw.exec(w.db, "UPDATE payouts SET abandon_kind = 'replaced' WHERE id = ?", [p1.id]);
    const p2 = await build(w, 'p2');
    expect(inputsOf(p2.psbt).some((i) => abandonedIns.includes(i))).toBe(true);
    ok(await runCli('coldpool', ['payout', 'abandon', p2.id, '--reason', 'again', ...w.nodeArgs]));

    // hiding both abandoned payouts (status edited) and keeping their coin busy with a forged live payout row: the builder
    // no longer knows, but the signer's own log does
    await raw.exec(w.db, "UPDATE payouts SET status = 'confirmed' WHERE id IN (?, ?)", [p1.id, p2.id]);
    await raw.exec(w.db, "INSERT INTO payouts (id, status, psbt, unsigned_txid, fee_sat, fee_rate_sat_kvb, created_at) VALUES (999, 'built', 'x', ?, 0, 1000, ?)",
      ['ab'.repeat(32), kind === 'sqlite' ? '2026-01-01T00:00:00.000Z' : '2026-01-01 00:00:00.000']);
    for (const [n, i] of abandonedIns.entries()) {
      await raw.exec(w.db, 'INSERT INTO payout_inputs (payout_id, n, txid, vout, value_sat, chain, idx) VALUES (999, ?, ?, ?, 1, 0, 0)', [n, i.split(':')[0], Number(i.split(':')[1])]);
    }
    const p3 = await build(w, 'p3');
    expect(inputsOf(p3.psbt).some((i) => abandonedIns.includes(i))).toBe(false);
    const r = await signCli(desk, p3.psbt, p3.manifest, p3.psbt.replace(/\.psbt$/, '.signed.psbt'));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/APPROVAL_ALREADY_PAID|already signed into/);
  }, 120_000);
});
