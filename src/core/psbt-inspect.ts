import { bech32, bech32m } from 'bech32';
import bs58check from 'bs58check';
import { Psbt, Transaction } from 'bitcoinjs-lib';
import { parseAddress } from './address.js';
import { childPublicKey, chainNode, p2wpkhScript, type PublicNode } from './derive.js';
import { uncompressed } from './ec-add.js';
import { HARDENED, MAX_INDEX, formatPath, type AccountDescriptor } from './descriptor.js';
import { CodedError } from './errors.js';
import type { Network, NetworkName } from './network.js';
import { reviewOutputApprovals, type OutputApprovalReview } from './output-approvals.js';
import { reviewOutputAttestations, type OutputAttestationReview } from './output-attestations.js';
import { manifestAddressProblems, type ManifestOutput, type PayoutManifest } from './payout-manifest.js';
import { formatSatPerVb, type SignerPolicy } from './signer-policy.js';
import type { Trust } from './trust.js';

/**
 * Read-only review of a PSBT (BIP174) against the cold account: what it
 * spends, what it pays, the fee, and every reason the signer must refuse it,
 * as coded findings. Pure: no key, no I/O. `coldpool-offline inspect` prints
 * it; `coldpool-offline sign` refuses when any finding has severity "refuse".
 * Its JSON form (snake_case, a published format) is made by `reviewWire` in
 * cli/offline/psbt-review.ts, so fields here can be renamed without changing it.
 *
 * What counts as ours (an input we may sign, an output we call change):
 * a BIP32 derivation whose master fingerprint is the account's, whose path is
 * exactly `account path / chain / index` (chain 0 or 1), whose key derives
 * (public derivation from the account xpub) to the pubkey given, AND whose
 * P2WPKH script is the script actually spent or paid. Any one missing and the
 * input is FOREIGN_INPUT, the output FAKE_CHANGE.
 *
 * A script carries no network; the network shows in a PSBT through the coin
 * type of its derivation paths (`84'/0'` is mainnet, `84'/1'` the test
 * networks), the version bytes of its global xpubs, and the manifest's
 * addresses and network name. Each mismatch is NETWORK_MISMATCH.
 *
 * @see https://github.com/bitcoin/bips/blob/master/bip-0174.mediawiki
 */

export const FINDING_CODES = [
  'NETWORK_MISMATCH', 'FOREIGN_INPUT', 'MISSING_UTXO', 'WITNESS_UTXO_MISMATCH', 'NO_NON_WITNESS_UTXO',
  'FAKE_CHANGE', 'SIGHASH_NOT_ALL', 'NEGATIVE_FEE', 'FEE_TOO_HIGH', 'FEE_RATE_TOO_HIGH',
  'NOT_IN_MANIFEST', 'AMOUNT_MISMATCH', 'MANIFEST_OUTPUT_MISSING', 'MANIFEST_TXID_MISMATCH', 'CHANGE_MISMATCH',
  'UNKNOWN_OUTPUT_SCRIPT', 'NOTHING_TO_SIGN', 'UNKNOWN_FIELD', 'ACCOUNT_UNKNOWN',
  'MANIFEST_REQUIRED', 'APPROVAL_MISSING', 'APPROVAL_MISMATCH', 'APPROVAL_UNKNOWN_KEY', 'APPROVAL_BAD_SIGNATURE',
  'APPROVALS_TOO_FEW', 'APPROVAL_REUSED', 'APPROVAL_ALREADY_PAID', 'PAYOUT_CAP', 'DAILY_CAP',
  'ATTESTATION_MISSING', 'ATTESTATION_INVALID',
] as const;
export type FindingCode = (typeof FINDING_CODES)[number];

export interface Finding {
  readonly code: FindingCode;
  /** "refuse": sign will not sign; "warn": shown, not blocking. */
  readonly severity: 'refuse' | 'warn';
  readonly message: string;
  readonly input?: number;
  readonly output?: number;
}

export interface SignatureReview {
  readonly pubkey: string;
  readonly sighash: number;
}

