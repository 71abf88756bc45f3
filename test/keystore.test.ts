import { mkdtempSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CodedError } from '../src/core/errors.js';
import { NETWORKS } from '../src/core/network.js';
import { formatExtendedPublicKey } from '../src/core/extended-key.js';
import { accountFromSeed } from '../src/keys/account.js';
import { loadKeystoreFile, readKeystore, serializeKeystore, writeKeystore } from '../src/keys/keystore.js';
import { mnemonicToSeed } from '../src/keys/seed.js';

const ABANDON = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const CHEAP = { n: 2 ** 10, r: 8, p: 1 };
const PASSWORD = 'correct horse battery';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'coldpool-keystore-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function cheapKeystore(name = 'k.json', passphrase = 'TREZOR'): Promise<string> {
  const path = join(dir, name);
  await writeKeystore(path, { mnemonic: ABANDON, passphrase }, PASSWORD, { network: NETWORKS.regtest, fingerprint: '73c5da0a', scrypt: CHEAP });
  return path;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CodedError) return e.code;
    throw e;
  }
  return 'ACCEPTED';
}

describe('keystore', () => {
  it('round-trips mnemonic, passphrase and header', async () => {
    const path = await cheapKeystore();
    const { header, secret } = await readKeystore(path, PASSWORD);
    expect(secret).toEqual({ mnemonic: ABANDON, passphrase: 'TREZOR' });
    expect(header.network).toBe('regtest');
    expect(header.fingerprint).toBe('73c5da0a');
    expect(header.kdf).toMatchObject(CHEAP);
    expect(serializeKeystore(loadKeystoreFile(path))).toBe(readFileSync(path, 'utf8'));
  });

  it('refuses a wrong password with DECRYPT and a one-line message', async () => {
    const path = await cheapKeystore();
    const error = await readKeystore(path, 'wrong password').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CodedError);
    expect((error as CodedError).code).toBe('DECRYPT');
    expect((error as CodedError).message).not.toContain('\n');
  });

  it('refuses every single flipped byte anywhere in the file', async () => {
    const path = await cheapKeystore();
    const original = readFileSync(path);
    const codes = new Map<string, number>();
    for (let i = 0; i < original.length; i++) {
      const altered = Buffer.from(original);
      altered[i] = altered[i]! ^ 0x01;
      const target = join(dir, `flip-${i}.json`);
      writeFileSync(target, altered);
      const code = await codeOf(readKeystore(target, PASSWORD));
      expect(code, `byte ${i} (${JSON.stringify(String.fromCharCode(original[i]!))})`).toMatch(/^(DECRYPT|INVALID_INPUT)$/);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      rmSync(target);
    }
    // Both paths were exercised: header/ciphertext changes fail authentication, syntax changes fail parsing.
    expect(codes.get('DECRYPT')).toBeGreaterThan(0);
    expect(codes.get('INVALID_INPUT')).toBeGreaterThan(0);
  });

  it('refuses a header edit that keeps the file canonical (authenticated as AAD)', async () => {
    const path = await cheapKeystore();
    const text = readFileSync(path, 'utf8');
    for (const [from, to] of [['"regtest"', '"testnet"'], ['"73c5da0a"', '"73c5da0b"'], ['"n": 1024', '"n": 2048'], ['"r": 8', '"r": 9']] as const) {
      const target = join(dir, 'edited.json');
      writeFileSync(target, text.replace(from, to));
      expect(await codeOf(readKeystore(target, PASSWORD)), from).toBe('DECRYPT');
      rmSync(target);
    }
  });

  it('refuses non-canonical but equivalent JSON', async () => {
    const path = await cheapKeystore();
    const file = JSON.parse(readFileSync(path, 'utf8')) as object;
    const target = join(dir, 'compact.json');
    writeFileSync(target, JSON.stringify(file));
    expect(await codeOf(readKeystore(target, PASSWORD))).toBe('INVALID_INPUT');
  });

  it('refuses scrypt parameters outside 2^10..2^20', async () => {
    const path = join(dir, 'weak.json');
    const write = writeKeystore(path, { mnemonic: ABANDON, passphrase: '' }, PASSWORD, { network: NETWORKS.mainnet, fingerprint: '73c5da0a', scrypt: { n: 2 ** 9, r: 8, p: 1 } });
    expect(await codeOf(write)).toBe('INVALID_INPUT');
  });

  it('writes mode 0600', async () => {
    const path = await cheapKeystore();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('never overwrites an existing file, and leaves no temp file behind', async () => {
    const path = join(dir, 'k.json');
    writeFileSync(path, 'precious');
    const write = writeKeystore(path, { mnemonic: ABANDON, passphrase: '' }, PASSWORD, { network: NETWORKS.mainnet, fingerprint: '73c5da0a', scrypt: CHEAP });
    expect(await codeOf(write)).toBe('EXISTS');
    expect(readFileSync(path, 'utf8')).toBe('precious');
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir)).toEqual(['k.json']);
  });

  it('reports a missing keystore as NOT_FOUND', async () => {
    expect(await codeOf(readKeystore(join(dir, 'nope.json'), PASSWORD))).toBe('NOT_FOUND');
  });
});

describe('BIP84 account from seed', () => {
  it('gives the BIP84 test vector zpub and fingerprint 73c5da0a', () => {
    const account = accountFromSeed(mnemonicToSeed(ABANDON), NETWORKS.mainnet);
    expect(account.origin?.fingerprint).toBe('73c5da0a');
    expect(formatExtendedPublicKey(account.key, NETWORKS.mainnet, 'slip132')).toBe(
      'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs',
    );
  });
});
