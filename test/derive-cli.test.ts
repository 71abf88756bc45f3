import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBatchFile } from '../src/core/batch-file.js';
import { parseAccountDescriptor } from '../src/core/descriptor.js';
import { chainNode, deriveAddresses } from '../src/core/derive.js';
import { NETWORKS } from '../src/core/network.js';
import { runCli, runInProcess, tempDir } from './support/cli.js';

// BIP84's test account (abandon … about): the expected first addresses are from BIP84 itself.
const ZPUB = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
const XPUB = 'xpub6CatWdiZiodmUeTDp8LT5or8nmbKNcuyvz7WyksVFkKB4RHwCD3XyuvPEbvqAQY3rAPshWcMLoP2fMFMKHPJ4ZeZXYVUhLv1VMrjPC7PW6V';
// Checksum from our BIP380 implementation (itself checked against the BIP380 vectors in bip380-checksum.test.ts).
const DESCRIPTOR = `wpkh([73c5da0a/84h/0h/0h]${XPUB}/<0;1>/*)#qf45pmyh`;
// BIP32 test vector 1's master xprv: a private key where a public one belongs.
const XPRV = 'xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi';
const TPUB = 'tpubD6NzVbkrYhZ4XgiXtGrdW5XDAPFCL9h7we1vwNCpn8tGbBcgfVYjXyhWo4E1xkh56hjod1RhGjxbaTLV3X4FyWuejifB9jusQ46QzG87VKp';

