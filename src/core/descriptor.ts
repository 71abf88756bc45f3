import { HARDENED, MAX_INDEX } from './bip32-index.js';
import { addChecksum, stripChecksum } from './descriptor-checksum.js';
import { CodedError, show } from './errors.js';
import { assertKeyNetwork, formatExtendedPublicKey, parseExtendedPublicKey, type ExtendedPublicKey } from './extended-key.js';
import type { Network } from './network.js';

/** Re-exported: callers that parse descriptors use the same bounds. */
export { HARDENED, MAX_INDEX };

/** Key origin of a descriptor: `[d34db33f/84h/0h/0h]`. */
export interface KeyOrigin {
  /** Master key fingerprint, 8 lower-case hex characters. */
  readonly fingerprint: string;
  /** Path from the master key, hardened steps with HARDENED set. */
  readonly path: readonly number[];
}

/**
 * A BIP84 account: `wpkh([origin]xpub/<0;1>/*)`. The receive chain is 0, the
 * change chain 1. This is the public half of the cold wallet, safe to copy to
 * the web host and the operator box.
 */
export interface AccountDescriptor {
  readonly network: Network;
  readonly key: ExtendedPublicKey;
  readonly origin: KeyOrigin | undefined;
}

/** BIP84 account path for a network: m/84'/0'/0' on mainnet, m/84'/1'/0' elsewhere. */
export function bip84AccountPath(network: Network, account = 0): number[] {
  return [84 + HARDENED, network.coinType + HARDENED, account + HARDENED];
}

/** `84h/0h/0h` (no leading `m/`), the way descriptors write a path. */
export function formatPath(path: readonly number[]): string {
  return path.map((i) => (i >= HARDENED ? `${i - HARDENED}h` : String(i))).join('/');
}

function parsePath(text: string, what: string): number[] {
  if (text === '') return [];
  return text.split('/').map((step) => {
    const m = /^(\d{1,10})(['hH]?)$/.exec(step);
    const n = m ? Number(m[1]) : NaN;
    if (!m || n > MAX_INDEX) throw new CodedError('INVALID_INPUT', `"${what}" has a bad path step ${show(step)}`);
    return m[2] ? n + HARDENED : n;
  });
}

const DESCRIPTOR_RE = /^wpkh\((?:\[([0-9a-fA-F]{8})((?:\/[0-9]+['hH]?)*)\])?([1-9A-HJ-NP-Za-km-z]+)(\/<0;1>\/\*|\/0\/\*|\/1\/\*)?\)$/;

/**
 * Parse what an operator may paste as "the account": a descriptor that
 * `coldpool-offline export` printed (with or without `#checksum`; a wrong
 * checksum is refused), or a bare xpub/tpub/zpub/vpub taken as the BIP84
 * account key. Only single-key native segwit (`wpkh`) is supported.
 *
 * `network` is the network in use; the key's family must match it.
 *
 * @example
 * parseAccountDescriptor("wpkh([73c5da0a/84h/0h/0h]xpub6CatWdiZ.../<0;1>/*)#...", NETWORKS.mainnet)
 */
export function parseAccountDescriptor(text: string, network: Network): AccountDescriptor & { chain: 0 | 1 | undefined } {
  const trimmed = text.trim();
  if (!trimmed.includes('(')) {
    const key = parseExtendedPublicKey(trimmed);
    assertKeyNetwork(key, network);
    return { network, key, origin: undefined, chain: undefined };
  }
  const body = stripChecksum(trimmed);
  const m = DESCRIPTOR_RE.exec(body);
  if (!m) {
    throw new CodedError('INVALID_INPUT', `"descriptor" expected wpkh([fingerprint/84h/…]xpub…/<0;1>/*), got ${show(body)}`, {
      hint: 'only single-key native segwit (BIP84) accounts are supported; paste the descriptor `coldpool-offline export` printed',
    });
  }
  const key = parseExtendedPublicKey(m[3]!);
  assertKeyNetwork(key, network);
  if (key.encoding !== 'bip32') {
    throw new CodedError('INVALID_INPUT', '"descriptor" must use xpub/tpub inside wpkh(...), not zpub/vpub (descriptors carry the script type themselves)');
  }
  const origin = m[1] === undefined ? undefined : {
    fingerprint: m[1].toLowerCase(),
    path: parsePath((m[2] ?? '').replace(/^\//, ''), 'descriptor origin'),
  };
  if (origin && origin.path.length !== key.depth) {
    throw new CodedError('INVALID_INPUT', `"descriptor" origin path has ${origin.path.length} steps but the key's depth is ${key.depth}`);
  }
  const suffix = m[4];
  const chain = suffix === '/0/*' ? 0 : suffix === '/1/*' ? 1 : undefined;
  return { network, key, origin, chain };
}

function keyExpression(account: AccountDescriptor): string {
  const xpub = formatExtendedPublicKey(account.key, account.network, 'bip32');
  const origin = account.origin ? `[${account.origin.fingerprint}/${formatPath(account.origin.path)}]` : '';
  return `${origin}${xpub}`;
}

/** `wpkh([fp/84h/0h/0h]xpub…/<0;1>/*)#checksum`, the BIP389 multipath form Core and Sparrow read. */
export function formatAccountDescriptor(account: AccountDescriptor): string {
  return addChecksum(`wpkh(${keyExpression(account)}/<0;1>/*)`);
}

/** The single-chain descriptor: receive (`…/0/*`) or change (`…/1/*`), with checksum. */
export function formatChainDescriptor(account: AccountDescriptor, chain: 0 | 1): string {
  return addChecksum(`wpkh(${keyExpression(account)}/${chain}/*)`);
}

/**
 * Identity of an account for pinning a pool to it: the key itself (chain
 * code and public key), independent of how it was written (xpub, zpub, with
 * or without origin).
 */
export function accountKeyId(account: AccountDescriptor): string {
  return Buffer.concat([account.key.chainCode, account.key.publicKey]).toString('hex');
}
