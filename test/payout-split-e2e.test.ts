/**
 * Issue 16: "A payout of 3,000 withdrawals from 5,000 small coins is split
 * into standard transactions, each under 400,000 WU, each signed and checked
 * by the signer." On SQLite and on MariaDB: 5,000 deposits of about 20,000
 * sat on a real regtest chain (fake node), 3,000 withdrawals of about 25,000
 * sat approved through the library the CLI uses (3,000 CLI processes would be
 * the whole run), then the real CLIs: `coldpool payout build` (--max-outputs
 * 3000, so weight alone splits), `coldpool-offline sign --manifest --trust`
 * on every part, `coldpool payout broadcast`. Each broadcast transaction
 * weighs under 400,000 WU (its own `weight()`, signatures and all), pays at
 * least the fee rate for its size from its own coins, and every withdrawal
 * is paid exactly once across the parts.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Psbt, payments } from 'bitcoinjs-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NETWORKS, toBitcoinjs } from '../src/core/network.js';
import { MAX_STANDARD_TX_WEIGHT, PAYOUT_WEIGHT_CAP } from '../src/core/psbt-build.js';
import { approver, testTrust, writeCliOperators } from './support/approvers.js';
import { approveWithdrawals } from './support/approved-withdrawals.js';
import { preparePool, syncOnce } from './support/chain-fixtures.js';
import { runCli, tempDir, type CliResult } from './support/cli.js';
import { FakeNode } from './support/fake-node.js';
import { openPayoutStore } from './support/open-repos.js';
import { freshDbUrl, type Cleanup } from './support/pool-fixtures.js';
import { fixtureSigner } from './support/psbt-fixtures.js';
import { RegtestChain, otherKey, poolKey, spend, type Utxo } from './support/regtest-chain.js';

const NET = toBitcoinjs(NETWORKS.regtest);
const PASSWORD = 'correct horse battery';
const COINS = 5_000;
const WITHDRAWALS = 3_000;
const PER_TX = 10;
const ADDRESSES = 100;
const coinValue = (k: number): bigint => 20_000n + BigInt(k % 97);
const amountOf = (k: number): bigint => 25_000n + BigInt(k % 13);
/** A distinct P2WPKH destination per withdrawal, not the pool's. */
const destination = (k: number): string => payments.p2wpkh({ hash: createHash('sha256').update(`split-${k}`).digest().subarray(0, 20), network: NET }).address!;

let node: FakeNode;
let dir: string;
let keystore: string;
let passwordFile: string;
let trustFile: string;
const cleanups: Cleanup[] = [];

/** 5,000 pool coins in 500 chained transactions of 10 (a small previous transaction per input keeps each PSBT small). */
function fundedChain(): RegtestChain {
  const chain = RegtestChain.create();
  chain.mineEmpty(2);
  const keys = Array.from({ length: ADDRESSES }, (_, i) => poolKey(0, i));
  let prev: Utxo = chain.coinbaseUtxos(chain.height)[0]!;
  const txs = [];
  for (let t = 0; t < COINS / PER_TX; t++) {
    const outs = Array.from({ length: PER_TX }, (_, j) => ({ key: keys[(t * PER_TX + j) % ADDRESSES]!, valueSat: coinValue(t * PER_TX + j) }));
    const rest = prev.valueSat - outs.reduce((s, o) => s + o.valueSat, 0n) - 2_000n;
    const tx = spend([prev], [...outs, { key: otherKey(0), valueSat: rest }]);
    txs.push(tx);
    prev = { txid: tx.getId(), vout: PER_TX, valueSat: rest, key: otherKey(0) };
  }
  chain.mine(txs);
  chain.mineEmpty(1);
  return chain;
}

beforeAll(async () => {
  dir = tempDir('coldpool-split-e2e-');
  ({ keystore, passwordFile } = await fixtureSigner(dir, PASSWORD));
  ({ trustFile } = await writeCliOperators(dir, 'regtest', ['op1'], 1));
  node = await new FakeNode(fundedChain()).start();
});

afterAll(async () => {
  await node.stop();
  for (const c of cleanups.splice(0)) await c();
});

