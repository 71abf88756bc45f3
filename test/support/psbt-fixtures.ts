/**
 * PSBTs for the regtest test account ("legal winner … yellow", m/84'/1'/0'):
 * fake previous transactions (real serialized transactions) paying our
 * receive addresses, an unsigned payout spending them to external addresses
 * plus change to …/1/j, with witness_utxo, non_witness_utxo and BIP32
 * derivations on every input and on the change output. Plus the crafted
 * variants each signer refusal is tested with. Test keys only.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIP32Factory, type BIP32Interface } from 'bip32';
import * as bip39 from 'bip39';
import { address as btcAddress, payments, Psbt, Transaction } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { NETWORKS, toBitcoinjs, type NetworkName } from '../../src/core/network.js';
import { signApproval, type ApprovalContent } from '../../src/core/approval.js';
import { formatManifest, type ManifestOutput, type PayoutManifest } from '../../src/core/payout-manifest.js';
import { serializeTrust, TRUST_FORMAT, TRUST_VERSION, type ApprovalTier, type Trust } from '../../src/core/trust.js';
import { generateOperatorKey, type OperatorKey } from '../../src/trust/operator-key.js';
import { accountFromSeed } from '../../src/keys/account.js';
import { writeKeystore } from '../../src/keys/keystore.js';
import { mnemonicToSeed } from '../../src/keys/seed.js';
import { MNEMONIC } from './accounts.js';

const bip32 = BIP32Factory(ecc);

export const FIXTURE_MNEMONIC = MNEMONIC.regtest;
/** Someone else's seed: its keys are "foreign". */
export const OTHER_MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

/**
 * The signer's keystore of FIXTURE_MNEMONIC (regtest, no passphrase) at
 * `path`, sealed with `password` at a test-cheap scrypt cost: what
 * `coldpool-offline sign --keystore` opens in the signing tests.
 */
/** The fixture keystore and its password file in `dir` (cold.keystore, pw.txt): what the signer CLI tests sign with. */
export async function fixtureSigner(dir: string, password: string): Promise<{ keystore: string; passwordFile: string }> {
  const keystore = join(dir, 'cold.keystore');
  const passwordFile = join(dir, 'pw.txt');
  writeFileSync(passwordFile, `${password}\n`);
  await writeFixtureKeystore(keystore, password);
  return { keystore, passwordFile };
}

export async function writeFixtureKeystore(path: string, password: string): Promise<void> {
  const account = accountFromSeed(mnemonicToSeed(FIXTURE_MNEMONIC), NETWORKS.regtest);
  await writeKeystore(path, { mnemonic: FIXTURE_MNEMONIC, passphrase: '' }, password, {
    network: NETWORKS.regtest, fingerprint: account.origin!.fingerprint, scrypt: { n: 2 ** 10, r: 8, p: 1 },
  });
}

const roots = new Map<string, BIP32Interface>();
export function rootOf(mnemonic: string, net: NetworkName = 'regtest'): BIP32Interface {
  const key = `${net}:${mnemonic}`;
  let root = roots.get(key);
  if (!root) {
    root = bip32.fromSeed(bip39.mnemonicToSeedSync(mnemonic), toBitcoinjs(NETWORKS[net]));
    roots.set(key, root);
  }
  return root;
}

const sha = (s: string): Buffer => createHash('sha256').update(s).digest();

export interface KeyAt {
  readonly pubkey: Buffer;
  readonly script: Buffer;
  readonly address: string;
  readonly path: string;
  readonly fingerprint: Buffer;
}

/** Key `m/84'/coin'/0'/chain/index` of a seed, with its P2WPKH script and address on `net`. */
export function keyAt(chain: 0 | 1, index: number, opts: { mnemonic?: string; net?: NetworkName; coin?: number } = {}): KeyAt {
  const net = opts.net ?? 'regtest';
  const root = rootOf(opts.mnemonic ?? FIXTURE_MNEMONIC, net);
  const coin = opts.coin ?? NETWORKS[net].coinType;
  const path = `m/84'/${coin}'/0'/${chain}/${index}`;
  const node = root.derivePath(path);
  const pay = payments.p2wpkh({ pubkey: node.publicKey, network: toBitcoinjs(NETWORKS[net]) });
  return { pubkey: Buffer.from(node.publicKey), script: Buffer.from(pay.output!), address: pay.address!, path, fingerprint: Buffer.from(root.fingerprint) };
}

/** External payee `k` on `net`: P2WPKH of a key from someone else's seed (account 5, so never ours). */
export function externalAddress(k: number, net: NetworkName = 'regtest'): string {
  return keyAt(0, k, { mnemonic: OTHER_MNEMONIC, net }).address;
}

/** A previous transaction (real, serialized) paying `value` to `script` at output `vout`. */
export function previousTx(seedText: string, script: Uint8Array, value: bigint, vout: number): Transaction {
  const tx = new Transaction();
  tx.version = 2;
  tx.addInput(sha(`prev-in:${seedText}`), 0, 0xfffffffe);
  for (let k = 0; k < vout; k++) tx.addOutput(keyAt(0, 900 + k, { mnemonic: OTHER_MNEMONIC }).script, 12_345n + BigInt(k));
  tx.addOutput(script, value);
  tx.addOutput(keyAt(0, 950, { mnemonic: OTHER_MNEMONIC }).script, 777n);
  return tx;
}

