import { createHmac, hash } from 'node:crypto';
import { createRequire } from 'node:module';
import { script as bscript, Transaction, type Psbt } from 'bitcoinjs-lib';
import { hash160 } from '../core/derive.js';
import { formatPath, type AccountDescriptor } from '../core/descriptor.js';
import { CodedError } from '../core/errors.js';
import { parseDerivationPath, refusals, type PsbtReview } from '../core/psbt-inspect.js';
import { masterNode } from './account.js';

/**
 * Signing the inputs of a reviewed PSBT that are ours, with SIGHASH_ALL.
 * Only the offline program imports this file.
 *
 * Why not `psbt.signAllInputsHD`: it derives every key from the root again
 * and bitcoinjs's `hashForWitnessV0` recomputes hashPrevouts, hashSequence and
 * hashOutputs for every input (quadratic in the input count). Here the account
 * node is derived once from the seed, each chain node once, then one CKDpriv
 * step per input; the three BIP143 hashes are computed once per transaction.
 *
 * Signatures are RFC6979 deterministic with low R (grinding the extra
 * entropy with a little-endian counter, as Bitcoin Core and Electrum do), so
 * the same PSBT signed here and in Electrum gives byte-identical transactions.
 * Every signature is verified against its public key before it is added.
 *
 * @see https://github.com/bitcoin/bips/blob/master/bip-0143.mediawiki
 * @see https://github.com/bitcoin/bitcoin/pull/13666 (low R)
 */

interface Ecdsa {
  readonly name: string;
  /** Compact 64-byte low-S signature; `extra` is RFC6979 extra entropy (32 bytes) or undefined. */
  sign(msg: Uint8Array, key: Uint8Array, extra: Uint8Array | undefined): Uint8Array;
  verify(sig: Uint8Array, msg: Uint8Array, pubkey: Uint8Array): boolean;
  /** key + tweak mod n, in a new buffer, or null when invalid. */
  privateAdd(key: Uint8Array, tweak: Uint8Array): Uint8Array | null;
  publicKey(key: Uint8Array): Uint8Array;
}

const require = createRequire(import.meta.url);

