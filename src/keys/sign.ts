import { createHmac } from 'node:crypto';
import { Transaction, type Psbt } from 'bitcoinjs-lib';
import { formatPath, type AccountDescriptor } from '../core/descriptor.js';
import { CodedError } from '../core/errors.js';
import { bip143AllHasher, derSignature, p2wpkhSighash, SIGHASH_ALL, verifyP2wpkhSignature } from '../core/p2wpkh-signature.js';
import { parseDerivationPath, refusals, type PsbtReview } from '../core/psbt-inspect.js';
import { loadNativeSecp256k1, loadTinySecp256k1 } from '../core/secp256k1-libraries.js';
import { masterNode } from './account.js';

/**
 * Signing the inputs of a reviewed PSBT that are ours, with SIGHASH_ALL.
 * Only the offline program imports this file.
 *
 * Why not `psbt.signAllInputsHD`: it derives every key from the root again
 * and bitcoinjs's `hashForWitnessV0` recomputes hashPrevouts, hashSequence and
 * hashOutputs for every input (quadratic in the input count). Here the account
 * node is derived once from the seed, each chain node once, then one CKDpriv
 * step per input; the signature hashes come from src/core/p2wpkh-signature.ts,
 * which computes the three BIP143 hashes once per transaction.
 *
 * Signatures are RFC6979 deterministic with low R (grinding the extra
 * entropy with a little-endian counter, as Bitcoin Core and Electrum do), so
 * the same PSBT signed here and in Electrum gives byte-identical transactions.
 * Every signature made is read back from the PSBT and verified against its
 * public key (derived from the account xpub during review) before returning.
 *
 * @see https://github.com/bitcoin/bips/blob/master/bip-0143.mediawiki
 * @see https://github.com/bitcoin/bitcoin/pull/13666 (low R)
 */

interface Ecdsa {
  readonly name: string;
  /** Compact 64-byte low-S signature; `extra` is RFC6979 extra entropy (32 bytes) or undefined. */
  sign(msg: Uint8Array, key: Uint8Array, extra: Uint8Array | undefined): Uint8Array;
  /** key + tweak mod n, in a new buffer, or null when invalid. */
  privateAdd(key: Uint8Array, tweak: Uint8Array): Uint8Array | null;
}

function loadEcdsa(): Ecdsa {
  try {
    const n = loadNativeSecp256k1();
    return {
      name: 'libsecp256k1-native',
      sign: (msg, key, extra) => n.ecdsaSign(msg, key, extra ? { data: extra } : {}).signature,
      privateAdd: (key, tweak) => {
        try {
          return n.privateKeyTweakAdd(Uint8Array.from(key), tweak); // tweaks its argument: pass a copy
        } catch {
          return null;
        }
      },
    };
  } catch {
    const t = loadTinySecp256k1();
    return {
      name: 'tiny-secp256k1-wasm',
      sign: (msg, key, extra) => t.sign(msg, key, extra),
      privateAdd: (key, tweak) => t.privateAdd(key, tweak),
    };
  }
}

const ecdsa = loadEcdsa();
/** Which ECDSA implementation signs, for the benchmark and diagnostics. */
export const signBackend = ecdsa.name;

/**
 * ECDSA with RFC6979 nonces and low R: sign without extra entropy, and while
 * R's top bit is set, again with extra entropy = counter (32 bytes, little
 * endian), exactly as Bitcoin Core's and Electrum's signers do.
 */
export function signLowR(msg: Uint8Array, key: Uint8Array): Uint8Array {
  let sig = ecdsa.sign(msg, key, undefined);
  const extra = Buffer.alloc(32);
  for (let counter = 1; sig[0]! >= 0x80; counter++) {
    extra.writeUInt32LE(counter, 0);
    sig = ecdsa.sign(msg, key, extra);
  }
  return sig;
}

interface PrivateNode {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly chainCode: Uint8Array;
}

/** CKDpriv for a non-hardened index: HMAC-SHA512(c, serP(K) || i), k_child = IL + k. */
function childPrivateKey(parent: PrivateNode, index: number): Uint8Array {
  const data = Buffer.alloc(37);
  data.set(parent.publicKey, 0);
  data.writeUInt32BE(index, 33);
  const i = createHmac('sha512', parent.chainCode).update(data).digest();
  const key = ecdsa.privateAdd(parent.privateKey, i.subarray(0, 32));
  i.fill(0);
  if (!key) throw new CodedError('INTERNAL', `BIP32 child ${index} is invalid (probability 2^-127); refusing to sign with a skipped key`);
  return key;
}

