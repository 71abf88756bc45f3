import { hash as oneShot } from 'node:crypto';
import { CodedError } from './errors.js';

/**
 * A minimal reader of serialized blocks (BIP144 witness serialization
 * included) for the chain follower's hot path. bitcoinjs-lib's
 * `Block.fromBuffer` builds and type-checks a full object per transaction,
 * ~100-350 ms for a block of 3,000 transactions on this machine; this reader
 * keeps views into the raw bytes and hashes with node:crypto (OpenSSL), so a
 * block is read and its merkle root checked in a few ms
 * (bench/README.md). The tests run the follower over real blocks built by
 * bitcoinjs-lib, which cross-checks the two.
 */
export interface RawInput {
  /** Previous txid, internal byte order (a view into the block). */
  readonly hash: Uint8Array;
  readonly index: number;
}

export interface RawOutput {
  readonly value: bigint;
  readonly script: Uint8Array;
}

export class RawTx {
  private id: string | undefined;
  private txid: Buffer | undefined;

  constructor(
    readonly ins: readonly RawInput[],
    readonly outs: readonly RawOutput[],
    /** version + inputs + outputs (+ locktime) without marker, flag, witnesses: what the txid hashes. */
    private readonly stripped: readonly Uint8Array[],
    /** The whole serialization (wtxid), or undefined when the tx has no witness (wtxid = txid). */
    readonly full: Uint8Array | undefined,
  ) {}

  isCoinbase(): boolean {
    return this.ins.length === 1 && this.ins[0]!.index === 0xffffffff && this.ins[0]!.hash.every((b) => b === 0);
  }

  /** txid, internal order. */
  hash(): Buffer {
    this.txid ??= sha256d(this.stripped.length === 1 ? this.stripped[0]! : Buffer.concat(this.stripped));
    return this.txid;
  }

  /** wtxid, internal order. */
  witnessHash(): Buffer {
    return this.full === undefined ? this.hash() : sha256d(this.full);
  }

  /** txid, display order. */
  getId(): string {
    this.id ??= Buffer.from(this.hash()).reverse().toString('hex');
    return this.id;
  }
}

export interface RawBlock {
  /** Display order. */
  readonly hash: string;
  readonly prevHash: string;
  readonly merkleRoot: Buffer;
  readonly time: number;
  readonly txs: readonly RawTx[];
}

/** Double SHA-256 through node:crypto's one-shot hash (OpenSSL, no Hash object per call). */
function sha256d(bytes: Uint8Array): Buffer {
  return oneShot('sha256', oneShot('sha256', bytes, 'buffer'), 'buffer');
}

