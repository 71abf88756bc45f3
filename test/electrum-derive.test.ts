/**
 * Our deriveAddresses against Electrum (an independent implementation) on
 * mainnet, testnet and regtest, 1,000 receive addresses from index 0 and
 * 1,000 from a non-zero index each (up to 2^31-1 on testnet).
 *
 * Always: against Electrum's output recorded in test/vectors/electrum-*.json
 * (see SOURCE.md). Live, when Debian's python3-electrum is importable by
 * /usr/bin/python3: Electrum is run again and must give the recording.
 */
import { BIP32Factory } from 'bip32';
import * as bip39 from 'bip39';
import bs58check from 'bs58check';
import * as ecc from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import { chainNode, deriveAddresses } from '../src/core/derive.js';
import { formatAccountDescriptor, parseAccountDescriptor } from '../src/core/descriptor.js';
import { NETWORKS, toBitcoinjs, type NetworkName } from '../src/core/network.js';
import { electrumAddresses, electrumUnavailable, recordedElectrum } from './support/electrum.js';

const bip32 = BIP32Factory(ecc);

/** The accounts of SOURCE.md, derived here from their mnemonics. */
const MNEMONIC: Record<'mainnet' | 'testnet' | 'regtest', string> = {
  mainnet: 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
  testnet: 'legal winner thank year wave sausage worth useful legal winner thank yellow',
  regtest: 'legal winner thank year wave sausage worth useful legal winner thank yellow',
};

const accounts = new Map<string, { slip132: string; descriptor: string }>();

function account(net: 'mainnet' | 'testnet' | 'regtest'): { slip132: string; descriptor: string } {
  const known = accounts.get(net);
  if (known) return known;
  const network = NETWORKS[net];
  const root = bip32.fromSeed(bip39.mnemonicToSeedSync(MNEMONIC[net]), toBitcoinjs(network));
  const node = root.derivePath(`m/84'/${network.coinType}'/0'`).neutered();
  const raw = Buffer.from(bs58check.decode(node.toBase58()));
  raw.writeUInt32BE(network.slip132.public, 0);
  const parsed = parseAccountDescriptor(node.toBase58(), network);
  const descriptor = formatAccountDescriptor({
    ...parsed, origin: { fingerprint: Buffer.from(root.fingerprint).toString('hex'), path: [0x80000054, 0x80000000 + network.coinType, 0x80000000] },
  });
  const result = { slip132: bs58check.encode(raw), descriptor };
  accounts.set(net, result);
  return result;
}

const NETS = ['mainnet', 'testnet', 'regtest'] as const;
const cases = NETS.flatMap((net) => recordedElectrum(net).map((r) => ({ net, from: r.from, count: r.count, recorded: r })));

describe('deriveAddresses agrees with Electrum (recorded)', () => {
  it('the recordings hold ≥1,000 addresses from 0 and from a non-zero index for each network', () => {
    for (const net of NETS) {
      const ranges = recordedElectrum(net);
      expect(ranges.map((r) => r.net)).toEqual([net, net]);
      expect(ranges[0]!.from).toBe(0);
      expect(ranges[1]!.from).toBeGreaterThan(0);
      for (const r of ranges) {
        expect(r.generator).toBe('electrum');
        expect(r.chain).toBe(0);
        expect(r.count).toBeGreaterThanOrEqual(1000);
        expect(r.addresses).toHaveLength(r.count);
        expect(new Set(r.addresses).size).toBe(r.count);
      }
    }
    expect(recordedElectrum('testnet')[1]!.from + 999).toBe(0x7fffffff); // up to the last non-hardened index
  });

  it.each(NETS)('%s: the recorded key is the documented account', (net) => {
    for (const r of recordedElectrum(net)) expect(r.xkey).toBe(account(net).slip132);
  });

  it.each(cases)('$net from $from, $count addresses: zpub/vpub → our deriveAddresses equals Electrum', ({ net, from, count, recorded }) => {
    const parsed = parseAccountDescriptor(recorded.xkey, NETWORKS[net as NetworkName]);
    expect(deriveAddresses(chainNode(parsed, 0), NETWORKS[net], from, count)).toEqual(recorded.addresses);
  });

  it.each(cases)('$net from $from: descriptor with origin → our deriveAddresses equals Electrum', ({ net, from, count, recorded }) => {
    const parsed = parseAccountDescriptor(account(net).descriptor, NETWORKS[net]);
    expect(deriveAddresses(chainNode(parsed, 0), NETWORKS[net], from, count)).toEqual(recorded.addresses);
  });
});

const unavailable = electrumUnavailable();
if (unavailable) console.warn(`electrum-derive: live Electrum check skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)(`live Electrum (${unavailable ? `skipped: ${unavailable}` : '/usr/bin/python3 + python3-electrum'})`, () => {
  it('Electrum run now gives the recorded addresses, and so ours, for all six ranges', async () => {
    const live = await electrumAddresses(cases.map((c) => ({ xkey: c.recorded.xkey, net: c.net, from: c.from, count: c.count })));
    expect(live).toHaveLength(cases.length);
    live.forEach((got, k) => {
      const c = cases[k]!;
      expect(got.net).toBe(c.net);
      expect(got.addresses).toEqual(c.recorded.addresses);
      const parsed = parseAccountDescriptor(c.recorded.xkey, NETWORKS[c.net]);
      expect(deriveAddresses(chainNode(parsed, 0), NETWORKS[c.net], c.from, c.count)).toEqual(got.addresses);
    });
  });
});
