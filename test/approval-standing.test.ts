import { describe, expect, it } from 'vitest';
import { approvalContentFor, approvalContentJson, signApproval } from '../src/core/approval.js';
import { approvalStanding, payability, type StoredApproval } from '../src/core/approval-standing.js';
import { signAttestation } from '../src/core/attestation.js';
import { withVerifier as withVerifierKey } from '../src/core/trust.js';
import { keyIdOf, publicKeyHex } from '../src/core/ed25519.js';
import { NETWORKS } from '../src/core/network.js';
import { fingerprint, type RequestContent } from '../src/core/withdrawal-rules.js';
import { keyOf, testTrust } from './support/approvers.js';

/**
 * What stored approval rows are worth, decided on the operator box from the
 * rows as read: the rows are the web host's to write, so each is believed
 * only when its content is the request's content now and its signature
 * verifies under the box's trust file.
 */
const P2WSH = 'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7';
const request: RequestContent = { id: 7n, appId: 'w-7', user: 'alice', destination: P2WSH, amountSat: 150_000n, createdAt: '2026-12-03T00:00:00.000Z' };
const seen = fingerprint(request);
const trust = testTrust('testnet', 2);
const content = approvalContentFor(NETWORKS.testnet, request, seen);
const text = JSON.stringify(approvalContentJson(content));

function row(name: string, over: Partial<StoredApproval> = {}): StoredApproval {
  const key = keyOf(name);
  return { keyId: keyIdOf(publicKeyHex(key)), operator: name, content: text, signature: signApproval(content, key), ...over };
}

describe('approvalStanding', () => {
  it('two distinct trusted signatures over the content now cover a requirement of 2; one key twice does not', () => {
    expect(approvalStanding(trust, content, [row('op1'), row('op2')]).covered).toBe(true);
    const twice = approvalStanding(trust, content, [row('op1'), row('op1')]);
    expect([twice.covered, twice.valid.length, twice.problems.map((p) => p.problem)]).toEqual([false, 1, ['duplicate key']]);
  });

  it('a row over other content is mismatched, not weighed; the policy can raise the requirement, never lower it', () => {
    const other = approvalContentFor(NETWORKS.testnet, { ...request, amountSat: 990_000n }, seen);
    const s = approvalStanding(trust, content, [row('op1'), row('op2', { content: JSON.stringify(approvalContentJson(other)), signature: signApproval(other, keyOf('op2')) })]);
    expect([s.covered, s.mismatched, s.matching.length]).toEqual([false, 1, 1]);
    expect(approvalStanding(trust, content, [row('op1'), row('op2')], 3).required).toBe(3);
    expect(approvalStanding(trust, content, [row('op1'), row('op2')], 1).required).toBe(2);
  });
});

describe('payability', () => {
  it('carries, per operator, the signature that counted: a forged row under the same key id goes nowhere', () => {
    const forged = row('op1', { signature: 'ab'.repeat(64) });
    const p = payability(NETWORKS.testnet, trust, { request, seenFingerprint: seen, approvals: [row('op1'), forged, row('op2')], attestations: [] });
    expect(p.payable).toBe(true);
    if (!p.payable) return;
    expect(p.signatures.map((s) => s.signature)).toEqual([row('op1').signature, row('op2').signature]);
  });

  it.each([
    ['never seen by an operator', { seenFingerprint: undefined, approvals: [row('op1'), row('op2')] }],
    ['changed after approval', { request: { ...request, amountSat: 990_000n }, approvals: [row('op1'), row('op2')] }],
    ['approvals missing', { approvals: [row('op1'), row('stranger')] }],
  ] as const)('left out: %s', (reason, over) => {
    const p = payability(NETWORKS.testnet, trust, { request, seenFingerprint: seen, attestations: [], ...over });
    expect(p).toMatchObject({ payable: false, reason });
  });
});

describe('payability with a verifier in the trust file', () => {
  const verifier = keyOf('the-verifier');
  const withVerifier = withVerifierKey(trust, publicKeyHex(verifier));
  const attestation = (c = content, key = verifier) => ({ keyId: keyIdOf(publicKeyHex(key)), content: JSON.stringify(approvalContentJson(c)), signature: signAttestation(c, key) });
  const approvals = [row('op1'), row('op2')];

  it('attested: payable, carrying the attestation that verified (not a forged row beside it)', () => {
    const forged = { ...attestation(), signature: 'cd'.repeat(64) };
    const p = payability(NETWORKS.testnet, withVerifier, { request, seenFingerprint: seen, approvals, attestations: [forged, attestation()] });
    expect(p).toMatchObject({ payable: true, attestation: { keyId: keyIdOf(publicKeyHex(verifier)), signature: attestation().signature } });
  });

  it('no attestation: left out as not attested (missing); forged or other-content rows: not attested (invalid)', () => {
    const missing = payability(NETWORKS.testnet, withVerifier, { request, seenFingerprint: seen, approvals, attestations: [] });
    expect(missing).toMatchObject({ payable: false, reason: 'not attested', detail: expect.stringMatching(/has no attestation by verifier/) });
    const other = approvalContentFor(NETWORKS.testnet, { ...request, amountSat: 990_000n }, seen);
    for (const rows of [[{ ...attestation(), signature: 'ab'.repeat(64) }], [attestation(content, keyOf('op1'))], [attestation(other)]]) {
      const p = payability(NETWORKS.testnet, withVerifier, { request, seenFingerprint: seen, approvals, attestations: rows });
      expect(p).toMatchObject({ payable: false, reason: 'not attested', detail: expect.stringMatching(/none valid under verifier .* \(forged or edited\?\)/) });
    }
  });

  it('without a verifier the attestation rows are not looked at', () => {
    const p = payability(NETWORKS.testnet, trust, { request, seenFingerprint: seen, approvals, attestations: [{ ...attestation(), signature: 'ab'.repeat(64) }] });
    expect(p).toMatchObject({ payable: true, attestation: undefined });
  });
});