export interface PayoutSpec {
  /** Input amounts in sat; input k spends a coin at receive index k (default [200_000, 150_000]). */
  readonly inputs?: readonly bigint[];
  /** External payments (address, amount); default two to externalAddress(0/1). */
  readonly outputs?: readonly { address: string; value: bigint; withdrawalId?: string }[];
  /** Change index j and amount, or null for none; default computed for ~10 sat/vB. */
  readonly change?: { index: number; value: bigint } | null;
  readonly net?: NetworkName;
  /** Coin type in derivation paths (default the network's): 0 on a regtest PSBT builds a "mainnet" PSBT. */
  readonly coin?: number;
  /** Leave out non_witness_utxo. */
  readonly noNonWitness?: boolean;
}

export interface Payout {
  readonly psbt: Psbt;
  readonly inputTotal: bigint;
  readonly outputTotal: bigint;
  readonly fee: bigint;
  readonly manifest: PayoutManifest;
}

/** The standard payout: inputs of ours, external outputs, change to …/1/j. */
export function buildPayout(spec: PayoutSpec = {}): Payout {
  const net = spec.net ?? 'regtest';
  const network = toBitcoinjs(NETWORKS[net]);
  const inputs = spec.inputs ?? [200_000n, 150_000n];
  const outputs = spec.outputs ?? [
    { address: externalAddress(0, net), value: 120_000n, withdrawalId: 'w-1' },
    { address: externalAddress(1, net), value: 80_000n, withdrawalId: 'w-2' },
  ];
  const psbt = new Psbt({ network });
  inputs.forEach((value, k) => {
    const key = keyAt(0, k, { net, ...(spec.coin === undefined ? {} : { coin: spec.coin }) });
    const prev = previousTx(`${net}:${k}:${value}`, key.script, value, k % 3);
    psbt.addInput({
      hash: prev.getHash(),
      index: k % 3,
      sequence: 0xfffffffd,
      witnessUtxo: { script: key.script, value },
      ...(spec.noNonWitness ? {} : { nonWitnessUtxo: prev.toBuffer() }),
      bip32Derivation: [{ masterFingerprint: key.fingerprint, pubkey: key.pubkey, path: key.path }],
    });
  });
  for (const o of outputs) psbt.addOutput({ address: o.address, value: o.value });
  const inputTotal = inputs.reduce((s, v) => s + v, 0n);
  const paid = outputs.reduce((s, o) => s + o.value, 0n);
  const change = spec.change === undefined ? { index: 3, value: inputTotal - paid - 10n * BigInt(11 + 68 * inputs.length + 31 * (outputs.length + 1)) } : spec.change;
  if (change) {
    const key = keyAt(1, change.index, { net, ...(spec.coin === undefined ? {} : { coin: spec.coin }) });
    psbt.addOutput({ script: key.script, value: change.value, bip32Derivation: [{ masterFingerprint: key.fingerprint, pubkey: key.pubkey, path: key.path }] });
  }
  const outputTotal = paid + (change?.value ?? 0n);
  return { psbt, inputTotal, outputTotal, fee: inputTotal - outputTotal, manifest: manifestOf(psbt, net, outputs, change ? { address: keyAt(1, change.index, { net }).address, value: change.value } : undefined) };
}

function manifestOf(psbt: Psbt, net: NetworkName, outputs: readonly { address: string; value: bigint; withdrawalId?: string }[], change: { address: string; value: bigint } | undefined): PayoutManifest {
  const tx = Transaction.fromBuffer(Buffer.from(psbt.data.getTransaction()));
  return {
    version: 1,
    network: net,
    unsignedTxid: tx.getId(),
    outputs: outputs.map((o, k) => ({ withdrawalId: o.withdrawalId ?? `w-${k + 1}`, address: o.address, amountSat: o.value })),
    change: change ? [{ address: change.address, amountSat: change.value }] : [],
  };
}

export function manifestText(m: PayoutManifest): string {
  return formatManifest(m);
}

/** Add an input whose derivation names `fingerprint` and a path of our account, but whose key is someone else's. */
export function addForeignInput(psbt: Psbt, opts: { fingerprint: 'ours' | 'foreign'; value?: bigint }): void {
  const ours = keyAt(0, 7);
  const theirs = keyAt(0, 7, { mnemonic: OTHER_MNEMONIC });
  const value = opts.value ?? 50_000n;
  const prev = previousTx(`foreign:${opts.fingerprint}`, theirs.script, value, 0);
  psbt.addInput({
    hash: prev.getHash(), index: 0, sequence: 0xfffffffd,
    witnessUtxo: { script: theirs.script, value },
    nonWitnessUtxo: prev.toBuffer(),
    bip32Derivation: [{ masterFingerprint: opts.fingerprint === 'ours' ? ours.fingerprint : theirs.fingerprint, pubkey: theirs.pubkey, path: ours.path }],
  });
}

