import { createHmac, hash } from 'node:crypto';
import { bech32 } from 'bech32';
import { pointAddScalar, uncompressed } from './ec-add.js';
import { CodedError } from './errors.js';
import { MAX_INDEX } from './bip32-index.js';
import type { AccountDescriptor } from './descriptor.js';
import type { Network } from './network.js';

/** A public BIP32 node: enough to derive non-hardened children. */
export interface PublicNode {
  readonly publicKey: Uint8Array;
  readonly chainCode: Uint8Array;
}

/**
 * CKDpub from BIP32: the child public key and chain code at `index`
 * (non-hardened only). Throws INTERNAL in the 1-in-2^127 case BIP32 calls
 * invalid, rather than silently skipping an index a wallet would not skip.
 *
 * @see https://github.com/bitcoin/bips/blob/master/bip-0032.mediawiki#public-parent-key--public-child-key
 */
export function deriveChild(parent: PublicNode, index: number): PublicNode {
  const { il, ir } = childTweak(parent, index);
  const publicKey = pointAddScalar(parent.publicKey, il);
  if (!publicKey) throw new CodedError('INTERNAL', `BIP32 child ${index} is invalid for this key (probability 2^-127); refusing to skip it`);
  return { publicKey, chainCode: ir };
}

const data = Buffer.alloc(37);

function childTweak(parent: PublicNode, index: number): { il: Uint8Array; ir: Uint8Array } {
  if (!Number.isInteger(index) || index < 0 || index > MAX_INDEX) {
    throw new CodedError('INVALID_INPUT', `"index" expected 0..${MAX_INDEX} (non-hardened), got ${index}`);
  }
  data.set(parent.publicKey, 0); // always the compressed form: BIP32 hashes serP(K)
  data.writeUInt32BE(index, 33);
  const i = createHmac('sha512', parent.chainCode).update(data).digest();
  return { il: i.subarray(0, 32), ir: i.subarray(32) };
}

/** The public key of `account/chain/index` without building intermediate objects. */
export function childPublicKey(chainNode: PublicNode, index: number, parentPoint: Uint8Array = chainNode.publicKey): Uint8Array {
  const { il } = childTweak(chainNode, index);
  const key = pointAddScalar(parentPoint, il);
  if (!key) throw new CodedError('INTERNAL', `BIP32 child ${index} is invalid for this key (probability 2^-127); refusing to skip it`);
  return key;
}

/** The chain node `account/chain`, derived once per batch, not once per address. */
export function chainNode(account: AccountDescriptor, chain: 0 | 1): PublicNode {
  return deriveChild(account.key, chain);
}

/** RIPEMD160(SHA256(x)) through node:crypto's one-shot hash (OpenSSL), a third faster than createHash for 33 bytes. */
export function hash160(bytes: Uint8Array): Buffer {
  return hash('ripemd160', hash('sha256', bytes, 'buffer'), 'buffer');
}

/** `0014{hash160}`: the P2WPKH output script of a compressed key. */
export function p2wpkhScript(publicKey: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x00, 0x14]), hash160(publicKey)]);
}

/** The bech32 (BIP173) P2WPKH address of a compressed key. */
export function p2wpkhAddress(publicKey: Uint8Array, network: Network): string {
  const words = bech32.toWords(hash160(publicKey));
  words.unshift(0);
  return bech32.encode(network.bech32, words);
}

/**
 * Addresses `chain/i` for i in [from, from + count), in order. This is the
 * single-threaded kernel; `flows/derive-range` spreads it over cores.
 */
export function deriveAddresses(node: PublicNode, network: Network, from: number, count: number): string[] {
  assertRange(from, count);
  const out = new Array<string>(count);
  const point = uncompressed(node.publicKey); // parsed once, not once per child
  for (let k = 0; k < count; k++) out[k] = p2wpkhAddress(childPublicKey(node, from + k, point), network);
  return out;
}

/** Refuse a range that is empty, fractional, negative or runs past 2^31 - 1. */
export function assertRange(from: number, count: number): void {
  if (!Number.isSafeInteger(from) || from < 0 || from > MAX_INDEX) {
    throw new CodedError('USAGE', `"--from" expected an integer 0..${MAX_INDEX}, got ${from}`);
  }
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new CodedError('USAGE', `"--count" expected a positive integer, got ${count}`);
  }
  if (from + count - 1 > MAX_INDEX) {
    throw new CodedError('USAGE', `range ${from}..${from + count - 1} runs past the last non-hardened index ${MAX_INDEX} (2^31-1)`);
  }
}