function loadEcdsa(): Ecdsa {
  try {
    const n = require('secp256k1/bindings') as {
      ecdsaSign(msg: Uint8Array, key: Uint8Array, opts: { data?: Uint8Array }): { signature: Uint8Array };
      ecdsaVerify(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean;
      privateKeyTweakAdd(key: Uint8Array, tweak: Uint8Array): Uint8Array;
      publicKeyCreate(key: Uint8Array, compressed: boolean): Uint8Array;
    };
    return {
      name: 'libsecp256k1-native',
      sign: (msg, key, extra) => n.ecdsaSign(msg, key, extra ? { data: extra } : {}).signature,
      verify: (sig, msg, pub) => n.ecdsaVerify(sig, msg, pub),
      privateAdd: (key, tweak) => {
        try {
          return n.privateKeyTweakAdd(Uint8Array.from(key), tweak); // tweaks its argument: pass a copy
        } catch {
          return null;
        }
      },
      publicKey: (key) => n.publicKeyCreate(key, true),
    };
  } catch {
    const t = require('tiny-secp256k1') as typeof import('tiny-secp256k1');
    return {
      name: 'tiny-secp256k1-wasm',
      sign: (msg, key, extra) => t.sign(msg, key, extra),
      verify: (sig, msg, pub) => t.verify(msg, pub, sig),
      privateAdd: (key, tweak) => t.privateAdd(key, tweak),
      publicKey: (key) => {
        const p = t.pointFromScalar(key, true);
        if (!p) throw new CodedError('INTERNAL', 'invalid private key');
        return p;
      },
    };
  }
}

const ecdsa = loadEcdsa();
/** Which ECDSA implementation signs, for the benchmark and diagnostics. */
export const signBackend = ecdsa.name;

const sha256d = (data: Uint8Array): Buffer => hash('sha256', hash('sha256', data, 'buffer'), 'buffer');

/**
 * BIP143 signature hashes for SIGHASH_ALL with hashPrevouts, hashSequence and
 * hashOutputs computed once. Returns a function of (input, scriptCode, value).
 */
export function bip143AllHasher(tx: Transaction): (index: number, scriptCode: Uint8Array, valueSat: bigint) => Buffer {
  const prevouts = Buffer.alloc(36 * tx.ins.length);
  const sequences = Buffer.alloc(4 * tx.ins.length);
  tx.ins.forEach((input, k) => {
    prevouts.set(input.hash, 36 * k);
    prevouts.writeUInt32LE(input.index, 36 * k + 32);
    sequences.writeUInt32LE(input.sequence, 4 * k);
  });
  const outputs = Buffer.concat(tx.outs.map((o) => {
    const head = Buffer.alloc(8 + varIntLength(o.script.length));
    head.writeBigUInt64LE(o.value, 0);
    writeVarInt(head, o.script.length, 8);
    return Buffer.concat([head, o.script]);
  }));
  const hashPrevouts = sha256d(prevouts);
  const hashSequence = sha256d(sequences);
  const hashOutputs = sha256d(outputs);
  return (index, scriptCode, valueSat) => {
    const input = tx.ins[index]!;
    const codeLen = varIntLength(scriptCode.length);
    const buf = Buffer.alloc(4 + 32 + 32 + 36 + codeLen + scriptCode.length + 8 + 4 + 32 + 4 + 4);
    let o = buf.writeUInt32LE(tx.version >>> 0, 0);
    o += hashPrevouts.copy(buf, o);
    o += hashSequence.copy(buf, o);
    buf.set(input.hash, o);
    o = buf.writeUInt32LE(input.index, o + 32);
    o = writeVarInt(buf, scriptCode.length, o);
    buf.set(scriptCode, o);
    o = buf.writeBigUInt64LE(valueSat, o + scriptCode.length);
    o = buf.writeUInt32LE(input.sequence, o);
    o += hashOutputs.copy(buf, o);
    o = buf.writeUInt32LE(tx.locktime >>> 0, o);
    buf.writeUInt32LE(Transaction.SIGHASH_ALL, o);
    return sha256d(buf);
  };
}

function varIntLength(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : 5;
}

function writeVarInt(buf: Buffer, n: number, offset: number): number {
  if (n < 0xfd) return buf.writeUInt8(n, offset);
  if (n <= 0xffff) return buf.writeUInt16LE(n, buf.writeUInt8(0xfd, offset));
  return buf.writeUInt32LE(n, buf.writeUInt8(0xfe, offset));
}

/** `76a914{hash160(pubkey)}88ac`: the BIP143 scriptCode of a P2WPKH input. */
function p2wpkhScriptCode(pubkey: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from('76a914', 'hex'), hash160(pubkey), Buffer.from('88ac', 'hex')]);
}

/**
 * ECDSA with RFC6979 nonces and low R: sign without extra entropy, and while
 * R's top bit is set, again with extra entropy = counter (32 bytes, little
 * endian), exactly as Bitcoin Core's and Electrum's signers do.
 */
export function signLowR(msg: Uint8Array, key: Uint8Array): Uint8Array {
  let sig = ecdsa.sign(msg, key, undefined);
  const extra = Buffer.alloc(32);
  for (let counter = 1; sig[0]! >= 0x80; counter++) {
    extra.writeUInt32LE(counter, 0);
    sig = ecdsa.sign(msg, key, extra);
  }
  return sig;
}

interface PrivateNode {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly chainCode: Uint8Array;
}

/** CKDpriv for a non-hardened index: HMAC-SHA512(c, serP(K) || i), k_child = IL + k. */
function childPrivateKey(parent: PrivateNode, index: number): Uint8Array {
  const data = Buffer.alloc(37);
  data.set(parent.publicKey, 0);
  data.writeUInt32BE(index, 33);
  const i = createHmac('sha512', parent.chainCode).update(data).digest();
  const key = ecdsa.privateAdd(parent.privateKey, i.subarray(0, 32));
  i.fill(0);
  if (!key) throw new CodedError('INTERNAL', `BIP32 child ${index} is invalid (probability 2^-127); refusing to sign with a skipped key`);
  return key;
}

export interface SignedInput {
  readonly input: number;
  readonly path: string;
  readonly pubkey: string;
}

export interface SignResult {
  readonly signed: readonly SignedInput[];
  readonly backend: string;
}

/**
 * Sign every input of `psbt` that `review` recognised as ours (and that has
 * no signature of ours yet), in place. Refuses (REFUSED) when the review has
 * any refusing finding: callers review first, and this checks again.
 *
 * @example
 * const review = inspectPsbt(psbt, { network, account, policy });
 * const { signed } = signPsbt(psbt, seed, account, review);
 */