/** A payout whose input 0 claims a larger witness_utxo value than its previous transaction pays. */
export function lyingWitnessUtxo(): Payout {
  const p = buildPayout();
  const input = p.psbt.data.inputs[0]!;
  input.witnessUtxo = { script: input.witnessUtxo!.script, value: input.witnessUtxo!.value + 1_000_000n };
  return p;
}

/**
 * Fake change: output 2 carries a derivation for our …/1/3 (our fingerprint,
 * our true pubkey) but its script pays someone else.
 */
export function fakeChange(): Payout {
  const p = buildPayout();
  const out = p.psbt.data.globalMap.unsignedTx.toBuffer();
  const tx = Transaction.fromBuffer(Buffer.from(out));
  const changeIndex = tx.outs.length - 1;
  const attacker = keyAt(1, 3, { mnemonic: OTHER_MNEMONIC });
  const rebuilt = new Psbt({ network: toBitcoinjs(NETWORKS.regtest) });
  p.psbt.data.inputs.forEach((input, k) => {
    rebuilt.addInput({ hash: tx.ins[k]!.hash, index: tx.ins[k]!.index, sequence: tx.ins[k]!.sequence, witnessUtxo: input.witnessUtxo!, nonWitnessUtxo: input.nonWitnessUtxo!, bip32Derivation: input.bip32Derivation! });
  });
  tx.outs.forEach((o, k) => {
    if (k === changeIndex) rebuilt.addOutput({ script: attacker.script, value: o.value, bip32Derivation: p.psbt.data.outputs[k]!.bip32Derivation! });
    else rebuilt.addOutput({ script: o.script, value: o.value });
  });
  return { ...p, psbt: rebuilt };
}

/** Input 0 asks for SIGHASH_NONE. */
export function sighashNone(): Payout {
  const p = buildPayout();
  p.psbt.data.inputs[0]!.sighashType = Transaction.SIGHASH_NONE;
  return p;
}

/** The script of an address on a network (for assertions). */
export function scriptOf(address: string, net: NetworkName = 'regtest'): Buffer {
  return Buffer.from(btcAddress.toOutputScript(address, toBitcoinjs(NETWORKS[net])));
}

/** Test operators (fresh Ed25519 keys per process): what signs the approvals in the signer's tests. */
const operators = new Map<string, OperatorKey>();
export function testOperator(name: string): OperatorKey {
  let key = operators.get(name);
  if (!key) {
    key = generateOperatorKey(name);
    operators.set(name, key);
  }
  return key;
}

/** A trust file trusting `names`, `required` of them per withdrawal (tiers optional). */
export function trustOf(names: readonly string[], required: number, opts: { net?: NetworkName; tiers?: readonly ApprovalTier[] } = {}): Trust {
  return {
    format: TRUST_FORMAT, version: TRUST_VERSION, network: opts.net ?? 'regtest',
    operators: names.map((n) => { const k = testOperator(n); return { name: n, publicKey: k.publicKey, id: k.id }; }),
    approvals: { required, tiers: [...(opts.tiers ?? [])] }, verifier: null, auditors: [],
  };
}

export function trustText(t: Trust): string {
  return serializeTrust(t);
}

/** The content an operator signs for manifest output `k` (withdrawal id k+1), naming exactly that output. */
export function contentFor(o: ManifestOutput, k: number, net: NetworkName = 'regtest'): ApprovalContent {
  return {
    network: net, withdrawalId: BigInt(k + 1), appId: o.withdrawalId, user: `user-${k + 1}`,
    script: scriptOf(o.address, net).toString('hex'), amountSat: o.amountSat, fingerprint: sha(`request:${k}:${o.address}:${o.amountSat}`).toString('hex'),
  };
}

export interface ApproveSpec {
  /** Who signs output k (default: alice and bob). */
  readonly signers?: (k: number) => readonly OperatorKey[];
  /** The content as signed (default contentFor). */
  readonly signed?: (o: ManifestOutput, k: number) => ApprovalContent;
  /** The content as carried in the manifest (default: the content signed). */
  readonly carried?: (signed: ApprovalContent, k: number) => ApprovalContent;
  /** Leave output k without an approval. */
  readonly skip?: (k: number) => boolean;
}

/** The payout's manifest with each output's approval attached: `signers(k)` sign `signed(k)`, the manifest carries `carried(k)`. */
export function approved(p: { manifest: PayoutManifest }, spec: ApproveSpec = {}): PayoutManifest {
  const net = p.manifest.network;
  return {
    ...p.manifest,
    outputs: p.manifest.outputs.map((o, k) => {
      if (spec.skip?.(k)) return o;
      const signed = spec.signed?.(o, k) ?? contentFor(o, k, net);
      const carried = spec.carried?.(signed, k) ?? signed;
      const signers = spec.signers?.(k) ?? [testOperator('alice'), testOperator('bob')];
      return { ...o, approval: { content: carried, signatures: signers.map((op) => ({ keyId: op.id, signature: signApproval(signed, op.privateKey) })) } };
    }),
  };
}
