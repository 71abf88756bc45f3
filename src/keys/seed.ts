import { randomBytes } from 'node:crypto';
import { entropyToMnemonic, mnemonicToEntropy, mnemonicToSeedSync, wordlists } from 'bip39';
import { CodedError } from '../core/errors.js';

/**
 * BIP39 mnemonics: creation from the OS CSPRNG, validation that says *why* a
 * mnemonic is bad, and the seed. Only the offline program imports this file.
 *
 * Error messages here never quote the mnemonic itself: an unknown word is
 * named (it is not a valid word, so it reveals at most a typo), but never
 * the words around it.
 *
 * @see https://github.com/bitcoin/bips/blob/master/bip-0039.mediawiki
 */

/** The word counts BIP39 allows (128..256 bits of entropy in 32-bit steps). */
export const MNEMONIC_WORD_COUNTS = [12, 15, 18, 21, 24] as const;

const ENGLISH: readonly string[] = wordlists.english ?? [];
const ENGLISH_SET: ReadonlySet<string> = new Set(ENGLISH);

/**
 * A fresh 24-word English mnemonic from 256 bits of `crypto.randomBytes`
 * (the OS CSPRNG), never from Math.random.
 *
 * @example
 * const words = generateMnemonic(); // "legal winner thank year ..." (24 words)
 */
export function generateMnemonic(): string {
  const entropy = randomBytes(32);
  try {
    return entropyToMnemonic(entropy);
  } finally {
    entropy.fill(0);
  }
}

/**
 * The canonical form of a typed mnemonic: NFKD (as BIP39 says), lower case,
 * words separated by single spaces, surrounding whitespace dropped.
 */
export function normalizeMnemonic(text: string): string {
  return text.normalize('NFKD').toLowerCase().trim().split(/\s+/u).filter((w) => w !== '').join(' ');
}

/**
 * Normalise and check a mnemonic; returns the normalised form or throws
 * INVALID_INPUT naming the reason: the word count, the first word (position
 * and word) not in the English list, or a failed checksum.
 *
 * @example
 * validateMnemonic('Abandon  abandon ... ABOUT') // 'abandon abandon ... about'
 */
export function validateMnemonic(text: string): string {
  const normalized = normalizeMnemonic(text);
  const words = normalized === '' ? [] : normalized.split(' ');
  if (!(MNEMONIC_WORD_COUNTS as readonly number[]).includes(words.length)) {
    throw new CodedError('INVALID_INPUT', `"mnemonic" expected ${MNEMONIC_WORD_COUNTS.join('/')} words, got ${words.length}`);
  }
  const bad = words.findIndex((w) => !ENGLISH_SET.has(w));
  if (bad >= 0) {
    throw new CodedError('INVALID_INPUT', `"mnemonic" word ${bad + 1} ${JSON.stringify(clip(words[bad]!))} is not in the BIP39 English wordlist`, {
      hint: 'check the spelling; only the first four letters of each word are needed to tell them apart',
    });
  }
  try {
    mnemonicToEntropy(normalized);
  } catch (cause) {
    throw new CodedError('INVALID_INPUT', '"mnemonic" checksum failed: every word is valid but the last word does not match the others', {
      hint: 'a word is wrong or two words are swapped; compare with the written backup word by word',
      cause,
    });
  }
  return normalized;
}

/** A typo is shown, but a pasted paragraph is not echoed whole. */
function clip(word: string): string {
  return word.length > 16 ? `${word.slice(0, 13)}...` : word;
}

/**
 * The 64-byte BIP39 seed of a (validated) mnemonic and optional passphrase.
 * The passphrase is NFKD-normalised by bip39 itself, as the BIP says; it is
 * not trimmed or lower-cased, because it is part of the key.
 */
export function mnemonicToSeed(mnemonic: string, passphrase = ''): Buffer {
  return mnemonicToSeedSync(validateMnemonic(mnemonic), passphrase);
}

/** The English word at 0-based index `i` of a normalised mnemonic (for the backup check). */
export function mnemonicWords(mnemonic: string): string[] {
  return normalizeMnemonic(mnemonic).split(' ');
}
