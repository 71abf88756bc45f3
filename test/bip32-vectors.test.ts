/**
 * BIP32 test vectors 1–5, verbatim from the BIP (test/vectors/bip-0032-test-vectors.mediawiki,
 * see SOURCE.md). The private side goes through the `bip32` package; the
 * public side through our own parser, serialiser and CKDpub.
 */
import { BIP32Factory } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import { deriveChild, hash160 } from '../src/core/derive.js';
import { formatExtendedPublicKey, parseExtendedPublicKey } from '../src/core/extended-key.js';
import { NETWORKS } from '../src/core/network.js';
import { codeOf } from './support/codes.js';
import { bip32Vectors, HARDENED, type Bip32Chain } from './support/vectors.js';

const bip32 = BIP32Factory(ecc);
const { chains, invalid } = bip32Vectors();

describe('BIP32 test vectors 1–4', () => {
  it('reads every chain of TV1–4 from the BIP text', () => {
    expect(chains.map((c) => `${c.vector} ${c.path}`)).toEqual([
      'TV1 m', 'TV1 m/0h', 'TV1 m/0h/1', 'TV1 m/0h/1/2h', 'TV1 m/0h/1/2h/2', 'TV1 m/0h/1/2h/2/1000000000',
      'TV2 m', 'TV2 m/0', 'TV2 m/0/2147483647h', 'TV2 m/0/2147483647h/1', 'TV2 m/0/2147483647h/1/2147483646h',
      'TV2 m/0/2147483647h/1/2147483646h/2',
      'TV3 m', 'TV3 m/0h',
      'TV4 m', 'TV4 m/0h', 'TV4 m/0h/1h',
    ]);
  });

  it.each(chains)('$vector $path: bip32 from the seed gives the listed xprv and xpub', (c) => {
    const node = c.indexes.reduce((n, i) => n.derive(i), bip32.fromSeed(Buffer.from(c.seedHex, 'hex')));
    expect(node.toBase58()).toBe(c.xprv);
    expect(node.neutered().toBase58()).toBe(c.xpub);
  });

  it.each(chains)('$vector $path: parseExtendedPublicKey reads the xpub and formatExtendedPublicKey writes it back byte for byte', (c) => {
    const key = parseExtendedPublicKey(c.xpub);
    const node = bip32.fromBase58(c.xpub);
    expect(key.family).toBe('mainnet');
    expect(key.encoding).toBe('bip32');
    expect(key.depth).toBe(c.indexes.length);
    expect(key.childNumber).toBe(c.indexes.at(-1) ?? 0);
    expect(key.parentFingerprint).toBe(node.parentFingerprint);
    expect(Buffer.from(key.chainCode).toString('hex')).toBe(Buffer.from(node.chainCode).toString('hex'));
    expect(Buffer.from(key.publicKey).toString('hex')).toBe(Buffer.from(node.publicKey).toString('hex'));
    expect(formatExtendedPublicKey(key, NETWORKS.mainnet)).toBe(c.xpub);
  });

  it.each(chains)('$vector $path: the xprv is refused by parseExtendedPublicKey with REFUSED', (c) => {
    expect(codeOf(() => parseExtendedPublicKey(c.xprv))).toBe('REFUSED');
    // the refusal message never echoes the key
    try {
      parseExtendedPublicKey(c.xprv);
    } catch (e) {
      expect(String((e as Error).message)).not.toContain(c.xprv.slice(4, 20));
    }
  });

  const steps: { name: string; parent: Bip32Chain; child: Bip32Chain }[] = [];
  for (const child of chains) {
    const last = child.indexes.at(-1);
    if (last === undefined || last >= HARDENED) continue;
    const parent = chains.find((p) => p.vector === child.vector && p.indexes.length === child.indexes.length - 1
      && p.indexes.every((i, k) => i === child.indexes[k]));
    if (parent) steps.push({ name: `${child.vector} ${parent.path} -> ${child.path}`, parent, child });
  }

  it('finds the five non-hardened steps of TV1 and TV2', () => {
    expect(steps.map((s) => s.name)).toEqual([
      'TV1 m/0h -> m/0h/1',
      'TV1 m/0h/1/2h -> m/0h/1/2h/2',
      'TV1 m/0h/1/2h/2 -> m/0h/1/2h/2/1000000000',
      'TV2 m -> m/0',
      'TV2 m/0/2147483647h -> m/0/2147483647h/1',
      'TV2 m/0/2147483647h/1/2147483646h -> m/0/2147483647h/1/2147483646h/2',
    ]);
  });

  it.each(steps)('$name: deriveChild (CKDpub) from the parent xpub gives the child xpub', ({ parent, child }) => {
    const parentKey = parseExtendedPublicKey(parent.xpub);
    const index = child.indexes.at(-1)!;
    const derived = deriveChild(parentKey, index);
    const xpub = formatExtendedPublicKey({
      depth: parentKey.depth + 1,
      parentFingerprint: hash160(parentKey.publicKey).readUInt32BE(0),
      childNumber: index,
      chainCode: derived.chainCode,
      publicKey: derived.publicKey,
    }, NETWORKS.mainnet);
    expect(xpub).toBe(child.xpub);
  });
});

