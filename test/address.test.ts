import * as bitcoin from 'bitcoinjs-lib';
import fc from 'fast-check';
import * as ecc from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import { AddressError, dustThresholdSat, parseAddress } from '../src/core/address.js';
import { AmountError, MAX_MONEY_SAT, formatBtc, parseBtc, parseSat } from '../src/core/amount.js';
import { NETWORKS, toBitcoinjs, type Network } from '../src/core/network.js';
import { segwitVectors } from './support/segwit-vectors.js';

bitcoin.initEccLib(ecc);

const bip173 = segwitVectors('bip-0173-segwit-address-vectors.mediawiki');
const bip350 = segwitVectors('bip-0350-segwit-address-vectors.mediawiki');
const netOf = (a: string): Network => (a.toLowerCase().startsWith('tb1') ? NETWORKS.testnet : NETWORKS.mainnet);
const reasonOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'accepted';
  } catch (e) {
    if (e instanceof AddressError || e instanceof AmountError) return e.reason;
    throw e;
  }
};

describe('BTC amounts', () => {
  it.each([
    ['1', 100_000_000n], ['0.00000001', 1n], ['0.0015', 150_000n], ['.5', 50_000_000n], ['21000000', MAX_MONEY_SAT], ['20999999.99999999', MAX_MONEY_SAT - 1n], ['1.', 100_000_000n], ['007', 700_000_000n],
  ])('parseBtc(%j) = %s sat', (text, sat) => expect(parseBtc(text)).toBe(sat));

  it.each([
    ['0', 'amount_zero'], ['0.00000000', 'amount_zero'], ['-1', 'amount_sign'], ['+1', 'amount_sign'], ['1e-3', 'amount_exponent'], ['1E8', 'amount_exponent'],
    ['0.000000001', 'amount_too_precise'], ['21000000.00000001', 'amount_above_supply'], ['1000000000', 'amount_above_supply'], ['abc', 'amount_not_a_number'],
    ['1,5', 'amount_not_a_number'], [' 1', 'amount_not_a_number'], ['1 ', 'amount_not_a_number'], ['', 'amount_not_a_number'], ['.', 'amount_not_a_number'],
    ['0x10', 'amount_not_a_number'], ['1_000', 'amount_not_a_number'], ['NaN', 'amount_not_a_number'], ['Infinity', 'amount_not_a_number'], ['１', 'amount_not_a_number'],
  ])('parseBtc(%j) is refused: %s', (text, reason) => expect(reasonOf(() => parseBtc(text))).toBe(reason));

  it.each([['150000', 150_000n], ['2100000000000000', MAX_MONEY_SAT]])('parseSat(%j)', (t, s) => expect(parseSat(t)).toBe(s));
  it.each([['0', 'amount_zero'], ['-5', 'amount_sign'], ['1e5', 'amount_exponent'], ['1.5', 'amount_not_a_number'], ['2100000000000001', 'amount_above_supply'], ['99999999999999999999', 'amount_above_supply']])(
    'parseSat(%j) is refused: %s', (t, r) => expect(reasonOf(() => parseSat(t))).toBe(r));

  it('round-trips every amount: parseBtc(formatBtc(sat)) === sat (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: MAX_MONEY_SAT }), (sat) => parseBtc(formatBtc(sat)) === sat), { numRuns: 2000 });
  });

  it('round-trips BTC text with trailing zeros stripped (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 20_999_999 }), fc.integer({ min: 1, max: 99_999_999 }), (whole, frac) => {
      const text = `${whole}.${String(frac).padStart(8, '0').replace(/0+$/, '')}`;
      return formatBtc(parseBtc(text)).replace(/0+$/, '') === text;
    }));
  });
});

