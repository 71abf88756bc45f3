import { bech32 } from 'bech32';
import { uncompressed } from './ec-add.js';
import { CodedError, show } from './errors.js';
import type { FoundOutput, FoundSpend, ScriptOwner } from './ports.js';
import { childPublicKey, hash160, type PublicNode } from './derive.js';
import { checkRoots, readBlock, type RawBlock } from './raw-block.js';

/** What scanning needs of a transaction: bitcoinjs-lib's Transaction (mempool) and RawTx (blocks) both fit. */
export interface ScannableTx {
  readonly ins: readonly { readonly hash: Uint8Array; readonly index: number }[];
  readonly outs: readonly { readonly script: Uint8Array; readonly value: bigint }[];
  isCoinbase(): boolean;
  getId(): string;
}

/**
 * Matching blocks against the account, without I/O. The account is BIP84
 * (`wpkh`), so every script of ours is `0014{hash160}`: the index is a Map
 * from the 20-byte program (as a latin1 string, one char per byte) to where
 * the key sits. A block costs one length check per output and one Map lookup
 * per P2WPKH output, whatever the size of the pool; txids are hashed only for
 * transactions that touch the account.
 */
export class ScriptIndex {
  private readonly byProgram = new Map<string, ScriptOwner>();

  get size(): number {
    return this.byProgram.size;
  }

  /** Add a 20-byte witness program (hash160 of the key). */
  addProgram(program: Uint8Array, owner: ScriptOwner): void {
    this.byProgram.set(Buffer.from(program.buffer, program.byteOffset, program.byteLength).toString('latin1'), owner);
  }

  /** Add a loaded address (bech32 P2WPKH, as the batch files carry them). */
  addAddress(owner: ScriptOwner): void {
    this.addProgram(p2wpkhProgram(owner.address), owner);
  }

  /** The owner of an output script, or undefined (not P2WPKH, or not ours). */
  match(script: Uint8Array): ScriptOwner | undefined {
    if (script.length !== 22 || script[0] !== 0x00 || script[1] !== 0x14) return undefined;
    return this.byProgram.get(Buffer.from(script.buffer, script.byteOffset + 2, 20).toString('latin1'));
  }
}

/** The witness program of a bech32 v0 20-byte address; INVALID_INPUT for anything else. */
export function p2wpkhProgram(address: string): Uint8Array {
  let words: number[];
  try {
    words = bech32.decode(address).words;
  } catch (e) {
    throw new CodedError('INVALID_INPUT', `"address" expected a bech32 P2WPKH address, got ${show(address)}`, { cause: e });
  }
  const program = Uint8Array.from(bech32.fromWords(words.slice(1)));
  if (words[0] !== 0 || program.length !== 20) throw new CodedError('INVALID_INPUT', `"address" expected a P2WPKH (v0, 20-byte) address, got ${show(address)}`);
  return program;
}

/**
 * The change chain `…/1/j` of one account, derived on demand: change
 * addresses are not loaded as batches, so the follower derives them up to the
 * highest used change index plus a gap, and further as change gets used.
 */
export class ChangeWatch {
  private derived = 0;
  private readonly point: Uint8Array;

  constructor(
    private readonly node: PublicNode,
    private readonly accountId: bigint,
    private readonly toAddress: (publicKey: Uint8Array) => string,
    readonly gap: number,
  ) {
    this.point = uncompressed(node.publicKey);
  }

  /** Derive so that every index up to `usedIndex + gap` is in `index`. */
  ensure(index: ScriptIndex, usedIndex: number): void {
    const upTo = usedIndex + this.gap;
    for (; this.derived <= upTo; this.derived++) {
      const key = childPublicKey(this.node, this.derived, this.point);
      index.addProgram(hash160(key), { accountId: this.accountId, chain: 1, index: this.derived, address: this.toAddress(key) });
    }
  }
}

/** Map key of an outpoint: the txid in internal (little-endian) byte order, hex, and the output index. */
export function outpointKey(internalHashHex: string, vout: number): string {
  return `${internalHashHex}:${vout}`;
}

/** Display-order txid (what RPC and explorers print) → internal-order hex. */
export function internalHex(txid: string): string {
  return Buffer.from(txid, 'hex').reverse().toString('hex');
}

export interface ScanResult {
  readonly outputs: FoundOutput[];
  readonly spends: FoundSpend[];
}

/**
 * Find the account's outputs and the spends of its open outputs in `txs`, in
 * block order: an output created and spent in the same block is both found
 * and spent. `open` holds outpointKey()s and is updated in place (found
 * outputs added, spent ones removed) unless `updateOpen` is false.
 */
export function scanTransactions(txs: readonly ScannableTx[], index: ScriptIndex, open: Set<string>, onChange?: (owner: ScriptOwner) => void): ScanResult {
  const outputs: FoundOutput[] = [];
  const spends: FoundSpend[] = [];
  for (const tx of txs) {
    let txid: string | undefined;
    let internal: string | undefined;
    if (open.size > 0 && !tx.isCoinbase()) {
      for (const input of tx.ins) {
        const key = outpointKey(Buffer.from(input.hash.buffer, input.hash.byteOffset, 32).toString('hex'), input.index);
        if (!open.has(key)) continue;
        open.delete(key);
        txid ??= tx.getId();
        spends.push({ txid: Buffer.from(input.hash).reverse().toString('hex'), vout: input.index, spendingTxid: txid });
      }
    }
    for (let vout = 0; vout < tx.outs.length; vout++) {
      const out = tx.outs[vout]!;
      const owner = index.match(out.script);
      if (!owner) continue;
      txid ??= tx.getId();
      internal ??= internalHex(txid);
      open.add(outpointKey(internal, vout));
      outputs.push({ txid, vout, valueSat: out.value, script: Buffer.from(out.script).toString('hex'), owner });
      if (owner.chain === 1) onChange?.(owner);
    }
  }
  return { outputs, spends };
}

/**
 * Parse a serialized block and check that it is the block asked for: its hash
 * and its merkle root (so every input and output read is committed to by the
 * hash; witnesses are not read, their commitment is not checked). Proof of work is
 * not checked: the node is trusted for that, and a regtest chain has none worth
 * the name. Garbage is INVALID_INPUT naming `source`.
 */
export function parseBlock(raw: Uint8Array, expectedHash: string, source: string): RawBlock {
  let block: RawBlock;
  try {
    block = readBlock(raw);
  } catch (e) {
    throw new CodedError('INVALID_INPUT', `${source} returned a block that does not parse (${(e as Error).message})`, { cause: e, context: { hash: expectedHash } });
  }
  if (block.hash !== expectedHash) throw new CodedError('INVALID_INPUT', `${source} returned block ${block.hash} when asked for ${expectedHash}`);
  if (!checkRoots(block)) throw new CodedError('INVALID_INPUT', `${source} returned block ${block.hash} whose transactions do not match its merkle root`);
  return block;
}
