/**
 * Real regtest blocks built in memory for `coldpool demo`, from public data
 * only: no key is needed anywhere. The miner's coinbase pays a bare `OP_TRUE`
 * output (anyone can spend it with an empty scriptSig), and a "deposit" is a
 * transaction spending such an output to the pool's addresses. Blocks carry a
 * BIP34 height, the witness commitment, correct merkle roots and prev-hash
 * links, and a nonce ground to regtest's target (bits 0x207fffff).
 *
 * Moved from test/support/regtest-chain.ts (which also signs with test keys;
 * the demo needs none of that).
 */
import { Block, Transaction, script as bscript } from 'bitcoinjs-lib';

export const SUBSIDY_SAT = 5_000_000_000n;
export const BLOCK_INTERVAL_SEC = 600;
/** `OP_TRUE`: the demo miner's output script, spendable by anyone. */
export const ANYONE_CAN_SPEND = Buffer.from([0x51]);
const COMMITMENT_PREFIX = Buffer.from('6a24aa21a9ed', 'hex');

export interface MinedBlock {
  readonly height: number;
  /** Display order. */
  readonly hash: string;
  readonly raw: Buffer;
  readonly time: number;
  readonly txs: readonly Transaction[];
}

/** An output to spend: where it is and what it holds. */
export interface Outpoint {
  readonly txid: string;
  readonly vout: number;
  readonly valueSat: bigint;
}

export interface Pay {
  readonly script: Uint8Array;
  readonly valueSat: bigint;
}

function coinbase(height: number, fees: bigint): Transaction {
  const tx = new Transaction();
  tx.version = 2;
  tx.addInput(Buffer.alloc(32), 0xffffffff, 0xffffffff, bscript.compile([bscript.number.encode(height), Buffer.from('coldpool demo')]));
  tx.setWitness(0, [Buffer.alloc(32)]);
  tx.addOutput(ANYONE_CAN_SPEND, SUBSIDY_SAT + fees);
  tx.addOutput(Buffer.concat([COMMITMENT_PREFIX, Buffer.alloc(32)]), 0n);
  return tx;
}

/**
 * A transaction spending `OP_TRUE` outputs (empty scriptSig: nothing to sign)
 * to `pays`; what is not paid is the fee. RBF signalled, as wallets do.
 */
export function fundingTx(inputs: readonly Outpoint[], pays: readonly Pay[]): Transaction {
  const tx = new Transaction();
  tx.version = 2;
  for (const i of inputs) tx.addInput(Buffer.from(i.txid, 'hex').reverse(), i.vout, 0xfffffffd);
  for (const p of pays) tx.addOutput(Buffer.from(p.script), p.valueSat);
  return tx;
}

/**
 * Mine a block at `height` on top of `prevHash` (display order; undefined for
 * genesis) holding `txs` after the coinbase, which collects `fees`.
 */
export function mineBlock(height: number, prevHash: string | undefined, time: number, txs: readonly Transaction[], fees = 0n): MinedBlock {
  const cb = coinbase(height, fees);
  const all = [cb, ...txs];
  const commit = Block.calculateMerkleRoot(all, true);
  cb.outs[cb.outs.length - 1]!.script = Buffer.concat([COMMITMENT_PREFIX, commit]);
  const block = new Block();
  block.version = 0x20000000;
  block.prevHash = prevHash === undefined ? Buffer.alloc(32) : Buffer.from(prevHash, 'hex').reverse();
  block.transactions = all;
  block.merkleRoot = Block.calculateMerkleRoot(all);
  block.timestamp = time;
  block.bits = 0x207fffff;
  block.nonce = 0;
  while (!block.checkProofOfWork()) block.nonce++;
  return { height, hash: block.getId(), raw: Buffer.from(block.toBuffer()), time, txs: all };
}
