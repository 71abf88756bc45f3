/**
 * `coldpool demo --json` through the real, built CLI: exit 0, labelled as a
 * demo on stderr, a final transaction whose amounts balance exactly and whose
 * every signature verifies (checked here again, independently, from the raw
 * transaction and the spent outputs), and nothing written outside its own
 * temporary directory (the working directory and TMPDIR are left empty).
 */
import { readdirSync } from 'node:fs';
import { crypto as bcrypto, payments, script as bscript, Transaction } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './support/cli.js';

interface DemoJson {
  txid: string;
  tx_hex: string;
  fee_sat: string;
  input_total_sat: string;
  withdrawals_total_sat: string;
  change_sat: string;
  inputs: { txid: string; vout: number; amount_sat: string; script: string }[];
  outputs: { withdrawal_id: string | null; address: string; amount_sat: string; kind: 'withdrawal' | 'change' }[];
  balanced: boolean;
  verified: boolean;
  status: string;
  kept: boolean;
  audit: { ok: boolean };
}

describe('coldpool demo', () => {
  it('runs the whole flow to a confirmed payout whose transaction verifies and balances, writing nothing outside its temp dir', async () => {
    const cwd = tempDir('coldpool-demo-cwd-');
    const tmp = tempDir('coldpool-demo-tmp-');
    const r = await runCli('coldpool', ['demo', '--json'], { cwd, env: { TMPDIR: tmp }, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
    expect(r.stderr.split('\n').filter((l) => l.includes('DEMO — regtest, throw-away keys, nothing here is real money'))).toHaveLength(2);
    expect(r.stderr).toMatch(/\[17\/17\] audit verify: ok/);

    const d = JSON.parse(r.stdout) as DemoJson;
    expect(d).toMatchObject({ status: 'confirmed', balanced: true, verified: true, kept: false, audit: { ok: true } });
    const tx = Transaction.fromHex(d.tx_hex);
    expect(tx.getId()).toBe(d.txid);

    // amounts: inputs = withdrawals + change + fee, exactly, and the same in the raw transaction
    const inputs = d.inputs.reduce((s, i) => s + BigInt(i.amount_sat), 0n);
    const withdrawals = d.outputs.filter((o) => o.kind === 'withdrawal').reduce((s, o) => s + BigInt(o.amount_sat), 0n);
    const change = d.outputs.filter((o) => o.kind === 'change').reduce((s, o) => s + BigInt(o.amount_sat), 0n);
    expect(d.outputs.filter((o) => o.kind === 'withdrawal')).toHaveLength(3);
    expect(inputs).toBe(BigInt(d.input_total_sat));
    expect(withdrawals).toBe(BigInt(d.withdrawals_total_sat));
    expect(change).toBe(BigInt(d.change_sat));
    expect(inputs).toBe(withdrawals + change + BigInt(d.fee_sat));
    expect(tx.outs.reduce((s, o) => s + o.value, 0n)).toBe(withdrawals + change);
    expect(BigInt(d.fee_sat)).toBeGreaterThan(0n);

    // every input: a P2WPKH output of the pool, signed SIGHASH_ALL by the key it names
    expect(tx.ins).toHaveLength(d.inputs.length);
    for (const [n, input] of tx.ins.entries()) {
      const prev = d.inputs[n]!;
      expect(Buffer.from(input.hash).reverse().toString('hex')).toBe(prev.txid);
      expect(input.index).toBe(prev.vout);
      const script = Buffer.from(prev.script, 'hex');
      expect(script.subarray(0, 2).toString('hex')).toBe('0014');
      const [sigBytes, pubkey] = input.witness as [Uint8Array, Uint8Array];
      expect(Buffer.from(bcrypto.hash160(pubkey)).equals(script.subarray(2))).toBe(true);
      const sig = bscript.signature.decode(sigBytes);
      expect(sig.hashType).toBe(Transaction.SIGHASH_ALL);
      const hash = tx.hashForWitnessV0(n, payments.p2pkh({ hash: script.subarray(2) }).output!, BigInt(prev.amount_sat), Transaction.SIGHASH_ALL);
      expect(ecc.verify(hash, pubkey, sig.signature, true)).toBe(true);
    }

    // nothing left behind: not in the working directory, not in TMPDIR (its own directory was removed)
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  }, 60_000);
});