describe('coldpool-offline derive', () => {
  it('writes a verifiable batch whose first rows are BIP84\'s vectors, from a bare zpub', async () => {
    const dir = tempDir();
    const out = join(dir, 'b.csv');
    const r = await runCli('coldpool-offline', ['derive', '--descriptor', ZPUB, '--from', '0', '--count', '5000', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    const batch = parseBatchFile(readFileSync(out));
    expect(batch.meta).toMatchObject({ network: 'mainnet', chain: 0, first: 0, count: 5000 });
    expect(batch.addresses[0]).toBe('bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu');
    expect(batch.addresses[1]).toBe('bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g');
    expect(summary).toMatchObject({ count: 5000, last: 4999, sha256: batch.digest, first_address: batch.addresses[0], last_address: batch.addresses[4999] });
  });

  it('the worker threads and the calling thread, sharing chunks, write every address in order (12,345 from 5,000,000)', async () => {
    const dir = tempDir();
    const out = join(dir, 'w.csv');
    const r = await runCli('coldpool-offline', ['derive', '--descriptor', ZPUB, '--from', '5000000', '--count', '12345', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const batch = parseBatchFile(readFileSync(out));
    const account = parseAccountDescriptor(ZPUB, NETWORKS.mainnet);
    expect(batch.addresses).toEqual(deriveAddresses(chainNode(account, 0), NETWORKS.mainnet, 5_000_000, 12_345));
  });

  it('gives the same addresses from the origin descriptor (checksummed) as from the zpub, with a non-zero --from', async () => {
    const dir = tempDir();
    const a = join(dir, 'a.csv');
    const b = join(dir, 'b.csv');
    expect((await runCli('coldpool-offline', ['derive', '--descriptor', ZPUB, '--from', '9000', '--count', '4500', '--out', a])).code).toBe(0);
    expect((await runCli('coldpool-offline', ['derive', '--descriptor', DESCRIPTOR, '--from', '9000', '--count', '4500', '--out', b])).code).toBe(0);
    const A = parseBatchFile(readFileSync(a));
    const B = parseBatchFile(readFileSync(b));
    expect(B.addresses).toEqual(A.addresses);
    expect(B.meta.descriptor).toBe(DESCRIPTOR);
  });

  // Each bad input: one line of error (plus an optional hint), a non-zero exit, and no file written.
  const bad: { name: string; args: string[]; code: number; message: RegExp }[] = [
    { name: 'unknown network', args: ['--descriptor', TPUB, '--network', 'moonnet', '--from', '0', '--count', '5'], code: 2, message: /"network" expected one of mainnet, testnet, signet, regtest, got "moonnet"/ },
    { name: 'negative --from', args: ['--descriptor', ZPUB, '--from', '-1', '--count', '5'], code: 2, message: /"--from" expected an integer 0\.\.2147483647, got -1/ },
    { name: 'non-integer --from', args: ['--descriptor', ZPUB, '--from', '1.5', '--count', '5'], code: 2, message: /"--from" expected an integer/ },
    { name: 'exponent --count', args: ['--descriptor', ZPUB, '--from', '0', '--count', '1e3'], code: 2, message: /"--count" expected an integer/ },
    { name: 'zero --count', args: ['--descriptor', ZPUB, '--from', '0', '--count', '0'], code: 2, message: /"--count" expected an integer 1\.\./ },
    { name: 'negative --count', args: ['--descriptor', ZPUB, '--from', '0', '--count', '-5'], code: 2, message: /"--count" expected an integer/ },
    { name: 'range past 2^31-1', args: ['--descriptor', ZPUB, '--from', '2147483000', '--count', '1000'], code: 2, message: /runs past the last non-hardened index 2147483647/ },
    { name: 'xpub on testnet', args: ['--descriptor', ZPUB, '--network', 'testnet', '--from', '0', '--count', '5'], code: 3, message: /is for mainnet .* but the network is testnet/ },
    { name: 'tpub on mainnet', args: ['--descriptor', TPUB, '--network', 'mainnet', '--from', '0', '--count', '5'], code: 3, message: /is for a test network .* but the network is mainnet/ },
    { name: 'tpub without --network', args: ['--descriptor', TPUB, '--from', '0', '--count', '5'], code: 2, message: /"--network" is required with a tpub\/vpub/ },
    { name: 'xprv as --descriptor', args: ['--descriptor', XPRV, '--from', '0', '--count', '5'], code: 3, message: /a private extended key .* was given where a public key belongs/ },
    { name: 'wrong descriptor checksum', args: ['--descriptor', DESCRIPTOR.replace(/#.*/, "#qf45pmyj"), '--from', '0', '--count', '5'], code: 3, message: /checksum mismatch/ },
    { name: 'change-chain descriptor', args: ['--descriptor', `wpkh([73c5da0a/84h/0h/0h]${XPUB}/1/*)`, '--from', '0', '--count', '5'], code: 2, message: /is the change chain/ },
    { name: 'both --keystore and --descriptor', args: ['--descriptor', ZPUB, '--keystore', 'k.json', '--from', '0', '--count', '5'], code: 2, message: /exactly one of --keystore or --descriptor/ },
    { name: 'garbage key', args: ['--descriptor', 'xpubNOTAKEY', '--from', '0', '--count', '5'], code: 3, message: /"extended key" expected a base58check/ },
  ];

  it.each(bad)('refuses $name', async ({ args, code, message }) => {
    const dir = tempDir();
    // In-process main(): the same parsing and exit-code table as the bin, without a Node start-up per case.
    const r = await runInProcess('coldpool-offline', ['derive', ...args, '--out', join(dir, 'out.csv')]);
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('hint: ') && !l.startsWith('(run with --help'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toMatch(message);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('never overwrites an existing --out, and replaces it only with --force', async () => {
    const dir = tempDir();
    const out = join(dir, 'b.csv');
    expect((await runCli('coldpool-offline', ['derive', '--descriptor', ZPUB, '--from', '0', '--count', '3', '--out', out])).code).toBe(0);
    const before = readFileSync(out, 'utf8');
    const again = await runCli('coldpool-offline', ['derive', '--descriptor', ZPUB, '--from', '3', '--count', '3', '--out', out]);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/already exists; refusing to overwrite it/);
    expect(readFileSync(out, 'utf8')).toBe(before);
    const forced = await runCli('coldpool-offline', ['derive', '--descriptor', ZPUB, '--from', '3', '--count', '3', '--out', out, '--force']);
    expect(forced.code).toBe(0);
    expect(parseBatchFile(readFileSync(out)).meta.first).toBe(3);
    expect(readdirSync(dir)).toEqual(['b.csv']); // no temporary file left behind
  });

  it('leaves no file when killed half-way through a large batch', async () => {
    const dir = tempDir();
    const out = join(dir, 'big.csv');
    const r = await runCli('coldpool-offline', ['derive', '--descriptor', ZPUB, '--from', '0', '--count', '2000000', '--out', out], { timeoutMs: 1500 });
    expect(r.signal).toBe('SIGKILL');
    expect(existsSync(out)).toBe(false);
  });
});
