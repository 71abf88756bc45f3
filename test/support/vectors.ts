/**
 * Readers for the verbatim vector files in test/vectors/ (see SOURCE.md).
 * They only split the original text into rows; no expected value is
 * computed or retyped here.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const VECTORS_DIR = fileURLToPath(new URL('../vectors/', import.meta.url));

export function readVector(name: string): string {
  return readFileSync(VECTORS_DIR + name, 'utf8');
}

export const HARDENED = 0x80000000;

export interface Bip32Chain {
  /** "TV1" … "TV4". */
  readonly vector: string;
  readonly seedHex: string;
  /** As written in the BIP with <sub>H</sub> turned into h: "m/0h/1". */
  readonly path: string;
  /** Child indexes from the master, hardened ones with HARDENED set. */
  readonly indexes: readonly number[];
  readonly xpub: string;
  readonly xprv: string;
}

export interface Bip32Invalid {
  readonly key: string;
  /** The reason in parentheses, verbatim. */
  readonly reason: string;
}

/** Test vectors 1–4 (chains) and 5 (invalid keys) of BIP32. */
export function bip32Vectors(): { chains: Bip32Chain[]; invalid: Bip32Invalid[] } {
  const chains: Bip32Chain[] = [];
  const invalid: Bip32Invalid[] = [];
  let vector = '';
  let seedHex = '';
  let path = '';
  let xpub = '';
  for (const line of readVector('bip-0032-test-vectors.mediawiki').split('\n')) {
    const head = /^===Test vector (\d+)===$/.exec(line);
    if (head) { vector = `TV${head[1]}`; continue; }
    if (line.startsWith('Seed (hex): ')) { seedHex = line.slice('Seed (hex): '.length); continue; }
    const chain = /^\* Chain (m(?:\/\d+(?:<sub>H<\/sub>)?)*)$/.exec(line);
    if (chain) { path = chain[1]!.replaceAll('<sub>H</sub>', 'h'); continue; }
    if (line.startsWith('** ext pub: ')) { xpub = line.slice('** ext pub: '.length); continue; }
    if (line.startsWith('** ext prv: ')) {
      const indexes = path.split('/').slice(1).map((s) => (s.endsWith('h') ? Number(s.slice(0, -1)) + HARDENED : Number(s)));
      chains.push({ vector, seedHex, path, indexes, xpub, xprv: line.slice('** ext prv: '.length) });
      continue;
    }
    const bad = /^\* (\S+) \((.+)\)$/.exec(line);
    if (bad && vector === 'TV5') invalid.push({ key: bad[1]!, reason: bad[2]! });
  }
  return { chains, invalid };
}

/** BIP84's test-vector block as `name = value` pairs, in order, with the comment line above each group. */
export function bip84Vectors(): { mnemonic: string; rootnode: string; accountXprv: string; addresses: { path: string; privkey: string; pubkey: string; address: string }[] } {
  const text = readVector('bip-0084-test-vectors.txt');
  const value = (name: string, from = 0): { v: string; at: number } => {
    const re = new RegExp(`^  ${name}\\s*= (.+)$`, 'mg');
    re.lastIndex = from;
    const m = re.exec(text);
    if (!m) throw new Error(`bip-0084 vectors: no ${name} after ${from}`);
    return { v: m[1]!, at: re.lastIndex };
  };
  const addresses: { path: string; privkey: string; pubkey: string; address: string }[] = [];
  const comment = /^ {2}\/\/ Account 0, .+ = (m\/\S+)$/gm;
  let m: RegExpExecArray | null;
  while ((m = comment.exec(text))) {
    if (!m[1]!.includes("/0'/0'/")) continue; // the account line itself
    const privkey = value('privkey', comment.lastIndex);
    const pubkey = value('pubkey', privkey.at);
    const address = value('address', pubkey.at);
    addresses.push({ path: m[1]!, privkey: privkey.v, pubkey: pubkey.v, address: address.v });
  }
  return { mnemonic: value('mnemonic').v, rootnode: value('rootnode').v, accountXprv: value('xpriv').v, addresses };
}

/** BIP380's checksum examples: `[description, descriptor]`. */
export function bip380ChecksumVectors(): { description: string; descriptor: string }[] {
  const out: { description: string; descriptor: string }[] = [];
  for (const line of readVector('bip-0380-checksum-vectors.mediawiki').split('\n')) {
    const m = /^\* (.+): <tt>(.*)<\/tt>$/.exec(line);
    if (m) out.push({ description: m[1]!, descriptor: m[2]! });
  }
  return out;
}

/** trezor/python-mnemonic vectors.json, english: [entropy, mnemonic, seed, xprv] with passphrase "TREZOR". */
export function bip39Vectors(): { entropy: string; mnemonic: string; seed: string; xprv: string }[] {
  const json = JSON.parse(readVector('bip39-vectors-english.json')) as { english: [string, string, string, string][] };
  return json.english.map(([entropy, mnemonic, seed, xprv]) => ({ entropy, mnemonic, seed, xprv }));
}
