/**
 * BIP39 vectors (trezor/python-mnemonic vectors.json, english, passphrase
 * "TREZOR"; see test/vectors/SOURCE.md) through the `bip39` and `bip32`
 * packages the keystore builds on: entropy → mnemonic → seed → master xprv.
 */
import * as bip39 from 'bip39';
import { BIP32Factory } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import { bip39Vectors } from './support/vectors.js';

const bip32 = BIP32Factory(ecc);
const PASSPHRASE = 'TREZOR';
const vectors = bip39Vectors();

describe('BIP39 english vectors (passphrase TREZOR)', () => {
  it('reads all 24 english vectors', () => {
    expect(vectors).toHaveLength(24);
  });

  it.each(vectors)('$entropy: entropy → mnemonic → seed → xprv', (v) => {
    expect(bip39.entropyToMnemonic(v.entropy)).toBe(v.mnemonic);
    expect(bip39.validateMnemonic(v.mnemonic)).toBe(true);
    expect(bip39.mnemonicToEntropy(v.mnemonic)).toBe(v.entropy);
    const seed = bip39.mnemonicToSeedSync(v.mnemonic, PASSPHRASE);
    expect(seed.toString('hex')).toBe(v.seed);
    expect(bip32.fromSeed(seed).toBase58()).toBe(v.xprv);
  });

  it('a mnemonic with one word swapped fails its checksum', () => {
    const words = vectors[0]!.mnemonic.split(' ');
    words[11] = 'abandon';
    expect(bip39.validateMnemonic(words.join(' '))).toBe(false);
  });
});
