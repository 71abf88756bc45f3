import { BIP32Factory, type BIP32Interface } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import { bip84AccountPath, type AccountDescriptor } from '../core/descriptor.js';
import { parseExtendedPublicKey } from '../core/extended-key.js';
import { toBitcoinjs, type Network } from '../core/network.js';

/**
 * From a BIP39 seed to the public BIP84 account the rest of coldpool uses.
 * The private master key lives only inside these functions; what leaves is
 * the account xpub with its key origin.
 *
 * @see https://github.com/bitcoin/bips/blob/master/bip-0084.mediawiki
 */

const bip32 = BIP32Factory(ecc);

/** The BIP32 master node of a seed, private. Callers must not let it escape the offline program. */
export function masterNode(seed: Uint8Array, network: Network): BIP32Interface {
  return bip32.fromSeed(seed, toBitcoinjs(network));
}

/** The master fingerprint as 8 lower-case hex characters, the `[73c5da0a/…]` of a descriptor. */
export function masterFingerprint(master: BIP32Interface): string {
  return Buffer.from(master.fingerprint).toString('hex');
}

/** `m/84'/0'/0'` (mainnet) or `m/84'/1'/0'`, as a bip32 path string. */
function pathString(path: readonly number[]): string {
  return `m/${path.map((i) => `${i & 0x7fffffff}'`).join('/')}`;
}

/**
 * The BIP84 account descriptor of a seed: `wpkh([fp/84h/ch/0h]xpub…/<0;1>/*)`.
 *
 * @example
 * const account = accountFromSeed(mnemonicToSeed('abandon … about'), NETWORKS.mainnet);
 * account.origin?.fingerprint // '73c5da0a'
 */
export function accountFromSeed(seed: Uint8Array, network: Network, account = 0): AccountDescriptor {
  const master = masterNode(seed, network);
  const path = bip84AccountPath(network, account);
  const node = master.derivePath(pathString(path)).neutered();
  // Round-trip through the core parser: one decoder of extended keys in the codebase.
  const key = parseExtendedPublicKey(node.toBase58());
  return { network, key, origin: { fingerprint: masterFingerprint(master), path } };
}
