import { describe, expect, it } from 'vitest';
import { CodedError } from '../src/core/errors.js';
import { generateMnemonic, mnemonicToSeed, normalizeMnemonic, validateMnemonic } from '../src/keys/seed.js';
import { bip39Vectors } from './support/vectors.js';

const ABANDON = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

function errorOf(f: () => unknown): CodedError {
  try {
    f();
  } catch (e) {
    if (e instanceof CodedError) return e;
    throw e;
  }
  throw new Error('expected a CodedError');
}

describe('BIP39 mnemonic (src/keys/seed.ts)', () => {
  it.each(bip39Vectors().map((v) => ({ ...v, words: v.mnemonic.split(' ').length })))(
    'BIP39 vector, $words words: seed with passphrase TREZOR',
    ({ mnemonic, seed }) => {
      expect(validateMnemonic(mnemonic)).toBe(mnemonic);
      expect(mnemonicToSeed(mnemonic, 'TREZOR').toString('hex')).toBe(seed);
    },
  );

  it('generates 24 valid words, different each time', () => {
    const a = generateMnemonic();
    const b = generateMnemonic();
    expect(a.split(' ')).toHaveLength(24);
    expect(validateMnemonic(a)).toBe(a);
    expect(a).not.toBe(b);
  });

  it('normalises case, whitespace and Unicode form (NFKD)', () => {
    expect(validateMnemonic(`\t${ABANDON.toUpperCase().replace(/ /g, ' \n  ')}  `)).toBe(ABANDON);
    expect(normalizeMnemonic('ＡＢＡＮＤＯＮ')).toBe('abandon'); // full-width letters fold under NFKD
  });

  it.each([
    { description: 'unknown word named with position', input: ABANDON.replace('about', 'abuot'), message: '"mnemonic" word 12 "abuot" is not in the BIP39 English wordlist' },
    { description: 'first unknown word reported', input: `zzz ${ABANDON.split(' ').slice(1, 11).join(' ')} qqq`, message: '"mnemonic" word 1 "zzz" is not in the BIP39 English wordlist' },
    { description: 'too few words', input: 'abandon abandon about', message: '"mnemonic" expected 12/15/18/21/24 words, got 3' },
    { description: '13 words', input: `${ABANDON} about`, message: '"mnemonic" expected 12/15/18/21/24 words, got 13' },
    { description: 'empty', input: '   ', message: '"mnemonic" expected 12/15/18/21/24 words, got 0' },
    { description: 'bad checksum', input: ABANDON.replace('about', 'abandon'), message: '"mnemonic" checksum failed: every word is valid but the last word does not match the others' },
  ])('refuses: $description', ({ input, message }) => {
    const e = errorOf(() => validateMnemonic(input));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).toBe(message);
    expect(e.message).not.toContain('abandon abandon'); // never echoes the mnemonic
  });

  it('the passphrase changes the seed and is not trimmed', () => {
    expect(mnemonicToSeed(ABANDON, '').equals(mnemonicToSeed(ABANDON, 'x'))).toBe(false);
    expect(mnemonicToSeed(ABANDON, ' x').equals(mnemonicToSeed(ABANDON, 'x'))).toBe(false);
  });
});
