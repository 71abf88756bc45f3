/**
 * BIP84 test vectors (test/vectors/bip-0084-test-vectors.txt, see SOURCE.md):
 * the mnemonic's account and first receive/change addresses. The public side
 * runs through our code (parseAccountDescriptor, chainNode, deriveAddresses,
 * childPublicKey); the private side (root, account zprv, WIF keys) through
 * `bip39` + `bip32`.
 */
import * as bip39 from 'bip39';
import { BIP32Factory, type BIP32Interface } from 'bip32';
import bs58check from 'bs58check';
import * as ecc from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import { chainNode, childPublicKey, deriveAddresses } from '../src/core/derive.js';
import { bip84AccountPath, formatAccountDescriptor, formatChainDescriptor, formatPath, parseAccountDescriptor } from '../src/core/descriptor.js';
import { formatExtendedPublicKey, parseExtendedPublicKey } from '../src/core/extended-key.js';
import { NETWORKS, toBitcoinjs } from '../src/core/network.js';
import { bip84Vectors } from './support/vectors.js';

const bip32 = BIP32Factory(ecc);
const v = bip84Vectors();
const mainnet = NETWORKS.mainnet;
/** bitcoinjs network with SLIP-132 (zprv/zpub) version bytes, to read the vectors' zprv. */
const slip132 = { ...toBitcoinjs(mainnet), bip32: { ...mainnet.slip132 } };

const root = bip32.fromSeed(bip39.mnemonicToSeedSync(v.mnemonic), slip132);
const account = root.derivePath("m/84'/0'/0'");
const zpub = account.neutered().toBase58();
/** The account xpub: bip32's neutered account, re-encoded with the xpub version bytes by bs58check. */
const xpub = (() => {
  const raw = Buffer.from(bs58check.decode(zpub));
  raw.writeUInt32BE(mainnet.bip32.public, 0);
  return bs58check.encode(raw);
})();
const fingerprint = Buffer.from(root.fingerprint).toString('hex');

/** "m/84'/0'/0'/1/0" → { chain: 1, index: 0 } */
function tail(path: string): { chain: 0 | 1; index: number } {
  const [chain, index] = path.split('/').slice(-2).map(Number);
  return { chain: chain as 0 | 1, index: index! };
}

describe('BIP84 test vectors', () => {
  it('reads the mnemonic, root, account and three addresses', () => {
    expect(v.addresses.map((a) => a.path)).toEqual(["m/84'/0'/0'/0/0", "m/84'/0'/0'/0/1", "m/84'/0'/0'/1/0"]);
  });

  it('private side (bip39 + bip32): the root zprv and the account zprv', () => {
    expect(root.toBase58()).toBe(v.rootnode);
    expect(account.toBase58()).toBe(v.accountXprv);
    expect(account.depth).toBe(3);
    expect(bip84AccountPath(mainnet)).toEqual([84 + 0x80000000, 0x80000000, 0x80000000]);
    expect(formatPath(bip84AccountPath(mainnet))).toBe('84h/0h/0h');
  });

  it('our parser reads the account zpub that bip32 neuters from the vector zprv, and writes it back as zpub and xpub', () => {
    const key = parseExtendedPublicKey(zpub);
    expect(key).toMatchObject({ family: 'mainnet', encoding: 'slip132', depth: 3, childNumber: 0x80000000 });
    expect(formatExtendedPublicKey(key, mainnet, 'slip132')).toBe(zpub);
    // the xpub form is the same 78 bytes under the BIP32 version bytes
    expect(formatExtendedPublicKey(key, mainnet, 'bip32')).toBe(xpub);
    expect(Buffer.from(key.publicKey).equals(Buffer.from(account.publicKey))).toBe(true);
    expect(Buffer.from(key.chainCode).equals(Buffer.from(account.chainCode))).toBe(true);
  });

  const accountForms = [
    { form: 'bare zpub', text: zpub },
    { form: 'multipath descriptor with origin', text: '' },
    { form: 'receive-chain descriptor', text: '' },
  ];
  const parsedZpub = parseAccountDescriptor(zpub, mainnet);
  const withOrigin = { ...parsedZpub, origin: { fingerprint, path: bip84AccountPath(mainnet) } };
  accountForms[1]!.text = formatAccountDescriptor(withOrigin);
  accountForms[2]!.text = formatChainDescriptor(withOrigin, 0);

  it('the exported descriptor has the BIP84 fingerprint 73c5da0a and origin 84h/0h/0h', () => {
    expect(accountForms[1]!.text).toMatch(/^wpkh\(\[73c5da0a\/84h\/0h\/0h\]xpub[1-9A-HJ-NP-Za-km-z]+\/<0;1>\/\*\)#[a-z0-9]{8}$/);
  });

  it.each(accountForms)('$form: our derivation gives every listed pubkey and address', ({ text }) => {
    const parsed = parseAccountDescriptor(text, mainnet);
    for (const a of v.addresses) {
      const { chain, index } = tail(a.path);
      const node = chainNode(parsed, chain);
      expect(Buffer.from(childPublicKey(node, index)).toString('hex')).toBe(a.pubkey);
      expect(deriveAddresses(node, mainnet, index, 1)).toEqual([a.address]);
    }
    expect(deriveAddresses(chainNode(parsed, 0), mainnet, 0, 2)).toEqual(v.addresses.slice(0, 2).map((a) => a.address));
  });

  it.each(v.addresses)('$path: bip32 gives the listed WIF private key and pubkey', (a) => {
    const node: BIP32Interface = root.derivePath(a.path);
    expect(node.toWIF()).toBe(a.privkey);
    expect(Buffer.from(node.publicKey).toString('hex')).toBe(a.pubkey);
  });
});
