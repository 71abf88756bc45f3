/**
 * An in-memory regtest chain behind the ChainSource port, for `coldpool demo`:
 * the chain follower, `payout build` and `payout broadcast` talk to it as they
 * would to Bitcoin Core, with no socket and no node. It keeps a mempool;
 * `testAccept` and `broadcast` check what a node checks for the demo's
 * transactions: every input spends a known, unspent output, every P2WPKH
 * input carries a valid SIGHASH_ALL signature of the key its script names,
 * and the outputs do not exceed the inputs.
 */
import { Transaction } from 'bitcoinjs-lib';
import type { ChainSource } from '../core/ports.js';
import { CodedError } from '../core/errors.js';
import { bip143AllHasher, verifyP2wpkhWitness } from '../core/p2wpkh-signature.js';
import { ANYONE_CAN_SPEND, BLOCK_INTERVAL_SEC, fundingTx, mineBlock, type MinedBlock, type Outpoint, type Pay } from './regtest-blocks.js';

export interface Prevout {
  readonly script: Buffer;
  readonly valueSat: bigint;
}

/**
 * Why `tx` does not verify against `prevouts` (one per input, in order), or
 * undefined when every input does: P2WPKH with a valid SIGHASH_ALL signature
 * of the key hashed in its script, or a bare OP_TRUE output.
 */
export function verifyInputs(tx: Transaction, prevouts: readonly Prevout[]): string | undefined {
  const sighash = bip143AllHasher(tx);
  for (const [n, input] of tx.ins.entries()) {
    const prev = prevouts[n]!;
    if (prev.script.equals(ANYONE_CAN_SPEND)) continue;
    const bad = verifyP2wpkhWitness(sighash, n, prev, input.witness);
    if (bad !== undefined) return `input ${n}: ${bad}`;
  }
  const inSat = prevouts.reduce((s, p) => s + p.valueSat, 0n);
  const outSat = tx.outs.reduce((s, o) => s + o.value, 0n);
  if (outSat > inSat) return `outputs (${outSat} sat) exceed inputs (${inSat} sat)`;
  return undefined;
}

export class DemoChain implements ChainSource {
  readonly label = 'demo chain (in memory, regtest)';
  readonly blocks: MinedBlock[] = [];
  readonly mempool = new Map<string, Transaction>();
  private readonly startTime: number;

  /** A chain whose genesis is dated so that its tip, after `expectedBlocks`, is about now. */
  constructor(expectedBlocks = 200) {
    this.startTime = Math.floor(Date.now() / 1000) - expectedBlocks * BLOCK_INTERVAL_SEC;
    this.mine([]);
  }

  get height(): number {
    return this.blocks.length - 1;
  }

  /** Mine one block holding `txs` (which leave the mempool). */
  mine(txs: readonly Transaction[]): MinedBlock {
    const height = this.blocks.length;
    let fees = 0n;
    for (const tx of txs) fees += this.prevouts(tx).reduce((s, p) => s + p.valueSat, 0n) - tx.outs.reduce((s, o) => s + o.value, 0n);
    const block = mineBlock(height, this.blocks[height - 1]?.hash, this.startTime + height * BLOCK_INTERVAL_SEC, txs, fees);
    this.blocks.push(block);
    for (const tx of txs) this.mempool.delete(tx.getId());
    return block;
  }

  mineEmpty(n: number): void {
    for (let k = 0; k < n; k++) this.mine([]);
  }

  /** Mine what the mempool holds. */
  mineMempool(): MinedBlock {
    return this.mine([...this.mempool.values()]);
  }

  /** The miner's (OP_TRUE) coinbase output at `height`. */
  minerCoin(height: number): Outpoint {
    const cb = this.blocks[height]!.txs[0]!;
    return { txid: cb.getId(), vout: 0, valueSat: cb.outs[0]!.value };
  }

