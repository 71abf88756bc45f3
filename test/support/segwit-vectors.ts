/**
 * Reader for the BIP173/BIP350 segwit address vectors (test/vectors/, see
 * SOURCE.md): splits `* <tt>ADDR</tt>: <tt>SCRIPT</tt>` and
 * `* <tt>ADDR</tt>: reason` lines into rows; nothing is retyped.
 */
import { readVector } from './vectors.js';

export interface SegwitVector {
  readonly address: string;
  /** scriptPubKey hex for a valid vector; undefined for an invalid one. */
  readonly scriptHex: string | undefined;
  /** The BIP's stated reason for an invalid vector. */
  readonly reason: string | undefined;
}

export function segwitVectors(file: 'bip-0173-segwit-address-vectors.mediawiki' | 'bip-0350-segwit-address-vectors.mediawiki'): { valid: SegwitVector[]; invalid: SegwitVector[] } {
  const valid: SegwitVector[] = [];
  const invalid: SegwitVector[] = [];
  for (const line of readVector(file).split('\n')) {
    const m = /^\* <tt>([^<]+)<\/tt>: (?:<tt>([0-9a-f]+)<\/tt>|(.+))$/.exec(line);
    if (!m) continue;
    if (m[2]) valid.push({ address: m[1]!, scriptHex: m[2], reason: undefined });
    else invalid.push({ address: m[1]!, scriptHex: undefined, reason: m[3] });
  }
  return { valid, invalid };
}
