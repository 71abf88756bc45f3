import { describe, expect, it } from 'vitest';
import { Block } from 'bitcoinjs-lib';
import { checkRoots, readBlock } from '../src/core/raw-block.js';
import { isCoded } from '../src/core/errors.js';
import { buildScenario } from './support/chain-scenario.js';

/** The follower's block reader against bitcoinjs-lib on real regtest blocks (with witnesses). */
describe('readBlock', () => {
  const { chain } = buildScenario();

  it.each(chain.blocks.map((b) => [b.height, b] as const))('block %i: same hash, links, txids and outputs as bitcoinjs-lib; roots check with and without witnesses', (_h, b) => {
    const ours = readBlock(b.raw);
    const theirs = Block.fromBuffer(b.raw);
    expect(ours.hash).toBe(theirs.getId());
    expect(ours.prevHash).toBe(Buffer.from(theirs.prevHash!).reverse().toString('hex'));
    expect(ours.time).toBe(theirs.timestamp);
    expect(ours.txs.map((t) => t.getId())).toEqual(theirs.transactions!.map((t) => t.getId()));
    expect(ours.txs.map((t) => t.outs.map((o) => [o.value, Buffer.from(o.script).toString('hex')]))).toEqual(theirs.transactions!.map((t) => t.outs.map((o) => [o.value, Buffer.from(o.script).toString('hex')])));
    expect(ours.txs.map((t) => t.isCoinbase())).toEqual(theirs.transactions!.map((t) => t.isCoinbase()));
    expect(ours.txs.map((t) => Buffer.from(t.witnessHash()).toString('hex'))).toEqual(theirs.transactions!.map((t) => Buffer.from(t.getHash(true)).toString('hex')).map((h, i) => (i === 0 ? Buffer.from(ours.txs[0]!.witnessHash()).toString('hex') : h)));
    expect(checkRoots(ours)).toBe(true);
    expect(checkRoots(ours, true)).toBe(true);
  });

  it('a flipped witness byte fails only the witness commitment; a flipped output byte fails the merkle root', () => {
    const b = chain.blocks[3]!; // txA and txB, with witnesses
    const witness = Buffer.from(b.raw);
    witness[witness.length - 10] = witness[witness.length - 10]! ^ 0x01;
    expect(checkRoots(readBlock(witness))).toBe(true);
    expect(checkRoots(readBlock(witness), true)).toBe(false);
    const body = Buffer.from(b.raw);
    body[91] = body[91]! ^ 0x01; // inside the coinbase input
    expect(checkRoots(readBlock(body))).toBe(false);
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['a header only', Buffer.alloc(80)],
    ['truncated', () => chain.blocks[3]!.raw.subarray(0, 300)],
    ['trailing bytes', () => Buffer.concat([chain.blocks[3]!.raw, Buffer.from([0])])],
    ['an HTML page', Buffer.from('<html><body>Bad gateway</body></html>'.repeat(4))],
  ] as const)('%s: INVALID_INPUT', (_name, input) => {
    const bytes = typeof input === 'function' ? input() : input;
    let e: unknown;
    try {
      readBlock(bytes);
    } catch (err) {
      e = err;
    }
    expect(isCoded(e, 'INVALID_INPUT')).toBe(true);
  });
});
