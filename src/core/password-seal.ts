import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import { CodedError } from './errors.js';

/**
 * coldpool's password-sealed files (the offline keystore, operator key
 * files): scrypt parameters as a file states them, checked before any memory
 * is spent, the 32-byte key they give, and AES-256-GCM with the file's clear
 * header as additional data, so a flipped byte anywhere is refused. One copy,
 * so the two formats cannot drift apart in how they are sealed or checked.
 */

/** scrypt's N bounds: below 2^10 is no protection, above 2^20 (1 GiB at r=8) a denial of service. */
export const MIN_SCRYPT_N = 2 ** 10;
export const MAX_SCRYPT_N = 2 ** 20;
/** scrypt memory is 128·N·r bytes; refuse parameters that would need more than this. */
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;

export interface ScryptParams {
  readonly n: number;
  readonly r: number;
  readonly p: number;
}

/** INVALID_INPUT unless N is a power of two in bounds and r, p, memory are sane. */
export function checkScryptParams(params: ScryptParams): void {
  const { n, r, p } = params;
  const powerOfTwo = Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!powerOfTwo || n < MIN_SCRYPT_N || n > MAX_SCRYPT_N) {
    throw new CodedError('INVALID_INPUT', `"kdf.n" expected a power of two 2^10..2^20, got ${n}`);
  }
  if (!Number.isSafeInteger(r) || r < 1 || r > 32 || !Number.isSafeInteger(p) || p < 1 || p > 16) {
    throw new CodedError('INVALID_INPUT', `"kdf.r"/"kdf.p" expected 1..32 / 1..16, got ${r} / ${p}`);
  }
  if (128 * n * r > MAX_SCRYPT_MEMORY) {
    throw new CodedError('INVALID_INPUT', `scrypt N=${n}, r=${r} would need more than 1 GiB of memory`);
  }
}

/** The 32-byte key of `password` under a file's scrypt parameters and salt (hex). */
export async function passwordKey(password: string, kdf: ScryptParams & { readonly salt: string }): Promise<Buffer> {
  // NFKC so the same password typed through different input methods gives the same bytes.
  const pw = Buffer.from(password.normalize('NFKC'), 'utf8');
  const { n, r, p } = kdf;
  const options: ScryptOptions = { N: n, r, p, maxmem: 128 * n * r * 2 + 1024 * 1024 };
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      scryptCb(pw, Buffer.from(kdf.salt, 'hex'), 32, options, (err, key) => (err ? reject(err) : resolve(key)));
    });
  } catch (cause) {
    throw new CodedError('INTERNAL', `scrypt failed with N=${n}, r=${r}, p=${p}`, { cause });
  } finally {
    pw.fill(0);
  }
}

/** A field of lower-case hex, `bytes` long when given; INVALID_INPUT naming it otherwise. */
export function checkHex(field: string, value: unknown, bytes?: number): string {
  const ok = typeof value === 'string' && /^(?:[0-9a-f]{2})+$/.test(value) && (bytes === undefined || value.length === bytes * 2);
  if (!ok) throw new CodedError('INVALID_INPUT', `"${field}" expected ${bytes === undefined ? 'lower-case hex' : `${bytes} bytes of lower-case hex`}`);
  return value as string;
}

export interface SealParams {
  readonly kdf: { readonly name: 'scrypt'; readonly n: number; readonly r: number; readonly p: number; readonly salt: string };
  readonly cipher: { readonly name: 'aes-256-gcm'; readonly nonce: string };
}

/** Fresh salt and nonce for a new file at cost `params` (checked). */
export function newSealParams(params: ScryptParams): SealParams {
  checkScryptParams(params);
  return {
    kdf: { name: 'scrypt', n: params.n, r: params.r, p: params.p, salt: randomBytes(32).toString('hex') },
    cipher: { name: 'aes-256-gcm', nonce: randomBytes(12).toString('hex') },
  };
}

/** Encrypt `plaintext` under `password`, authenticating `aad` (the file's canonical header). */
export async function sealWithPassword(password: string, seal: SealParams, aad: string, plaintext: Buffer): Promise<{ ciphertext: string; tag: string }> {
  const key = await passwordKey(password, seal.kdf);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, Buffer.from(seal.cipher.nonce, 'hex'));
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { ciphertext: ciphertext.toString('hex'), tag: cipher.getAuthTag().toString('hex') };
  } finally {
    key.fill(0);
  }
}

/**
 * Decrypt, or undefined when the password is wrong or anything authenticated
 * was altered: GCM cannot tell the two apart, and neither should an attacker.
 * The caller zeroes the plaintext when done.
 */
export async function openWithPassword(password: string, seal: SealParams, aad: string, ciphertext: string, tag: string): Promise<Buffer | undefined> {
  const key = await passwordKey(password, seal.kdf);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(seal.cipher.nonce, 'hex'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'hex'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'hex')), decipher.final()]);
  } catch {
    return undefined;
  } finally {
    key.fill(0);
  }
}
