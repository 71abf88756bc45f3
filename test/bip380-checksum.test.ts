/**
 * BIP380 descriptor checksum vectors (test/vectors/bip-0380-checksum-vectors.mediawiki,
 * see SOURCE.md) through descriptorChecksum/stripChecksum, and what
 * parseAccountDescriptor accepts and refuses.
 */
import { BIP32Factory } from 'bip32';
import * as bip39 from 'bip39';
import bs58check from 'bs58check';
import fc from 'fast-check';
import * as ecc from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import { addChecksum, descriptorChecksum, stripChecksum } from '../src/core/descriptor-checksum.js';
import { HARDENED, parseAccountDescriptor } from '../src/core/descriptor.js';
import { NETWORKS, toBitcoinjs, type NetworkName } from '../src/core/network.js';
import { codeOf } from './support/codes.js';
import { bip380ChecksumVectors, bip84Vectors } from './support/vectors.js';

describe('BIP380 checksum vectors', () => {
  const vectors = bip380ChecksumVectors();
  /** Expected outcome per vector, by its description in the BIP. */
  const expected: Record<string, { strip: string; required: string }> = {
    'Valid checksum': { strip: 'raw(deadbeef)', required: 'raw(deadbeef)' },
    'No checksum': { strip: 'raw(deadbeef)', required: 'CHECKSUM' },
    'Missing checksum': { strip: 'CHECKSUM', required: 'CHECKSUM' },
    'Too long checksum (9 chars)': { strip: 'CHECKSUM', required: 'CHECKSUM' },
    'Too short checksum (7 chars)': { strip: 'CHECKSUM', required: 'CHECKSUM' },
    'Error in payload': { strip: 'CHECKSUM', required: 'CHECKSUM' },
    'Error in checksum': { strip: 'CHECKSUM', required: 'CHECKSUM' },
    'Invalid characters in payload': { strip: 'INVALID_INPUT', required: 'INVALID_INPUT' },
  };
  const rows = vectors.map((v) => ({ ...v, ...expected[v.description]! }));

  it('reads the eight checksum vectors', () => {
    expect(vectors.map((v) => v.description)).toEqual(Object.keys(expected));
  });

  it('descriptorChecksum("raw(deadbeef)") is the BIP\'s 89f8spxm', () => {
    const valid = vectors.find((v) => v.description === 'Valid checksum')!.descriptor;
    const [body, sum] = valid.split('#');
    expect(descriptorChecksum(body!)).toBe(sum);
    expect(addChecksum(body!)).toBe(valid);
  });

  const outcome = (fn: () => string): string => {
    let result = '';
    const code = codeOf(() => { result = fn(); });
    return code === 'accepted' ? result : code;
  };

  it.each(rows)('$description: stripChecksum($descriptor) → $strip', (r) => {
    expect(outcome(() => stripChecksum(r.descriptor))).toBe(r.strip);
  });

  it.each(rows)('$description: stripChecksum($descriptor, require) → $required', (r) => {
    expect(outcome(() => stripChecksum(r.descriptor, true))).toBe(r.required);
  });

  it('property: any single-character change in a checksummed descriptor is detected', () => {
    const charset = '0123456789()[],\'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`"\\ ';
    const char = fc.constantFrom(...charset);
    fc.assert(fc.property(
      fc.array(char, { minLength: 1, maxLength: 120 }).map((a) => a.join('')),
      fc.nat(), char,
      (body, at, replacement) => {
        const full = addChecksum(body);
        const pos = at % full.length;
        if (full[pos] === '#' || full[pos] === replacement) return;
        const altered = full.slice(0, pos) + replacement + full.slice(pos + 1);
        expect(codeOf(() => stripChecksum(altered, true))).not.toBe('accepted');
      },
    ), { numRuns: 300 });
  });
});

