import { createHmac, hash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Transaction, type Psbt } from 'bitcoinjs-lib';
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
 * Every signature made is read back from the PSBT and verified against its
 * public key (derived from the account xpub during review) before returning.
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
}

const require = createRequire(import.meta.url);

function loadEcdsa(): Ecdsa {
  try {
    const n = require('secp256k1/bindings') as {
      ecdsaSign(msg: Uint8Array, key: Uint8Array, opts: { data?: Uint8Array }): { signature: Uint8Array };
      ecdsaVerify(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean;
      privateKeyTweakAdd(key: Uint8Array, tweak: Uint8Array): Uint8Array;
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
    };
  } catch {
    const t = require('tiny-secp256k1') as typeof import('tiny-secp256k1');
    return {
      name: 'tiny-secp256k1-wasm',
      sign: (msg, key, extra) => t.sign(msg, key, extra),
      verify: (sig, msg, pub) => t.verify(msg, pub, sig),
      privateAdd: (key, tweak) => t.privateAdd(key, tweak),
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

/** DER (BIP66) encoding of a compact low-S signature, plus the sighash byte. */
export function derSignature(compact: Uint8Array, hashType: number): Buffer {
  const int = (x: Uint8Array): Buffer => {
    let i = 0;
    while (i < 31 && x[i] === 0 && x[i + 1]! < 0x80) i++;
    const body = Buffer.from(x.subarray(i));
    return body[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), body]) : body;
  };
  const r = int(compact.subarray(0, 32));
  const s = int(compact.subarray(32, 64));
  return Buffer.concat([Buffer.from([0x30, 4 + r.length + s.length, 0x02, r.length]), r, Buffer.from([0x02, s.length]), s, Buffer.from([hashType])]);
}

/** The 64-byte compact form of a strict-DER (BIP66) signature followed by its sighash byte; throws INTERNAL if malformed. */
export function compactFromDer(sig: Uint8Array): Uint8Array {
  const bad = (): never => {
    throw new CodedError('INTERNAL', 'malformed DER signature');
  };
  if (sig.length < 9 || sig[0] !== 0x30 || sig[1] !== sig.length - 3 || sig[2] !== 0x02) bad();
  const rLen = sig[3]!;
  if (rLen < 1 || rLen > 33 || sig[4 + rLen] !== 0x02) bad();
  const sLen = sig[5 + rLen]!;
  if (sLen < 1 || sLen > 33 || 6 + rLen + sLen !== sig.length - 1) bad();
  const out = new Uint8Array(64);
  const put = (start: number, len: number, at: number): void => {
    const v = sig.subarray(start, start + len);
    const trimmed = len === 33 ? (v[0] === 0 ? v.subarray(1) : bad()) : v;
    out.set(trimmed, at + 32 - trimmed.length);
  };
  put(4, rLen, 0);
  put(6 + rLen, sLen, 32);
  return out;
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
  const made: { index: number; pubkey: Buffer; msg: Buffer }[] = [];
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
        const msg = sighash(input.index, p2wpkhScriptCode(pubkey), input.value_sat);
        const signature = derSignature(signLowR(msg, key), Transaction.SIGHASH_ALL);
        // bip174's updateInput, not bitcoinjs's: the latter re-validates every input as a possible taproot
        // input with schemas built per call (most of the time for 1,000 inputs); the review checked it all.
        psbt.data.updateInput(input.index, { partialSig: [{ pubkey, signature }] });
        made.push({ index: input.index, pubkey, msg });
        signed.push({ input: input.index, path: input.path, pubkey: input.pubkey });
      } finally {
        key.fill(0);
      }
    }
    // Every signature made, read back from the PSBT as it will be written, is verified against the
    // public key the review derived from the account xpub: a wrong key or a bad encoding cannot leave.
    for (const m of made) {
      const ps = psbt.data.inputs[m.index]!.partialSig!.find((x) => Buffer.from(x.pubkey).equals(m.pubkey))!;
      if (!ecdsa.verify(compactFromDer(ps.signature), m.msg, m.pubkey)) {
        throw new CodedError('INTERNAL', `input ${m.index}: the signature just made does not verify; nothing was written`);
      }
    }
  } finally {
    for (const node of chains.values()) (node.privateKey as Uint8Array).fill(0);
  }
  return { signed, backend: ecdsa.name };
}
