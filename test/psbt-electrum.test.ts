/**
 * Interop with Electrum 4.3.4 (Debian's python3-electrum, run offline by
 * test/electrum/psbt_tool.py under the system python):
 *
 * 1. a PSBT built by our fixtures is signed by Electrum and by
 *    `coldpool-offline sign`, and the final transactions are byte-identical
 *    (both RFC6979 with low-R grinding);
 * 2. a PSBT made by an Electrum wallet of the same account is inspected and
 *    signed by `coldpool-offline`, and finalizes;
 * 3. every signature `coldpool-offline` made is verified by Electrum's code.
 *
 * Skipped, with the reason, where python3-electrum is not installed (.ci/run installs it).
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Psbt } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './support/cli.js';
import { electrumUnavailable, SYSTEM_PYTHON } from './support/electrum.js';
import { buildPayout, externalAddress, FIXTURE_MNEMONIC, fixtureSigner } from './support/psbt-fixtures.js';

const PSBT_TOOL = fileURLToPath(new URL('./electrum/psbt_tool.py', import.meta.url));
const skipReason = electrumUnavailable();
const PASSWORD = 'correct horse battery';

/** Run a list of requests through psbt_tool.py in one Python process. */
export function electrumPsbt<T = Record<string, unknown>>(requests: readonly Record<string, unknown>[]): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(SYSTEM_PYTHON, [PSBT_TOOL], { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`psbt_tool.py failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as T[]);
    });
    child.stdin!.end(JSON.stringify(requests));
  });
}

interface SignResult { psbt: string; tx?: string; complete: boolean; inputs_signed: number }
interface VerifyResult { checked: number; valid: number; results: { input: number; valid: boolean }[] }

const verify = (pubkey: Uint8Array, msghash: Uint8Array, signature: Uint8Array): boolean => ecc.verify(msghash, pubkey, signature);

describe.skipIf(skipReason !== undefined)(`PSBT interop with Electrum${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dir: string;
  let keystore: string;
  let passwordFile: string;
  let n = 0;

  beforeAll(async () => {
    dir = tempDir('coldpool-electrum-psbt-');
    ({ keystore, passwordFile } = await fixtureSigner(dir, PASSWORD));
  });

  async function coldpoolSign(base64: string): Promise<Psbt> {
    const k = ++n;
    const input = join(dir, `in-${k}.psbt`);
    const out = join(dir, `out-${k}.psbt`);
    writeFileSync(input, `${base64}\n`);
    const r = await runCli('coldpool-offline', ['sign', input, '--keystore', keystore, '--password-file', passwordFile, '--out', out, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return Psbt.fromBase64(readFileSync(out, 'utf8').trim());
  }

  function finalHex(psbt: Psbt): string {
    const copy = Psbt.fromBase64(psbt.toBase64());
    expect(copy.validateSignaturesOfAllInputs(verify)).toBe(true);
    copy.finalizeAllInputs();
    return copy.extractTransaction().toHex();
  }

  it('a coldpool PSBT signed by Electrum and by coldpool-offline gives the same transaction, byte for byte', async () => {
    const payouts = [buildPayout(), buildPayout({ inputs: Array.from({ length: 12 }, (_, k) => BigInt(50_000 + 1_000 * k)) })];
    const electrum = await electrumPsbt<SignResult>(payouts.map((p) => ({ op: 'sign', net: 'regtest', mnemonic: FIXTURE_MNEMONIC, psbt: p.psbt.toBase64() })));
    for (const [k, p] of payouts.entries()) {
      expect(electrum[k]!.complete).toBe(true);
      expect(electrum[k]!.inputs_signed).toBe(p.psbt.inputCount);
      const ours = await coldpoolSign(p.psbt.toBase64());
      expect(finalHex(ours)).toBe(electrum[k]!.tx);
    }
  });

  it('a PSBT made by an Electrum wallet of the same account is inspected and signed by coldpool-offline', async () => {
    const funding = buildPayout({ inputs: [300_000n, 120_000n] }).psbt.data.inputs.map((i) => Buffer.from(i.nonWitnessUtxo!).toString('hex'));
    const [made] = await electrumPsbt<{ psbt: string; txid: string }>([{
      op: 'create', net: 'regtest', mnemonic: FIXTURE_MNEMONIC, funding,
      outputs: [{ address: externalAddress(0), value: 250_000 }, { address: externalAddress(1), value: 60_000 }], fee: 3_000,
    }]);
    const input = join(dir, 'electrum-made.psbt');
    writeFileSync(input, `${made!.psbt}\n`);
    const r = await runCli('coldpool-offline', ['inspect', input, '--keystore', keystore, '--password-file', passwordFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const review = JSON.parse(r.stdout) as {
      unsigned_txid: string; fee_sat: string; inputs: { ours: boolean; non_witness_utxo: string }[];
      outputs: { kind: string; amount_sat: string; address: string }[]; findings: { severity: string; code: string }[];
    };
    expect(review.unsigned_txid).toBe(made!.txid);
    expect(review.fee_sat).toBe('3000');
    expect(review.inputs.every((i) => i.ours && i.non_witness_utxo === 'match')).toBe(true);
    expect(review.outputs.filter((o) => o.kind === 'external').map((o) => o.address).sort()).toEqual([externalAddress(0), externalAddress(1)].sort());
    expect(review.outputs.filter((o) => o.kind === 'change')).toHaveLength(1);
    expect(review.findings.filter((f) => f.severity === 'refuse')).toEqual([]);

    const ours = await coldpoolSign(made!.psbt);
    const hex = finalHex(ours);
    const [theirs] = await electrumPsbt<SignResult>([{ op: 'sign', net: 'regtest', mnemonic: FIXTURE_MNEMONIC, psbt: made!.psbt }]);
    expect(hex).toBe(theirs!.tx);
  });

  it('every signature coldpool-offline makes is verified by Electrum\'s code', async () => {
    const payouts = [buildPayout(), buildPayout({ inputs: Array.from({ length: 25 }, (_, k) => BigInt(20_000 + 7 * k)) })];
    const signed = await Promise.all(payouts.map((p) => coldpoolSign(p.psbt.toBase64())));
    const results = await electrumPsbt<VerifyResult>(signed.map((s) => ({ op: 'verify', net: 'regtest', psbt: s.toBase64() })));
    for (const [k, s] of signed.entries()) {
      expect(results[k]!.checked).toBe(s.inputCount);
      expect(results[k]!.valid).toBe(s.inputCount);
    }
    // and Electrum's verifier does refuse a bad signature (the check is not vacuous)
    const tampered = Psbt.fromBase64(signed[0]!.toBase64());
    const sig = Buffer.from(tampered.data.inputs[0]!.partialSig![0]!.signature);
    sig[10] = sig[10]! ^ 1;
    tampered.data.inputs[0]!.partialSig![0]!.signature = sig;
    const [bad] = await electrumPsbt<VerifyResult>([{ op: 'verify', net: 'regtest', psbt: tampered.toBase64() }]);
    expect(bad!.valid).toBe(bad!.checked - 1);
  });
});