export interface InputReview {
  readonly index: number;
  readonly txid: string;
  readonly vout: number;
  readonly sequence: number;
  /** From witness_utxo (or non_witness_utxo when witness_utxo is absent); null when neither is given. */
  readonly valueSat: bigint | null;
  readonly scriptHex: string | null;
  readonly address: string | null;
  /** true: ours and signable; false: not ours; null: no account to tell. */
  readonly ours: boolean | null;
  readonly path: string | null;
  readonly pubkey: string | null;
  /** `match`, `mismatch`, or `absent` (no non_witness_utxo given). */
  readonly nonWitnessUtxo: 'match' | 'mismatch' | 'absent';
  readonly sighash: number | null;
  readonly signatures: readonly SignatureReview[];
  readonly finalized: boolean;
}

export interface OutputReview {
  readonly index: number;
  readonly address: string | null;
  readonly scriptHex: string;
  readonly amountSat: bigint;
  /** change: ours on the change chain; ours: ours on the receive chain; external: anything else. */
  readonly kind: 'change' | 'ours' | 'external';
  readonly path: string | null;
  readonly withdrawalId: string | null;
  /**
   * Who approved it (output-approvals.ts). Absent when there is nothing to
   * show (no trust file and no approval in the manifest); null when a trust
   * file asks for an approval and the output has none.
   */
  readonly approval?: OutputApprovalReview | null;
  /**
   * Whether the verifier vouched for it (output-attestations.ts). Absent when
   * there is nothing to show (the trust file names no verifier and the
   * manifest carries no attestation); null when the trust file names a
   * verifier and the output has no attestation.
   */
  readonly attestation?: OutputAttestationReview | null;
}

export interface PsbtReview {
  readonly network: NetworkName;
  readonly fingerprint: string | null;
  readonly unsignedTxid: string;
  readonly version: number;
  readonly locktime: number;
  readonly inputs: readonly InputReview[];
  readonly outputs: readonly OutputReview[];
  readonly inputTotalSat: bigint | null;
  readonly outputTotalSat: bigint;
  readonly changeTotalSat: bigint;
  readonly externalTotalSat: bigint;
  readonly feeSat: bigint | null;
  readonly vsize: number;
  /** True when some input is not yet signed and its witness size was estimated (71-byte low-R signature). */
  readonly vsizeEstimated: boolean;
  readonly feeRateSatKvb: bigint | null;
  readonly feeRateSatVb: string | null;
  readonly inputsSigned: number;
  readonly inputsOurs: number;
  readonly findings: readonly Finding[];
}

export interface InspectOptions {
  readonly network: Network;
  /** The cold account; without it nothing can be recognised as ours. */
  readonly account?: AccountDescriptor | undefined;
  readonly policy?: SignerPolicy | undefined;
  readonly manifest?: PayoutManifest | undefined;
  /** The signer's trust file: every external output must then carry enough approvals (and, when it names a verifier, a valid attestation), and a manifest is required. */
  readonly trust?: Trust | undefined;
}

const PSBT_MAGIC = Buffer.from('70736274ff', 'hex');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * A PSBT from a file's bytes: binary (`psbt\xff…`), base64 text or hex text.
 * Throws INVALID_INPUT naming what is wrong.
 *
 * @example
 * const psbt = parsePsbt(readFileSync('payout.psbt'));
 */
export function parsePsbt(data: Uint8Array | string): Psbt {
  let bytes: Buffer;
  if (typeof data !== 'string' && Buffer.from(data.subarray(0, 5)).equals(PSBT_MAGIC)) {
    bytes = Buffer.from(data);
  } else {
    const textForm = (typeof data === 'string' ? data : Buffer.from(data).toString('latin1')).trim();
    if (/^70736274ff[0-9a-fA-F]*$/i.test(textForm) && textForm.length % 2 === 0) bytes = Buffer.from(textForm, 'hex');
    else if (/^[A-Za-z0-9+/]+={0,2}$/.test(textForm)) bytes = Buffer.from(textForm, 'base64');
    else throw new CodedError('INVALID_INPUT', '"psbt" expected binary PSBT (psbt\\xff…), base64 or hex text, got something else');
    if (!bytes.subarray(0, 5).equals(PSBT_MAGIC)) throw new CodedError('INVALID_INPUT', '"psbt" decoded text does not start with the PSBT magic psbt\\xff');
  }
  try {
    return Psbt.fromBuffer(bytes);
  } catch (cause) {
    throw new CodedError('INVALID_INPUT', `"psbt" is not a valid BIP174 PSBT: ${(cause as Error).message}`, { cause });
  }
}

