/**
 * Issue 7 end to end through the real, built CLIs (`runCli`): derive → load →
 * claim → deposits on a test chain (fake node) → request → approve → payout
 * build → coldpool-offline inspect → coldpool-offline sign --manifest →
 * payout broadcast (the node mines it) → chain sync → payout status
 * confirmed; amounts balance exactly. The same with a bump: whichever version
 * confirms, the withdrawals are paid once and the record says which.
 * Plus the refusals at broadcast: a signed PSBT differing in an output, a
 * signature altered after signing, a node answering another txid; and
 * Core-compatible nodes that differ from Core: no testmempoolaccept (-32601),
 * "not found" as -1 without txindex.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Psbt, Transaction } from 'bitcoinjs-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NETWORKS, toBitcoinjs } from '../src/core/network.js';
import { testAccount } from './support/accounts.js';
import { runCli, tempDir } from './support/cli.js';
import { FakeNode } from './support/fake-node.js';
import { externalAddress } from './support/psbt-fixtures.js';
import { json, mineMempool as mineMempoolOf, ok, payoutDesk, requestAndApprove as approveWith, signCli, type PayoutDesk } from './support/payout-cli.js';
import { RegtestChain, otherKey, spend } from './support/regtest-chain.js';
import { address as btcAddress } from 'bitcoinjs-lib';
import { bbqrJoin } from '../src/core/bbqr.js';
import { qrModules, readDrawing } from '../src/cli/qr.js';

const NET = toBitcoinjs(NETWORKS.regtest);
let node: FakeNode;
let chain: RegtestChain;
let dir: string;
/** The signer's keystore and log, two operators with their own key files; the trust file asks both. */
let desk: PayoutDesk;
let ops: PayoutDesk['ops'];
let trustArgs: string[];

beforeAll(async () => {
  dir = tempDir('coldpool-payout-e2e-');
  desk = await payoutDesk(dir);
  ops = desk.ops;
  trustArgs = desk.trustArgs;
  chain = RegtestChain.create();
  chain.mineEmpty(3);
  node = await new FakeNode(chain).start();
});

afterAll(async () => {
  await node.stop();
});

/** A fresh pool with deposits of `amounts` to claimed addresses, synced; returns its db URL. */
async function fundedPool(name: string, amounts: bigint[]): Promise<{ db: string; addresses: string[] }> {
  const db = `sqlite:${join(dir, `${name}.db`)}`;
  const batch = join(dir, `${name}-batch.csv`);
  ok(await runCli('coldpool-offline', ['derive', '--descriptor', testAccount('regtest').descriptor, '--network', 'regtest', '--from', '0', '--count', '20', '--out', batch]));
  ok(await runCli('coldpool', ['db', 'migrate', '--db', db]));
  ok(await runCli('coldpool', ['pool', 'load', batch, '--db', db]));
  const addresses: string[] = [];
  for (const [k] of amounts.entries()) addresses.push(String(json(await runCli('coldpool', ['pool', 'claim', '--user', `user-${k}`, '--json', '--db', db])).address));
  const from = chain.height + 1;
  const txs = amounts.map((amount, k) => {
    const f = chain.coinbaseUtxos(chain.height)[k % 4]!;
    return spend([f], [{ script: btcAddress.toOutputScript(addresses[k]!, NET), valueSat: amount }, { key: otherKey(9), valueSat: f.valueSat - amount - 1_000n }]);
  });
  chain.mine(txs);
  chain.mineEmpty(1);
  node.setChain(chain);
  ok(await runCli('coldpool', ['chain', 'sync', '--node', node.rpcUrl, '--from-height', String(from), '--db', db]));
  return { db, addresses };
}

function requestAndApprove(db: string, specs: { app: string; address: string; sat: bigint }[]): Promise<string[]> {
  return approveWith(desk, db, specs);
}

async function sign(psbt: string, manifest: string, outFile: string): Promise<void> {
  // The signer checks both approvals of every output against its own copy of the trust file.
  const r = await signCli(desk, psbt, manifest, outFile);
  ok(r);
  expect(r.stderr).toBe('');
  expect((JSON.parse(r.stdout) as { review: { outputs: { approval?: { covered?: boolean } }[] } }).review.outputs.some((o) => o.approval !== undefined)).toBe(true);
}

function mineMempool(): void {
  mineMempoolOf(node);
}

