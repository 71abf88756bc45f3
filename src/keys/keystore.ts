import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, fsyncSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync, fchmodSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CodedError, isCoded } from '../core/errors.js';
import { checkHex, checkScryptParams, newSealParams, openWithPassword, sealWithPassword, type ScryptParams } from '../core/password-seal.js';
import { NETWORK_NAMES, NETWORKS, type Network, type NetworkName } from '../core/network.js';

/**
 * The encrypted keystore: one small JSON file holding the BIP39 mnemonic and
 * passphrase, sealed with scrypt (memory-hard, so a stolen file resists GPU
 * guessing) and AES-256-GCM (authenticated, so tampering is detected), both
 * from node:crypto (OpenSSL) rather than a hand-rolled or little-kept package.
 *
 * Integrity, not only secrecy: every header field (format, version, network,
 * fingerprint, creation time, KDF parameters, salt, nonce) is fed to GCM as
 * additional authenticated data, and the reader refuses any file that is not
 * byte for byte the canonical serialisation of what it parsed. So a single
 * flipped byte anywhere (a key name, a space, the case of a hex digit) is
 * refused: either as malformed (INVALID_INPUT) or as failing authentication
 * (DECRYPT), never silently accepted or "repaired".
 *
 * Canonical form: the object below with keys in this order, `JSON.stringify`
 * with two-space indent, lower-case hex, one trailing newline.
 *
 * ```json
 * {
 *   "format": "coldpool-keystore",
 *   "version": 1,
 *   "network": "mainnet",
 *   "fingerprint": "73c5da0a",
 *   "created": "2025-01-01T00:00:00Z",
 *   "kdf": { "name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": "<32 bytes hex>" },
 *   "cipher": { "name": "aes-256-gcm", "nonce": "<12 bytes hex>" },
 *   "ciphertext": "<hex>",
 *   "tag": "<16 bytes hex>"
 * }
 * ```
 *
 * The file is written with mode 0600, atomically, and never over an
 * existing file (a keystore is the only copy of a key; overwriting one by a
 * slip of the finger would be a loss of funds).
 */

export const KEYSTORE_FORMAT = 'coldpool-keystore';
export const KEYSTORE_VERSION = 1;

/** The cost the CLI always writes: N = 2^17, r = 8, p = 1 (128 MiB, about half a second). */
export const DEFAULT_SCRYPT = { n: 2 ** 17, r: 8, p: 1 } as const;
/** Readers accept N in 2^10..2^20 (core/password-seal.ts), so tests can write cheap files through the library API. */
export { MAX_SCRYPT_N, MIN_SCRYPT_N, type ScryptParams } from '../core/password-seal.js';
/** A keystore is a few hundred bytes; anything far larger is not one. */
const MAX_FILE_BYTES = 64 * 1024;

/** What the keystore protects. */
export interface KeystoreSecret {
  /** Normalised BIP39 mnemonic. */
  readonly mnemonic: string;
  /** BIP39 passphrase ('' for none). */
  readonly passphrase: string;
}

/** The clear header: authenticated but not secret. */
export interface KeystoreHeader {
  readonly format: typeof KEYSTORE_FORMAT;
  readonly version: typeof KEYSTORE_VERSION;
  readonly network: NetworkName;
  /** Master key fingerprint, 8 lower-case hex: lets an operator tell keystores apart without the password. */
  readonly fingerprint: string;
  /** Creation time, UTC, second precision. */
  readonly created: string;
  readonly kdf: { readonly name: 'scrypt'; readonly n: number; readonly r: number; readonly p: number; readonly salt: string };
  readonly cipher: { readonly name: 'aes-256-gcm'; readonly nonce: string };
}

export interface KeystoreFile extends KeystoreHeader {
  readonly ciphertext: string;
  readonly tag: string;
}

export interface WriteKeystoreOptions {
  readonly network: Network;
  readonly fingerprint: string;
  /** Defaults to DEFAULT_SCRYPT; the CLI never overrides it. */
  readonly scrypt?: ScryptParams;
  /** Defaults to now. */
  readonly created?: Date;
}

/**
 * Encrypt and write a new keystore at `path`. Throws EXISTS (and leaves the
 * old file untouched) when `path` exists.
 *
 * @example
 * await writeKeystore('cold.keystore', { mnemonic, passphrase: '' }, 'correct horse', { network: NETWORKS.mainnet, fingerprint: '73c5da0a' });
 */
