// Signing benchmark: a payout of 100 outputs (+ change) from 1,000 P2WPKH
// inputs of the regtest test account, each with witness_utxo,
// non_witness_utxo and BIP32 derivation, as `coldpool payout build` makes it.
// Times coldpool's parse + review + sign (+ verify of every signature made) + serialise (in-process, the work
// `coldpool-offline sign` does after the keystore is unlocked), the whole CLI
// run, bitcoinjs-lib's signAllInputsHD for reference, and Electrum 4.3.4
// signing the same PSBT (keystore.sign_transaction only, timed inside Python
// by test/electrum/psbt_tool.py). Checks both give the same final transaction.
// Run: npm run bench:sign   (BENCH_RUNS=5 for more runs)
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIP32Factory } from 'bip32';
import * as bip39 from 'bip39';
import { payments, Psbt, Transaction } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { NETWORKS, toBitcoinjs } from '../dist/core/network.js';
import { inspectPsbt, parsePsbt, refusals } from '../dist/core/psbt-inspect.js';
import { DEFAULT_SIGNER_POLICY } from '../dist/core/signer-policy.js';
import { accountFromSeed } from '../dist/keys/account.js';
import { writeKeystore } from '../dist/keys/keystore.js';
import { signBackend, signPsbt } from '../dist/keys/sign.js';

const INPUTS = Number(process.env.BENCH_INPUTS ?? 1000);
const OUTPUTS = Number(process.env.BENCH_OUTPUTS ?? 100);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
const OTHER = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url));
const network = NETWORKS.regtest;
const bjsNet = toBitcoinjs(network);
const bip32 = BIP32Factory(ecc);
const seed = bip39.mnemonicToSeedSync(MNEMONIC);
const root = bip32.fromSeed(seed, bjsNet);
const other = bip32.fromSeed(bip39.mnemonicToSeedSync(OTHER), bjsNet).derivePath("m/84'/1'/0'/0");
const receive = root.derivePath("m/84'/1'/0'/0");
const change = root.derivePath("m/84'/1'/0'/1").derive(0);