describe('BIP173 / BIP350 segwit address vectors', () => {
  it('read the files: 8 valid and 15 invalid in BIP350, 6 valid and 10 invalid in BIP173', () => {
    expect([bip350.valid.length, bip350.invalid.length, bip173.valid.length, bip173.invalid.length]).toEqual([8, 15, 6, 10]);
  });

  // v1 with a 40-byte program is a valid *address* (BIP350) but not a taproot
  // output; coldpool refuses v1 programs that are not 32 bytes (nobody can receive there).
  const v1Not32 = 'bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y';
  it.each(bip350.valid.filter((v) => v.address !== v1Not32))('BIP350 valid $address → its scriptPubKey', (v) => {
    const d = parseAddress(v.address, netOf(v.address));
    expect(d.scriptHex).toBe(v.scriptHex);
  });
  it('BIP350 valid v1 with a 40-byte program is refused as not a taproot output', () => {
    expect(reasonOf(() => parseAddress(v1Not32, NETWORKS.mainnet))).toBe('address_program_length');
  });
  it.each(bip350.invalid)('BIP350 invalid $address ($reason) is refused', (v) => {
    const r = reasonOf(() => parseAddress(v.address, netOf(v.address)));
    expect(r).not.toBe('accepted');
    if (/Bech32 instead of Bech32m|Bech32m instead of Bech32/.test(v.reason!)) expect(r).toBe('address_bech32_variant');
    if (/Mixed case/.test(v.reason!)) expect(r).toBe('address_mixed_case');
    if (/human-readable/.test(v.reason!)) expect(r).toBe('address_network');
    if (/program length/.test(v.reason!)) expect(r).toBe('address_program_length');
    if (/^Invalid witness version/.test(v.reason!)) expect(r).toBe('address_witness_version');
  });
  it.each(bip173.valid.filter((v) => v.scriptHex!.startsWith('00')))('BIP173 valid v0 $address → its scriptPubKey', (v) => {
    expect(parseAddress(v.address, netOf(v.address)).scriptHex).toBe(v.scriptHex);
  });
  it.each(bip173.valid.filter((v) => !v.scriptHex!.startsWith('00')))('BIP173 v1+ $address (bech32) is refused: BIP350 requires bech32m', (v) => {
    expect(reasonOf(() => parseAddress(v.address, netOf(v.address)))).toBe('address_bech32_variant');
  });
  it.each(bip173.invalid)('BIP173 invalid $address ($reason) is refused', (v) => {
    expect(reasonOf(() => parseAddress(v.address, netOf(v.address)))).not.toBe('accepted');
  });
  it('every accepted vector gives the script bitcoinjs-lib gives', () => {
    for (const v of [...bip350.valid, ...bip173.valid]) {
      if (reasonOf(() => parseAddress(v.address, netOf(v.address))) !== 'accepted') continue;
      const script = Buffer.from(bitcoin.address.toOutputScript(v.address.toLowerCase(), toBitcoinjs(netOf(v.address)))).toString('hex');
      expect(parseAddress(v.address, netOf(v.address)).scriptHex).toBe(script);
    }
  });
});

describe('base58 addresses and dust', () => {
  const hash = Buffer.alloc(20, 7);
  const p2pkh = (n: Network) => bitcoin.payments.p2pkh({ hash, network: toBitcoinjs(n) }).address!;
  const p2sh = (n: Network) => bitcoin.payments.p2sh({ hash, network: toBitcoinjs(n) }).address!;
  it('P2PKH and P2SH on mainnet and testnet, scripts as bitcoinjs-lib', () => {
    for (const n of [NETWORKS.mainnet, NETWORKS.testnet, NETWORKS.regtest]) {
      for (const [a, type] of [[p2pkh(n), 'p2pkh'], [p2sh(n), 'p2sh']] as const) {
        const d = parseAddress(a, n);
        expect(d.type).toBe(type);
        expect(d.scriptHex).toBe(Buffer.from(bitcoin.address.toOutputScript(a, toBitcoinjs(n))).toString('hex'));
      }
    }
  });
  it('a mainnet P2PKH on testnet, a testnet P2SH on mainnet: address_network', () => {
    expect(reasonOf(() => parseAddress(p2pkh(NETWORKS.mainnet), NETWORKS.testnet))).toBe('address_network');
    expect(reasonOf(() => parseAddress(p2sh(NETWORKS.testnet), NETWORKS.mainnet))).toBe('address_network');
  });
  it('a changed base58 character: address_checksum', () => {
    const a = p2pkh(NETWORKS.mainnet);
    const bad = a.slice(0, 10) + (a[10] === 'a' ? 'b' : 'a') + a.slice(11);
    expect(reasonOf(() => parseAddress(bad, NETWORKS.mainnet))).toBe('address_checksum');
  });
  it('dust limits are Bitcoin Core\'s: P2PKH 546, P2SH 540, P2WPKH 294, P2WSH 330, P2TR 330', () => {
    expect(parseAddress(p2pkh(NETWORKS.mainnet), NETWORKS.mainnet).dustSat).toBe(546n);
    expect(parseAddress(p2sh(NETWORKS.mainnet), NETWORKS.mainnet).dustSat).toBe(540n);
    expect(parseAddress('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', NETWORKS.mainnet).dustSat).toBe(294n);
    expect(parseAddress('tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', NETWORKS.testnet).dustSat).toBe(330n);
    expect(parseAddress('bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', NETWORKS.mainnet).dustSat).toBe(330n);
    expect(dustThresholdSat(25, false)).toBe(546n);
  });
});
