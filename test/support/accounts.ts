/**
 * The fixed test accounts of test/vectors/SOURCE.md ("Electrum recordings"),
 * derived from their mnemonics with bip39 + bip32. Test keys only.
 */
import { BIP32Factory } from 'bip32';
import * as bip39 from 'bip39';
import bs58check from 'bs58check';
import * as ecc from 'tiny-secp256k1';
import { formatAccountDescriptor, parseAccountDescriptor } from '../../src/core/descriptor.js';
import { NETWORKS, toBitcoinjs } from '../../src/core/network.js';

const bip32 = BIP32Factory(ecc);

export type TestNet = 'mainnet' | 'testnet' | 'regtest';

export const MNEMONIC: Record<TestNet, string> = {
  mainnet: 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
  testnet: 'legal winner thank year wave sausage worth useful legal winner thank yellow',
  regtest: 'legal winner thank year wave sausage worth useful legal winner thank yellow',
};

export interface TestAccount {
  /** xpub/tpub of m/84'/coin'/0'. */
  readonly bip32: string;
  /** zpub/vpub of the same account, what Electrum reads. */
  readonly slip132: string;
  /** wpkh([fingerprint/84h/coinh/0h]xpub…/<0;1>/*)#checksum */
  readonly descriptor: string;
}

const cache = new Map<TestNet, TestAccount>();

export function testAccount(net: TestNet): TestAccount {
  const known = cache.get(net);
  if (known) return known;
  const network = NETWORKS[net];
  const root = bip32.fromSeed(bip39.mnemonicToSeedSync(MNEMONIC[net]), toBitcoinjs(network));
  const node = root.derivePath(`m/84'/${network.coinType}'/0'`).neutered();
  const raw = Buffer.from(bs58check.decode(node.toBase58()));
  raw.writeUInt32BE(network.slip132.public, 0);
  const parsed = parseAccountDescriptor(node.toBase58(), network);
  const descriptor = formatAccountDescriptor({
    ...parsed,
    origin: { fingerprint: Buffer.from(root.fingerprint).toString('hex'), path: [0x80000054, 0x80000000 + network.coinType, 0x80000000] },
  });
  const account = { bip32: node.toBase58(), slip132: bs58check.encode(raw), descriptor };
  cache.set(net, account);
  return account;
}