class Reader {
  offset = 0;
  private readonly view: DataView;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(n: number): void {
    if (this.offset + n > this.buf.length) throw new RangeError(`truncated at byte ${this.offset} (needs ${n} more of ${this.buf.length})`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return v;
  }

  varint(): number {
    const first = this.u8();
    if (first < 0xfd) return first;
    if (first === 0xfd) {
      this.need(2);
      const v = this.view.getUint16(this.offset, true);
      this.offset += 2;
      return v;
    }
    if (first === 0xfe) return this.u32();
    const v = this.u64();
    if (v > BigInt(this.buf.length)) throw new RangeError(`count ${v} larger than the block`);
    return Number(v);
  }

  slice(n: number): Uint8Array {
    if (n > this.buf.length - this.offset) throw new RangeError(`truncated at byte ${this.offset} (needs ${n} more of ${this.buf.length})`);
    const s = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return s;
  }
}

function readTx(r: Reader): RawTx {
  const start = r.offset;
  r.need(4);
  r.offset += 4; // version
  let segwit = false;
  if (r.buf[r.offset] === 0x00 && r.buf[r.offset + 1] === 0x01) {
    segwit = true;
    r.offset += 2;
  }
  const bodyStart = r.offset;
  const nIn = r.varint();
  const ins: RawInput[] = new Array(nIn);
  for (let i = 0; i < nIn; i++) {
    const hash = r.slice(32);
    const index = r.u32();
    r.slice(r.varint()); // scriptSig
    r.u32(); // sequence
    ins[i] = { hash, index };
  }
  const nOut = r.varint();
  const outs: RawOutput[] = new Array(nOut);
  for (let o = 0; o < nOut; o++) {
    const value = r.u64();
    outs[o] = { value, script: r.slice(r.varint()) };
  }
  const bodyEnd = r.offset;
  if (segwit) {
    for (let i = 0; i < nIn; i++) {
      const items = r.varint();
      for (let k = 0; k < items; k++) r.slice(r.varint());
    }
  }
  const lockStart = r.offset;
  r.u32();
  const version = r.buf.subarray(start, start + 4);
  const stripped = segwit ? [version, r.buf.subarray(bodyStart, bodyEnd), r.buf.subarray(lockStart, r.offset)] : [r.buf.subarray(start, r.offset)];
  return new RawTx(ins, outs, stripped, segwit ? r.buf.subarray(start, r.offset) : undefined);
}

/**
 * Read a serialized block. Throws INVALID_INPUT for bytes that are not one
 * (truncated, trailing bytes, no transactions).
 */
export function readBlock(raw: Uint8Array): RawBlock {
  try {
    const r = new Reader(raw);
    const header = r.slice(80);
    const n = r.varint();
    if (n === 0) throw new RangeError('no transactions');
    const txs: RawTx[] = [];
    for (let i = 0; i < n; i++) txs.push(readTx(r));
    if (r.offset !== raw.length) throw new RangeError(`${raw.length - r.offset} bytes after the last transaction`);
    const h = Buffer.from(header.buffer, header.byteOffset, 80);
    return {
      hash: sha256d(header).reverse().toString('hex'),
      prevHash: Buffer.from(h.subarray(4, 36)).reverse().toString('hex'),
      merkleRoot: Buffer.from(h.subarray(36, 68)),
      time: h.readUInt32LE(68),
      txs,
    };
  } catch (e) {
    if (e instanceof RangeError) throw new CodedError('INVALID_INPUT', `not a serialized block: ${e.message}`, { cause: e });
    throw e;
  }
}

function merkleRoot(hashes: Buffer[]): Buffer {
  let level = hashes;
  while (level.length > 1) {
    const next: Buffer[] = [];
    const pair = Buffer.allocUnsafe(64);
    for (let i = 0; i < level.length; i += 2) {
      level[i]!.copy(pair, 0);
      (level[i + 1] ?? level[i]!).copy(pair, 32);
      next.push(sha256d(pair));
    }
    level = next;
  }
  return level[0]!;
}

const COMMITMENT_PREFIX = Buffer.from('6a24aa21a9ed', 'hex');

/**
 * True when the transactions hash to the header's merkle root: every input and
 * output the follower reads is then what the block hash commits to. Witnesses
 * are not read, so their commitment is checked only on request (`witness`).
 */
export function checkRoots(block: RawBlock, witness = false): boolean {
  if (!merkleRoot(block.txs.map((t) => t.hash())).equals(block.merkleRoot)) return false;
  if (!witness || !block.txs.some((t) => t.full !== undefined)) return true;
  const coinbase = block.txs[0]!;
  const commitment = [...coinbase.outs].reverse().find((o) => o.script.length >= 38 && Buffer.from(o.script.buffer, o.script.byteOffset, 6).equals(COMMITMENT_PREFIX));
  if (!commitment || coinbase.full === undefined) return false;
  // The coinbase's witness reserved value: its only witness item, the last 32 bytes before the locktime.
  const full = coinbase.full;
  const reserved = full.subarray(full.length - 4 - 32, full.length - 4);
  const root = merkleRoot([Buffer.alloc(32), ...block.txs.slice(1).map((t) => t.witnessHash())]);
  return sha256d(Buffer.concat([root, reserved])).equals(Buffer.from(commitment.script.subarray(6, 38)));
}
