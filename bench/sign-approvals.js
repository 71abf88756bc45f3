// Signer approvals benchmark (issue 12): a payout of 1,000 external outputs
// (+ change) from 50 inputs of the regtest test account, its manifest
// carrying for every output the approval content and two operators'
// Ed25519 signatures, checked against a trust file of three operators (two
// required). Times the review with and without the trust file (in-process:
// the difference is the approval check, 2,000 signature verifications), and
// the whole `coldpool-offline sign --trust --manifest` CLI run.
// Run: npm run bench:sign-approvals   (BENCH_RUNS=5, BENCH_OUTPUTS=… to vary)
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIP32Factory } from 'bip32';
import * as bip39 from 'bip39';
import { payments, Psbt, Transaction } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { signApproval } from '../dist/core/approval.js';
import { keyIdOf, publicKeyHex } from '../dist/core/ed25519.js';
import { NETWORKS, toBitcoinjs } from '../dist/core/network.js';
import { formatManifest, parseManifest } from '../dist/core/payout-manifest.js';
import { inspectPsbt, parsePsbt, refusals } from '../dist/core/psbt-inspect.js';
import { DEFAULT_SIGNER_POLICY } from '../dist/core/signer-policy.js';
import { parseTrustText, serializeTrust } from '../dist/core/trust.js';
import { accountFromSeed } from '../dist/keys/account.js';
import { writeKeystore } from '../dist/keys/keystore.js';

const INPUTS = Number(process.env.BENCH_INPUTS ?? 50);
const OUTPUTS = Number(process.env.BENCH_OUTPUTS ?? 1000);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const GOAL_S = 0.5;
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
const changeNode = root.derivePath("m/84'/1'/0'/1").derive(0);
const sha = (s) => createHash('sha256').update(s).digest('hex');

const operators = ['alice', 'bob', 'carol'].map((name) => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicKey = publicKeyHex(privateKey);
  return { name, publicKey, id: keyIdOf(publicKey), privateKey };
});
const trustText = serializeTrust({
  format: 'coldpool-trust', version: 1, network: 'regtest',
  operators: operators.map(({ name, publicKey, id }) => ({ name, publicKey, id })), approvals: { required: 2, tiers: [] }, verifier: null, auditors: [],
});
const trust = parseTrustText(trustText);