function ok(r: CliResult): string {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

interface BuiltJson { id: string; unsigned_txid: string; psbt: string; manifest: string; inputs: number; input_total_sat: string; outputs: { withdrawal_id: string; amount_sat: string }[]; fee_sat: string }

describe.each(['sqlite', 'mariadb'] as const)('a payout of 3,000 withdrawals from 5,000 small coins on %s', (kind) => {
  it('is split into standard transactions, each under 400,000 WU, each signed and checked by the signer, every withdrawal paid once', async () => {
    const url = await freshDbUrl(kind, cleanups);
    await preparePool(url, ADDRESSES, 0);
    const synced = await syncOnce(url, node, 'rpc');
    expect(synced.outputs).toBe(COINS);
    const requests = Array.from({ length: WITHDRAWALS }, (_, k) => ({ appId: `${kind}-s-${k}`, user: `u${k}`, address: destination(k), amountSat: amountOf(k) }));
    const ids = await approveWithdrawals(url, requests, [approver('op1', testTrust('regtest', 1, ['op1']))]);

    const out = join(dir, `${kind}-split.psbt`);
    const parts = JSON.parse(ok(await runCli('coldpool', ['payout', 'build', '--trust', trustFile, '--fee-rate', '1', '--max-outputs', String(WITHDRAWALS), '--out', out,
      '--node', node.rpcUrl, '--db', url, '--operator', 'op1', '--json']))) as BuiltJson[];
    // by count one payout would do: the weight split made the parts
    expect(parts.length).toBeGreaterThanOrEqual(4);
    expect(parts.reduce((s, p) => s + p.inputs, 0)).toBeGreaterThan(3_000);

    const paid = new Map<string, number>();
    const log = join(dir, `${kind}-sign.jsonl`);
    for (const part of parts) {
      const signed = part.psbt.replace(/\.psbt$/, '.signed.psbt');
      const s = await runCli('coldpool-offline', ['sign', part.psbt, '--keystore', keystore, '--password-file', passwordFile, '--manifest', part.manifest, '--out', signed,
        '--log', log, '--trust', trustFile, ...(existsSync(log) ? [] : ['--new-log']), '--yes', '--json']);
      const signedJson = JSON.parse(ok(s)) as { signed: boolean; unsigned_txid: string; inputs_signed: number };
      expect(signedJson).toMatchObject({ signed: true, unsigned_txid: part.unsigned_txid, inputs_signed: part.inputs });
      ok(await runCli('coldpool', ['payout', 'broadcast', signed, '--confirm', part.unsigned_txid.slice(0, 8), '--node', node.rpcUrl, '--db', url, '--operator', 'op1', '--json']));

      const tx = node.mempool.get(part.unsigned_txid)!;
      expect(tx.weight()).toBeLessThan(MAX_STANDARD_TX_WEIGHT);
      expect(tx.weight()).toBeLessThanOrEqual(PAYOUT_WEIGHT_CAP);
      const inputTotal = Psbt.fromBase64(readFileSync(signed, 'utf8').trim()).data.inputs.reduce((sum, i) => sum + i.witnessUtxo!.value, 0n);
      expect(inputTotal).toBe(BigInt(part.input_total_sat));
      const fee = inputTotal - tx.outs.reduce((sum, o) => sum + o.value, 0n);
      expect(fee).toBe(BigInt(part.fee_sat));
      expect(fee * 1000n).toBeGreaterThanOrEqual(1_000n * BigInt(tx.virtualSize()));
      for (const o of part.outputs) paid.set(o.withdrawal_id, (paid.get(o.withdrawal_id) ?? 0) + 1);
    }
    expect(paid.size).toBe(WITHDRAWALS);
    expect([...paid.keys()].sort()).toEqual(ids.map(String).sort());
    expect([...paid.values()].every((n) => n === 1)).toBe(true);

    const store = openPayoutStore(url);
    try {
      const status = await store.withdrawalStatus(ids);
      expect([...status.values()].every((w) => w.status === 'broadcast')).toBe(true);
      expect(new Set([...status.values()].map((w) => String(w.payoutId))).size).toBe(parts.length);
    } finally {
      await store.close();
    }
    node.mempool.clear();
  }, 180_000);
});
