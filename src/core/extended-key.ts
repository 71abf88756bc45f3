import { ECDH } from 'node:crypto';
import bs58check from 'bs58check';
import { CodedError, show } from './errors.js';
import { NETWORKS, type Network } from './network.js';

/**
 * A BIP32 extended *public* key, decoded. This module never holds a private
 * key: a serialised xprv/tprv/zprv/vprv is refused with REFUSED, so a private
 * key pasted where a public one belongs cannot travel further.
 *
 * @see https://github.com/bitcoin/bips/blob/master/bip-0032.mediawiki#serialization-format
 * @see https://github.com/satoshilabs/slips/blob/master/slip-0132.md
 */
export interface ExtendedPublicKey {
  /** `mainnet` for xpub/zpub; `test` for tpub/vpub (testnet, signet and regtest share them). */
  readonly family: 'mainnet' | 'test';
  /** How it was written: plain BIP32 or the SLIP-132 BIP84 form Electrum uses. */
  readonly encoding: 'bip32' | 'slip132';
  readonly depth: number;
  readonly parentFingerprint: number;
  readonly childNumber: number;
  readonly chainCode: Uint8Array;
  /** 33-byte compressed SEC1 public key. */
  readonly publicKey: Uint8Array;
}

const PUBLIC_VERSIONS = new Map<number, { family: 'mainnet' | 'test'; encoding: 'bip32' | 'slip132' }>([
  [NETWORKS.mainnet.bip32.public, { family: 'mainnet', encoding: 'bip32' }],
  [NETWORKS.mainnet.slip132.public, { family: 'mainnet', encoding: 'slip132' }],
  [NETWORKS.testnet.bip32.public, { family: 'test', encoding: 'bip32' }],
  [NETWORKS.testnet.slip132.public, { family: 'test', encoding: 'slip132' }],
]);

const PRIVATE_VERSIONS = new Set<number>([
  NETWORKS.mainnet.bip32.private, NETWORKS.mainnet.slip132.private,
  NETWORKS.testnet.bip32.private, NETWORKS.testnet.slip132.private,
  0x049d7878, 0x044a4e28, // yprv, uprv (BIP49)
  0x0295b005, 0x02575048, // Zprv, Vprv (multisig)
]);

const OTHER_PUBLIC = new Map<number, string>([
  [0x049d7cb2, 'ypub (BIP49 P2SH-P2WPKH)'], [0x044a5262, 'upub (BIP49 P2SH-P2WPKH)'],
  [0x02aa7ed3, 'Zpub (multisig)'], [0x02575483, 'Vpub (multisig)'],
]);

/**
 * Decode an xpub, tpub, zpub or vpub. Refuses private keys, other SLIP-132
 * kinds, bad checksums, keys that are not valid compressed points and
 * master keys (depth 0) with a parent fingerprint or child number (BIP32
 * test vector 5).
 *
 * @example
 * const key = parseExtendedPublicKey('zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs');
 */
export function parseExtendedPublicKey(text: string): ExtendedPublicKey {
  const trimmed = text.trim();
  let raw: Uint8Array;
  try {
    raw = bs58check.decode(trimmed);
  } catch (cause) {
    throw new CodedError('CHECKSUM', `"extended key" expected a base58check xpub/tpub/zpub/vpub, got ${show(trimmed)} (bad base58 or checksum)`, { cause });
  }
  if (raw.length !== 78) {
    throw new CodedError('INVALID_INPUT', `"extended key" expected 78 bytes, got ${raw.length}`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const version = view.getUint32(0);
  if (PRIVATE_VERSIONS.has(version)) {
    throw new CodedError('REFUSED', 'a private extended key (xprv/tprv/zprv/vprv) was given where a public key belongs; it was not used or stored', {
      hint: 'export the account with `coldpool-offline export` and pass the xpub or descriptor it prints',
    });
  }
  const kind = PUBLIC_VERSIONS.get(version);
  if (!kind) {
    const other = OTHER_PUBLIC.get(version);
    throw new CodedError('INVALID_INPUT', other
      ? `"extended key" expected xpub/tpub/zpub/vpub (BIP84 native segwit), got a ${other}`
      : `"extended key" has unknown version bytes 0x${version.toString(16).padStart(8, '0')}`);
  }
  const publicKey = raw.slice(45, 78);
  if (publicKey[0] !== 0x02 && publicKey[0] !== 0x03) {
    throw new CodedError('INVALID_INPUT', '"extended key" public key must be a compressed point (02/03 prefix)');
  }
  if (!isCurvePoint(publicKey)) {
    throw new CodedError('INVALID_INPUT', '"extended key" public key is not a point on secp256k1 (BIP32: such a key is invalid)');
  }
  const depth = raw[4]!;
  const parentFingerprint = view.getUint32(5);
  const childNumber = view.getUint32(9);
  if (depth === 0 && (parentFingerprint !== 0 || childNumber !== 0)) {
    throw new CodedError('INVALID_INPUT', `"extended key" has depth 0 (a master key) but a non-zero ${parentFingerprint !== 0 ? 'parent fingerprint' : 'child number'}`);
  }
  return {
    family: kind.family,
    encoding: kind.encoding,
    depth,
    parentFingerprint,
    childNumber,
    chainCode: raw.slice(13, 45),
    publicKey,
  };
}

/** True when a 33-byte compressed key decodes to a secp256k1 point (OpenSSL through node:crypto, no wasm to load). */
function isCurvePoint(compressed: Uint8Array): boolean {
  try {
    ECDH.convertKey(compressed, 'secp256k1');
    return true;
  } catch {
    return false;
  }
}

/** Serialise as xpub/tpub (`bip32`) or zpub/vpub (`slip132`) for the given network. */
export function formatExtendedPublicKey(key: Omit<ExtendedPublicKey, 'family' | 'encoding'>, network: Network, encoding: 'bip32' | 'slip132' = 'bip32'): string {
  const raw = new Uint8Array(78);
  const view = new DataView(raw.buffer);
  view.setUint32(0, encoding === 'bip32' ? network.bip32.public : network.slip132.public);
  raw[4] = key.depth;
  view.setUint32(5, key.parentFingerprint);
  view.setUint32(9, key.childNumber);
  raw.set(key.chainCode, 13);
  raw.set(key.publicKey, 45);
  return bs58check.encode(raw);
}

/** Refuse a key whose family does not match the network in use (an xpub on testnet, a tpub on mainnet). */
export function assertKeyNetwork(key: ExtendedPublicKey, network: Network): void {
  const want = network.name === 'mainnet' ? 'mainnet' : 'test';
  if (key.family !== want) {
    throw new CodedError('NETWORK_MISMATCH', `the extended key is for ${key.family === 'mainnet' ? 'mainnet (xpub/zpub)' : 'a test network (tpub/vpub)'} but the network is ${network.name}`);
  }
}
