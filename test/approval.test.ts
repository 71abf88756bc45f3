import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  APPROVAL_DOMAIN, approvalBytes, approvalContentFor, approvalContentJson, parseApprovalContent, sameApprovalContent, signApproval, verifyApproval, type ApprovalContent,
} from '../src/core/approval.js';
import { keyIdOf, privateKeyFromSeed, publicKeyFromHex, publicKeyHex, seedOfPrivateKey } from '../src/core/ed25519.js';
import { CodedError } from '../src/core/errors.js';
import { NETWORKS } from '../src/core/network.js';
import { fingerprint } from '../src/core/withdrawal-rules.js';

// RFC 8032 §7.1 TEST 1: a published key, so the vector below rests on more than this code.
const SEED = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
const PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const RFC_EMPTY_SIGNATURE = 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

const REQUEST = { id: 42n, appId: 'w-42', user: 'u1', destination: 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080', amountSat: 150000n, createdAt: '2025-01-01T00:00:00.000Z' };
const FINGERPRINT = 'a7c3f11b4c5cc72aa39f4091f602d75016dc4774310b5cb4211ed8fca9643663';
const BYTES = 'coldpool approval v1\n'
  + '{"network":"regtest","withdrawalId":"42","appId":"w-42","user":"u1","script":"0014751e76e8199196d454941c45d1b3a323f1433bd6",'
  + '"amountSat":"150000","fingerprint":"a7c3f11b4c5cc72aa39f4091f602d75016dc4774310b5cb4211ed8fca9643663"}';
const SIGNATURE = 'c545d1d993ba84ea58be957d7cd1626f230c2d8196e2853422b3d9e701b31b7e231a961160aa98f849e88c079a6985adf83dc9af14011653cb18e06f012ac702';

const key = privateKeyFromSeed(SEED);
const pub = publicKeyFromHex(PUBLIC);
const content = approvalContentFor(NETWORKS.regtest, REQUEST);

describe('Ed25519 keys as coldpool writes them', () => {
  it('a seed gives the RFC 8032 public key and signature', () => {
    expect(publicKeyHex(key)).toBe(PUBLIC);
    expect(publicKeyHex(pub)).toBe(PUBLIC);
    expect(sign(null, Buffer.alloc(0), key).toString('hex')).toBe(RFC_EMPTY_SIGNATURE);
    expect(seedOfPrivateKey(key).equals(SEED)).toBe(true);
  });

  it('the key id is the first 16 hex of sha256 of the raw key', () => {
    expect(keyIdOf(PUBLIC)).toBe('21fe31dfa154a261');
    expect(keyIdOf(pub)).toBe('21fe31dfa154a261');
  });

  it('refuses a public key that is not 64 lower-case hex, naming the field', () => {
    for (const bad of [PUBLIC.toUpperCase(), PUBLIC.slice(2), `${PUBLIC}00`, 42, undefined]) {
      expect(() => publicKeyFromHex(bad, 'operators[0].publicKey')).toThrow(/"operators\[0\]\.publicKey" expected an Ed25519 public key/);
    }
  });
});

describe('the canonical content of an approval', () => {
  it('fixed vector: bytes and signature (a change to the format must fail here)', () => {
    expect(content).toEqual({ network: 'regtest', withdrawalId: 42n, appId: 'w-42', user: 'u1', script: '0014751e76e8199196d454941c45d1b3a323f1433bd6', amountSat: 150000n, fingerprint: FINGERPRINT });
    expect(fingerprint(REQUEST)).toBe(FINGERPRINT);
    expect(approvalBytes(content).toString('utf8')).toBe(BYTES);
    expect(approvalBytes(content).subarray(0, APPROVAL_DOMAIN.length).toString()).toBe('coldpool approval v1\n');
    expect(signApproval(content, key)).toBe(SIGNATURE);
    expect(verifyApproval(content, SIGNATURE, pub)).toBe(true);
  });

  it('the key order is fixed, whatever order the object was built in', () => {
    const shuffled = { fingerprint: FINGERPRINT, amountSat: 150000n, script: content.script, user: 'u1', appId: 'w-42', withdrawalId: 42n, network: 'regtest' } as const;
    expect(approvalBytes(shuffled).toString('utf8')).toBe(BYTES);
  });

  it('the first-sight fingerprint is the one given, not the current row\'s', () => {
    const seen = 'ab'.repeat(32);
    expect(approvalContentFor(NETWORKS.regtest, REQUEST, seen).fingerprint).toBe(seen);
  });

  it('the destination is signed as its output script: both spellings of one address give one content', () => {
    const upper = approvalContentFor(NETWORKS.regtest, { ...REQUEST, destination: REQUEST.destination.toUpperCase() }, FINGERPRINT);
    expect(sameApprovalContent(upper, content)).toBe(true);
  });

  it('round-trips through its JSON form; a stray or missing key is refused with its path', () => {
    const json = approvalContentJson(content);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(parseApprovalContent(JSON.parse(JSON.stringify(json)))).toEqual(content);
    expect(() => parseApprovalContent({ ...json, address: 'x' }, 'outputs[0].content')).toThrow(/"outputs\[0\]\.content\.address" is not a field/);
    const { script: _script, ...missing } = json;
    expect(() => parseApprovalContent(missing)).toThrow(/"content\.script" is missing/);
    expect(() => parseApprovalContent({ ...json, amountSat: 150000 })).toThrow(/"content\.amountSat" expected satoshis as a decimal string/);
    expect(() => parseApprovalContent({ ...json, withdrawalId: '042' })).toThrow(/"content\.withdrawalId"/);
    expect(() => parseApprovalContent({ ...json, script: 'ZZ' })).toThrow(/"content\.script"/);
    expect(() => parseApprovalContent({ ...json, network: 'moon' })).toThrow(/"content\.network"/);
  });

  it('refuses content that could not be a withdrawal', () => {
    expect(() => approvalBytes({ ...content, amountSat: 0n })).toThrow(CodedError);
    expect(() => approvalBytes({ ...content, withdrawalId: 0n })).toThrow(/withdrawalId/);
    expect(() => approvalBytes({ ...content, fingerprint: 'abc' })).toThrow(/fingerprint/);
  });
});

describe('verifyApproval: a signature covers exactly one content', () => {
  const signature = signApproval(content, key);
  const changed: [string, ApprovalContent][] = [
    ['amount', { ...content, amountSat: content.amountSat + 1n }],
    ['script', approvalContentFor(NETWORKS.regtest, { ...REQUEST, destination: 'bcrt1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qzf4jry' }, FINGERPRINT)],
    ['withdrawal id', { ...content, withdrawalId: 43n }],
    ['network', { ...content, network: 'testnet' }],
    ['fingerprint', { ...content, fingerprint: 'b'.repeat(64) }],
    ['app id', { ...content, appId: 'w-43' }],
    ['user', { ...content, user: 'u2' }],
  ];

  it.each(changed)('a different %s does not verify', (_what, other) => {
    expect(sameApprovalContent(other, content)).toBe(false);
    expect(verifyApproval(other, signature, pub)).toBe(false);
  });

  it('another key does not verify; a malformed signature is false, not an error', () => {
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(verifyApproval(content, signature, other)).toBe(false);
    expect(verifyApproval(content, signature.toUpperCase(), pub)).toBe(false);
    expect(verifyApproval(content, signature.slice(2), pub)).toBe(false);
    expect(verifyApproval(content, `${signature.slice(0, -2)}00`, pub)).toBe(false);
  });

  it('refuses a key that is not Ed25519, and signing with a public key', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    expect(() => signApproval(content, ec.privateKey)).toThrow(/expected an Ed25519 key/);
    expect(() => verifyApproval(content, signature, ec.publicKey)).toThrow(/expected an Ed25519 key/);
    expect(() => signApproval(content, pub)).toThrow(/private key/);
  });
});