/** `m/84'/1'/0'/0/5` (also `h`) as numbers; undefined when malformed. */
export function parseDerivationPath(path: string): number[] | undefined {
  const steps = path.replace(/^m\/?/, '');
  if (steps === '') return [];
  const out: number[] = [];
  for (const step of steps.split('/')) {
    const m = /^(\d{1,10})(['hH]?)$/.exec(step);
    if (!m || Number(m[1]) > MAX_INDEX) return undefined;
    out.push(Number(m[1]) + (m[2] ? HARDENED : 0));
  }
  return out;
}

/** What a derivation entry says about being ours. */
type Recognition =
  | { kind: 'ours'; chain: 0 | 1; index: number; pubkey: Uint8Array; path: string }
  | { kind: 'none' }
  | { kind: 'network'; message: string }
  | { kind: 'bad'; message: string; path: string };

interface Bip32Entry { masterFingerprint: Uint8Array; pubkey: Uint8Array; path: string }

/** Public derivation with the chain node derived once per chain, not once per key. */
export class AccountMatcher {
  private readonly chains = new Map<0 | 1, { node: PublicNode; point: Uint8Array }>();
  readonly fingerprint: string;
  constructor(readonly account: AccountDescriptor) {
    if (!account.origin) throw new CodedError('USAGE', 'the account has no key origin ([fingerprint/84h/…]); paste the descriptor `coldpool-offline export` printed');
    this.fingerprint = account.origin.fingerprint;
  }

  /** `account/chain`, and its point uncompressed (libsecp256k1 then skips a square root per child). */
  private chainNode(chain: 0 | 1): { node: PublicNode; point: Uint8Array } {
    let entry = this.chains.get(chain);
    if (!entry) {
      const node = chainNode(this.account, chain);
      entry = { node, point: uncompressed(node.publicKey) };
      this.chains.set(chain, entry);
    }
    return entry;
  }

  /** Find our entry among a P2WPKH input's or output's derivations and check it derives to `script`. */
  recognise(entries: readonly Bip32Entry[] | undefined, script: Uint8Array | null): Recognition {
    const mine = (entries ?? []).filter((d) => hex(d.masterFingerprint) === this.fingerprint);
    if (mine.length === 0) return { kind: 'none' };
    const origin = this.account.origin!.path;
    for (const d of mine) {
      const path = parseDerivationPath(d.path);
      if (!path) return { kind: 'bad', message: `derivation path ${JSON.stringify(d.path)} is malformed`, path: d.path };
      if (path.length >= 2 && path[0] === origin[0] && path[1] !== origin[1] && (path[1]! & HARDENED) !== 0) {
        const coin = (path[1]! & 0x7fffffff);
        return { kind: 'network', message: `derivation ${d.path} uses coin type ${coin}' (${coin === 0 ? 'mainnet' : 'a test network'}) but the account is ${this.account.network.name} (m/${formatPath(origin).replace(/h/g, "'")})` };
      }
      const prefixOk = path.length === origin.length + 2 && origin.every((s, k) => path[k] === s);
      const chain = path[origin.length];
      const index = path[origin.length + 1];
      if (!prefixOk || (chain !== 0 && chain !== 1) || index === undefined || index >= HARDENED) {
        return { kind: 'bad', message: `derivation ${d.path} is not m/${formatPath(origin).replace(/h/g, "'")}/{0,1}/i of this account`, path: d.path };
      }
      const { node, point } = this.chainNode(chain);
      const derived = childPublicKey(node, index, point);
      if (!Buffer.from(derived).equals(Buffer.from(d.pubkey))) {
        return { kind: 'bad', message: `derivation ${d.path} with our fingerprint ${this.fingerprint} gives key ${hex(derived)}, not the ${hex(d.pubkey)} claimed`, path: d.path };
      }
      if (script === null) return { kind: 'bad', message: `derivation ${d.path}: no script to compare with`, path: d.path };
      if (!p2wpkhScript(derived).equals(Buffer.from(script))) {
        return { kind: 'bad', message: `derivation ${d.path} derives to script ${hex(p2wpkhScript(derived))}, but the script is ${hex(script)}`, path: d.path };
      }
      return { kind: 'ours', chain, index, pubkey: derived, path: d.path };
    }
    return { kind: 'none' };
  }
}

/**
 * The address of a standard output script on `network`, or null (OP_RETURN,
 * bare multisig, anything non-standard). Written out rather than through
 * bitcoinjs's `address.fromOutputScript`, which builds validation schemas on
 * every call and tries each payment type by throwing: 1,100 outputs took most
 * of a second.
 */
export function addressOf(script: Uint8Array, network: Network): string | null {
  const n = script.length;
  if (n === 25 && script[0] === 0x76 && script[1] === 0xa9 && script[2] === 0x14 && script[23] === 0x88 && script[24] === 0xac) {
    return bs58check.encode(Uint8Array.from([network.pubKeyHash, ...script.subarray(3, 23)]));
  }
  if (n === 23 && script[0] === 0xa9 && script[1] === 0x14 && script[22] === 0x87) {
    return bs58check.encode(Uint8Array.from([network.scriptHash, ...script.subarray(2, 22)]));
  }
  const op = script[0]!;
  const version = op === 0 ? 0 : op >= 0x51 && op <= 0x60 ? op - 0x50 : -1;
  if (version < 0 || n < 4 || script[1] !== n - 2 || n - 2 < 2 || n - 2 > 40) return null;
  const program = script.subarray(2);
  if (version === 0 && program.length !== 20 && program.length !== 32) return null;
  if (version === 1 && program.length !== 32) return null;
  const words = [version, ...bech32.toWords(program)];
  return version === 0 ? bech32.encode(network.bech32, words) : bech32m.encode(network.bech32, words);
}

/** BIP141 weight of the final transaction: witness sizes as given, or estimated for unsigned P2WPKH inputs. */
function estimateVsize(tx: Transaction, psbt: Psbt): { vsize: number; estimated: boolean } {
  let witness = 2; // marker + flag
  let estimated = false;
  psbt.data.inputs.forEach((input) => {
    if (input.finalScriptWitness) {
      witness += input.finalScriptWitness.length;
      return;
    }
    const sig = input.partialSig?.[0]?.signature.length;
    if (sig === undefined) estimated = true;
    // count(1) + len(1) + DER sig + sighash (71 with low R and low S) + len(1) + compressed key (33)
    witness += 1 + 1 + (sig ?? 71) + 1 + 33;
  });
  const weight = tx.byteLength(false) * 4 + witness;
  return { vsize: Math.ceil(weight / 4), estimated };
}

/** The txid of a serialized transaction, or undefined when it does not parse. */
function parseTx(bytes: Uint8Array): Transaction | undefined {
  try {
    return Transaction.fromBuffer(Buffer.from(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Review `psbt` for `opts.account` on `opts.network`: see the module comment.
 *
 * @example
 * const review = inspectPsbt(parsePsbt(bytes), { network: NETWORKS.regtest, account, policy, manifest });
 * review.findings.filter((f) => f.severity === 'refuse') // [] when it may be signed
 */
export function inspectPsbt(psbt: Psbt, opts: InspectOptions): PsbtReview {
  const { network } = opts;
  const findings: Finding[] = [];
  const refuse = (code: FindingCode, message: string, at: { input?: number; output?: number } = {}): void => void findings.push({ code, severity: 'refuse', message, ...at });
  const warn = (code: FindingCode, message: string, at: { input?: number; output?: number } = {}): void => void findings.push({ code, severity: 'warn', message, ...at });
  const matcher = opts.account ? new AccountMatcher(opts.account) : undefined;
  if (opts.account && opts.account.network.name !== network.name) {
    throw new CodedError('NETWORK_MISMATCH', `the account is for ${opts.account.network.name} but the network in use is ${network.name}`);
  }
  if (!matcher) warn('ACCOUNT_UNKNOWN', 'no keystore or descriptor given: nothing can be recognised as ours (inputs and change show as unknown/external)');

  const tx = Transaction.fromBuffer(Buffer.from(psbt.data.getTransaction()));
  const unsignedTxid = tx.getId();
  checkGlobals(psbt, network, refuse, warn);

  const inputs: InputReview[] = tx.ins.map((txIn, i) => reviewInput(psbt, tx, i, txIn, network, matcher, refuse, warn));
  const outputs: OutputReview[] = tx.outs.map((out, i) => reviewOutput(psbt, i, out, network, matcher, refuse, warn));

  const inputTotal = inputs.every((x) => x.valueSat !== null) ? inputs.reduce((s, x) => s + x.valueSat!, 0n) : null;
  const outputTotal = outputs.reduce((s, o) => s + o.amountSat, 0n);
  const changeTotal = outputs.filter((o) => o.kind !== 'external').reduce((s, o) => s + o.amountSat, 0n);
  const fee = inputTotal === null ? null : inputTotal - outputTotal;
  const { vsize, estimated } = estimateVsize(tx, psbt);
  const feeRateKvb = fee === null || fee < 0n ? null : (fee * 1000n) / BigInt(vsize);
  if (fee !== null && fee < 0n) refuse('NEGATIVE_FEE', `outputs (${outputTotal} sat) exceed inputs (${inputTotal} sat) by ${-fee} sat`);
  if (fee !== null && fee >= 0n && opts.policy) {
    const p = opts.policy;
    if (fee > p.maxFeeSat) refuse('FEE_TOO_HIGH', `fee ${fee} sat is above the cap of ${p.maxFeeSat} sat (${p.source})`);
    if (fee * 1000n > p.maxFeeRateSatKvb * BigInt(vsize)) {
      refuse('FEE_RATE_TOO_HIGH', `fee rate ${formatSatPerVb(feeRateKvb!)} sat/vB (${fee} sat / ${vsize} vB) is above the cap of ${formatSatPerVb(p.maxFeeRateSatKvb)} sat/vB (${p.source})`);
    }
  }
  if (matcher && !inputs.some((x) => x.ours === true && !x.finalized)) refuse('NOTHING_TO_SIGN', 'no unsigned input of this account: there is nothing to sign');
  const matched = opts.manifest ? checkManifest(opts.manifest, outputs, unsignedTxid, network, refuse) : { outputs, entries: [] };
  let withIds: readonly OutputReview[] = matched.outputs;
  if (opts.trust) {
    if (opts.trust.network !== network.name) refuse('NETWORK_MISMATCH', `the trust file is for ${opts.trust.network} but the account is ${network.name}`);
    if (!opts.manifest) refuse('MANIFEST_REQUIRED', 'a trust file is in use: the approvals travel in the payout manifest, and there is none (--manifest)');
  }
  if (opts.trust || opts.manifest?.outputs.some((o) => o.approval !== undefined)) {
    const checked = reviewOutputApprovals(withIds, matched.entries, withIds.map((o) => o.kind === 'external'), network.name, opts.trust);
    for (const f of checked.findings) refuse(f.code, f.message, { output: f.output });
    withIds = withIds.map((o, k) => (checked.approvals[k] === undefined ? o : { ...o, approval: checked.approvals[k] }));
  }
  // The second testimony: with a verifier in the trust file, every external output needs its attestation too.
  if (opts.trust?.verifier || opts.manifest?.outputs.some((o) => o.attestation !== undefined)) {
    const attested = reviewOutputAttestations(withIds, matched.entries, withIds.map((o) => o.kind === 'external'), withIds.map((o) => Boolean(o.approval?.mismatch)), opts.trust);
    for (const f of attested.findings) refuse(f.code, f.message, { output: f.output });
    withIds = withIds.map((o, k) => (attested.attestations[k] === undefined ? o : { ...o, attestation: attested.attestations[k] }));
  }
  const externalTotal = outputTotal - changeTotal;
  const cap = opts.policy?.maxPayoutSat ?? null;
  if (cap !== null && externalTotal > cap) {
    refuse('PAYOUT_CAP', `the payout sends ${externalTotal} sat to external outputs (${withIds.filter((o) => o.kind === 'external').map((o) => `output ${o.index} ${o.amountSat} sat`).join(', ')}), above the signer's cap of ${cap} sat per payout (${opts.policy!.source})`);
  }

  return {
    network: network.name,
    fingerprint: matcher?.fingerprint ?? null,
    unsignedTxid,
    version: tx.version,
    locktime: tx.locktime,
    inputs,
    outputs: withIds,
    inputTotalSat: inputTotal,
    outputTotalSat: outputTotal,
    changeTotalSat: changeTotal,
    externalTotalSat: externalTotal,
    feeSat: fee,
    vsize,
    vsizeEstimated: estimated,
    feeRateSatKvb: feeRateKvb,
    feeRateSatVb: feeRateKvb === null ? null : formatSatPerVb(feeRateKvb),
    inputsSigned: inputs.filter((x) => x.finalized || x.signatures.length > 0).length,
    inputsOurs: inputs.filter((x) => x.ours === true).length,
    findings,
  };
}

type Report = (code: FindingCode, message: string, at?: { input?: number; output?: number }) => void;

function checkGlobals(psbt: Psbt, network: Network, refuse: Report, warn: Report): void {
  for (const x of psbt.data.globalMap.globalXpub ?? []) {
    const version = Buffer.from(x.extendedPubkey).readUInt32BE(0);
    const mainnet = version === 0x0488b21e || version === 0x04b24746;
    if (mainnet !== (network.name === 'mainnet')) {
      refuse('NETWORK_MISMATCH', `global xpub ${hex(x.masterFingerprint)} is a ${mainnet ? 'mainnet' : 'test network'} key but the account is ${network.name}`);
    }
  }
  if ((psbt.data.globalMap.unknownKeyVals ?? []).length > 0) warn('UNKNOWN_FIELD', `the PSBT has ${psbt.data.globalMap.unknownKeyVals!.length} unknown global field(s); they are kept but not used`);
}

function reviewInput(
  psbt: Psbt, tx: Transaction, i: number, txIn: Transaction['ins'][number], network: Network,
  matcher: AccountMatcher | undefined, refuse: Report, warn: Report,
): InputReview {
  const input = psbt.data.inputs[i]!;
  const txid = hex(Uint8Array.from(txIn.hash).reverse());
  let value: bigint | null = null;
  let script: Uint8Array | null = null;
  if (input.witnessUtxo) {
    value = input.witnessUtxo.value;
    script = input.witnessUtxo.script;
  }
  let nonWitness: InputReview['nonWitnessUtxo'] = 'absent';
  if (input.nonWitnessUtxo) {
    const prev = parseTx(input.nonWitnessUtxo);
    const prevOut = prev?.outs[txIn.index];
    if (!prev || prev.getId() !== txid) {
      nonWitness = 'mismatch';
      refuse('WITNESS_UTXO_MISMATCH', `input ${i}: non_witness_utxo is ${prev ? `transaction ${prev.getId()}` : 'not a transaction'}, not the ${txid} it spends`, { input: i });
    } else if (!prevOut) {
      nonWitness = 'mismatch';
      refuse('WITNESS_UTXO_MISMATCH', `input ${i}: non_witness_utxo ${txid} has no output ${txIn.index}`, { input: i });
    } else if (value === null) {
      value = prevOut.value;
      script = prevOut.script;
      nonWitness = 'match';
    } else if (prevOut.value !== value || !Buffer.from(prevOut.script).equals(Buffer.from(script!))) {
      nonWitness = 'mismatch';
      refuse('WITNESS_UTXO_MISMATCH', `input ${i}: witness_utxo says ${value} sat to ${hex(script!)} but the previous transaction ${txid}:${txIn.index} pays ${prevOut.value} sat to ${hex(prevOut.script)}`, { input: i });
    } else {
      nonWitness = 'match';
    }
  } else if (value !== null) {
    warn('NO_NON_WITNESS_UTXO', `input ${i}: no non_witness_utxo (full previous transaction); its amount rests on witness_utxo alone`, { input: i });
  }
  if (value === null) refuse('MISSING_UTXO', `input ${i} (${txid}:${txIn.index}): neither witness_utxo nor non_witness_utxo is given, so its amount is unknown`, { input: i });
  const signatures = (input.partialSig ?? []).map((s) => ({ pubkey: hex(s.pubkey), sighash: s.signature[s.signature.length - 1]! }));
  const sighash = input.sighashType ?? null;
  if (sighash !== null && sighash !== Transaction.SIGHASH_ALL) {
    refuse('SIGHASH_NOT_ALL', `input ${i} asks for sighash ${sighashName(sighash)}; only ALL is signed (anything else lets the transaction be changed after signing)`, { input: i });
  }
  for (const s of signatures) {
    if (s.sighash !== Transaction.SIGHASH_ALL) refuse('SIGHASH_NOT_ALL', `input ${i} carries a signature with sighash ${sighashName(s.sighash)}`, { input: i });
  }
  let ours: boolean | null = null;
  let path: string | null = null;
  let pubkey: string | null = null;
  if (matcher) {
    const r = matcher.recognise(input.bip32Derivation, script);
    ours = r.kind === 'ours';
    if (r.kind === 'ours') {
      path = r.path;
      pubkey = hex(r.pubkey);
    } else if (r.kind === 'network') {
      refuse('NETWORK_MISMATCH', `input ${i}: ${r.message}`, { input: i });
    } else if (r.kind === 'bad') {
      path = r.path;
      refuse('FOREIGN_INPUT', `input ${i} (${txid}:${txIn.index}): its key does not derive from this seed: ${r.message}`, { input: i });
    } else {
      const fps = [...new Set((input.bip32Derivation ?? []).map((d) => hex(d.masterFingerprint)))];
      refuse('FOREIGN_INPUT', `input ${i} (${txid}:${txIn.index}) is not ours: ${fps.length ? `its derivation is for master fingerprint ${fps.join(', ')}, ours is ${matcher.fingerprint}` : 'it carries no BIP32 derivation'}`, { input: i });
    }
  } else {
    const d = input.bip32Derivation?.[0];
    if (d) {
      path = d.path;
      pubkey = hex(d.pubkey);
    }
  }
  if ((input.unknownKeyVals ?? []).length > 0) warn('UNKNOWN_FIELD', `input ${i} has unknown field(s); they are kept but not used`, { input: i });
  return {
    index: i, txid, vout: txIn.index, sequence: txIn.sequence, valueSat: value,
    scriptHex: script ? hex(script) : null, address: script ? addressOf(script, network) : null,
    ours, path, pubkey, nonWitnessUtxo: nonWitness, sighash, signatures,
    finalized: Boolean(input.finalScriptWitness || input.finalScriptSig),
  };
}

function reviewOutput(
  psbt: Psbt, i: number, out: Transaction['outs'][number], network: Network,
  matcher: AccountMatcher | undefined, refuse: Report, warn: Report,
): OutputReview {
  const meta = psbt.data.outputs[i]!;
  const address = addressOf(out.script, network);
  if (address === null) refuse('UNKNOWN_OUTPUT_SCRIPT', `output ${i} pays ${out.value} sat to a script with no address (${hex(out.script).slice(0, 80)}); refusing to sign what cannot be shown`, { output: i });
  let kind: OutputReview['kind'] = 'external';
  let path: string | null = null;
  if (matcher) {
    const r = matcher.recognise(meta.bip32Derivation, out.script);
    if (r.kind === 'ours') {
      kind = r.chain === 1 ? 'change' : 'ours';
      path = r.path;
    } else if (r.kind === 'network') {
      refuse('NETWORK_MISMATCH', `output ${i}: ${r.message}`, { output: i });
    } else if (r.kind === 'bad') {
      path = r.path;
      refuse('FAKE_CHANGE', `output ${i} (${address ?? hex(out.script)}, ${out.value} sat) claims to be ours but ${r.message}`, { output: i });
    }
  }
  if ((meta.unknownKeyVals ?? []).length > 0) warn('UNKNOWN_FIELD', `output ${i} has unknown field(s); they are kept but not used`, { output: i });
  return { index: i, address, scriptHex: hex(out.script), amountSat: out.value, kind, path, withdrawalId: null };
}

/** Match external outputs to manifest entries by script and amount; every mismatch is a refusal. */
function checkManifest(
  manifest: PayoutManifest, outputs: OutputReview[], unsignedTxid: string, network: Network, refuse: Report,
): { outputs: OutputReview[]; entries: (ManifestOutput | undefined)[] } {
  if (manifest.network !== network.name) {
    refuse('NETWORK_MISMATCH', `the manifest is for ${manifest.network} but the account is ${network.name}`);
  }
  for (const p of manifestAddressProblems(manifest, network)) {
    refuse(p.code === 'NETWORK_MISMATCH' ? 'NETWORK_MISMATCH' : 'NOT_IN_MANIFEST', `manifest address ${p.address}: ${p.message}`);
  }
  if (manifest.unsignedTxid !== unsignedTxid) {
    refuse('MANIFEST_TXID_MISMATCH', `the manifest is for unsigned transaction ${manifest.unsignedTxid}, this PSBT is ${unsignedTxid}`);
  }
  const scriptOf = (address: string): string | null => {
    try {
      return parseAddress(address, network).scriptHex;
    } catch {
      return null;
    }
  };
  const pending = manifest.outputs.map((o) => ({ ...o, script: scriptOf(o.address), used: false, entry: o }));
  const result = outputs.map((o) => ({ ...o }));
  const entries: (ManifestOutput | undefined)[] = outputs.map(() => undefined);
  const external = result.filter((o) => o.kind === 'external');
  // exact matches first (same script and amount), so two payments to one address pair up correctly
  const unmatched: OutputReview[] = [];
  for (const o of external) {
    const hit = pending.find((p) => !p.used && p.script === o.scriptHex && p.amountSat === o.amountSat);
    if (hit) {
      hit.used = true;
      (o as { withdrawalId: string | null }).withdrawalId = hit.withdrawalId;
      entries[o.index] = hit.entry;
    } else unmatched.push(o);
  }
  for (const o of unmatched) {
    const hit = pending.find((p) => !p.used && p.script === o.scriptHex);
    if (hit) {
      hit.used = true;
      (o as { withdrawalId: string | null }).withdrawalId = hit.withdrawalId;
      entries[o.index] = hit.entry;
      refuse('AMOUNT_MISMATCH', `output ${o.index} pays ${o.amountSat} sat to ${o.address} but withdrawal ${hit.withdrawalId} in the manifest is ${hit.amountSat} sat`, { output: o.index });
    } else {
      refuse('NOT_IN_MANIFEST', `output ${o.index} pays ${o.amountSat} sat to ${o.address ?? o.scriptHex}, which is not in the manifest`, { output: o.index });
    }
  }
  for (const p of pending.filter((x) => !x.used)) {
    refuse('MANIFEST_OUTPUT_MISSING', `withdrawal ${p.withdrawalId} (${p.amountSat} sat to ${p.address}) is in the manifest but not paid by this PSBT`);
  }
  for (const c of manifest.change) {
    const script = scriptOf(c.address);
    const hit = result.find((o) => o.kind === 'change' && o.scriptHex === script);
    if (!hit) refuse('CHANGE_MISMATCH', `manifest change ${c.address} (${c.amountSat} sat) is not a change output recognised in this PSBT`);
    else if (hit.amountSat !== c.amountSat) refuse('CHANGE_MISMATCH', `change output ${hit.index} is ${hit.amountSat} sat but the manifest says ${c.amountSat} sat`, { output: hit.index });
  }
  return { outputs: result, entries };
}

const SIGHASH_NAMES: Record<number, string> = { 0: 'DEFAULT', 1: 'ALL', 2: 'NONE', 3: 'SINGLE', 0x81: 'ALL|ANYONECANPAY', 0x82: 'NONE|ANYONECANPAY', 0x83: 'SINGLE|ANYONECANPAY' };

export function sighashName(type: number): string {
  return SIGHASH_NAMES[type] ?? `0x${type.toString(16).padStart(2, '0')}`;
}

/** The findings that stop `sign`. */
export function refusals(review: PsbtReview): Finding[] {
  return review.findings.filter((f) => f.severity === 'refuse');
}
