import { scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import { CodedError } from './errors.js';

/**
 * The password side of coldpool's sealed files (the offline keystore,
 * operator key files): scrypt parameters as a file states them, checked
 * before any memory is spent, and the 32-byte AES key they give. One copy,
 * so a file format that raises the cost cannot end up checked one way here
 * and another way there.
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
