/**
 * Properties of the public-key half, against the `bip32` package:
 * formatExtendedPublicKey(parseExtendedPublicKey(x)) === x for random keys of
 * every family and encoding, and our CKDpub (deriveChild, deriveAddresses)
 * agrees with bip32's derive for random seeds and non-hardened indexes, and
 * deriveAddresses with bitcoinjs-lib's p2wpkh addresses.
 */
import { BIP32Factory } from 'bip32';
import { payments } from 'bitcoinjs-lib';
import bs58check from 'bs58check';
import fc from 'fast-check';
import * as ecc from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import { deriveAddresses, deriveChild, hash160 } from '../src/core/derive.js';
import { MAX_INDEX } from '../src/core/descriptor.js';
import { formatExtendedPublicKey, parseExtendedPublicKey } from '../src/core/extended-key.js';
import { NETWORKS, toBitcoinjs } from '../src/core/network.js';

const bip32 = BIP32Factory(ecc);
const RUNS = 50;

const seedArb = fc.uint8Array({ minLength: 16, maxLength: 64 });
const networkArb = fc.constantFrom(NETWORKS.mainnet, NETWORKS.testnet, NETWORKS.regtest, NETWORKS.signet);
const indexArb = fc.integer({ min: 0, max: MAX_INDEX });
/** A path of 0–4 steps below the master, hardened or not. */
const pathArb = fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 4 });

describe('extended public key properties (fast-check, vs bip32)', () => {
  it('format(parse(x)) === x for xpub/tpub and zpub/vpub at random depths', () => {
    fc.assert(fc.property(seedArb, pathArb, networkArb, fc.boolean(), (seed, path, network, slip132) => {
      const node = path.reduce((n, i) => n.derive(i), bip32.fromSeed(Buffer.from(seed), toBitcoinjs(network))).neutered();
      let text = node.toBase58();
      if (slip132) {
        const raw = Buffer.from(bs58check.decode(text));
        raw.writeUInt32BE(network.slip132.public, 0);
        text = bs58check.encode(raw);
      }
      const key = parseExtendedPublicKey(text);
      expect(key.family).toBe(network.name === 'mainnet' ? 'mainnet' : 'test');
      expect(key.encoding).toBe(slip132 ? 'slip132' : 'bip32');
      expect(key.depth).toBe(path.length);
      expect(formatExtendedPublicKey(key, network, key.encoding)).toBe(text);
    }), { numRuns: RUNS });
  });

  it('deriveChild agrees with bip32 derive (key, chain code, serialisation) for random seeds and indexes', () => {
    fc.assert(fc.property(seedArb, pathArb, indexArb, (seed, path, index) => {
      const parent = path.reduce((n, i) => n.derive(i), bip32.fromSeed(Buffer.from(seed))).neutered();
      const want = parent.derive(index);
      const key = parseExtendedPublicKey(parent.toBase58());
      const got = deriveChild(key, index);
      expect(Buffer.from(got.publicKey).toString('hex')).toBe(Buffer.from(want.publicKey).toString('hex'));
      expect(Buffer.from(got.chainCode).toString('hex')).toBe(Buffer.from(want.chainCode).toString('hex'));
      expect(formatExtendedPublicKey({
        depth: key.depth + 1, parentFingerprint: hash160(key.publicKey).readUInt32BE(0), childNumber: index, ...got,
      }, NETWORKS.mainnet)).toBe(want.toBase58());
    }), { numRuns: RUNS });
  });

  it('deriveAddresses agrees with bip32 + bitcoinjs-lib payments.p2wpkh for a random short range', () => {
    fc.assert(fc.property(seedArb, fc.integer({ min: 0, max: MAX_INDEX - 4 }), networkArb, (seed, from, network) => {
      const chain = bip32.fromSeed(Buffer.from(seed)).derivePath("m/84'/0'/0'/0").neutered();
      const got = deriveAddresses({ publicKey: chain.publicKey, chainCode: chain.chainCode }, network, from, 5);
      const want = [0, 1, 2, 3, 4].map((k) => payments.p2wpkh({ pubkey: chain.derive(from + k).publicKey, network: toBitcoinjs(network) }).address);
      expect(got).toEqual(want);
    }), { numRuns: RUNS });
  });

  it('deriveChild refuses hardened and out-of-range indexes', () => {
    const key = parseExtendedPublicKey(bip32.fromSeed(Buffer.alloc(32, 1)).neutered().toBase58());
    for (const bad of [MAX_INDEX + 1, 0xffffffff, -1, 1.5, Number.NaN]) {
      expect(() => deriveChild(key, bad)).toThrow(/index/);
    }
  });
});