export async function writeKeystore(path: string, secret: KeystoreSecret, password: string, options: WriteKeystoreOptions): Promise<KeystoreFile> {
  assertKeystoreAbsent(path);
  const params = options.scrypt ?? DEFAULT_SCRYPT;
  checkScryptParams(params);
  const header: KeystoreHeader = {
    format: KEYSTORE_FORMAT,
    version: KEYSTORE_VERSION,
    network: options.network.name,
    fingerprint: checkHex('fingerprint', options.fingerprint, 4),
    created: (options.created ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...newSealParams(params),
  };
  const plaintext = Buffer.from(JSON.stringify({ mnemonic: secret.mnemonic, passphrase: secret.passphrase }), 'utf8');
  try {
    const file: KeystoreFile = { ...header, ...(await sealWithPassword(password, header, serializeHeader(header), plaintext)) };
    writeNewFileAtomically(path, serializeKeystore(file));
    return file;
  } finally {
    plaintext.fill(0);
  }
}

/**
 * Read, check and decrypt a keystore. Wrong password and tampering both give
 * DECRYPT (GCM cannot tell them apart, and neither should an attacker);
 * a file that is not a canonical keystore gives INVALID_INPUT; a missing one
 * NOT_FOUND.
 */
export async function readKeystore(path: string, password: string): Promise<{ header: KeystoreHeader; secret: KeystoreSecret }> {
  const file = loadKeystoreFile(path);
  const { ciphertext, tag, ...header } = file;
  const plaintext = await openWithPassword(password, header, serializeHeader(header), ciphertext, tag);
  if (plaintext === undefined) throw decryptError(path);
  try {
    return { header, secret: parseSecret(plaintext) };
  } finally {
    plaintext.fill(0);
  }
}

/** Read and check the clear part of a keystore (no password): for `export` messages and early checks. */
export function loadKeystoreFile(path: string): KeystoreFile {
  const bytes = readBounded(path);
  const text = bytes.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw notKeystore(path, 'it is not JSON');
  }
  const file = checkFileShape(parsed, path);
  if (!Buffer.from(serializeKeystore(file), 'utf8').equals(bytes)) {
    throw notKeystore(path, 'it is not in canonical form (edited or damaged)');
  }
  return file;
}

/** Throw EXISTS when `path` exists: checked before a ceremony starts, and again (atomically) when writing. */
export function assertKeystoreAbsent(path: string): void {
  let exists = true;
  try {
    statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') exists = false;
    else throw ioError(path, e);
  }
  if (exists) throw existsError(path);
}

/**
 * Everything that can be checked before a ceremony starts, so an operator
 * never writes down a seed that then cannot be stored: the target does not
 * exist, and its directory exists and is writable.
 */
export function assertKeystoreCreatable(path: string): void {
  assertKeystoreAbsent(path);
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) throw new CodedError('USAGE', `"--keystore" directory ${JSON.stringify(dir)} is not a directory`);
    accessSync(dir, constants.W_OK);
  } catch (e) {
    if (e instanceof CodedError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new CodedError('USAGE', `"--keystore" directory ${JSON.stringify(dir)} cannot be written: ${code}`, { cause: e });
  }
}

