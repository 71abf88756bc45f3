/**
 * Our deriveAddresses against Electrum (an independent implementation) on
 * mainnet, testnet and regtest, 1,000 receive addresses from index 0 and
 * 1,000 from a non-zero index each (up to 2^31-1 on testnet).
 *
 * Always: against Electrum's output recorded in test/vectors/electrum-*.json
 * (see SOURCE.md). Live, when Debian's python3-electrum is importable by
 * /usr/bin/python3: Electrum is run again and must give the recording.
 */
import { describe, expect, it } from 'vitest';
import { chainNode, deriveAddresses } from '../src/core/derive.js';
import { parseAccountDescriptor } from '../src/core/descriptor.js';
import { NETWORKS, type NetworkName } from '../src/core/network.js';
import { testAccount } from './support/accounts.js';
import { electrumAddresses, electrumUnavailable, recordedElectrum } from './support/electrum.js';

const account = testAccount;

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