export function signPsbt(psbt: Psbt, seed: Uint8Array, account: AccountDescriptor, review: PsbtReview): SignResult {
  const refused = refusals(review);
  if (refused.length > 0) {
    throw new CodedError('REFUSED', `refusing to sign: ${refused.map((f) => `${f.code}: ${f.message}`).join('; ')}`);
  }
  if (!account.origin) throw new CodedError('USAGE', 'the account has no key origin');
  const tx = Transaction.fromBuffer(Buffer.from(psbt.data.getTransaction()));
  if (tx.getId() !== review.unsigned_txid) throw new CodedError('INTERNAL', 'the review is for another transaction');

  const master = masterNode(seed, account.network);
  const accountNode = master.derivePath(`m/${formatPath(account.origin.path).replace(/h/g, "'")}`);
  if (!Buffer.from(accountNode.publicKey).equals(Buffer.from(account.key.publicKey))) {
    throw new CodedError('INVALID_INPUT', 'the seed does not give this account key');
  }
  const chains = new Map<number, PrivateNode>();
  const chainOf = (chain: number): PrivateNode => {
    let node = chains.get(chain);
    if (!node) {
      const c = accountNode.derive(chain);
      node = { privateKey: Uint8Array.from(c.privateKey!), publicKey: c.publicKey, chainCode: c.chainCode };
      chains.set(chain, node);
    }
    return node;
  };

  const sighash = bip143AllHasher(tx);
  const signed: SignedInput[] = [];
  try {
    for (const input of review.inputs) {
      if (input.ours !== true || input.finalized || input.pubkey === null || input.path === null || input.value_sat === null) continue;
      if (input.signatures.some((s) => s.pubkey === input.pubkey)) continue;
      const path = parseDerivationPath(input.path)!;
      const chain = path[path.length - 2]!;
      const index = path[path.length - 1]!;
      const pubkey = Buffer.from(input.pubkey, 'hex');
      const key = childPrivateKey(chainOf(chain), index);
      try {
        if (!Buffer.from(ecdsa.publicKey(key)).equals(pubkey)) {
          throw new CodedError('INTERNAL', `input ${input.index}: the key derived for ${input.path} does not match its public key`);
        }
        const msg = sighash(input.index, p2wpkhScriptCode(pubkey), input.value_sat);
        const sig = signLowR(msg, key);
        if (!ecdsa.verify(sig, msg, pubkey)) throw new CodedError('INTERNAL', `input ${input.index}: the signature just made does not verify`);
        psbt.updateInput(input.index, { partialSig: [{ pubkey, signature: bscript.signature.encode(sig, Transaction.SIGHASH_ALL) }] });
        signed.push({ input: input.index, path: input.path, pubkey: input.pubkey });
      } finally {
        key.fill(0);
      }
    }
  } finally {
    for (const node of chains.values()) (node.privateKey as Uint8Array).fill(0);
  }
  return { signed, backend: ecdsa.name };
}

/**
 * Check every partial signature of `psbt` (SIGHASH_ALL, P2WPKH) against its
 * public key. Returns the number checked; throws INTERNAL on the first that
 * fails. Tests cross-check these hashes with bitcoinjs's `hashForWitnessV0`.
 */
export function verifyPartialSignatures(psbt: Psbt): number {
  const tx = Transaction.fromBuffer(Buffer.from(psbt.data.getTransaction()));
  const cached = bip143AllHasher(tx);
  let n = 0;
  psbt.data.inputs.forEach((input, i) => {
    for (const ps of input.partialSig ?? []) {
      const decoded = bscript.signature.decode(ps.signature);
      const utxo = input.witnessUtxo;
      if (!utxo) throw new CodedError('INTERNAL', `input ${i}: signature without witness_utxo`);
      const msg = cached(i, p2wpkhScriptCode(ps.pubkey), utxo.value);
      if (decoded.hashType !== Transaction.SIGHASH_ALL || !ecdsa.verify(decoded.signature, msg, ps.pubkey)) {
        throw new CodedError('INTERNAL', `input ${i}: signature by ${Buffer.from(ps.pubkey).toString('hex')} does not verify`);
      }
      n++;
    }
  });
  return n;
}
