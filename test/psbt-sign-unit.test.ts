/**
 * The signer's hand-written pieces against bitcoinjs-lib: DER encoding of
 * signatures (BIP66) both ways, and the address of an output script.
 */
import { address as btcAddress, networks, script as bscript } from 'bitcoinjs-lib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../src/core/address.js';
import { NETWORKS } from '../src/core/network.js';
import { addressOf } from '../src/core/psbt-inspect.js';
import { derSignature, parseDerSignature } from '../src/core/p2wpkh-signature.js';
import { signLowR } from '../src/keys/sign.js';

const N_HALF = BigInt('0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0');
const scalar = fc.bigInt({ min: 1n, max: N_HALF }).map((x) => Buffer.from(x.toString(16).padStart(64, '0'), 'hex'));

describe('signature encoding', () => {
  it('derSignature equals bitcoinjs script.signature.encode, and parseDerSignature inverts it', () => {
    fc.assert(fc.property(scalar, scalar, fc.constantFrom(1, 2, 3, 0x81), (r, s, hashType) => {
      const compact = Buffer.concat([r, s]);
      const ours = derSignature(compact, hashType);
      expect(ours.toString('hex')).toBe(Buffer.from(bscript.signature.encode(compact, hashType)).toString('hex'));
      const back = parseDerSignature(ours)!;
      expect(Buffer.from(back.compact).toString('hex')).toBe(compact.toString('hex'));
      expect(back.hashType).toBe(hashType);
    }), { numRuns: 300 });
  });

  it('signLowR always gives r < 2^255 (DER r of at most 32 bytes)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), scalar, (msg, key) => {
      expect(signLowR(msg, key)[0]!).toBeLessThan(0x80);
    }), { numRuns: 100 });
  });
});

describe('addressOf (output script -> address)', () => {
  const cases: [string, keyof typeof networks, keyof typeof NETWORKS][] = [
    ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', 'bitcoin', 'mainnet'],
    ['bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3', 'bitcoin', 'mainnet'],
    ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', 'bitcoin', 'mainnet'],
    ['1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2', 'bitcoin', 'mainnet'],
    ['3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', 'bitcoin', 'mainnet'],
    ['bcrt1qjgx204hxfwuse548jc34fjzg6ffq8pvrz8x53u', 'regtest', 'regtest'],
    ['tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx', 'testnet', 'testnet'],
  ];
  it.each(cases)('%s', (address, bjs, ours) => {
    const script = bjs === 'bitcoin' && address.startsWith('bc1p')
      ? Buffer.from(parseAddress(address, NETWORKS.mainnet).scriptHex, 'hex') // bitcoinjs wants an ECC library for taproot
      : btcAddress.toOutputScript(address, networks[bjs]);
    expect(addressOf(script, NETWORKS[ours])).toBe(address);
  });
  it('gives null for OP_RETURN and non-standard scripts', () => {
    expect(addressOf(Buffer.from('6a0401020304', 'hex'), NETWORKS.mainnet)).toBeNull();
    expect(addressOf(Buffer.from('0015' + '00'.repeat(21), 'hex'), NETWORKS.mainnet)).toBeNull();
  });
});