describe('parseAccountDescriptor', () => {
  const bip32 = BIP32Factory(ecc);
  const seed = bip39.mnemonicToSeedSync(bip84Vectors().mnemonic);
  /** The BIP84 mnemonic's account on each key family, as xpub/tpub and zpub/vpub. */
  function accountKeys(name: NetworkName): { bip32: string; slip132: string; xprv: string } {
    const net = NETWORKS[name];
    const node = bip32.fromSeed(seed, toBitcoinjs(net)).derivePath(`m/84'/${net.coinType}'/0'`);
    const pub = node.neutered().toBase58();
    const raw = Buffer.from(bs58check.decode(pub));
    raw.writeUInt32BE(net.slip132.public, 0);
    return { bip32: pub, slip132: bs58check.encode(raw), xprv: node.toBase58() };
  }
  const main = accountKeys('mainnet');
  const test = accountKeys('testnet');
  const ypub = (() => {
    const raw = Buffer.from(bs58check.decode(main.bip32));
    raw.writeUInt32BE(0x049d7cb2, 0);
    return bs58check.encode(raw);
  })();
  const originMain = '[73c5da0a/84h/0h/0h]';
  const originTest = `[73c5da0a/84h/1h/0h]`;
  const mainPath = [84 + HARDENED, HARDENED, HARDENED];

  const valid: { description: string; text: string; network: NetworkName; chain: 0 | 1 | undefined; origin: boolean }[] = [
    { description: 'wpkh with origin and /<0;1>/* and checksum', text: addChecksum(`wpkh(${originMain}${main.bip32}/<0;1>/*)`), network: 'mainnet', chain: undefined, origin: true },
    { description: 'wpkh with origin, no checksum', text: `wpkh(${originMain}${main.bip32}/<0;1>/*)`, network: 'mainnet', chain: undefined, origin: true },
    { description: "wpkh with ' hardened markers", text: addChecksum(`wpkh([73c5da0a/84'/0'/0']${main.bip32}/<0;1>/*)`), network: 'mainnet', chain: undefined, origin: true },
    { description: 'wpkh receive chain /0/*', text: addChecksum(`wpkh(${originMain}${main.bip32}/0/*)`), network: 'mainnet', chain: 0, origin: true },
    { description: 'wpkh change chain /1/*', text: addChecksum(`wpkh(${originMain}${main.bip32}/1/*)`), network: 'mainnet', chain: 1, origin: true },
    { description: 'wpkh without origin', text: addChecksum(`wpkh(${main.bip32}/<0;1>/*)`), network: 'mainnet', chain: undefined, origin: false },
    { description: 'bare xpub', text: main.bip32, network: 'mainnet', chain: undefined, origin: false },
    { description: 'bare zpub', text: main.slip132, network: 'mainnet', chain: undefined, origin: false },
    { description: 'bare tpub on testnet', text: test.bip32, network: 'testnet', chain: undefined, origin: false },
    { description: 'bare vpub on regtest', text: test.slip132, network: 'regtest', chain: undefined, origin: false },
    { description: 'bare vpub on signet', text: test.slip132, network: 'signet', chain: undefined, origin: false },
    { description: 'tpub descriptor on regtest', text: addChecksum(`wpkh(${originTest}${test.bip32}/0/*)`), network: 'regtest', chain: 0, origin: true },
    { description: 'surrounding whitespace', text: `  ${main.bip32}\n`, network: 'mainnet', chain: undefined, origin: false },
  ];

  it.each(valid)('accepts $description', (c) => {
    const parsed = parseAccountDescriptor(c.text, NETWORKS[c.network]);
    expect(parsed.network.name).toBe(c.network);
    expect(parsed.chain).toBe(c.chain);
    expect(parsed.key.depth).toBe(3);
    if (c.origin) expect(parsed.origin?.fingerprint).toBe('73c5da0a');
    else expect(parsed.origin).toBeUndefined();
    if (c.origin && c.network === 'mainnet') expect(parsed.origin?.path).toEqual(mainPath);
  });

  it('xpub and zpub forms of one account parse to the same key', () => {
    const a = parseAccountDescriptor(main.bip32, NETWORKS.mainnet).key;
    const b = parseAccountDescriptor(main.slip132, NETWORKS.mainnet).key;
    expect(Buffer.from(a.publicKey)).toEqual(Buffer.from(b.publicKey));
    expect(Buffer.from(a.chainCode)).toEqual(Buffer.from(b.chainCode));
  });

  const good = addChecksum(`wpkh(${originMain}${main.bip32}/<0;1>/*)`);
  const wrongSum = good.slice(0, -1) + (good.endsWith('q') ? 'p' : 'q');
  const invalid: { description: string; text: string; network: NetworkName; code: string }[] = [
    { description: 'wrong checksum', text: wrongSum, network: 'mainnet', code: 'CHECKSUM' },
    { description: 'altered key under a checksum', text: good.replace('/<0;1>/*', '/<1;0>/*'), network: 'mainnet', code: 'CHECKSUM' },
    { description: 'bare xprv', text: main.xprv, network: 'mainnet', code: 'REFUSED' },
    { description: 'xprv inside wpkh', text: addChecksum(`wpkh(${originMain}${main.xprv}/<0;1>/*)`), network: 'mainnet', code: 'REFUSED' },
    { description: 'bare tprv', text: test.xprv, network: 'testnet', code: 'REFUSED' },
    { description: 'tpub on mainnet', text: test.bip32, network: 'mainnet', code: 'NETWORK_MISMATCH' },
    { description: 'vpub on mainnet', text: test.slip132, network: 'mainnet', code: 'NETWORK_MISMATCH' },
    { description: 'xpub on testnet', text: main.bip32, network: 'testnet', code: 'NETWORK_MISMATCH' },
    { description: 'xpub descriptor on regtest', text: good, network: 'regtest', code: 'NETWORK_MISMATCH' },
    { description: 'ypub (BIP49)', text: ypub, network: 'mainnet', code: 'INVALID_INPUT' },
    { description: 'zpub inside wpkh', text: `wpkh(${main.slip132}/0/*)`, network: 'mainnet', code: 'INVALID_INPUT' },
    { description: 'origin path shorter than the key depth', text: `wpkh([73c5da0a/84h/0h]${main.bip32}/0/*)`, network: 'mainnet', code: 'INVALID_INPUT' },
    { description: 'pkh instead of wpkh', text: `pkh(${main.bip32}/0/*)`, network: 'mainnet', code: 'INVALID_INPUT' },
    { description: 'other chain /2/*', text: `wpkh(${main.bip32}/2/*)`, network: 'mainnet', code: 'INVALID_INPUT' },
    { description: 'hardened wildcard', text: `wpkh(${main.bip32}/0/*h)`, network: 'mainnet', code: 'INVALID_INPUT' },
    { description: 'unclosed wpkh(', text: `wpkh(${main.bip32}/0/*`, network: 'mainnet', code: 'INVALID_INPUT' },
    { description: 'garbage words', text: 'hello world', network: 'mainnet', code: 'CHECKSUM' },
    { description: 'empty string', text: '', network: 'mainnet', code: 'CHECKSUM' },
    { description: 'xpub with a typo', text: main.bip32.slice(0, 50) + (main.bip32[50] === 'a' ? 'b' : 'a') + main.bip32.slice(51), network: 'mainnet', code: 'CHECKSUM' },
    { description: 'non-descriptor characters', text: 'wpkh(Ü)', network: 'mainnet', code: 'INVALID_INPUT' },
  ];

  it.each(invalid)('refuses $description with $code', (c) => {
    expect(codeOf(() => parseAccountDescriptor(c.text, NETWORKS[c.network]))).toBe(c.code);
  });
});
