/**
 * A chain of REAL regtest blocks built in memory: coinbase transactions (BIP34
 * height, witness commitment), P2WPKH transactions signed with the test
 * account's keys (BIP84 on the regtest mnemonic of test/support/accounts.ts),
 * correct merkle roots, prev-hash links, timestamps, and a nonce ground to
 * regtest's target (bits 0x207fffff: about one try in two). Forks share the
 * blocks below the fork point, so a reorg of any depth is two arrays.
 */
import { BIP32Factory, type BIP32Interface } from 'bip32';
import * as bip39 from 'bip39';
import { Block, Transaction, payments, script as bscript } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { NETWORKS, toBitcoinjs } from '../../src/core/network.js';
import { MNEMONIC } from './accounts.js';

const bip32 = BIP32Factory(ecc);
const NET = toBitcoinjs(NETWORKS.regtest);
const root = bip32.fromSeed(bip39.mnemonicToSeedSync(MNEMONIC.regtest), NET);
/** The pool's account, m/84'/1'/0' (its descriptor is testAccount('regtest').descriptor). */
export const ACCOUNT = root.derivePath("m/84'/1'/0'");
/** Keys that are not the pool's: the miner and "other people". */
const OTHERS = root.derivePath("m/84'/1'/7'/0");

export const GENESIS_TIME = 1_767_225_600; // 2026-01-01T00:00:00Z
export const BLOCK_INTERVAL_SEC = 600;
export const SUBSIDY_SAT = 5_000_000_000n;

export function poolKey(chain: 0 | 1, index: number): BIP32Interface {
  return ACCOUNT.derive(chain).derive(index);
}

export function otherKey(index: number): BIP32Interface {
  return OTHERS.derive(index);
}

export function p2wpkh(key: BIP32Interface): Uint8Array {
  return payments.p2wpkh({ pubkey: key.publicKey, network: NET }).output!;
}

export function addressOf(key: BIP32Interface): string {
  return payments.p2wpkh({ pubkey: key.publicKey, network: NET }).address!;
}

/** An output someone can spend: the key that signs for it. */
export interface Utxo {
  readonly txid: string;
  readonly vout: number;
  readonly valueSat: bigint;
  readonly key: BIP32Interface;
}

export interface Payment {
  readonly key?: BIP32Interface;
  readonly script?: Uint8Array;
  readonly valueSat: bigint;
}

/** A signed P2WPKH transaction spending `inputs` to `outputs` (the rest is fee). */
export function spend(inputs: readonly Utxo[], outputs: readonly Payment[], sequence = 0xfffffffd): Transaction {
  const tx = new Transaction();
  tx.version = 2;
  for (const i of inputs) tx.addInput(Buffer.from(i.txid, 'hex').reverse(), i.vout, sequence);
  for (const o of outputs) tx.addOutput(o.script ?? p2wpkh(o.key!), o.valueSat);
  inputs.forEach((input, n) => {
    const scriptCode = payments.p2pkh({ pubkey: input.key.publicKey, network: NET }).output!;
    const hash = tx.hashForWitnessV0(n, scriptCode, input.valueSat, Transaction.SIGHASH_ALL);
    const sig = bscript.signature.encode(input.key.sign(hash), Transaction.SIGHASH_ALL);
    tx.setWitness(n, [sig, input.key.publicKey]);
  });
  return tx;
}

export interface ChainBlock {
  readonly height: number;
  readonly hash: string;
  readonly raw: Buffer;
  readonly time: number;
  readonly txs: readonly Transaction[];
}

let uniq = 0;

function coinbase(height: number, minerOutputs: number): Transaction {
  const tx = new Transaction();
  tx.version = 2;
  const tag = Buffer.alloc(4);
  tag.writeUInt32LE(++uniq);
  tx.addInput(Buffer.alloc(32), 0xffffffff, 0xffffffff, bscript.compile([bscript.number.encode(height), tag]));
  tx.setWitness(0, [Buffer.alloc(32)]);
  const each = SUBSIDY_SAT / BigInt(minerOutputs);
  for (let k = 0; k < minerOutputs; k++) tx.addOutput(p2wpkh(otherKey(k)), each);
  tx.addOutput(Buffer.concat([Buffer.from('6a24aa21a9ed', 'hex'), Buffer.alloc(32)]), 0n);
  return tx;
}

export class RegtestChain {
  private constructor(readonly blocks: ChainBlock[]) {}

  /** A chain with a genesis block (height 0) and nothing else. */
  static create(): RegtestChain {
    const chain = new RegtestChain([]);
    chain.mine();
    return chain;
  }

  get height(): number {
    return this.blocks.length - 1;
  }

  get tip(): ChainBlock {
    return this.blocks[this.blocks.length - 1]!;
  }

  /** The miner outputs of the coinbase at `height` (spendable by otherKey(k)). */
  coinbaseUtxos(height: number): Utxo[] {
    const cb = this.blocks[height]!.txs[0]!;
    return cb.outs.slice(0, -1).map((o, k) => ({ txid: cb.getId(), vout: k, valueSat: o.value, key: otherKey(k) }));
  }

  /** Mine one block holding `txs` after the coinbase. */
  mine(txs: readonly Transaction[] = [], minerOutputs = 4): ChainBlock {
    const height = this.blocks.length;
    const cb = coinbase(height, minerOutputs);
    const all = [cb, ...txs];
    const commit = Block.calculateMerkleRoot(all, true);
    cb.outs[cb.outs.length - 1]!.script = Buffer.concat([Buffer.from('6a24aa21a9ed', 'hex'), commit]);
    const block = new Block();
    block.version = 0x20000000;
    block.prevHash = height === 0 ? Buffer.alloc(32) : Buffer.from(this.tip.hash, 'hex').reverse();
    block.transactions = all;
    block.merkleRoot = Block.calculateMerkleRoot(all);
    block.timestamp = GENESIS_TIME + height * BLOCK_INTERVAL_SEC;
    block.bits = 0x207fffff;
    block.nonce = 0;
    while (!block.checkProofOfWork()) block.nonce++;
    const mined: ChainBlock = { height, hash: block.getId(), raw: Buffer.from(block.toBuffer()), time: block.timestamp, txs: all };
    this.blocks.push(mined);
    return mined;
  }

  /** Mine `n` empty blocks. */
  mineEmpty(n: number): void {
    for (let k = 0; k < n; k++) this.mine();
  }

  /** A new chain sharing blocks 0..height (the fork point); mine on it to reorg the original. */
  fork(height: number): RegtestChain {
    return new RegtestChain(this.blocks.slice(0, height + 1));
  }

  byHash(hash: string): ChainBlock | undefined {
    return this.blocks.find((b) => b.hash === hash);
  }

  findTx(txid: string): Transaction | undefined {
    for (const b of this.blocks) for (const t of b.txs) if (t.getId() === txid) return t;
    return undefined;
  }
}