export interface SignedInput {
  readonly input: number;
  readonly path: string;
  readonly pubkey: string;
}

export interface SignResult {
  readonly signed: readonly SignedInput[];
  readonly backend: string;
}

/**
 * Sign every input of `psbt` that `review` recognised as ours (and that has
 * no signature of ours yet), in place. Refuses (REFUSED) when the review has
 * any refusing finding: callers review first, and this checks again.
 *
 * @example
 * const review = inspectPsbt(psbt, { network, account, policy });
 * const { signed } = signPsbt(psbt, seed, account, review);
 */
export function signPsbt(psbt: Psbt, seed: Uint8Array, account: AccountDescriptor, review: PsbtReview): SignResult {
  const refused = refusals(review);
  if (refused.length > 0) {
    throw new CodedError('REFUSED', `refusing to sign: ${refused.map((f) => `${f.code}: ${f.message}`).join('; ')}`);
  }
  if (!account.origin) throw new CodedError('USAGE', 'the account has no key origin');
  const tx = Transaction.fromBuffer(Buffer.from(psbt.data.getTransaction()));
  if (tx.getId() !== review.unsignedTxid) throw new CodedError('INTERNAL', 'the review is for another transaction');

  const master = masterNode(seed, account.network);
  const accountNode = master.derivePath(`m/${formatPath(account.origin.path).replace(/h/g, "'")}`);
  if (!Buffer.from(accountNode.publicKey).equals(Buffer.from(account.key.publicKey))) {
    throw new CodedError('INVALID_INPUT', 'the seed does not give this account key');
  }
  const chains = new Map<number, PrivateNode>();
  const chainOf = (chain: number): PrivateNode => {
    let node = chains.get(chain);
    if (!node) {
      const c = accountNode.derive(chain);
      node = { privateKey: Uint8Array.from(c.privateKey!), publicKey: c.publicKey, chainCode: c.chainCode };
      chains.set(chain, node);
    }
    return node;
  };

  const sighash = bip143AllHasher(tx);
  const signed: SignedInput[] = [];
  const made: { index: number; pubkey: Buffer; valueSat: bigint }[] = [];
  try {
    for (const input of review.inputs) {
      if (input.ours !== true || input.finalized || input.pubkey === null || input.path === null || input.valueSat === null) continue;
      if (input.signatures.some((s) => s.pubkey === input.pubkey)) continue;
      const path = parseDerivationPath(input.path)!;
      const chain = path[path.length - 2]!;
      const index = path[path.length - 1]!;
      const pubkey = Buffer.from(input.pubkey, 'hex');
      const key = childPrivateKey(chainOf(chain), index);
      try {
        const msg = p2wpkhSighash(sighash, input.index, pubkey, input.valueSat);
        const signature = derSignature(signLowR(msg, key), SIGHASH_ALL);
        // bip174's updateInput, not bitcoinjs's: the latter re-validates every input as a possible taproot
        // input with schemas built per call (most of the time for 1,000 inputs); the review checked it all.
        psbt.data.updateInput(input.index, { partialSig: [{ pubkey, signature }] });
        made.push({ index: input.index, pubkey, valueSat: input.valueSat });
        signed.push({ input: input.index, path: input.path, pubkey: input.pubkey });
      } finally {
        key.fill(0);
      }
    }
    // Every signature made, read back from the PSBT as it will be written, is verified against the
    // public key the review derived from the account xpub: a wrong key or a bad encoding cannot leave.
    for (const m of made) {
      const ps = psbt.data.inputs[m.index]!.partialSig!.find((x) => Buffer.from(x.pubkey).equals(m.pubkey))!;
      const bad = verifyP2wpkhSignature(sighash, m.index, m.valueSat, m.pubkey, ps.signature);
      if (bad !== undefined) throw new CodedError('INTERNAL', `input ${m.index}: ${bad} (the signature just made); nothing was written`);
    }
  } finally {
    for (const node of chains.values()) (node.privateKey as Uint8Array).fill(0);
  }
  return { signed, backend: ecdsa.name };
}