interface StatusRow { id: string; status: string; txid: string | null; fee_sat: string; confirmations: number; withdrawals: { id: string; status: string; paid_by_payout: string | null; amount_sat: string }[] }

describe('payout end to end through the CLIs', () => {
  it('build → inspect → sign --manifest → broadcast → chain sync → status confirmed; amounts balance exactly; twice is harmless', async () => {
    const { db } = await fundedPool('e2e', [400_000n, 250_000n, 90_000n]);
    const ids = await requestAndApprove(db, [
      { app: 'w-1', address: externalAddress(0), sat: 150_000n },
      { app: 'w-2', address: externalAddress(1), sat: 200_000n },
    ]);
    const psbtFile = join(dir, 'payout-1.psbt');
    const [built] = json<Record<string, unknown>[]>(await runCli('coldpool', ['payout', 'build', ...trustArgs, '--fee-rate', '5', '--out', psbtFile, '--node', node.rpcUrl, '--db', db, '--operator', 'op1', '--json']));
    expect(built!.manifest).toBe(join(dir, 'payout-1.manifest.json'));
    // each output carries what both operators signed: its own id and amount, their two key ids
    const manifest = JSON.parse(readFileSync(join(dir, 'payout-1.manifest.json'), 'utf8')) as { outputs: { approval: { content: { withdrawalId: string; amountSat: string }; signatures: { key_id: string }[] } }[] };
    expect(manifest.outputs.map((o) => [o.approval.content.withdrawalId, o.approval.content.amountSat, o.approval.signatures.map((x) => x.key_id)])).toEqual([
      [ids[0], '150000', [ops.operators.op1!.keyId, ops.operators.op2!.keyId]], [ids[1], '200000', [ops.operators.op1!.keyId, ops.operators.op2!.keyId]],
    ]);

    const review = json<{ input_total_sat: string; output_total_sat: string; fee_sat: string; outputs: { kind: string; amount_sat: string; withdrawal_id: string | null }[]; findings: { severity: string }[]; unsigned_txid: string }>(
      await runCli('coldpool-offline', ['inspect', psbtFile, '--descriptor', testAccount('regtest').descriptor, '--network', 'regtest', '--manifest', join(dir, 'payout-1.manifest.json'), '--json']));
    expect(review.findings.filter((f) => f.severity === 'refuse')).toEqual([]);
    expect(review.unsigned_txid).toBe(built!.unsigned_txid);
    expect(BigInt(review.input_total_sat)).toBe(BigInt(review.output_total_sat) + BigInt(review.fee_sat));
    expect(review.outputs.filter((o) => o.kind === 'external').map((o) => [o.withdrawal_id, o.amount_sat])).toEqual([[ids[0], '150000'], [ids[1], '200000']]);
    expect(BigInt(review.fee_sat)).toBe(BigInt(String(built!.fee_sat)));

    const signedFile = join(dir, 'payout-1.signed.psbt');
    await sign(psbtFile, join(dir, 'payout-1.manifest.json'), signedFile);
    const txid = String(built!.unsigned_txid);
    const refusedConfirm = await runCli('coldpool', ['payout', 'broadcast', signedFile, '--confirm', 'ffffffff', '--node', node.rpcUrl, '--db', db]);
    expect(refusedConfirm.code).toBe(2);
    const b = json(await runCli('coldpool', ['payout', 'broadcast', signedFile, '--confirm', txid.slice(0, 8), '--node', node.rpcUrl, '--db', db, '--json']));
    expect(b).toMatchObject({ txid, recorded: true });
    const again = json(await runCli('coldpool', ['payout', 'broadcast', signedFile, '--confirm', txid.slice(0, 10), '--node', node.rpcUrl, '--db', db, '--json']));
    expect(again).toMatchObject({ txid, recorded: false });
    expect(node.log.filter((l) => l === 'rpc sendrawtransaction').length).toBeGreaterThanOrEqual(2);
    const tx = node.mempool.get(txid)!;
    expect(tx).toBeDefined();

    mineMempool();
    ok(await runCli('coldpool', ['chain', 'sync', '--node', node.rpcUrl, '--db', db]));
    const [status] = json<StatusRow[]>(await runCli('coldpool', ['payout', 'status', '--json', '--db', db, '--operator', 'op1']));
    expect(status).toMatchObject({ status: 'confirmed', txid, confirmations: 1 });
    expect(status!.withdrawals.map((w) => [w.id, w.status, w.paid_by_payout])).toEqual([[ids[0], 'confirmed', status!.id], [ids[1], 'confirmed', status!.id]]);
    // exact balance of the transaction that was mined
    const inputs = BigInt(review.input_total_sat);
    const outs = tx.outs.reduce((s, o) => s + o.value, 0n);
    expect(inputs - outs).toBe(BigInt(status!.fee_sat));
    expect(BigInt(status!.fee_sat) * 1000n).toBeGreaterThanOrEqual(5_000n * BigInt(tx.virtualSize()));
    const audit = json<{ ok: boolean }>(await runCli('coldpool', ['audit', 'verify', '--json', '--db', db]));
    expect(audit.ok).toBe(true);
  }, 60_000);

  it('bump: same withdrawals at a higher fee; the replacement confirms, the original is abandoned, withdrawals paid once', async () => {
    const { db } = await fundedPool('bump', [300_000n, 500_000n]);
    const ids = await requestAndApprove(db, [{ app: 'b-1', address: externalAddress(2), sat: 280_000n }]);
    const p1 = join(dir, 'bump-1.psbt');
    const [first] = json<Record<string, unknown>[]>(await runCli('coldpool', ['payout', 'build', ...trustArgs, '--fee-rate', '1', '--out', p1, '--node', node.rpcUrl, '--db', db, '--operator', 'op1', '--json']));
    await sign(p1, join(dir, 'bump-1.manifest.json'), join(dir, 'bump-1.signed.psbt'));
    const t1 = String(first!.unsigned_txid);
    ok(await runCli('coldpool', ['payout', 'broadcast', join(dir, 'bump-1.signed.psbt'), '--confirm', t1.slice(0, 8), '--node', node.rpcUrl, '--db', db]));
    node.mempool.clear(); // stuck: the node dropped it

    const p2 = join(dir, 'bump-2.psbt');
    const second = json<Record<string, unknown> & { outputs: { withdrawal_id: string; amount_sat: string }[] }>(
      await runCli('coldpool', ['payout', 'bump', ...trustArgs, String(first!.id), '--fee-rate', '20', '--out', p2, '--node', node.rpcUrl, '--db', db, '--operator', 'op1', '--json']));
    expect(second.outputs).toEqual(first!.outputs);
    expect(BigInt(String(second.fee_sat))).toBeGreaterThan(BigInt(String(first!.fee_sat)));
    const oldIns = Psbt.fromBase64(readFileSync(p1, 'utf8').trim()).txInputs.map((i) => Buffer.from(i.hash).toString('hex'));
    const newIns = Psbt.fromBase64(readFileSync(p2, 'utf8').trim()).txInputs.map((i) => Buffer.from(i.hash).toString('hex'));
    expect(newIns.slice(0, oldIns.length)).toEqual(oldIns); // conflicts with the original (BIP125)
    await sign(p2, join(dir, 'bump-2.manifest.json'), join(dir, 'bump-2.signed.psbt'));
    const t2 = String(second.unsigned_txid);
    ok(await runCli('coldpool', ['payout', 'broadcast', join(dir, 'bump-2.signed.psbt'), '--confirm', t2.slice(0, 8), '--node', node.rpcUrl, '--db', db]));
    mineMempool();
    ok(await runCli('coldpool', ['chain', 'sync', '--node', node.rpcUrl, '--db', db]));
    const states = json<StatusRow[]>(await runCli('coldpool', ['payout', 'status', '--json', '--db', db, '--operator', 'op1']));
    expect(states.map((s) => [s.id, s.status])).toEqual([[String(first!.id), 'abandoned'], [String(second.id), 'confirmed']]);
    expect(states[1]!.txid).toBe(t2);
    expect(states[1]!.withdrawals).toEqual([expect.objectContaining({ id: ids[0], status: 'confirmed', paid_by_payout: String(second.id) })]);
    const mined = chain.findTx(t2)!;
    expect(chain.findTx(t1)).toBeUndefined();
    const inputTotal = Psbt.fromBase64(readFileSync(p2, 'utf8').trim()).data.inputs.reduce((s, i) => s + i.witnessUtxo!.value, 0n);
    expect(inputTotal).toBe(mined.outs.reduce((s, o) => s + o.value, 0n) + BigInt(String(second.fee_sat)));
  }, 60_000);

  it('a signed PSBT that differs from the built payout in an output is refused at broadcast', async () => {
    const { db } = await fundedPool('tamper', [300_000n]);
    await requestAndApprove(db, [{ app: 't-1', address: externalAddress(3), sat: 100_000n }]);
    const p = join(dir, 'tamper.psbt');
    json(await runCli('coldpool', ['payout', 'build', ...trustArgs, '--fee-rate', '2', '--out', p, '--node', node.rpcUrl, '--db', db, '--operator', 'op1', '--json']));
    const signedFile = join(dir, 'tamper.signed.psbt');
    await sign(p, join(dir, 'tamper.manifest.json'), signedFile);
    const signed = Psbt.fromBase64(readFileSync(signedFile, 'utf8').trim());
    // the same signatures on a transaction paying 1 sat more to the withdrawal and 1 sat less change
    const tx = Transaction.fromBuffer(Buffer.from(signed.data.getTransaction()));
    tx.outs[0]!.value += 1n;
    tx.outs[1]!.value -= 1n;
    (signed.data.globalMap.unsignedTx as unknown as { tx: Transaction }).tx = tx;
    const tampered = join(dir, 'tamper.altered.psbt');
    writeFileSync(tampered, signed.toBase64());
    const txid = tx.getId();
    const r = await runCli('coldpool', ['payout', 'broadcast', tampered, '--confirm', txid.slice(0, 8), '--node', node.rpcUrl, '--db', db, '--json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/not a payout built here/);
    expect(node.mempool.has(txid)).toBe(false);
  }, 60_000);

  it('a signature altered after signing (partial or in the final witness) is refused at broadcast: exit 3, the node never asked, nothing recorded', async () => {
    const { db, signedFile, txid, id } = await signedPayout('sig-flip', 10);
    // the last byte of s: the DER stays well formed, so only the signature check can catch it
    const flip = (sig: Uint8Array): void => void (sig[sig.length - 2]! ^= 0x01);
    const partial = Psbt.fromBase64(readFileSync(signedFile, 'utf8').trim());
    flip(partial.data.inputs[0]!.partialSig![0]!.signature);
    const finalized = Psbt.fromBase64(readFileSync(signedFile, 'utf8').trim()).finalizeAllInputs();
    const witness = finalized.data.inputs[0]!.finalScriptWitness!; // [count][len][signature][len][pubkey]
    flip(witness.subarray(2, 2 + witness[1]!));
    for (const [name, psbt] of [['partial', partial], ['final', finalized]] as const) {
      const file = join(dir, `sig-flip.${name}.psbt`);
      writeFileSync(file, `${psbt.toBase64()}\n`);
      const from = node.log.length;
      const r = await runCli('coldpool', ['payout', 'broadcast', file, '--confirm', txid.slice(0, 8), '--node', node.rpcUrl, '--db', db, '--json']);
      expect(r.code, `${name}: ${r.stderr}`).toBe(3);
      expect(r.stdout).toBe('');
      expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'REFUSED', message: `input 0 of payout ${id}: the signature does not verify` } });
      expect(node.log.slice(from).filter((l) => /testmempoolaccept|sendrawtransaction/.test(l))).toEqual([]);
      expect(node.mempool.has(txid)).toBe(false);
    }
    const [status] = json<StatusRow[]>(await runCli('coldpool', ['payout', 'status', '--json', '--db', db, '--operator', 'op1']));
    expect(status).toMatchObject({ id, status: 'built', txid: null });
    expect(status!.withdrawals.map((w) => w.status)).toEqual(['in_payout']);
    const audit = ok(await runCli('coldpool', ['audit', 'export', '--db', db])).trim().split('\n').map((l) => (JSON.parse(l) as { action: string }).action);
    expect(audit).not.toContain('payout.broadcast');
    expect(audit).not.toContain('withdrawal.broadcast');
    // the genuine signed PSBT still goes through: the refusals left nothing behind
    expect(json(await runCli('coldpool', ['payout', 'broadcast', signedFile, '--confirm', txid.slice(0, 8), '--node', node.rpcUrl, '--db', db, '--json']))).toMatchObject({ id, txid, recorded: true });
    node.mempool.clear();
  }, 60_000);
  it('build --qr: the BBQr parts drawn on stderr give back exactly the PSBT file; stdout stays data; too large is refused', async () => {
    const { db } = await fundedPool('qr', [300_000n, 200_000n]);
    await requestAndApprove(db, [{ app: 'q-1', address: externalAddress(4), sat: 120_000n }]);
    const p = join(dir, 'qr.psbt');
    const r = await runCli('coldpool', ['payout', 'build', ...trustArgs, '--fee-rate', '2', '--out', p, '--node', node.rpcUrl, '--db', db, '--operator', 'op1', '--json', '--qr']);
    const [built] = json<Record<string, unknown>[]>(r); // stdout: the JSON only
    expect(built!.psbt).toBe(p);
    const fileBytes = Buffer.from(readFileSync(p, 'utf8').trim(), 'base64');
    // stderr: per part a title, the half-block drawing, then the part's BBQr text
    const lines = r.stderr.split('\n');
    const texts: string[] = [];
    for (let k = 0; k < lines.length; k++) {
      const m = /BBQr part (\d+) of (\d+), QR version (\d+):$/.exec(lines[k]!);
      if (!m) continue;
      const version = Number(m[3]);
      const rows = Math.ceil((17 + 4 * version + 8) / 2);
      const drawing = lines.slice(k + 1, k + 1 + rows);
      const text = lines[k + 1 + rows]!;
      expect(text).toMatch(/^B\$2P/);
      expect(readDrawing(drawing)).toEqual(qrModules(text, version));
      expect(Number(m[1])).toBe(texts.length + 1);
      texts.push(text);
    }
    expect(texts.length).toBeGreaterThan(1);
    const joined = bbqrJoin(texts);
    expect(joined.fileType).toBe('P');
    expect(Buffer.from(joined.data).equals(fileBytes)).toBe(true);

    // too large for the allowed number of parts: USAGE (exit 2), before anything is recorded or written
    // (what the database keeps: test/payout-qr-refusal.test.ts, on both backends)
    await requestAndApprove(db, [{ app: 'q-2', address: externalAddress(5), sat: 50_000n }]);
    const p2 = join(dir, 'qr-2.psbt');
    const big = await runCli('coldpool', ['payout', 'build', ...trustArgs, '--fee-rate', '2', '--out', p2, '--node', node.rpcUrl, '--db', db, '--operator', 'op1', '--json', '--qr', '--qr-max-parts', '1']);
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/too large for QR \(\d+ BBQr parts, at most 1\): use the file/);
    expect(big.stderr).not.toMatch(/BBQr part 1 of/);
    expect(big.stdout).toBe('');
    expect(existsSync(p2)).toBe(false);
    expect(existsSync(join(dir, 'qr-2.manifest.json'))).toBe(false);
  }, 60_000);
});

