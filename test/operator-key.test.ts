import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approvalContentFor, signApproval, verifyApproval } from '../src/core/approval.js';
import { keyIdOf, publicKeyFromHex } from '../src/core/ed25519.js';
import { CodedError } from '../src/core/errors.js';
import { NETWORKS } from '../src/core/network.js';
import { generateOperatorKey, readOperatorKey, readOperatorKeyFile, readOperatorKeyPublic, serializeOperatorKey, writeOperatorKey } from '../src/trust/operator-key.js';

const CHEAP = { n: 2 ** 10, r: 8, p: 1 };
const PASSWORD = 'correct horse battery';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'coldpool-operator-key-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function cheapKey(name = 'alice', file = 'alice.key') {
  const path = join(dir, file);
  const key = generateOperatorKey(name);
  await writeOperatorKey(path, key, PASSWORD, { scrypt: CHEAP });
  return { path, key };
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

describe('operator key file', () => {
  it('round-trips: the unlocked key signs approvals its public key verifies', async () => {
    const { path, key } = await cheapKey();
    const back = await readOperatorKey(path, PASSWORD);
    expect(back).toMatchObject({ name: 'alice', id: key.id, publicKey: key.publicKey });
    expect(back.id).toBe(keyIdOf(key.publicKey));
    const content = approvalContentFor(NETWORKS.regtest, { id: 1n, appId: 'a', user: 'u', destination: 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080', amountSat: 10000n, createdAt: '2025-01-01T00:00:00.000Z' });
    expect(verifyApproval(content, signApproval(content, back.privateKey), publicKeyFromHex(key.publicKey))).toBe(true);
    expect(serializeOperatorKey(readOperatorKeyFile(path))).toBe(readFileSync(path, 'utf8'));
  });

  it('the header is readable without the password and holds no secret', async () => {
    const { path, key } = await cheapKey();
    const header = readOperatorKeyPublic(path);
    expect(header).toMatchObject({ format: 'coldpool-operator-key', version: 1, name: 'alice', publicKey: key.publicKey, id: key.id });
    expect(header).not.toHaveProperty('ciphertext');
    expect(readFileSync(path, 'utf8')).not.toContain(PASSWORD);
  });

  it('is written with mode 0600', async () => {
    const { path } = await cheapKey();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses to overwrite an existing file (EXISTS) and leaves it as it was', async () => {
    const { path } = await cheapKey();
    const before = readFileSync(path);
    const error = await writeOperatorKey(path, generateOperatorKey('bob'), PASSWORD, { scrypt: CHEAP }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CodedError);
    expect((error as CodedError).code).toBe('EXISTS');
    expect((error as CodedError).message).toContain('already exists; it was left untouched');
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('refuses a wrong password with DECRYPT and a one-line message', async () => {
    const { path } = await cheapKey();
    const error = await readOperatorKey(path, 'wrong password').catch((e: unknown) => e);
    expect((error as CodedError).code).toBe('DECRYPT');
    expect((error as CodedError).message).not.toContain('\n');
  });

  it('refuses every single flipped byte anywhere in the file', async () => {
    const { path } = await cheapKey();
    const good = readFileSync(path);
    const codes = new Set<string>();
    for (let i = 0; i < good.length; i++) {
      const bad = Buffer.from(good);
      bad[i] = bad[i]! ^ 0x01;
      const p = join(dir, `flip-${i}.key`);
      writeFileSync(p, bad);
      const code = await codeOf(readOperatorKey(p, PASSWORD));
      expect(['INVALID_INPUT', 'DECRYPT'], `byte ${i} (${JSON.stringify(String.fromCharCode(good[i]!))})`).toContain(code);
      codes.add(code);
      rmSync(p);
    }
    expect([...codes].sort()).toEqual(['DECRYPT', 'INVALID_INPUT']);
  });

  it('a flip in the ciphertext, the tag, the salt or a header field that stays well-formed is DECRYPT', async () => {
    const { path } = await cheapKey();
    const text = readFileSync(path, 'utf8');
    const file = JSON.parse(text) as Record<string, unknown>;
    const flipHex = (hex: string): string => `${hex[0] === '0' ? '1' : '0'}${hex.slice(1)}`;
    const variants: [string, string][] = [
      ['ciphertext', text.replace(file.ciphertext as string, flipHex(file.ciphertext as string))],
      ['tag', text.replace(file.tag as string, flipHex(file.tag as string))],
      ['name', text.replace('"name": "alice"', '"name": "alicf"')],
      ['created', text.replace(/"created": "(\d{4})/, (_m, y: string) => `"created": "${Number(y) + 1}`)],
      ['salt', text.replace((file.kdf as { salt: string }).salt, flipHex((file.kdf as { salt: string }).salt))],
    ];
    for (const [what, altered] of variants) {
      expect(altered, what).not.toBe(text);
      const p = join(dir, `${what}.key`);
      writeFileSync(p, altered);
      expect(await codeOf(readOperatorKey(p, PASSWORD)), what).toBe('DECRYPT');
    }
  });

  it('a public key swapped for another operator\'s (with its matching id) is refused', async () => {
    const { path } = await cheapKey();
    const other = generateOperatorKey('bob');
    const file = JSON.parse(readFileSync(path, 'utf8')) as { publicKey: string; id: string };
    const swapped = readFileSync(path, 'utf8').replace(file.publicKey, other.publicKey).replace(file.id, other.id);
    const p = join(dir, 'swapped.key');
    writeFileSync(p, swapped);
    expect(readOperatorKeyPublic(p).publicKey).toBe(other.publicKey); // the header alone is not proof
    expect(await codeOf(readOperatorKey(p, PASSWORD))).toBe('DECRYPT');
  });

  it('not JSON → INVALID_INPUT, missing → NOT_FOUND, a bitcoin keystore → INVALID_INPUT', async () => {
    const notJson = join(dir, 'x.key');
    writeFileSync(notJson, 'hello');
    expect(await codeOf(readOperatorKey(notJson, PASSWORD))).toBe('INVALID_INPUT');
    expect(await codeOf(readOperatorKey(join(dir, 'missing.key'), PASSWORD))).toBe('NOT_FOUND');
    expect(() => readOperatorKeyPublic(join(dir, 'missing.key'))).toThrow(/does not exist/);
    const keystore = join(dir, 'k.json');
    writeFileSync(keystore, `${JSON.stringify({ format: 'coldpool-keystore', version: 1 }, null, 2)}\n`);
    expect(() => readOperatorKeyPublic(keystore)).toThrow(/is not a valid coldpool operator key: "format" expected "coldpool-operator-key"/);
  });

  it('refuses a name that could not go in a trust file', () => {
    expect(() => generateOperatorKey(' alice')).toThrow(/"--name" expected 1..64 printable characters/);
    expect(() => generateOperatorKey('')).toThrow(CodedError);
    expect(() => generateOperatorKey('a\nb')).toThrow(CodedError);
  });
});