function buildPsbt() {
  const psbt = new Psbt({ network: bjsNet });
  let total = 0n;
  for (let i = 0; i < INPUTS; i++) {
    const node = receive.derive(i);
    const script = payments.p2wpkh({ pubkey: node.publicKey, network: bjsNet }).output;
    const value = 100_000n + BigInt(i);
    const prev = new Transaction();
    prev.version = 2;
    prev.addInput(createHash('sha256').update(`bench-prev-${i}`).digest(), 0, 0xfffffffe);
    prev.addOutput(script, value);
    prev.addOutput(payments.p2wpkh({ pubkey: other.derive(9999).publicKey }).output, 5_000n);
    psbt.addInput({
      hash: prev.getHash(), index: 0, sequence: 0xfffffffd,
      witnessUtxo: { script, value }, nonWitnessUtxo: prev.toBuffer(),
      bip32Derivation: [{ masterFingerprint: root.fingerprint, pubkey: node.publicKey, path: `m/84'/1'/0'/0/${i}` }],
    });
    total += value;
  }
  let paid = 0n;
  for (let k = 0; k < OUTPUTS; k++) {
    const value = 500_000n + BigInt(k);
    psbt.addOutput({ address: payments.p2wpkh({ pubkey: other.derive(k).publicKey, network: bjsNet }).address, value });
    paid += value;
  }
  const fee = 5n * BigInt(11 + 68 * INPUTS + 31 * (OUTPUTS + 1));
  psbt.addOutput({
    script: payments.p2wpkh({ pubkey: change.publicKey }).output, value: total - paid - fee,
    bip32Derivation: [{ masterFingerprint: root.fingerprint, pubkey: change.publicKey, path: "m/84'/1'/0'/1/0" }],
  });
  return psbt;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (s) => `${(s * 1000).toFixed(0)} ms`;
const rate = (s) => `${Math.round(INPUTS / s).toLocaleString('en')} inputs/s`;

const built = buildPsbt();
const base64 = built.toBase64();
const account = accountFromSeed(seed, network);

function coldpoolOnce() {
  const t = performance.now();
  const psbt = parsePsbt(base64);
  const review = inspectPsbt(psbt, { network, account, policy: DEFAULT_SIGNER_POLICY });
  if (refusals(review).length) throw new Error(JSON.stringify(refusals(review)));
  const { signed } = signPsbt(psbt, seed, account, review);
  const out = psbt.toBase64();
  const seconds = (performance.now() - t) / 1000;
  if (signed.length !== INPUTS) throw new Error(`signed ${signed.length}`);
  return { seconds, out };
}

function finalHex(b64) {
  const p = Psbt.fromBase64(b64);
  p.finalizeAllInputs();
  return p.extractTransaction(true).toHex();
}

console.log(`sign: ${INPUTS} inputs, ${OUTPUTS} outputs + change, PSBT ${(Buffer.from(base64, 'base64').length / 1024).toFixed(0)} KiB, ecdsa ${signBackend}, node ${process.version}, median of ${runs} runs`);
coldpoolOnce(); // warm-up
const ours = [];
let oursB64 = '';
for (let r = 0; r < runs; r++) {
  const { seconds, out } = coldpoolOnce();
  ours.push(seconds);
  oursB64 = out;
}
const oursS = median(ours);
console.log(`coldpool review+sign+verify (in-process): ${fmt(oursS)}  (${rate(oursS)})`);

// The whole CLI: node start-up, keystore unlock (bench keystore: scrypt N=2^10), review, sign, verify, write, log.
const dir = mkdtempSync(join(tmpdir(), 'coldpool-bench-sign-'));
try {
  const keystore = join(dir, 'bench.keystore');
  await writeKeystore(keystore, { mnemonic: MNEMONIC, passphrase: '' }, 'bench-password', { network, fingerprint: account.origin.fingerprint, scrypt: { n: 2 ** 10, r: 8, p: 1 } });
  writeFileSync(join(dir, 'pw'), 'bench-password\n');
  writeFileSync(join(dir, 'in.psbt'), `${base64}\n`);
  const cli = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    const res = spawnSync(process.execPath, [join(ROOT_DIR, 'bin/coldpool-offline.js'), 'sign', join(dir, 'in.psbt'), '--keystore', keystore,
      '--password-file', join(dir, 'pw'), '--out', join(dir, `out-${r}.psbt`), '--yes', '--json'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (res.status !== 0) throw new Error(res.stderr);
    cli.push((performance.now() - t) / 1000);
  }
  console.log(`coldpool-offline sign, whole CLI run:      ${fmt(median(cli))}  (${rate(median(cli))}, node start-up and file I/O included)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// bitcoinjs-lib's own HD signing, for reference (keys derived from the root for every input, BIP143 hashes per input).
{
  const p = Psbt.fromBase64(base64);
  const t = performance.now();
  p.signAllInputsHD(root);
  const s = (performance.now() - t) / 1000;
  console.log(`bitcoinjs-lib signAllInputsHD:             ${fmt(s)}  (${rate(s)})`);
}

const python = process.env.COLDPOOL_ELECTRUM_PYTHON ?? '/usr/bin/python3';
try {
  const stdout = execFileSync(python, [join(ROOT_DIR, 'test/electrum/psbt_tool.py')], {
    input: JSON.stringify([{ op: 'sign', net: 'regtest', mnemonic: MNEMONIC, psbt: base64, repeat: runs }]), maxBuffer: 256 * 1024 * 1024, encoding: 'utf8',
  });
  const [e] = JSON.parse(stdout);
  const same = finalHex(oursB64) === e.tx;
  console.log(`Electrum ${e.electrum_version} keystore.sign_transaction:  ${fmt(e.sign_seconds)}  (${rate(e.sign_seconds)})`);
  console.log(`ratio: coldpool is ${(e.sign_seconds / oursS).toFixed(1)}x Electrum's speed; final transactions identical: ${same}`);
  if (!same) process.exitCode = 1;
} catch (err) {
  console.log(`Electrum: not measured (${String(err.message).split('\n')[0]}); install python3-electrum`);
}