/** The canonical text of a keystore file. */
export function serializeKeystore(file: KeystoreFile): string {
  const ordered = { ...headerObject(file), ciphertext: file.ciphertext, tag: file.tag };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** The additional authenticated data: the canonical header, compact. */
function serializeHeader(header: KeystoreHeader): string {
  return JSON.stringify(headerObject(header));
}

function headerObject(h: KeystoreHeader): KeystoreHeader {
  return {
    format: h.format,
    version: h.version,
    network: h.network,
    fingerprint: h.fingerprint,
    created: h.created,
    kdf: { name: h.kdf.name, n: h.kdf.n, r: h.kdf.r, p: h.kdf.p, salt: h.kdf.salt },
    cipher: { name: h.cipher.name, nonce: h.cipher.nonce },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Check every field's type and range; the canonical comparison afterwards catches extra or reordered keys. */
function checkFileShape(v: unknown, path: string): KeystoreFile {
  try {
    if (!isRecord(v) || v.format !== KEYSTORE_FORMAT) throw new CodedError('INVALID_INPUT', `"format" expected "${KEYSTORE_FORMAT}"`);
    if (v.version !== KEYSTORE_VERSION) throw new CodedError('INVALID_INPUT', `"version" expected ${KEYSTORE_VERSION}, got ${String(v.version)}`);
    if (typeof v.network !== 'string' || !(NETWORK_NAMES as readonly string[]).includes(v.network)) {
      throw new CodedError('INVALID_INPUT', `"network" expected one of ${NETWORK_NAMES.join(', ')}`);
    }
    if (typeof v.created !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(v.created)) {
      throw new CodedError('INVALID_INPUT', '"created" expected an ISO time like 2025-01-01T00:00:00Z');
    }
    const { kdf, cipher } = v;
    if (!isRecord(kdf) || kdf.name !== 'scrypt') throw new CodedError('INVALID_INPUT', '"kdf.name" expected "scrypt"');
    if (!isRecord(cipher) || cipher.name !== 'aes-256-gcm') throw new CodedError('INVALID_INPUT', '"cipher.name" expected "aes-256-gcm"');
    const params = { n: kdf.n as number, r: kdf.r as number, p: kdf.p as number };
    checkScryptParams(params);
    const ciphertext = checkHex('ciphertext', v.ciphertext, undefined);
    if (ciphertext.length > 8192) throw new CodedError('INVALID_INPUT', '"ciphertext" is far too long for a mnemonic');
    return {
      format: KEYSTORE_FORMAT,
      version: KEYSTORE_VERSION,
      network: v.network as NetworkName,
      fingerprint: checkHex('fingerprint', v.fingerprint, 4),
      created: v.created,
      kdf: { name: 'scrypt', ...params, salt: checkHex('kdf.salt', kdf.salt, 32) },
      cipher: { name: 'aes-256-gcm', nonce: checkHex('cipher.nonce', cipher.nonce, 12) },
      ciphertext,
      tag: checkHex('tag', v.tag, 16),
    };
  } catch (e) {
    if (isCoded(e, 'INVALID_INPUT')) throw notKeystore(path, e.message);
    throw e;
  }
}

function parseSecret(plaintext: Buffer): KeystoreSecret {
  // Authenticated by GCM, so this can only fail on a bug or a foreign writer; say nothing about the content.
  const v: unknown = JSON.parse(plaintext.toString('utf8'));
  if (!isRecord(v) || typeof v.mnemonic !== 'string' || typeof v.passphrase !== 'string') {
    throw new CodedError('INTERNAL', 'keystore decrypted but its content has an unexpected shape');
  }
  return { mnemonic: v.mnemonic, passphrase: v.passphrase };
}

function readBounded(path: string): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CodedError('NOT_FOUND', `keystore ${JSON.stringify(path)} does not exist`, { hint: 'create one with `coldpool-offline init` or `restore`' });
    }
    throw ioError(path, e);
  }
  if (size > MAX_FILE_BYTES) throw notKeystore(path, `it is ${size} bytes, far larger than a keystore`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw ioError(path, e);
  }
}

/**
 * Write `text` to a new file at `target` with mode 0600, atomically: a temp
 * file in the same directory (created with O_EXCL), fsync, then a hard link
 * to the target. link(2) fails when the target exists, so an existing file
 * is never replaced, not even by a racing writer; rename(2) would replace it.
 */
export function writeNewFileAtomically(target: string, text: string): void {
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o600);
  } catch (e) {
    throw ioError(tmp, e);
  }
  try {
    try {
      fchmodSync(fd, 0o600);
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw existsError(target);
      throw ioError(target, e);
    }
    syncDir(dir);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Already gone: nothing to clean.
    }
  }
}

/** Make the new directory entry durable; best effort (some filesystems refuse fsync on a directory). */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not fatal: the data itself is already synced.
  }
}

function decryptError(path: string): CodedError {
  // One line, no hint: the message already says both possible causes, and GCM cannot tell them apart.
  return new CodedError('DECRYPT', `keystore ${JSON.stringify(path)} could not be decrypted: wrong password, or the file was altered`);
}

function notKeystore(path: string, why: string): CodedError {
  return new CodedError('INVALID_INPUT', `${JSON.stringify(path)} is not a valid coldpool keystore: ${why}`);
}

function existsError(path: string): CodedError {
  return new CodedError('EXISTS', `keystore ${JSON.stringify(path)} already exists; it was left untouched`, {
    hint: 'choose another --keystore path; coldpool never overwrites a keystore',
  });
}

function ioError(path: string, cause: unknown): CodedError {
  const code = (cause as NodeJS.ErrnoException).code ?? 'error';
  return new CodedError('INVALID_INPUT', `cannot use ${JSON.stringify(path)}: ${code}`, { cause });
}

/** The Network object of a keystore header. */
export function keystoreNetwork(header: KeystoreHeader): Network {
  return NETWORKS[header.network];
}
