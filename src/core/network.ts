import { CodedError, show } from './errors.js';

/**
 * The four networks coldpool knows. `network` is always explicit: bitcoinjs-lib
 * silently defaults to mainnet, we never do.
 */
export const NETWORK_NAMES = ['mainnet', 'testnet', 'signet', 'regtest'] as const;
export type NetworkName = (typeof NETWORK_NAMES)[number];

export interface Network {
  readonly name: NetworkName;
  /** bech32 human-readable part of segwit addresses (BIP173). */
  readonly bech32: string;
  /** Base58 version byte of P2PKH addresses. */
  readonly pubKeyHash: number;
  /** Base58 version byte of P2SH addresses. */
  readonly scriptHash: number;
  /** WIF version byte. */
  readonly wif: number;
  /** BIP32 version bytes of xpub/xprv (tpub/tprv off mainnet). */
  readonly bip32: { readonly public: number; readonly private: number };
  /** SLIP-132 version bytes of zpub/zprv (vpub/vprv off mainnet), what Electrum reads for BIP84. */
  readonly slip132: { readonly public: number; readonly private: number };
  /** BIP44 coin type: 0 on mainnet, 1 on every test network. */
  readonly coinType: 0 | 1;
  /** The bitcoinjs-lib `messagePrefix`, needed only because its Network type requires it. */
  readonly messagePrefix: string;
}

const MAIN_BIP32 = { public: 0x0488b21e, private: 0x0488ade4 } as const;
const TEST_BIP32 = { public: 0x043587cf, private: 0x04358394 } as const;
const MAIN_SLIP132 = { public: 0x04b24746, private: 0x04b2430c } as const;
const TEST_SLIP132 = { public: 0x045f1cf6, private: 0x045f18bc } as const;

export const NETWORKS: Readonly<Record<NetworkName, Network>> = Object.freeze({
  mainnet: {
    name: 'mainnet', bech32: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, wif: 0x80,
    bip32: MAIN_BIP32, slip132: MAIN_SLIP132, coinType: 0, messagePrefix: '\x18Bitcoin Signed Message:\n',
  },
  testnet: {
    name: 'testnet', bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef,
    bip32: TEST_BIP32, slip132: TEST_SLIP132, coinType: 1, messagePrefix: '\x18Bitcoin Signed Message:\n',
  },
  signet: {
    name: 'signet', bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef,
    bip32: TEST_BIP32, slip132: TEST_SLIP132, coinType: 1, messagePrefix: '\x18Bitcoin Signed Message:\n',
  },
  regtest: {
    name: 'regtest', bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef,
    bip32: TEST_BIP32, slip132: TEST_SLIP132, coinType: 1, messagePrefix: '\x18Bitcoin Signed Message:\n',
  },
});

/** Parse a network name as typed by an operator; `bitcoin`/`main` are accepted aliases of mainnet. */
export function parseNetwork(text: unknown): Network {
  const name = typeof text === 'string' ? text.trim().toLowerCase() : '';
  const alias: Record<string, NetworkName> = { bitcoin: 'mainnet', main: 'mainnet', test: 'testnet', testnet3: 'testnet' };
  const resolved = (alias[name] ?? name) as NetworkName;
  if (!(NETWORK_NAMES as readonly string[]).includes(resolved)) {
    throw new CodedError('USAGE', `"network" expected one of ${NETWORK_NAMES.join(', ')}, got ${show(text)}`);
  }
  return NETWORKS[resolved];
}

/** The bitcoinjs-lib shape of a network, for its payments and Psbt. */
export function toBitcoinjs(network: Network): {
  messagePrefix: string; bech32: string; bip32: { public: number; private: number };
  pubKeyHash: number; scriptHash: number; wif: number;
} {
  return {
    messagePrefix: network.messagePrefix,
    bech32: network.bech32,
    bip32: { ...network.bip32 },
    pubKeyHash: network.pubKeyHash,
    scriptHash: network.scriptHash,
    wif: network.wif,
  };
}

/** True when two networks share key serialisation (all test networks use tpub). */
export function sameKeyFamily(a: Network, b: Network): boolean {
  return a.bip32.public === b.bip32.public;
}
