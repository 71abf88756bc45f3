// Chain-scan benchmark: blocks per second the follower scans for a realistic
// block (3,000 P2WPKH transactions, 1-2 inputs and 2 outputs each, with
// witnesses, ~1.3 MB) against a pool of 1,000,000 addresses, the way `coldpool
// chain sync` does it: parse the raw block, check its hash and merkle roots,
// then match every output against the script index and every input against
// the open outpoints. The network and the database are left out (they are the
// node's and the disk's speed, not ours).
//
// The 1,000,000 programs are random 20-byte hashes put in the index directly
// (ScriptIndex.addProgram), not derived: deriving a million keys is what
// bench/derive.js measures. 20 outputs of the block pay the pool and 10
// inputs spend open outpoints, so the matched path is exercised too.
// Run: npm run bench:chain
import { randomBytes } from 'node:crypto';
import { Block, Transaction } from 'bitcoinjs-lib';
import { ScriptIndex, internalHex, outpointKey, parseBlock, scanTransactions } from '../dist/core/chain-scan.js';

const POOL = 1_000_000;
const TXS = 3_000;
const ROUNDS = 30;

function p2wpkh(program) {
  return Buffer.concat([Buffer.from([0x00, 0x14]), program]);
}

const heapBefore = process.memoryUsage().heapUsed;
let t = performance.now();
const index = new ScriptIndex();
const programs = [];
for (let i = 0; i < POOL; i++) {
  const program = randomBytes(20);
  if (i % 50_000 === 0) programs.push(program);
  index.addProgram(program, { accountId: 1n, chain: 0, index: i, address: `addr${i}` });
}
const indexMs = performance.now() - t;
const indexMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

const open = new Set();
const spendable = [];
for (let i = 0; i < 5_000; i++) {
  const txid = randomBytes(32).toString('hex');
  open.add(outpointKey(internalHex(txid), 0));
  if (i < 10) spendable.push(txid);
}

const coinbase = new Transaction();
coinbase.addInput(Buffer.alloc(32), 0xffffffff, 0xffffffff, Buffer.from('03a08601', 'hex'));
coinbase.setWitness(0, [Buffer.alloc(32)]);
coinbase.addOutput(p2wpkh(randomBytes(20)), 312_500_000n);
coinbase.addOutput(Buffer.concat([Buffer.from('6a24aa21a9ed', 'hex'), Buffer.alloc(32)]), 0n);
const txs = [coinbase];
for (let k = 0; k < TXS - 1; k++) {
  const tx = new Transaction();
  tx.version = 2;
  const inputs = k % 3 === 0 ? 2 : 1;
  for (let i = 0; i < inputs; i++) {
    const prev = k < spendable.length && i === 0 ? Buffer.from(spendable[k], 'hex').reverse() : randomBytes(32);
    tx.addInput(prev, k < spendable.length && i === 0 ? 0 : k % 4, 0xfffffffd);
    tx.setWitness(i, [randomBytes(71), Buffer.concat([Buffer.from([0x02]), randomBytes(32)])]);
  }
  const ours = k % 150 === 0 ? programs[(k / 150) % programs.length] : randomBytes(20);
  tx.addOutput(p2wpkh(ours), BigInt(10_000 + k));
  tx.addOutput(p2wpkh(randomBytes(20)), 1_000_000n);
  txs.push(tx);
}
coinbase.outs[1].script = Buffer.concat([Buffer.from('6a24aa21a9ed', 'hex'), Block.calculateMerkleRoot(txs, true)]);
const block = new Block();
block.version = 0x20000000;
block.prevHash = randomBytes(32);
block.transactions = txs;
block.merkleRoot = Block.calculateMerkleRoot(txs);
block.timestamp = 1_767_225_600;
block.bits = 0x207fffff;
block.nonce = 0;
const raw = Buffer.from(block.toBuffer());
const hash = block.getId();

let found = 0;
let spends = 0;
const times = { parse: [], scan: [] };
let cpuMicros = 0;
for (let r = 0; r < ROUNDS + 3; r++) {
  const openCopy = new Set(open);
  const cpu = process.cpuUsage();
  t = performance.now();
  const parsed = parseBlock(raw, hash, 'bench');
  const t1 = performance.now();
  const result = scanTransactions(parsed.txs, index, openCopy);
  const t2 = performance.now();
  const used = process.cpuUsage(cpu);
  if (r < 3) continue; // warm-up
  cpuMicros += used.user + used.system;
  times.parse.push(t1 - t);
  times.scan.push(t2 - t1);
  found = result.outputs.length;
  spends = result.spends.length;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const parseMs = median(times.parse);
const scanMs = median(times.scan);
console.log(`chain-scan: block of ${txs.length} txs, ${(raw.length / 1e6).toFixed(2)} MB; pool index of ${POOL.toLocaleString('en')} scripts built in ${indexMs.toFixed(0)} ms (~${indexMb.toFixed(0)} MB heap); ${open.size} open outpoints`);
console.log(`chain-scan: parse + hash + merkle check ${parseMs.toFixed(1)} ms, match ${scanMs.toFixed(2)} ms (${found} outputs to the pool, ${spends} spends) per block (median of ${ROUNDS})`);
console.log(`chain-scan: ${(1000 / (parseMs + scanMs)).toFixed(1)} blocks/s scanned (${Math.round(txs.length * 1000 / (parseMs + scanMs)).toLocaleString('en')} tx/s) wall clock; ${(ROUNDS * 1e6 / cpuMicros).toFixed(1)} blocks per CPU-second (${(cpuMicros / ROUNDS / 1000).toFixed(1)} ms CPU a block); load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
