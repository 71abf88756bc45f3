/**
 * psbt-inspect, payout-manifest and signer-policy in-process: the findings
 * the CLI tests do not reach, the manifest and config parsers (strict), and
 * the balance property inputs = external + change + fee for random payouts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NETWORKS } from '../src/core/network.js';
import { formatManifest, parseManifest } from '../src/core/payout-manifest.js';
import { inspectPsbt, parsePsbt, refusals } from '../src/core/psbt-inspect.js';
import { DEFAULT_SIGNER_POLICY, parseSignerPolicy } from '../src/core/signer-policy.js';
import { accountFromSeed } from '../src/keys/account.js';
import { mnemonicToSeed } from '../src/keys/seed.js';
import { buildPayout, externalAddress, FIXTURE_MNEMONIC } from './support/psbt-fixtures.js';

const account = accountFromSeed(mnemonicToSeed(FIXTURE_MNEMONIC), NETWORKS.regtest);
const review = (p: ReturnType<typeof buildPayout>, manifest = false) =>
  inspectPsbt(parsePsbt(p.psbt.toBase64()), { network: NETWORKS.regtest, account, policy: DEFAULT_SIGNER_POLICY, ...(manifest ? { manifest: p.manifest } : {}) });
const codes = (r: ReturnType<typeof review>) => refusals(r).map((f) => f.code);

describe('inspectPsbt findings', () => {
  it('a clean payout with its manifest has no finding, and names each withdrawal', () => {
    const r = review(buildPayout(), true);
    expect(r.findings).toEqual([]);
    expect(r.outputs.map((o) => o.withdrawalId)).toEqual(['w-1', 'w-2', null]);
  });

  it('NEGATIVE_FEE when outputs exceed inputs', () => {
    expect(codes(review(buildPayout({ inputs: [100_000n], outputs: [{ address: externalAddress(0), value: 100_001n }], change: null })))).toEqual(['NEGATIVE_FEE']);
  });

  it('MISSING_UTXO when an input has neither witness_utxo nor non_witness_utxo', () => {
    const p = buildPayout({ noNonWitness: true });
    delete p.psbt.data.inputs[1]!.witnessUtxo;
    expect(codes(review(p))).toContain('MISSING_UTXO');
  });

  it('without non_witness_utxo: a warning, not a refusal', () => {
    const r = review(buildPayout({ noNonWitness: true }));
    expect(refusals(r)).toEqual([]);
    expect(r.findings.map((f) => f.code)).toEqual(['NO_NON_WITNESS_UTXO', 'NO_NON_WITNESS_UTXO']);
  });

  it('MANIFEST_OUTPUT_MISSING and MANIFEST_TXID_MISMATCH when the manifest pays a withdrawal the PSBT does not', () => {
    const p = buildPayout();
    const extra = { ...p.manifest, unsignedTxid: '00'.repeat(32), outputs: [...p.manifest.outputs, { withdrawalId: 'w-9', address: externalAddress(5), amountSat: 1_000n }] };
    const r = inspectPsbt(p.psbt, { network: NETWORKS.regtest, account, manifest: extra });
    expect(codes(r).sort()).toEqual(['MANIFEST_OUTPUT_MISSING', 'MANIFEST_TXID_MISMATCH']);
  });

  it('CHANGE_MISMATCH when the manifest change amount differs', () => {
    const p = buildPayout();
    const m = { ...p.manifest, change: [{ ...p.manifest.change[0]!, amountSat: p.manifest.change[0]!.amountSat + 1n }] };
    expect(codes(inspectPsbt(p.psbt, { network: NETWORKS.regtest, account, manifest: m }))).toEqual(['CHANGE_MISMATCH']);
  });

  it('NOTHING_TO_SIGN when no input is ours', () => {
    const p = buildPayout();
    for (const i of p.psbt.data.inputs) i.bip32Derivation = [];
    expect(codes(review(p))).toEqual(['FOREIGN_INPUT', 'FOREIGN_INPUT', 'NOTHING_TO_SIGN']);
  });

  it('refuses an account for another network than the one in use', () => {
    expect(() => inspectPsbt(buildPayout().psbt, { network: NETWORKS.testnet, account })).toThrow(/account is for regtest/);
  });

  it('inputs = external + change + fee, fee >= 0, for random payouts', () => {
    fc.assert(fc.property(
      fc.array(fc.bigInt({ min: 10_000n, max: 5_000_000n }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.bigInt({ min: 546n, max: 1_000_000n }), { minLength: 1, maxLength: 5 }),
      (ins, outs) => {
        const total = ins.reduce((s, v) => s + v, 0n);
        const paid = outs.reduce((s, v) => s + v, 0n);
        fc.pre(paid + 5_000n < total);
        const p = buildPayout({ inputs: ins, outputs: outs.map((v, k) => ({ address: externalAddress(k), value: v })), change: { index: 1, value: total - paid - 3_000n } });
        const r = review(p);
        expect(r.inputTotalSat).toBe(total);
        expect(r.externalTotalSat + r.changeTotalSat + r.feeSat!).toBe(r.inputTotalSat);
        expect(r.feeSat).toBe(3_000n);
        expect(refusals(r)).toEqual([]);
      },
    ), { numRuns: 25 });
  });
});

describe('payout manifest', () => {
  it('round-trips through formatManifest and parseManifest', () => {
    const m = buildPayout().manifest;
    expect(parseManifest(formatManifest(m))).toEqual({ ...m, change: m.change.map((c) => ({ ...c, path: undefined })) });
  });
  it.each([
    ['an unknown key', (m: Record<string, unknown>) => ({ ...m, note: 'x' }), /unknown key\(s\) "note"/],
    ['a float amount', (m: Record<string, unknown>) => ({ ...m, outputs: [{ withdrawal_id: 'a', address: externalAddress(0), amount_sat: 1.5 }] }), /decimal string of satoshis/],
    ['a duplicate withdrawal id', (m: Record<string, unknown>) => ({ ...m, outputs: [{ withdrawal_id: 'a', address: externalAddress(0), amount_sat: '1' }, { withdrawal_id: 'a', address: externalAddress(1), amount_sat: '2' }] }), /appears twice/],
    ['version 2', (m: Record<string, unknown>) => ({ ...m, version: 2 }), /"version" expected 1/],
    ['a bad txid', (m: Record<string, unknown>) => ({ ...m, unsigned_txid: 'XYZ' }), /unsigned_txid/],
  ])('refuses %s', (_name, edit, message) => {
    const base = JSON.parse(formatManifest(buildPayout().manifest)) as Record<string, unknown>;
    expect(() => parseManifest(JSON.stringify(edit(base)))).toThrow(message);
  });
});

describe('signer policy', () => {
  it('defaults are 1,000,000 sat and 500 sat/vB', () => {
    expect(DEFAULT_SIGNER_POLICY).toMatchObject({ maxFeeSat: 1_000_000n, maxFeeRateSatKvb: 500_000n });
    expect(parseSignerPolicy('{}', 'f')).toMatchObject({ maxFeeSat: 1_000_000n, maxFeeRateSatKvb: 500_000n, source: 'f' });
  });
  it('parses sat/vB with decimals and sat strings', () => {
    expect(parseSignerPolicy('{"max_fee_sat":"250000","max_fee_rate_sat_vb":"12.5"}', 'f')).toMatchObject({ maxFeeSat: 250_000n, maxFeeRateSatKvb: 12_500n });
    expect(parseSignerPolicy('{"max_fee_rate_sat_kvb":2000}', 'f')).toMatchObject({ maxFeeRateSatKvb: 2_000n });
  });
  it.each([['{"max_fee":1}', /unknown key/], ['{"max_fee_sat":0}', /positive integer/], ['{"max_fee_rate_sat_vb":"1.2345"}', /at most 3 decimals/], ['[]', /JSON object/], ['{"max_fee_rate_sat_vb":1,"max_fee_rate_sat_kvb":1}', /not both/]])(
    'refuses %s', (text, message) => expect(() => parseSignerPolicy(text, 'f')).toThrow(message));
});