describe('BIP32 test vector 5: invalid extended keys', () => {
  /**
   * What we expect for each key, in the BIP's order. Public keys must be
   * refused by our parser for the stated reason (INVALID_INPUT); a private
   * version never gets that far (REFUSED, whatever is wrong inside it), so for
   * those bip32's fromBase58 is the check that the defect itself is caught.
   * The bad checksum fails before the version is read (CHECKSUM).
   */
  const expected: [reason: string, prefix: string, ours: string][] = [
    ['pubkey version / prvkey mismatch', 'xpub', 'INVALID_INPUT'],
    ['prvkey version / pubkey mismatch', 'xprv', 'REFUSED'],
    ['invalid pubkey prefix 04', 'xpub', 'INVALID_INPUT'],
    ['invalid prvkey prefix 04', 'xprv', 'REFUSED'],
    ['invalid pubkey prefix 01', 'xpub', 'INVALID_INPUT'],
    ['invalid prvkey prefix 01', 'xprv', 'REFUSED'],
    ['zero depth with non-zero parent fingerprint', 'xprv', 'REFUSED'],
    ['zero depth with non-zero parent fingerprint', 'xpub', 'INVALID_INPUT'],
    ['zero depth with non-zero index', 'xprv', 'REFUSED'],
    ['zero depth with non-zero index', 'xpub', 'INVALID_INPUT'],
    ['unknown extended key version', 'DMwo', 'INVALID_INPUT'],
    ['unknown extended key version', 'DMwo', 'INVALID_INPUT'],
    ['private key 0 not in 1..n-1', 'xprv', 'REFUSED'],
    ['private key n not in 1..n-1', 'xprv', 'REFUSED'],
    ['invalid pubkey 020000000000000000000000000000000000000000000000000000000000000007', 'xpub', 'INVALID_INPUT'],
    ['invalid checksum', 'xprv', 'CHECKSUM'],
  ];
  const rows = invalid.map((v, k) => ({ ...v, kind: expected[k]?.[1] ?? '?', ours: expected[k]?.[2] ?? '?' }));

  it('the table above matches the BIP, key by key', () => {
    expect(invalid.map((v) => [v.reason, v.key.slice(0, 4)])).toEqual(expected.map(([reason, prefix]) => [reason, prefix]));
  });

  it('reads all 16 invalid keys', () => {
    expect(rows).toHaveLength(16);
  });

  it.each(rows)('$kind ($reason): parseExtendedPublicKey refuses it with $ours', (r) => {
    expect(codeOf(() => parseExtendedPublicKey(r.key))).toBe(r.ours);
  });

  it.each(rows)('$kind ($reason): bip32.fromBase58 rejects it too', (r) => {
    expect(() => bip32.fromBase58(r.key)).toThrow();
  });
});
