/**
 * The approval check of the review in-process (core/psbt-inspect.ts with a
 * trust file): the cases the CLI tests do not reach, and that a review with
 * neither a trust file nor approvals is shaped as before.
 */
import { describe, expect, it } from 'vitest';
import { reviewWire } from '../src/cli/offline/psbt-review.js';
import { NETWORKS } from '../src/core/network.js';
import { inspectPsbt, parsePsbt, refusals } from '../src/core/psbt-inspect.js';
import { DEFAULT_SIGNER_POLICY, parseSignerPolicy } from '../src/core/signer-policy.js';
import type { Trust } from '../src/core/trust.js';
import { accountFromSeed } from '../src/keys/account.js';
import { mnemonicToSeed } from '../src/keys/seed.js';
import { approved, buildPayout, FIXTURE_MNEMONIC, keyAt, testOperator, trustOf, type Payout } from './support/psbt-fixtures.js';

const account = accountFromSeed(mnemonicToSeed(FIXTURE_MNEMONIC), NETWORKS.regtest);
const trust = trustOf(['alice', 'bob', 'carol'], 2);

function review(p: Payout, opts: { manifest?: Payout['manifest'] | null; trust?: Trust; policy?: typeof DEFAULT_SIGNER_POLICY } = {}) {
  const manifest = opts.manifest === null ? undefined : opts.manifest ?? p.manifest;
  return inspectPsbt(parsePsbt(p.psbt.toBase64()), { network: NETWORKS.regtest, account, policy: opts.policy ?? DEFAULT_SIGNER_POLICY, manifest, trust: opts.trust });
}

describe('approvals in the review', () => {
  it('without a trust file and without approvals: no approval field anywhere (the JSON is as before)', () => {
    const r = review(buildPayout());
    expect(r.outputs.every((o) => !('approval' in o))).toBe(true);
    const wire = reviewWire(r) as { outputs: Record<string, unknown>[] };
    expect(Object.keys(wire.outputs[0]!)).toEqual(['index', 'address', 'script_hex', 'amount_sat', 'kind', 'path', 'withdrawal_id']);
  });

  it('covered: no findings; change carries no approval and needs none', () => {
    const p = buildPayout();
    const r = review(p, { manifest: approved(p), trust });
    expect(refusals(r)).toEqual([]);
    expect(r.outputs.map((o) => o.approval?.covered)).toEqual([true, true, undefined]);
    expect(r.outputs[0]!.approval!.approvers.map((a) => a.operator)).toEqual(['alice', 'bob']);
  });

  it('a payment to our own receive chain is not external: it needs no approval and does not count against the payout cap', () => {
    const p = buildPayout({ outputs: [{ address: keyAt(0, 40).address, value: 120_000n }] });
    // a receive-chain output is recognised only with its derivation, as payout build would add it
    const k = keyAt(0, 40);
    p.psbt.updateOutput(0, { bip32Derivation: [{ masterFingerprint: k.fingerprint, pubkey: k.pubkey, path: k.path }] });
    const r = review(p, { trust, policy: parseSignerPolicy('{"max_payout_sat": "1"}', 'cfg') });
    expect(r.outputs[0]!.kind).toBe('ours');
    expect(refusals(r).map((f) => f.code)).not.toContain('APPROVAL_MISSING');
    expect(refusals(r).map((f) => f.code)).not.toContain('PAYOUT_CAP');
  });

  it('a trust file without a manifest: MANIFEST_REQUIRED (inspect shows it, sign refuses before the password)', () => {
    const r = review(buildPayout(), { manifest: null, trust });
    expect(refusals(r).map((f) => f.code)).toEqual(['MANIFEST_REQUIRED']);
  });

  it('a trust file for another network: NETWORK_MISMATCH, and its approvals count for nothing', () => {
    const p = buildPayout();
    const r = review(p, { manifest: approved(p), trust: trustOf(['alice', 'bob'], 2, { net: 'testnet' }) });
    const codes = refusals(r).map((f) => f.code);
    expect(codes).toContain('NETWORK_MISMATCH');
    expect(codes).toContain('APPROVALS_TOO_FEW');
    expect(r.outputs[0]!.approval!.approvers.map((a) => a.problem)).toEqual(['wrong network', 'wrong network']);
  });

  it('without a trust file the approvers show by key id, unchecked, and nothing is refused for them', () => {
    const p = buildPayout();
    const r = review(p, { manifest: approved(p, { signers: () => [testOperator('mallory')] }) });
    expect(refusals(r)).toEqual([]);
    expect(r.outputs[0]!.approval).toMatchObject({ covered: null, required: null, approvers: [{ keyId: testOperator('mallory').id, operator: null, valid: null }] });
  });
});
