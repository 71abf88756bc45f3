/**
 * `coldpool-offline inspect` and `sign` through the real, built CLI: the happy
 * path (every input signs, verifies, finalizes; amounts balance exactly), and
 * each refusal the signer must make with a crafted PSBT: exit 3, the finding
 * named, no output file, nothing appended to the sign log.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { address as btcAddress, networks, Psbt, Transaction } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { beforeAll, describe, expect, it } from 'vitest';
import { NETWORKS } from '../src/core/network.js';
import type { PayoutManifest } from '../src/core/payout-manifest.js';
import { inspectPsbt, parsePsbt } from '../src/core/psbt-inspect.js';
import { accountFromSeed } from '../src/keys/account.js';
import { mnemonicToSeed } from '../src/keys/seed.js';
import { bip143AllHasher } from '../src/core/p2wpkh-signature.js';
import { runCli, tempDir } from './support/cli.js';
import {
  addForeignInput, buildPayout, externalAddress, fakeChange, FIXTURE_MNEMONIC, keyAt, lyingWitnessUtxo, manifestText, sighashNone, fixtureSigner, type Payout,
} from './support/psbt-fixtures.js';

const PASSWORD = 'correct horse battery';
let dir: string;
let keystore: string;
let passwordFile: string;
let counter = 0;

beforeAll(async () => {
  dir = tempDir('coldpool-sign-');
  ({ keystore, passwordFile } = await fixtureSigner(dir, PASSWORD));
});

interface Files { psbt: string; out: string; log: string; manifest?: string }

function files(p: { psbt: Psbt; manifest?: PayoutManifest | undefined }, binary = false): Files {
  const k = ++counter;
  const psbt = join(dir, `payout-${k}.psbt`);
  writeFileSync(psbt, binary ? p.psbt.toBuffer() : `${p.psbt.toBase64()}\n`);
  const f: Files = { psbt, out: join(dir, `signed-${k}.psbt`), log: join(dir, `sign-${k}.jsonl`) };
  if (p.manifest) {
    f.manifest = join(dir, `payout-${k}.manifest.json`);
    writeFileSync(f.manifest, manifestText(p.manifest));
  }
  return f;
}

function sign(f: Files, extra: string[] = []): ReturnType<typeof runCli> {
  return runCli('coldpool-offline', [
    'sign', f.psbt, '--keystore', keystore, '--password-file', passwordFile, '--out', f.out, '--log', f.log, '--yes', '--json',
    ...(f.manifest ? ['--manifest', f.manifest] : []), ...extra,
  ]);
}

const verify = (pubkey: Uint8Array, msghash: Uint8Array, signature: Uint8Array): boolean => ecc.verify(msghash, pubkey, signature);

describe('coldpool-offline sign: happy path', () => {
  it('signs every input; they verify, finalize, and amounts balance exactly', async () => {
    const payout = buildPayout({ inputs: [200_000n, 150_000n, 90_000n] });
    const f = files(payout);
    const r = await sign(f);
    expect(r.stderr).toMatch(/^warning: no trust file .*approvals were NOT checked/); // nothing else on stderr
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { signed: boolean; inputs_signed: number; unsigned_txid: string; review: { fee_sat: string; outputs: { kind: string; amount_sat: string }[] } };
    expect(result.inputs_signed).toBe(3);

    const signed = Psbt.fromBase64(readFileSync(f.out, 'utf8').trim());
    expect(signed.validateSignaturesOfAllInputs(verify)).toBe(true);
    signed.finalizeAllInputs();
    const tx = signed.extractTransaction();
    expect(tx.getId()).toBe(result.unsigned_txid); // segwit: the txid does not change with signatures
    const inputs = signed.data.inputs.reduce((s, i) => s + i.witnessUtxo!.value, 0n);
    const external = tx.outs.slice(0, 2).reduce((s, o) => s + o.value, 0n);
    const change = tx.outs[2]!.value;
    const fee = BigInt(result.review.fee_sat);
    expect(inputs).toBe(payout.inputTotal);
    expect(inputs).toBe(external + change + fee);
    expect(fee).toBe(payout.fee);
    expect(fee).toBeGreaterThanOrEqual(0n);
    // every signature low R (Electrum and Core grind for it): DER r length 32 -> signature 71 bytes with the sighash byte
    for (const w of tx.ins.map((i) => i.witness)) expect(w[0]!.length).toBeLessThanOrEqual(71);
    // the estimated vsize of the unsigned PSBT is an upper bound, within a byte per input
    const est = inspectPsbt(payout.psbt, { network: NETWORKS.regtest }).vsize;
    expect(est).toBeGreaterThanOrEqual(tx.virtualSize());
    expect(est - tx.virtualSize()).toBeLessThanOrEqual(1);

    const log = readFileSync(f.log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { unsigned_txid: string; fee_sat: string; fingerprint: string; outputs: unknown[] });
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ unsigned_txid: result.unsigned_txid, fee_sat: String(payout.fee), fingerprint: keyAt(0, 0).fingerprint.toString('hex') });
    expect(log[0]!.outputs).toHaveLength(3);
  });

  it('signs a binary PSBT with a matching manifest and writes binary; a second run appends to the log', async () => {
    const payout = buildPayout();
    const f = files(payout, true);
    expect((await sign(f)).code).toBe(0);
    const bytes = readFileSync(f.out);
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('psbt\xff');
    expect(Psbt.fromBuffer(bytes).validateSignaturesOfAllInputs(verify)).toBe(true);
    const again = await sign({ ...f, out: `${f.out}.2` });
    expect(again.code).toBe(0);
    expect(readFileSync(f.log, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('our cached BIP143 hashes equal bitcoinjs hashForWitnessV0 for every input', () => {
    const payout = buildPayout({ inputs: [1n * 100_000n, 2n * 100_000n, 3n * 100_000n, 4n * 100_000n] });
    const tx = Transaction.fromBuffer(Buffer.from(payout.psbt.data.getTransaction()));
    const ours = bip143AllHasher(tx);
    payout.psbt.data.inputs.forEach((input, i) => {
      const pub = input.bip32Derivation![0]!.pubkey;
      const scriptCode = Buffer.concat([Buffer.from('76a914', 'hex'), Buffer.from(input.witnessUtxo!.script.subarray(2)), Buffer.from('88ac', 'hex')]);
      expect(Buffer.from(ours(i, scriptCode, input.witnessUtxo!.value)).toString('hex'))
        .toBe(Buffer.from(tx.hashForWitnessV0(i, scriptCode, input.witnessUtxo!.value, Transaction.SIGHASH_ALL)).toString('hex'));
      expect(pub.length).toBe(33);
    });
  });

  it('refuses without --yes when stdin is not a terminal (USAGE, exit 2), and never overwrites --out', async () => {
    const f = files(buildPayout());
    const r = await runCli('coldpool-offline', ['sign', f.psbt, '--keystore', keystore, '--password-file', passwordFile, '--out', f.out, '--log', f.log]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--yes/);
    expect(existsSync(f.out)).toBe(false);
    writeFileSync(f.out, 'keep me');
    const r2 = await sign(f);
    expect(r2.code).toBe(4);
    expect(readFileSync(f.out, 'utf8')).toBe('keep me');
    expect(existsSync(f.log)).toBe(false);
  });
});

interface Refusal {
  readonly name: string;
  readonly make: () => { psbt: Psbt; manifest?: PayoutManifest | undefined };
  readonly code: string;
  readonly message: RegExp;
  readonly extra?: (dir: string) => string[];
}

function withManifest(p: Payout, edit: (m: PayoutManifest) => PayoutManifest): { psbt: Psbt; manifest: PayoutManifest } {
  return { psbt: p.psbt, manifest: edit(p.manifest) };
}

const REFUSALS: Refusal[] = [
  {
    name: 'foreign input: our fingerprint and path, someone else\'s key',
    make: () => { const p = buildPayout(); addForeignInput(p.psbt, { fingerprint: 'ours' }); return p; },
    code: 'FOREIGN_INPUT', message: /input 2 .*does not derive from this seed/,
  },
  {
    name: 'foreign input: another master fingerprint',
    make: () => { const p = buildPayout(); addForeignInput(p.psbt, { fingerprint: 'foreign' }); return p; },
    code: 'FOREIGN_INPUT', message: /input 2 .*is not ours: its derivation is for master fingerprint/,
  },
  {
    name: 'lying witness_utxo (value differs from non_witness_utxo)',
    make: () => lyingWitnessUtxo(),
    code: 'WITNESS_UTXO_MISMATCH', message: /input 0: witness_utxo says 1200000 sat .* pays 200000 sat/,
  },
  {
    name: 'fake change (our derivation, someone else\'s script)',
    make: () => fakeChange(),
    code: 'FAKE_CHANGE', message: /output 2 .*claims to be ours but derivation m\/84'\/1'\/0'\/1\/3 derives to script/,
  },
  {
    name: 'wrong network: a mainnet PSBT (m/84\'/0\'/…) given to the regtest signer',
    make: () => buildPayout({ coin: 0 }),
    code: 'NETWORK_MISMATCH', message: /coin type 0' \(mainnet\) but the account is regtest/,
  },
  {
    name: 'wrong network: the manifest pays a mainnet address',
    make: () => withManifest(buildPayout(), (m) => ({
      ...m,
      outputs: m.outputs.map((o, k) => (k === 0 ? { ...o, address: btcAddress.fromOutputScript(btcAddress.toOutputScript(o.address, networks.regtest), networks.bitcoin) } : o)),
    })),
    code: 'NETWORK_MISMATCH', message: /manifest address bc1q.*expected a regtest address/,
  },
  {
    name: 'excessive fee (above the 1,000,000 sat default cap)',
    make: () => buildPayout({ inputs: [3_000_000n], outputs: [{ address: externalAddress(0), value: 100_000n }], change: null }),
    code: 'FEE_TOO_HIGH', message: /fee 2900000 sat is above the cap of 1000000 sat \(defaults\)/,
  },
  {
    name: 'excessive fee rate (above the cap in the signer config)',
    make: () => buildPayout(),
    code: 'FEE_RATE_TOO_HIGH', message: /fee rate 10\.041 sat\/vB .* is above the cap of 5 sat\/vB/,
    extra: (d) => {
      const config = join(d, `signer-${++counter}.json`);
      writeFileSync(config, '{"max_fee_rate_sat_vb": 5}\n');
      return ['--config', config];
    },
  },
  {
    name: 'an output not in the manifest',
    make: () => withManifest(buildPayout(), (m) => ({ ...m, outputs: m.outputs.slice(0, 1) })),
    code: 'NOT_IN_MANIFEST', message: /output 1 pays 80000 sat to bcrt1q\S+, which is not in the manifest/,
  },
  {
    name: 'an amount that differs from the manifest',
    make: () => withManifest(buildPayout(), (m) => ({ ...m, outputs: m.outputs.map((o, k) => (k === 0 ? { ...o, amountSat: 110_000n } : o)) })),
    code: 'AMOUNT_MISMATCH', message: /output 0 pays 120000 sat to bcrt1q\S+ but withdrawal w-1 in the manifest is 110000 sat/,
  },
  {
    name: 'SIGHASH_NONE requested',
    make: () => sighashNone(),
    code: 'SIGHASH_NOT_ALL', message: /input 0 asks for sighash NONE; only ALL is signed/,
  },
];

describe.concurrent('coldpool-offline sign: refusals (exit 3, nothing written, nothing logged)', () => {
  it.each(REFUSALS)('$name -> $code', async ({ make, code, message, extra }) => {
    const f = files(make());
    const r = await sign(f, extra ? extra(dir) : []);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toBe('');
    const err = JSON.parse(r.stderr) as { error: { code: string; message: string; context: { findings: { code: string; message: string }[] } } };
    expect(err.error.code).toBe('REFUSED');
    const hit = err.error.context.findings.find((x) => x.code === code);
    expect(hit, JSON.stringify(err.error.context.findings)).toBeDefined();
    expect(hit!.message).toMatch(message);
    expect(existsSync(f.out)).toBe(false);
    expect(existsSync(f.log)).toBe(false);
  });

  it('prints the review and the reason in plain text too', async () => {
    const f = files(sighashNone());
    const r = await runCli('coldpool-offline', ['sign', f.psbt, '--keystore', keystore, '--password-file', passwordFile, '--out', f.out, '--log', f.log, '--yes']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/outputs: 3/);
    expect(r.stdout).toMatch(/REFUSE SIGHASH_NOT_ALL/);
    expect(r.stderr).toMatch(/^error: refusing to sign .*SIGHASH_NOT_ALL/m);
    expect(existsSync(f.out)).toBe(false);
  });
});

describe('coldpool-offline inspect', () => {
  it('with --keystore: inputs ours with paths, change recognised, fee, no findings', async () => {
    const payout = buildPayout();
    const f = files(payout);
    const r = await runCli('coldpool-offline', ['inspect', f.psbt, '--keystore', keystore, '--password-file', passwordFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const review = JSON.parse(r.stdout) as { inputs: { ours: boolean; path: string }[]; outputs: { kind: string }[]; fee_sat: string; findings: unknown[]; inputs_signed: number };
    expect(review.inputs.map((i) => [i.ours, i.path])).toEqual([[true, "m/84'/1'/0'/0/0"], [true, "m/84'/1'/0'/0/1"]]);
    expect(review.outputs.map((o) => o.kind)).toEqual(['external', 'external', 'change']);
    expect(review.fee_sat).toBe(String(payout.fee));
    expect(review.findings).toEqual([]);
    expect(review.inputs_signed).toBe(0);
  });

  it('with neither keystore nor descriptor: shows amounts and fee without claiming anything is ours', async () => {
    const f = files(buildPayout());
    const r = await runCli('coldpool-offline', ['inspect', f.psbt, '--network', 'regtest', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const review = JSON.parse(r.stdout) as { inputs: { ours: null }[]; outputs: { kind: string }[]; findings: { code: string }[] };
    expect(review.inputs.every((i) => i.ours === null)).toBe(true);
    expect(review.findings.map((x) => x.code)).toEqual(['ACCOUNT_UNKNOWN']);
  });

  it('with a descriptor, after signing: shows the signatures present', async () => {
    const payout = buildPayout();
    const f = files(payout);
    expect((await sign(f)).code).toBe(0);
    const account = accountFromSeed(mnemonicToSeed(FIXTURE_MNEMONIC), NETWORKS.regtest);
    const { formatAccountDescriptor } = await import('../src/core/descriptor.js');
    const r = await runCli('coldpool-offline', ['inspect', f.out, '--descriptor', formatAccountDescriptor(account), '--network', 'regtest']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/inputs: 2, ours 2, signed 2/);
    expect(r.stdout).toMatch(/change\s+m\/84'\/1'\/0'\/1\/3/);
    const reparsed = parsePsbt(readFileSync(f.out));
    expect(reparsed.data.inputs.every((i) => i.partialSig?.length === 1)).toBe(true);
  });
});
