/**
 * `coldpool demo --json` through the real, built CLI: exit 0, labelled as a
 * demo on stderr, a final transaction whose amounts balance exactly and whose
 * every signature verifies (checked here again, independently, from the raw
 * transaction and the spent outputs), and nothing written outside its own
 * temporary directory (the working directory and TMPDIR are left empty).
 * The verifier's step shows on the way (token mailed, masked; relayed;
 * attested), and with --keep its attestations are in the web database.
 */
import Sqlite from 'better-sqlite3';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { crypto as bcrypto, payments, script as bscript, Transaction } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import { parseApprovalContent } from '../src/core/approval.js';
import { verifyAttestation } from '../src/core/attestation.js';
import { publicKeyFromHex } from '../src/core/ed25519.js';
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
  verifier: { public_key: string; key_id: string; attestations: { withdrawal_id: string; key_id: string; verified: boolean }[] };
}

/** The verifier's step on stderr: init, a masked token mail per request, the relays, the attestations. */
function expectVerifierStep(stderr: string): void {
  expect(stderr).toMatch(/\[ 9\/21\] verifier init: verifier\.db and demo-verifier\.key/);
  expect(stderr).toMatch(/\[10\/21\] verifier run: 3 request\(s\) first seen, 3 one-time token\(s\) mailed/);
  const mails = stderr.split('\n').filter((l) => /^\s+mail to demo-\w+@example\.com: Confirm your withdrawal of /.test(l));
  expect(mails).toHaveLength(3);
  // the token is masked: four characters of the 43, then an ellipsis
  for (const m of mails) expect(m).toMatch(/ — link https:\/\/shop\.example\/confirm\?w=\d+&t=[A-Za-z0-9_-]{4}…$/);
  expect(stderr).toMatch(/\[11\/21\] withdrawals confirm 1 2 3: the web host relays the clicked tokens/);
  expect(stderr).toMatch(/\[12\/21\] verifier run: 3 confirmed, 3 attested, 3 published; attestations #1 verifies, #2 verifies, #3 verifies/);
  // the verifier's step comes after the requests and before the operators approve
  expect(stderr.indexOf('withdrawals request:')).toBeLessThan(stderr.indexOf('verifier init:'));
  expect(stderr.indexOf('verifier run: 3 confirmed')).toBeLessThan(stderr.indexOf('withdrawals approve'));
}

describe('coldpool demo', () => {
  it('runs the whole flow to a confirmed payout whose transaction verifies and balances, writing nothing outside its temp dir', async () => {
    const cwd = tempDir('coldpool-demo-cwd-');
    const tmp = tempDir('coldpool-demo-tmp-');
    const r = await runCli('coldpool', ['demo', '--json'], { cwd, env: { TMPDIR: tmp }, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
    expect(r.stderr.split('\n').filter((l) => l.includes('DEMO — regtest, throw-away keys, nothing here is real money'))).toHaveLength(2);
    expect(r.stderr).toMatch(/\[21\/21\] audit verify: ok/);
    expectVerifierStep(r.stderr);

    const d = JSON.parse(r.stdout) as DemoJson;
    expect(d).toMatchObject({ status: 'confirmed', balanced: true, verified: true, kept: false, audit: { ok: true } });
    expect(d.verifier.attestations).toEqual(['1', '2', '3'].map((id) => ({ withdrawal_id: id, key_id: d.verifier.key_id, verified: true })));
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

  it('--keep: the web database holds one attestation per request, signed by the verifier key the demo made; the verifier kept its own database', async () => {
    const parent = tempDir('coldpool-demo-keep-');
    const keep = join(parent, 'files');
    const r = await runCli('coldpool', ['demo', '--keep', keep, '--json'], { cwd: parent, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
    expectVerifierStep(r.stderr);
    const d = JSON.parse(r.stdout) as DemoJson;
    const web = new Sqlite(join(keep, 'coldpool.db'), { readonly: true });
    const rows = web.prepare('SELECT withdrawal_id, key_id, content, signature FROM attestations ORDER BY withdrawal_id').all() as { withdrawal_id: number; key_id: string; content: string; signature: string }[];
    web.close();
    expect(rows.map((a) => a.withdrawal_id)).toEqual([1, 2, 3]);
    for (const a of rows) {
      expect(a.key_id).toBe(d.verifier.key_id);
      const content = parseApprovalContent(JSON.parse(a.content));
      expect(verifyAttestation(content, a.signature, publicKeyFromHex(d.verifier.public_key))).toBe(true);
    }
    const own = new Sqlite(join(keep, 'verifier.db'), { readonly: true });
    const states = own.prepare('SELECT state, COUNT(*) AS n FROM requests GROUP BY state').all();
    const attested = own.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'attested'").get() as { n: number };
    own.close();
    expect(states).toEqual([{ state: 'attested', n: 3 }]);
    expect(attested.n).toBe(3);
    rmSync(parent, { recursive: true, force: true });
  }, 60_000);
});
