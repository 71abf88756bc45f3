import { hash } from 'node:crypto';
import type { Transaction } from 'bitcoinjs-lib';
import { hash160 } from './derive.js';
import { ecdsaVerify } from './ec-add.js';

/**
 * The signature of a P2WPKH input: its BIP143 SIGHASH_ALL hash, the DER
 * encoding of its signature (BIP66) and its verification. Pure. The signer
 * (src/keys/sign.ts) hashes with it and checks what it signed, the broadcast
 * flow checks the signed PSBT with it, the demo chain checks what it mines.
 *
 * bitcoinjs's `hashForWitnessV0` recomputes hashPrevouts, hashSequence and
 * hashOutputs for every input (quadratic in the input count); `bip143AllHasher`
 * computes them once per transaction.
 *
 * @see https://github.com/bitcoin/bips/blob/master/bip-0143.mediawiki
 * @see https://github.com/bitcoin/bips/blob/master/bip-0066.mediawiki
 *
 * @example
 * const sighash = bip143AllHasher(tx);
 * verifyP2wpkhSignature(sighash, 0, 150_000n, pubkey, signature) // undefined when valid, else why not
 */

/** SIGHASH_ALL, the only sighash type coldpool signs or accepts. */
export const SIGHASH_ALL = 0x01;

/** The signature hash of input `index` spending `valueSat` with `scriptCode`. */
export type Bip143Hasher = (index: number, scriptCode: Uint8Array, valueSat: bigint) => Buffer;

const sha256d = (data: Uint8Array): Buffer => hash('sha256', hash('sha256', data, 'buffer'), 'buffer');

function varIntLength(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : 5;
}

function writeVarInt(buf: Buffer, n: number, offset: number): number {
  if (n < 0xfd) return buf.writeUInt8(n, offset);
  if (n <= 0xffff) return buf.writeUInt16LE(n, buf.writeUInt8(0xfd, offset));
  return buf.writeUInt32LE(n, buf.writeUInt8(0xfe, offset));
}

/**
 * BIP143 signature hashes for SIGHASH_ALL with hashPrevouts, hashSequence and
 * hashOutputs computed once for `tx`.
 */
export function bip143AllHasher(tx: Transaction): Bip143Hasher {
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
    buf.writeUInt32LE(SIGHASH_ALL, o);
    return sha256d(buf);
  };
}

/** `76a914{hash160(pubkey)}88ac`: the BIP143 scriptCode of a P2WPKH input. */
export function p2wpkhScriptCode(pubkey: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from('76a914', 'hex'), hash160(pubkey), Buffer.from('88ac', 'hex')]);
}

/** The SIGHASH_ALL message the key of `pubkey` signs for P2WPKH input `index` spending `valueSat`. */
export function p2wpkhSighash(sighash: Bip143Hasher, index: number, pubkey: Uint8Array, valueSat: bigint): Buffer {
  return sighash(index, p2wpkhScriptCode(pubkey), valueSat);
}

/** DER (BIP66) encoding of a compact (r, s) signature, plus the sighash byte. */
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

/**
 * The compact (r, s) and the sighash byte of a strict-DER (BIP66) signature
 * followed by its sighash byte, or undefined when it is not strict DER.
 */
export function parseDerSignature(sig: Uint8Array): { compact: Uint8Array; hashType: number } | undefined {
  if (sig.length < 9 || sig.length > 73 || sig[0] !== 0x30 || sig[1] !== sig.length - 3 || sig[2] !== 0x02) return undefined;
  const rLen = sig[3]!;
  if (rLen < 1 || rLen > 33 || 5 + rLen >= sig.length || sig[4 + rLen] !== 0x02) return undefined;
  const sLen = sig[5 + rLen]!;
  if (sLen < 1 || sLen > 33 || 6 + rLen + sLen !== sig.length - 1) return undefined;
  const compact = new Uint8Array(64);
  const put = (start: number, len: number, at: number): boolean => {
    const v = sig.subarray(start, start + len);
    if (v[0]! >= 0x80) return false; // negative
    if (len > 1 && v[0] === 0 && v[1]! < 0x80) return false; // needless zero padding
    if (len === 33 && v[0] !== 0) return false; // 2^256 or more
    const trimmed = len === 33 ? v.subarray(1) : v;
    compact.set(trimmed, at + 32 - trimmed.length);
    return true;
  };
  if (!put(4, rLen, 0) || !put(6 + rLen, sLen, 32)) return undefined;
  return { compact, hashType: sig[sig.length - 1]! };
}

/**
 * Why `signature` (DER + sighash byte) by `pubkey` is not a valid SIGHASH_ALL
 * signature of P2WPKH input `index` spending `valueSat`, or undefined when it is.
 */
export function verifyP2wpkhSignature(sighash: Bip143Hasher, index: number, valueSat: bigint, pubkey: Uint8Array, signature: Uint8Array): string | undefined {
  const sig = parseDerSignature(signature);
  if (!sig) return 'the signature is not strict DER (BIP66)';
  if (sig.hashType !== SIGHASH_ALL) return `signature with sighash ${sig.hashType}, only ALL is accepted`;
  if (pubkey.length !== 33 || (pubkey[0] !== 0x02 && pubkey[0] !== 0x03)) return 'the public key is not a compressed key (P2WPKH needs one)';
  return ecdsaVerify(sig.compact, p2wpkhSighash(sighash, index, pubkey, valueSat), pubkey) ? undefined : 'the signature does not verify';
}

/**
 * Why the witness of input `index` does not spend the P2WPKH output `prevout`
 * (`0014{hash160(pubkey)}`, `valueSat`), or undefined when it does: the
 * witness is [signature, pubkey], the key hashes to the output's program and
 * the signature verifies.
 */
export function verifyP2wpkhWitness(sighash: Bip143Hasher, index: number, prevout: { readonly script: Uint8Array; readonly valueSat: bigint }, witness: readonly Uint8Array[]): string | undefined {
  const script = prevout.script;
  if (script.length !== 22 || script[0] !== 0x00 || script[1] !== 0x14) return 'not a P2WPKH output';
  const [signature, pubkey] = witness;
  if (witness.length !== 2 || !signature || !pubkey) return 'witness is not [signature, pubkey]';
  if (!hash160(pubkey).equals(Buffer.from(script.subarray(2)))) return 'the public key does not hash to the output\'s program';
  return verifyP2wpkhSignature(sighash, index, prevout.valueSat, pubkey, signature);
}
