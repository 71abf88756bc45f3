/**
 * The verifier's attestation (core/attestation.ts): a pinned vector, and
 * checkAttestation against what someone with the web database would write:
 * a random signature, another key's, another request's, an operator's
 * approval signature passed off as an attestation.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { approvalContentFor, approvalContentJson, signApproval, type ApprovalContent } from '../src/core/approval.js';
import { ATTESTATION_DOMAIN, attestationBytes, checkAttestation, signAttestation, verifyAttestation, verifierKeyOf } from '../src/core/attestation.js';
import { attestationText, attestationView } from '../src/core/attestation-view.js';
import { keyIdOf, privateKeyFromSeed, publicKeyFromHex, publicKeyHex } from '../src/core/ed25519.js';
import { NETWORKS } from '../src/core/network.js';
import { emptyTrust, withOperator, withVerifier, type Trust } from '../src/core/trust.js';

// RFC 8032 §7.1 TEST 1's key (as in test/approval.test.ts); the signature below was also computed with Python's `cryptography` (OpenSSL).
const SEED = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
const PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const REQUEST = { id: 42n, appId: 'w-42', user: 'u1', destination: 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080', amountSat: 150000n, createdAt: '2025-01-01T00:00:00.000Z' };
const BYTES = 'coldpool attestation v1\n'
  + '{"network":"regtest","withdrawalId":"42","appId":"w-42","user":"u1","script":"0014751e76e8199196d454941c45d1b3a323f1433bd6",'
  + '"amountSat":"150000","fingerprint":"a7c3f11b4c5cc72aa39f4091f602d75016dc4774310b5cb4211ed8fca9643663"}';
const SIGNATURE = '987bd3d89e3caab1df85b1017ab1b4dabc8ec53b909e69a1d753f3cbffed62051bc06edcea1ad462c3331a511c6016ccf40179c24e4e8793651a091ebe147c06';

const verifierKey = privateKeyFromSeed(SEED);
const operatorKey = privateKeyFromSeed(Buffer.alloc(32, 1));
const strangerKey = privateKeyFromSeed(Buffer.alloc(32, 2));
const content = approvalContentFor(NETWORKS.regtest, REQUEST);
const contentText = JSON.stringify(approvalContentJson(content));
const trust: Trust = withVerifier(withOperator(emptyTrust('regtest'), { name: 'op1', publicKey: publicKeyHex(operatorKey) }), PUBLIC);
const VERIFIER_ID = keyIdOf(PUBLIC);

const row = (c: ApprovalContent, signature: string, keyId = VERIFIER_ID) => ({ keyId, content: JSON.stringify(approvalContentJson(c)), signature });

describe('attestation bytes and signature', () => {
  it('fixed vector: bytes and signature (a change to the format must fail here)', () => {
    expect(attestationBytes(content).toString('utf8')).toBe(BYTES);
    expect(ATTESTATION_DOMAIN).toBe('coldpool attestation v1\n');
    expect(signAttestation(content, verifierKey)).toBe(SIGNATURE);
    expect(verifyAttestation(content, SIGNATURE, publicKeyFromHex(PUBLIC))).toBe(true);
    expect(verifierKeyOf(trust)?.id).toBe(VERIFIER_ID);
  });

  it('the attestation bytes are not the approval bytes: one key\'s approval signature is no attestation, and the other way round', () => {
    const approvalByVerifierKey = signApproval(content, verifierKey);
    expect(approvalByVerifierKey).not.toBe(SIGNATURE);
    expect(verifyAttestation(content, approvalByVerifierKey, publicKeyFromHex(PUBLIC))).toBe(false);
    expect(checkAttestation(trust, content, [row(content, approvalByVerifierKey)]).state).toBe('invalid');
  });

  it('malformed signatures are false, not errors', () => {
    for (const bad of [SIGNATURE.toUpperCase(), SIGNATURE.slice(2), `${SIGNATURE}00`, 42, undefined, null]) {
      expect(verifyAttestation(content, bad, publicKeyFromHex(PUBLIC))).toBe(false);
    }
  });
});

describe('checkAttestation', () => {
  it('valid: the trusted verifier signed exactly this content', () => {
    const c = checkAttestation(trust, content, [row(content, SIGNATURE)]);
    expect(c).toEqual({ state: 'attested', attestation: { keyId: VERIFIER_ID, signature: SIGNATURE }, problems: [] });
  });

  it('no rows: missing; no verifier in the trust file: no-verifier, whatever the rows', () => {
    expect(checkAttestation(trust, content, []).state).toBe('missing');
    const noVerifier = { ...trust, verifier: null };
    expect(checkAttestation(noVerifier, content, [row(content, SIGNATURE)]).state).toBe('no-verifier');
  });

  it('forged: a random signature under the verifier\'s key id', () => {
    const c = checkAttestation(trust, content, [row(content, randomBytes(64).toString('hex'))]);
    expect(c.state).toBe('invalid');
    expect(c.problems).toEqual([expect.stringMatching(/does not verify under the trusted verifier key/)]);
  });

  it('wrong key: signed by another key, claiming its own id or the verifier\'s', () => {
    const other = signAttestation(content, strangerKey);
    const own = checkAttestation(trust, content, [row(content, other, keyIdOf(strangerKey))]);
    expect(own.state).toBe('invalid');
    expect(own.problems).toEqual([`signed by key ${keyIdOf(strangerKey)}, not the trusted verifier ${VERIFIER_ID}`]);
    expect(checkAttestation(trust, content, [row(content, other)]).state).toBe('invalid');
    // an operator's key is no verifier's either
    expect(checkAttestation(trust, content, [row(content, signAttestation(content, operatorKey), keyIdOf(operatorKey))]).state).toBe('invalid');
  });

  it('content of another amount or script: the verifier\'s real signature over other content covers nothing here', () => {
    const more = approvalContentFor(NETWORKS.regtest, { ...REQUEST, amountSat: 990_000n });
    const elsewhere = approvalContentFor(NETWORKS.regtest, { ...REQUEST, destination: 'bcrt1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qzf4jry' });
    for (const other of [more, elsewhere]) {
      const sig = signAttestation(other, verifierKey);
      // as stored (its own content text): the text differs from what the operators approved
      expect(checkAttestation(trust, content, [row(other, sig)]).state).toBe('invalid');
      // with its content text edited to this request's: the signature gives it away
      expect(checkAttestation(trust, content, [{ keyId: VERIFIER_ID, content: contentText, signature: sig }]).state).toBe('invalid');
      // the manifest form (no content text) likewise
      expect(checkAttestation(trust, content, [{ keyId: VERIFIER_ID, signature: sig }]).state).toBe('invalid');
    }
  });

  it('a valid row counts beside forged ones, whatever their order (a forged row cannot displace the real one)', () => {
    const forged = row(content, randomBytes(64).toString('hex'));
    const c = checkAttestation(trust, content, [forged, row(content, SIGNATURE), forged]);
    expect(c.state).toBe('attested');
    expect(c.attestation?.signature).toBe(SIGNATURE);
    expect(c.problems).toHaveLength(1);
  });
});

describe('attestationView (the review screens)', () => {
  const fp = content.fingerprint;
  const w = (attestations: { keyId: string; content: string; signature: string }[], seenFingerprint: string | undefined = fp) => ({ ...REQUEST, seenFingerprint, attestations });

  it('attested, not attested yet, INVALID (forged?), no verifier configured', () => {
    const views = [
      attestationView(NETWORKS.regtest, trust, w([row(content, SIGNATURE)])),
      attestationView(NETWORKS.regtest, trust, w([])),
      attestationView(NETWORKS.regtest, trust, w([row(content, randomBytes(64).toString('hex'))])),
      attestationView(NETWORKS.regtest, { ...trust, verifier: null }, w([row(content, SIGNATURE)])),
      attestationView(NETWORKS.regtest, undefined, w([row(content, SIGNATURE)])),
    ];
    expect(views.map((v) => v.state)).toEqual(['attested', 'missing', 'invalid', 'no-verifier', 'no-verifier']);
    expect(views.map((v) => attestationText(v).replace(/:.*/, ''))).toEqual([
      `attested by verifier ${VERIFIER_ID}`, 'not attested yet', 'INVALID attestation row (forged?)', 'no verifier configured', 'no verifier configured',
    ]);
  });

  it('the request edited after the verifier\'s first sight: its real attestation no longer covers it', () => {
    const edited = { ...w([row(content, SIGNATURE)]), amountSat: 990_000n };
    expect(attestationView(NETWORKS.regtest, trust, edited).state).toBe('invalid');
  });
});
