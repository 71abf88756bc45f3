import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { keyIdOf, privateKeyFromSeed, publicKeyHex, seedOfPrivateKey } from '../core/ed25519.js';
import { CodedError, isCoded } from '../core/errors.js';
import { checkHex, checkScryptParams, newSealParams, openWithPassword, sealWithPassword, type ScryptParams } from '../core/password-seal.js';
import { checkOperatorName } from '../core/trust.js';
import { writeAtomicFile } from '../io/atomic-file.js';

/**
 * An operator's Ed25519 signing key, in a file on the operator box (never
 * in a database). Both programs may import this module; it must never
 * import src/keys (bitcoin key material), which the online program may not
 * reach (test/import-graph).
 *
 * Sealed like the bitcoin keystore (src/keys/keystore.ts) and for the same
 * reasons: scrypt, so a stolen file resists guessing; AES-256-GCM with the
 * whole clear header as additional authenticated data, so a changed name or
 * public key is refused, not believed; and the reader accepts only the
 * canonical serialisation of what it parsed, so one flipped byte anywhere
 * is refused as INVALID_INPUT (malformed) or DECRYPT (authentication).
 *
 * Canonical form: keys in this order, two-space indent, lower-case hex, one
 * trailing newline. The ciphertext is the 32-byte RFC 8032 seed.
 *
 * ```json
 * {
 *   "format": "coldpool-operator-key",
 *   "version": 1,
 *   "name": "alice",
 *   "publicKey": "<32 bytes hex>",
 *   "id": "<16 hex: sha256(publicKey) cut>",
 *   "created": "2025-01-01T00:00:00Z",
 *   "kdf": { "name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": "<32 bytes hex>" },
 *   "cipher": { "name": "aes-256-gcm", "nonce": "<12 bytes hex>" },
 *   "ciphertext": "<32 bytes hex>",
 *   "tag": "<16 bytes hex>"
 * }
 * ```
 *
 * Written with mode 0600, atomically, never over an existing file: a lost
 * operator key is replaceable (a new key, a new trust-file entry), but an
 * overwritten one silently invalidates every approval it made.
 */

export const OPERATOR_KEY_FORMAT = 'coldpool-operator-key';
export const OPERATOR_KEY_VERSION = 1;

/** What the CLI writes: N = 2^17, r = 8, p = 1 (128 MiB, about half a second), as the keystore. */
export const DEFAULT_OPERATOR_SCRYPT = { n: 2 ** 17, r: 8, p: 1 } as const;
/** Readers accept N in 2^10..2^20 (core/password-seal.ts), so tests can write cheap files through the library API. */
export type { ScryptParams } from '../core/password-seal.js';
const MAX_FILE_BYTES = 16 * 1024;

/** The clear header: authenticated, not secret; what `operator show` prints. */
export interface OperatorKeyHeader {
  readonly format: typeof OPERATOR_KEY_FORMAT;
  readonly version: typeof OPERATOR_KEY_VERSION;
  readonly name: string;
  /** Raw Ed25519 public key, 64 lower-case hex. */
  readonly publicKey: string;
  /** keyIdOf(publicKey). */
  readonly id: string;
  readonly created: string;
  readonly kdf: { readonly name: 'scrypt'; readonly n: number; readonly r: number; readonly p: number; readonly salt: string };
  readonly cipher: { readonly name: 'aes-256-gcm'; readonly nonce: string };
}

export interface OperatorKeyFile extends OperatorKeyHeader {
  readonly ciphertext: string;
  readonly tag: string;
}

/** An unlocked operator key. */
export interface OperatorKey {
  readonly name: string;
  readonly id: string;
  readonly publicKey: string;
  readonly privateKey: KeyObject;
}

/** A new random operator key, in memory only. */
export function generateOperatorKey(name: string): OperatorKey {
  checkOperatorName(name, '--name');
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicKey = publicKeyHex(privateKey);
  return { name, id: keyIdOf(publicKey), publicKey, privateKey };
}

