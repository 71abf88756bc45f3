// Payout build benchmark (issue 16): the pure part of `coldpool payout build`
// (no store, no node): planPayoutParts splitting 3,000 withdrawals over
// 5,000 small coins into standard transactions, then buildPayoutPsbt of one
// part of BENCH_INPUTS P2WPKH inputs (each with witness_utxo, a 10-output
// non_witness_utxo and its BIP32 derivation) and BENCH_OUTPUTS outputs + change.
// Run: npm run build && node bench/run.js payout-build   (BENCH_RUNS=5 for more runs)
import { createHash } from 'node:crypto';
import { BIP32Factory } from 'bip32';
import * as bip39 from 'bip39';
import { payments, Transaction } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { parseAccountDescriptor } from '../dist/core/descriptor.js';
import { NETWORKS, toBitcoinjs } from '../dist/core/network.js';
import { buildPayoutPsbt } from '../dist/core/psbt-build.js';

const INPUTS = Number(process.env.BENCH_INPUTS ?? 500);
const OUTPUTS = Number(process.env.BENCH_OUTPUTS ?? 400);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const network = NETWORKS.regtest;
const net = toBitcoinjs(network);
const root = BIP32Factory(ecc).fromSeed(bip39.mnemonicToSeedSync('legal winner thank year wave sausage worth useful legal winner thank yellow'), net);
const accountNode = root.derivePath("m/84'/1'/0'");
const account = parseAccountDescriptor(`wpkh([${Buffer.from(root.fingerprint).toString('hex')}/84h/1h/0h]${accountNode.neutered().toBase58()}/<0;1>/*)`, network);
const script = payments.p2wpkh({ pubkey: accountNode.derive(0).derive(0).publicKey, network: net }).output;
const destination = (k) => payments.p2wpkh({ hash: createHash('sha256').update(`bench-${k}`).digest().subarray(0, 20), network: net }).address;

/** Coins of 20,000 + k sat at …/0/0, ten per previous transaction. */
function coins(n) {
  const out = [];
  for (let t = 0; t * 10 < n; t++) {
    const tx = new Transaction();
    tx.addInput(createHash('sha256').update(`prev-${t}`).digest(), 0);
    for (let j = 0; j < 10; j++) tx.addOutput(script, 20_000n + BigInt(t * 10 + j));
    const prevTx = tx.toBuffer();
    for (let j = 0; j < 10 && out.length < n; j++) out.push({ txid: tx.getId(), vout: j, valueSat: 20_000n + BigInt(t * 10 + j), script: Buffer.from(script).toString('hex'), chain: 0, index: 0, prevTx });
  }
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (fn) => {
  const ms = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
};

const pool = coins(INPUTS);
const total = pool.reduce((s, c) => s + c.valueSat, 0n);
const each = (total - 200_000n) / BigInt(OUTPUTS);
const pays = Array.from({ length: OUTPUTS }, (_, k) => ({ withdrawalId: BigInt(k + 1), address: destination(k), amountSat: each }));
let built;
const buildMs = time(() => (built = buildPayoutPsbt({ network, account, payments: pays, coins: pool, feeRateSatKvb: 1000n, changeIndex: 0 })));
console.log(`payout-build: node ${process.version}, median of ${runs} runs`);
console.log(`buildPayoutPsbt ${built.inputs.length} inputs, ${built.outputs.length} outputs${built.change ? ' + change' : ''}: ${buildMs.toFixed(0)} ms`);
let split;
try {
  split = await import('../dist/core/payout-split.js');
} catch {
  console.log('planPayoutParts: not in this build');
}
if (split) {
  const small = coins(5_000).map(({ prevTx, ...c }) => c);
  const many = Array.from({ length: 3_000 }, (_, k) => ({ withdrawalId: BigInt(k + 1), address: destination(k), amountSat: 25_000n + BigInt(k % 13) }));
  let parts;
  const planMs = time(() => (parts = split.planPayoutParts({ network, account, payments: many, coins: small, feeRateSatKvb: 1000n, changeIndex: 0, maxOutputs: 3_000 })));
  console.log(`planPayoutParts 3,000 withdrawals over 5,000 coins: ${parts.length} parts (${parts.map((p) => `${p.coins.length} in/${p.payments.length} out`).join(', ')}): ${planMs.toFixed(0)} ms`);
}