function build() {
  const psbt = new Psbt({ network: bjsNet });
  let total = 0n;
  for (let i = 0; i < INPUTS; i++) {
    const node = receive.derive(i);
    const script = payments.p2wpkh({ pubkey: node.publicKey, network: bjsNet }).output;
    const value = 20_000_000n + BigInt(i);
    const prev = new Transaction();
    prev.version = 2;
    prev.addInput(createHash('sha256').update(`bench-approvals-prev-${i}`).digest(), 0, 0xfffffffe);
    prev.addOutput(script, value);
    psbt.addInput({
      hash: prev.getHash(), index: 0, sequence: 0xfffffffd, witnessUtxo: { script, value }, nonWitnessUtxo: prev.toBuffer(),
      bip32Derivation: [{ masterFingerprint: root.fingerprint, pubkey: node.publicKey, path: `m/84'/1'/0'/0/${i}` }],
    });
    total += value;
  }
  const outputs = [];
  for (let k = 0; k < OUTPUTS; k++) {
    const pay = payments.p2wpkh({ pubkey: other.derive(k).publicKey, network: bjsNet });
    const value = 50_000n + BigInt(k);
    psbt.addOutput({ address: pay.address, value });
    outputs.push({ address: pay.address, script: Buffer.from(pay.output).toString('hex'), value });
  }
  const paid = outputs.reduce((s, o) => s + o.value, 0n);
  const fee = 2n * BigInt(11 + 68 * INPUTS + 31 * (OUTPUTS + 1));
  const change = payments.p2wpkh({ pubkey: changeNode.publicKey, network: bjsNet });
  psbt.addOutput({
    script: change.output, value: total - paid - fee,
    bip32Derivation: [{ masterFingerprint: root.fingerprint, pubkey: changeNode.publicKey, path: "m/84'/1'/0'/1/0" }],
  });
  const unsignedTxid = Transaction.fromBuffer(Buffer.from(psbt.data.getTransaction())).getId();
  const manifest = {
    version: 1, network: 'regtest', unsignedTxid,
    outputs: outputs.map((o, k) => {
      const content = { network: 'regtest', withdrawalId: BigInt(k + 1), appId: `w-${k + 1}`, user: `u${k % 97}`, script: o.script, amountSat: o.value, fingerprint: sha(`req-${k}`) };
      const signers = [operators[k % 3], operators[(k + 1) % 3]];
      return { withdrawalId: String(k + 1), address: o.address, amountSat: o.value, approval: { content, signatures: signers.map((op) => ({ keyId: op.id, signature: signApproval(content, op.privateKey) })) } };
    }),
    change: [{ address: change.address, amountSat: total - paid - fee }],
  };
  return { psbt, manifestText: formatManifest(manifest) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (s) => `${(s * 1000).toFixed(0)} ms`;

const { psbt: built, manifestText } = build();
const base64 = built.toBase64();
const account = accountFromSeed(seed, network);

function reviewOnce(withTrust) {
  const t = performance.now();
  const manifest = parseManifest(manifestText);
  const review = inspectPsbt(parsePsbt(base64), { network, account, policy: DEFAULT_SIGNER_POLICY, manifest, ...(withTrust ? { trust } : {}) });
  const s = (performance.now() - t) / 1000;
  if (refusals(review).length) throw new Error(JSON.stringify(refusals(review).slice(0, 3)));
  if (withTrust && !review.outputs.filter((o) => o.kind === 'external').every((o) => o.approval?.covered === true)) throw new Error('not every output covered');
  return s;
}

console.log(`sign-approvals: ${OUTPUTS} external outputs + change, ${INPUTS} inputs, 2 approvals per output (${2 * OUTPUTS} Ed25519 verifications), manifest ${(manifestText.length / 1024).toFixed(0)} KiB, node ${process.version}, median of ${runs} runs`);
reviewOnce(true); // warm-up
const plain = [];
const checked = [];
for (let r = 0; r < runs; r++) {
  plain.push(reviewOnce(false));
  checked.push(reviewOnce(true));
}
const plainS = median(plain);
const checkedS = median(checked);
console.log(`review with manifest, no trust file (in-process):      ${fmt(plainS)}`);
console.log(`review with manifest and trust file (in-process):      ${fmt(checkedS)}`);
console.log(`approval check alone (the difference):                 ${fmt(checkedS - plainS)}  (${Math.round(OUTPUTS / (checkedS - plainS)).toLocaleString('en')} outputs/s); goal < ${GOAL_S * 1000} ms: ${checkedS - plainS < GOAL_S ? 'met' : 'NOT met'}`);

{
  // The floor: node:crypto's Ed25519 verify alone, the same number of times, over messages of the same size.
  const op = operators[0];
  const msg = Buffer.from(`coldpool approval v1\n${'x'.repeat(260)}`);
  const sig = cryptoSign(null, msg, op.privateKey);
  const pub = createPublicKey(op.privateKey);
  const t = performance.now();
  for (let i = 0; i < 2 * OUTPUTS; i++) cryptoVerify(null, msg, pub, sig);
  console.log(`node:crypto Ed25519 verify x ${2 * OUTPUTS} alone (the floor):     ${fmt((performance.now() - t) / 1000)}`);
}

const dir = mkdtempSync(join(tmpdir(), 'coldpool-bench-approvals-'));
try {
  const keystore = join(dir, 'bench.keystore');
  await writeKeystore(keystore, { mnemonic: MNEMONIC, passphrase: '' }, 'bench-password', { network, fingerprint: account.origin.fingerprint, scrypt: { n: 2 ** 10, r: 8, p: 1 } });
  writeFileSync(join(dir, 'pw'), 'bench-password\n');
  writeFileSync(join(dir, 'in.psbt'), `${base64}\n`);
  writeFileSync(join(dir, 'manifest.json'), manifestText);
  writeFileSync(join(dir, 'trust.json'), trustText);
  const cli = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    const res = spawnSync(process.execPath, [join(ROOT_DIR, 'bin/coldpool-offline.js'), 'sign', join(dir, 'in.psbt'), '--keystore', keystore,
      '--password-file', join(dir, 'pw'), '--manifest', join(dir, 'manifest.json'), '--trust', join(dir, 'trust.json'),
      '--out', join(dir, `out-${r}.psbt`), '--log', join(dir, `log-${r}.jsonl`), '--new-log', '--yes', '--json'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (res.status !== 0) throw new Error(res.stderr);
    cli.push((performance.now() - t) / 1000);
  }
  console.log(`coldpool-offline sign --trust --manifest, whole CLI:   ${fmt(median(cli))}  (node start-up, keystore unlock, review, approvals, sign ${INPUTS} inputs, write, log)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (checkedS - plainS >= GOAL_S) process.exitCode = 1;