export interface WriteOperatorKeyOptions {
  /** Defaults to DEFAULT_OPERATOR_SCRYPT; the CLI never overrides it. */
  readonly scrypt?: ScryptParams;
  /** Defaults to now. */
  readonly created?: Date;
}

/**
 * Encrypt and write `key` to a new file at `path`. Throws EXISTS (and leaves
 * the old file untouched) when `path` exists.
 *
 * @example
 * await writeOperatorKey('alice.operator-key', generateOperatorKey('alice'), password);
 */
export async function writeOperatorKey(path: string, key: OperatorKey, password: string, options: WriteOperatorKeyOptions = {}): Promise<OperatorKeyFile> {
  assertOperatorKeyAbsent(path);
  const params = options.scrypt ?? DEFAULT_OPERATOR_SCRYPT;
  checkScryptParams(params);
  if (publicKeyHex(key.privateKey) !== key.publicKey || keyIdOf(key.publicKey) !== key.id) {
    throw new CodedError('INTERNAL', 'operator key: the public key or id does not belong to the private key');
  }
  const header: OperatorKeyHeader = {
    format: OPERATOR_KEY_FORMAT,
    version: OPERATOR_KEY_VERSION,
    name: checkOperatorName(key.name),
    publicKey: key.publicKey,
    id: key.id,
    created: (options.created ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...newSealParams(params),
  };
  const seed = seedOfPrivateKey(key.privateKey);
  try {
    const file: OperatorKeyFile = { ...header, ...(await sealWithPassword(password, header, serializeHeader(header), seed)) };
    writeNew(path, serializeOperatorKey(file));
    return file;
  } finally {
    seed.fill(0);
  }
}

/**
 * Read, check and unlock an operator key file. Wrong password and tampering
 * both give DECRYPT (GCM cannot tell them apart); a file that is not a
 * canonical operator key gives INVALID_INPUT; a missing one NOT_FOUND.
 */
export async function readOperatorKey(path: string, password: string): Promise<OperatorKey> {
  const { ciphertext, tag, ...header } = readOperatorKeyFile(path);
  const seed = await openWithPassword(password, header, serializeHeader(header), ciphertext, tag);
  if (seed === undefined) throw new CodedError('DECRYPT', `operator key ${JSON.stringify(path)} could not be decrypted: wrong password, or the file was altered`);
  try {
    const privateKey = privateKeyFromSeed(seed);
    // Authenticated, so only a foreign writer that had the password could get here.
    if (publicKeyHex(privateKey) !== header.publicKey) throw notOperatorKey(path, 'its private key does not match its public key');
    return { name: header.name, id: header.id, publicKey: header.publicKey, privateKey };
  } finally {
    seed.fill(0);
  }
}

/** The clear header of an operator key file (no password): name, public key, id. */
export function readOperatorKeyPublic(path: string): OperatorKeyHeader {
  const { ciphertext: _c, tag: _t, ...header } = readOperatorKeyFile(path);
  return header;
}

/** The whole file, checked and canonical, still sealed. */
export function readOperatorKeyFile(path: string): OperatorKeyFile {
  const bytes = readBounded(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw notOperatorKey(path, 'it is not JSON');
  }
  const file = checkFileShape(parsed, path);
  if (!Buffer.from(serializeOperatorKey(file), 'utf8').equals(bytes)) {
    throw notOperatorKey(path, 'it is not in canonical form (edited or damaged)');
  }
  return file;
}

/** Throw EXISTS when `path` exists: checked before asking for a password, and again (atomically) when writing. */
export function assertOperatorKeyAbsent(path: string): void {
  try {
    statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw ioError(path, e);
  }
  throw existsError(path);
}

/** The canonical text of an operator key file. */
export function serializeOperatorKey(file: OperatorKeyFile): string {
  return `${JSON.stringify({ ...headerObject(file), ciphertext: file.ciphertext, tag: file.tag }, null, 2)}\n`;
}

function serializeHeader(header: OperatorKeyHeader): string {
  return JSON.stringify(headerObject(header));
}

function headerObject(h: OperatorKeyHeader): OperatorKeyHeader {
  return {
    format: h.format,
    version: h.version,
    name: h.name,
    publicKey: h.publicKey,
    id: h.id,
    created: h.created,
    kdf: { name: h.kdf.name, n: h.kdf.n, r: h.kdf.r, p: h.kdf.p, salt: h.kdf.salt },
    cipher: { name: h.cipher.name, nonce: h.cipher.nonce },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every field's type and range; the canonical comparison afterwards catches extra or reordered keys. */
function checkFileShape(v: unknown, path: string): OperatorKeyFile {
  try {
    if (!isRecord(v) || v.format !== OPERATOR_KEY_FORMAT) throw new CodedError('INVALID_INPUT', `"format" expected "${OPERATOR_KEY_FORMAT}"`);
    if (v.version !== OPERATOR_KEY_VERSION) throw new CodedError('INVALID_INPUT', `"version" expected ${OPERATOR_KEY_VERSION}, got ${String(v.version)}`);
    const name = checkOperatorName(v.name);
    const publicKey = checkHex('publicKey', v.publicKey, 32);
    if (v.id !== keyIdOf(publicKey)) throw new CodedError('INVALID_INPUT', '"id" does not match "publicKey"');
    if (typeof v.created !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(v.created)) {
      throw new CodedError('INVALID_INPUT', '"created" expected an ISO time like 2025-01-01T00:00:00Z');
    }
    const { kdf, cipher } = v;
    if (!isRecord(kdf) || kdf.name !== 'scrypt') throw new CodedError('INVALID_INPUT', '"kdf.name" expected "scrypt"');
    if (!isRecord(cipher) || cipher.name !== 'aes-256-gcm') throw new CodedError('INVALID_INPUT', '"cipher.name" expected "aes-256-gcm"');
    const params = { n: kdf.n as number, r: kdf.r as number, p: kdf.p as number };
    checkScryptParams(params);
    return {
      format: OPERATOR_KEY_FORMAT,
      version: OPERATOR_KEY_VERSION,
      name,
      publicKey,
      id: v.id,
      created: v.created,
      kdf: { name: 'scrypt', ...params, salt: checkHex('kdf.salt', kdf.salt, 32) },
      cipher: { name: 'aes-256-gcm', nonce: checkHex('cipher.nonce', cipher.nonce, 12) },
      ciphertext: checkHex('ciphertext', v.ciphertext, 32),
      tag: checkHex('tag', v.tag, 16),
    };
  } catch (e) {
    if (isCoded(e, 'INVALID_INPUT')) throw notOperatorKey(path, e.message);
    throw e;
  }
}

function readBounded(path: string): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CodedError('NOT_FOUND', `operator key ${JSON.stringify(path)} does not exist`, { hint: 'create one with `coldpool operator keygen --name NAME --out FILE`' });
    }
    throw ioError(path, e);
  }
  if (size > MAX_FILE_BYTES) throw notOperatorKey(path, `it is ${size} bytes, far larger than an operator key`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw ioError(path, e);
  }
}

function writeNew(path: string, text: string): void {
  try {
    writeAtomicFile(path, text, { mode: 0o600 });
  } catch (e) {
    if (isCoded(e, 'EXISTS')) throw existsError(path);
    throw isCoded(e) ? e : ioError(path, e);
  }
}

function notOperatorKey(path: string, why: string): CodedError {
  return new CodedError('INVALID_INPUT', `${JSON.stringify(path)} is not a valid coldpool operator key: ${why}`);
}

function existsError(path: string): CodedError {
  return new CodedError('EXISTS', `operator key ${JSON.stringify(path)} already exists; it was left untouched`, {
    hint: 'choose another --out path; coldpool never overwrites a key file',
  });
}

function ioError(path: string, cause: unknown): CodedError {
  const code = (cause as NodeJS.ErrnoException).code ?? 'error';
  return new CodedError('INVALID_INPUT', `cannot use ${JSON.stringify(path)}: ${code}`, { cause });
}