/** A funded pool with one approved withdrawal, built and signed: what broadcast is given. */
async function signedPayout(name: string, k: number): Promise<{ db: string; signedFile: string; txid: string; id: string }> {
  const { db } = await fundedPool(name, [300_000n]);
  await requestAndApprove(db, [{ app: `${name}-1`, address: externalAddress(k), sat: 100_000n }]);
  const p = join(dir, `${name}.psbt`);
  const [built] = json<Record<string, unknown>[]>(await runCli('coldpool', ['payout', 'build', ...trustArgs, '--fee-rate', '2', '--out', p, '--node', node.rpcUrl, '--db', db, '--operator', 'op1', '--json']));
  const signedFile = join(dir, `${name}.signed.psbt`);
  await sign(p, join(dir, `${name}.manifest.json`), signedFile);
  return { db, signedFile, txid: String(built!.unsigned_txid), id: String(built!.id) };
}

describe('nodes that answer otherwise than Core', () => {
  it('sendrawtransaction answering another txid: refused (exit 3) naming both txids, nothing recorded; a correct answer later records it', async () => {
    const { db, signedFile, txid, id } = await signedPayout('wrong-txid', 6);
    const wrong = Buffer.from(txid, 'hex').reverse().toString('hex');
    node.faults = { wrongTxid: true };
    try {
      const r = await runCli('coldpool', ['payout', 'broadcast', signedFile, '--confirm', txid.slice(0, 8), '--node', node.rpcUrl, '--db', db, '--json']);
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`answered sendrawtransaction for payout ${id} with txid ${wrong}, but the transaction's txid is ${txid}: nothing was recorded`);
    } finally {
      node.faults = {};
      node.mempool.clear();
    }
    // the signed PSBT was seen (built → signed) though nothing was recorded as broadcast
    const [status] = json<StatusRow[]>(await runCli('coldpool', ['payout', 'status', '--json', '--db', db, '--operator', 'op1']));
    expect(status).toMatchObject({ id, status: 'signed', txid: null });
    expect(status!.withdrawals.map((w) => w.status)).toEqual(['in_payout']);
    const audit = ok(await runCli('coldpool', ['audit', 'export', '--db', db])).trim().split('\n').map((l) => (JSON.parse(l) as { action: string }).action);
    expect(audit).not.toContain('payout.broadcast');
    expect(audit).not.toContain('withdrawal.broadcast');
    expect(audit).toContain('payout.signed');

    const again = json(await runCli('coldpool', ['payout', 'broadcast', signedFile, '--confirm', txid.slice(0, 8), '--node', node.rpcUrl, '--db', db, '--json']));
    expect(again).toMatchObject({ id, txid, recorded: true });
    node.mempool.clear();
  }, 60_000);

  it('no testmempoolaccept (-32601 Method not found): said on stderr, then sendrawtransaction; recorded, test_accept null', async () => {
    const { db, signedFile, txid, id } = await signedPayout('no-testaccept', 7);
    node.faults = { noTestAccept: true };
    const from = node.log.length;
    try {
      const r = await runCli('coldpool', ['payout', 'broadcast', signedFile, '--confirm', txid.slice(0, 8), '--node', node.rpcUrl, '--db', db, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ id, txid, recorded: true, test_accept: null });
      expect(r.stderr).toMatch(/^warning: bitcoind http:\/\/coldpool@127\.0\.0\.1:\d+ has no testmempoolaccept \(RPC error -32601 Method not found\): payout \d+ is sent without that test$/m);
      expect(r.stdout).not.toMatch(/testmempoolaccept/);
      expect(node.log.slice(from).filter((l) => /testmempoolaccept|sendrawtransaction/.test(l))).toEqual(['rpc testmempoolaccept', 'rpc sendrawtransaction']);
      expect(node.mempool.has(txid)).toBe(true);
    } finally {
      node.faults = {};
      node.mempool.clear();
    }
    const [status] = json<StatusRow[]>(await runCli('coldpool', ['payout', 'status', '--json', '--db', db, '--operator', 'op1']));
    expect(status).toMatchObject({ id, status: 'broadcast', txid });
  }, 60_000);

  it('payout build against a node without txindex: "not found" as -1 (or Core\'s -5) reads the previous transaction from its block', async () => {
    for (const [k, notFound] of [[8, { code: -1, message: 'Transaction not found' }], [9, { code: -5, message: 'No such mempool transaction. Use -txindex or provide a block hash to enable blockchain transaction queries.' }]] as const) {
      const { db } = await fundedPool(`no-txindex${notFound.code}`, [300_000n]);
      await requestAndApprove(db, [{ app: `nt${notFound.code}-1`, address: externalAddress(k), sat: 100_000n }]);
      node.faults = { noTxIndex: notFound };
      const from = node.log.length;
      try {
        const r = await runCli('coldpool', ['payout', 'build', ...trustArgs, '--fee-rate', '2', '--out', join(dir, `no-txindex${notFound.code}.psbt`), '--node', node.rpcUrl, '--db', db, '--operator', 'op1', '--json']);
        expect(r.code, r.stderr).toBe(0);
        const [built] = JSON.parse(r.stdout) as { inputs: number }[];
        expect(built!.inputs).toBe(1);
        const calls = node.log.slice(from);
        expect(calls).toContain('rpc getrawtransaction');
        expect(calls.slice(calls.indexOf('rpc getrawtransaction'))).toEqual(expect.arrayContaining(['rpc getblockhash', 'rpc getblock']));
      } finally {
        node.faults = {};
      }
      const psbt = Psbt.fromBase64(readFileSync(join(dir, `no-txindex${notFound.code}.psbt`), 'utf8').trim());
      expect(psbt.data.inputs[0]!.nonWitnessUtxo).toBeDefined();
    }
  }, 60_000);
});