  /** A deposit transaction: the miner's coin at `fromHeight` pays `pays`, the rest (less `feeSat`) back to OP_TRUE. */
  deposit(fromHeight: number, pays: readonly Pay[], feeSat = 1_000n): Transaction {
    const coin = this.minerCoin(fromHeight);
    const paid = pays.reduce((s, p) => s + p.valueSat, 0n);
    return fundingTx([coin], [...pays, { script: ANYONE_CAN_SPEND, valueSat: coin.valueSat - paid - feeSat }]);
  }

  findTx(txid: string): Transaction | undefined {
    const m = this.mempool.get(txid);
    if (m) return m;
    for (const b of this.blocks) for (const t of b.txs) if (t.getId() === txid) return t;
    return undefined;
  }

  /** The outputs spent by `tx`, in input order (throws on an unknown one). */
  prevouts(tx: Transaction): Prevout[] {
    return tx.ins.map((i) => {
      const txid = Buffer.from(i.hash).reverse().toString('hex');
      const prev = this.findTx(txid)?.outs[i.index];
      if (!prev) throw new CodedError('REFUSED', `input ${txid}:${i.index} spends an output this chain does not know`);
      return { script: Buffer.from(prev.script), valueSat: prev.value };
    });
  }

  private spent(): Set<string> {
    const out = new Set<string>();
    const all = [...this.blocks.flatMap((b) => b.txs.slice(1)), ...this.mempool.values()];
    for (const t of all) for (const i of t.ins) out.add(`${Buffer.from(i.hash).reverse().toString('hex')}:${i.index}`);
    return out;
  }

  async chainName(): Promise<string | undefined> {
    return 'regtest';
  }

  async tipHeight(): Promise<number> {
    return this.height;
  }

  async blockHash(height: number): Promise<string | undefined> {
    return this.blocks[height]?.hash;
  }

  async rawBlock(hash: string): Promise<Uint8Array | undefined> {
    return this.blocks.find((b) => b.hash === hash)?.raw;
  }

  async rawHeader(hash: string): Promise<Uint8Array | undefined> {
    return this.blocks.find((b) => b.hash === hash)?.raw.subarray(0, 80);
  }

  async mempoolTxids(): Promise<string[]> {
    return [...this.mempool.keys()];
  }

  async rawTransaction(txid: string): Promise<Uint8Array | undefined> {
    return this.findTx(txid)?.toBuffer();
  }

  async estimateFeeRateSatKvb(): Promise<bigint | undefined> {
    return 2_000n;
  }

  async testAccept(txHex: string): Promise<{ allowed: boolean; reason: string | undefined }> {
    let tx: Transaction;
    try {
      tx = Transaction.fromHex(txHex);
    } catch (e) {
      return { allowed: false, reason: `TX decode failed: ${(e as Error).message}` };
    }
    if (this.findTx(tx.getId())) return { allowed: false, reason: 'txn-already-known' };
    const spent = this.spent();
    for (const i of tx.ins) {
      const key = `${Buffer.from(i.hash).reverse().toString('hex')}:${i.index}`;
      if (spent.has(key)) return { allowed: false, reason: `bad-txns-inputs-missingorspent (${key})` };
    }
    let prevouts: Prevout[];
    try {
      prevouts = this.prevouts(tx);
    } catch (e) {
      return { allowed: false, reason: `bad-txns-inputs-missingorspent (${(e as Error).message})` };
    }
    const bad = verifyInputs(tx, prevouts);
    return bad === undefined ? { allowed: true, reason: undefined } : { allowed: false, reason: `mandatory-script-verify-flag-failed (${bad})` };
  }

  async broadcast(txHex: string): Promise<string> {
    const tx = Transaction.fromHex(txHex);
    if (this.findTx(tx.getId())) return tx.getId();
    const verdict = await this.testAccept(txHex);
    if (!verdict.allowed) throw new CodedError('REFUSED', `${this.label} refused ${tx.getId()}: ${verdict.reason ?? ''}`);
    this.mempool.set(tx.getId(), tx);
    return tx.getId();
  }

  async close(): Promise<void> {}
}
