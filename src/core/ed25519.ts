import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CodedError, show } from './errors.js';

/**
 * Ed25519 keys as coldpool writes them: the raw 32-byte public key as 64
 * lower-case hex characters (what trust files and operator key files carry),
 * and the 32-byte private seed of RFC 8032 (what an operator key file
 * encrypts). node:crypto speaks DER, so the fixed ASN.1 wrappers of RFC 8410
 * are added and removed here, and nowhere else.
 */

/** SubjectPublicKeyInfo for id-Ed25519 (1.3.101.112), before the 32 key bytes. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** PKCS#8 PrivateKeyInfo for id-Ed25519, before the 32 seed bytes. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const HEX32 = /^[0-9a-f]{64}$/;

/** The KeyObject of a raw public key given as 64 lower-case hex; INVALID_INPUT naming `field` otherwise. */
export function publicKeyFromHex(hex: unknown, field = 'publicKey'): KeyObject {
  if (typeof hex !== 'string' || !HEX32.test(hex)) {
    throw new CodedError('INVALID_INPUT', `"${field}" expected an Ed25519 public key as 64 lower-case hex characters, got ${show(hex)}`);
  }
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new CodedError('INVALID_INPUT', `"${field}" is not a valid Ed25519 public key: ${show(hex)}`, { cause });
  }
}

/** The raw public key of an Ed25519 KeyObject (public or private), as 64 lower-case hex. */
export function publicKeyHex(key: KeyObject): string {
  assertEd25519(key);
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ format: 'der', type: 'spki' });
  return der.subarray(SPKI_PREFIX.length).toString('hex');
}

/** The private KeyObject of a 32-byte seed (RFC 8032 §5.1.5). */
export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new CodedError('INVALID_INPUT', `an Ed25519 seed is 32 bytes, got ${seed.length}`);
  const der = Buffer.concat([PKCS8_PREFIX, seed]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/** The 32-byte seed of a private key; the caller zeroes it when done. */
export function seedOfPrivateKey(key: KeyObject): Buffer {
  assertEd25519(key);
  if (key.type !== 'private') throw new CodedError('INTERNAL', 'expected an Ed25519 private key, got a public one');
  const der = key.export({ format: 'der', type: 'pkcs8' });
  try {
    if (der.length !== PKCS8_PREFIX.length + 32 || !der.subarray(0, PKCS8_PREFIX.length).equals(PKCS8_PREFIX)) {
      throw new CodedError('INTERNAL', 'unexpected PKCS#8 encoding of an Ed25519 key');
    }
    return Buffer.from(der.subarray(PKCS8_PREFIX.length));
  } finally {
    der.fill(0);
  }
}

/**
 * The short id of a public key: the first 16 hex characters (64 bits) of
 * sha256 over the 32 raw bytes. Short enough to read aloud when comparing a
 * trust file with an operator's screen; a collision among a handful of
 * operators is out of reach, and the trust file refuses one anyway.
 */
export function keyIdOf(publicKey: string | KeyObject): string {
  const hex = typeof publicKey === 'string' ? publicKey : publicKeyHex(publicKey);
  if (!HEX32.test(hex)) throw new CodedError('INVALID_INPUT', `"publicKey" expected 64 lower-case hex characters, got ${show(hex)}`);
  return createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex').slice(0, 16);
}

export function assertEd25519(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CodedError('INVALID_INPUT', `expected an Ed25519 key, got ${key.asymmetricKeyType ?? key.type}`);
  }
}
