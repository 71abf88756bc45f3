/**
 * Operator keys and trust files for tests. Store-level tests use in-memory
 * approvers (one fixed key per name, every name in one trust file, 1
 * approval required unless a test asks more), so `store.approve(id,
 * approver('op1'), policy)` reads like the old `store.approve(id, 'op1', …)`.
 * CLI tests get real key files, written through the library with a cheap
 * scrypt cost (the reader accepts it; `coldpool operator keygen` always
 * writes the default cost), password files and a trust file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { signApproval } from '../../src/core/approval.js';
import { keyIdOf, publicKeyHex } from '../../src/core/ed25519.js';
import type { NetworkName } from '../../src/core/network.js';
import type { Approver } from '../../src/core/ports.js';
import { emptyTrust, operatorById, serializeTrust, withOperator, withRequired, type Trust } from '../../src/core/trust.js';
import { writeOperatorKey } from '../../src/trust/operator-key.js';

/** Every operator name a store-level test uses. */
export const ROSTER = ['op1', 'op2', 'op3', 'op', 'alice', 'bob', 'carol', 'operator-1'] as const;
export const CHEAP_SCRYPT = { n: 2 ** 10, r: 8, p: 1 } as const;

const keys = new Map<string, KeyObject>(ROSTER.map((n) => [n, generateKeyPairSync('ed25519').privateKey]));

export function keyOf(name: string): KeyObject {
  let k = keys.get(name);
  if (!k) keys.set(name, (k = generateKeyPairSync('ed25519').privateKey));
  return k;
}

/** A trust file for `network` listing `names` (default: the roster), `required` approvals. */
export function testTrust(network: NetworkName = 'testnet', required = 1, names: readonly string[] = ROSTER): Trust {
  let t = emptyTrust(network);
  for (const n of names) t = withOperator(t, { name: n, publicKey: publicKeyHex(keyOf(n)) });
  return withRequired(t, required);
}

/** An approver named `name` under `trust` (default: the roster on testnet, 1 required). */
export function approver(name: string, trust: Trust = testTrust()): Approver {
  const key = keyOf(name);
  const operator = operatorById(trust, keyIdOf(publicKeyHex(key)));
  if (!operator) throw new Error(`test approver ${name} is not in the trust file`);
  return { operator, trust, sign: (c) => signApproval(c, key) };
}

export interface CliOperator {
  readonly name: string;
  readonly keyId: string;
  /** `--key F --password-file P --trust T`: what `withdrawals approve` takes. */
  readonly args: readonly string[];
}

/**
 * Key files, password files and one trust file in `dir` for `names`;
 * returns each operator's approve flags and the trust file's path.
 */
export async function writeCliOperators(dir: string, network: NetworkName, names: readonly string[], required = 1, prefix = ''): Promise<{ trustFile: string; operators: Record<string, CliOperator> }> {
  const trustFile = join(dir, `${prefix}coldpool-trust.json`);
  let trust = emptyTrust(network);
  const operators: Record<string, CliOperator> = {};
  for (const name of names) {
    const keyFile = join(dir, `${prefix}${name}.operator-key`);
    const pwFile = join(dir, `${prefix}${name}.password`);
    writeFileSync(pwFile, `${name} test password\n`, { mode: 0o600 });
    const priv = keyOf(`${prefix}${name}`);
    const publicKey = publicKeyHex(priv);
    await writeOperatorKey(keyFile, { name, id: keyIdOf(publicKey), publicKey, privateKey: priv }, `${name} test password`, { scrypt: CHEAP_SCRYPT });
    trust = withOperator(trust, { name, publicKey });
    operators[name] = { name, keyId: keyIdOf(publicKey), args: ['--key', keyFile, '--password-file', pwFile, '--trust', trustFile] };
  }
  writeFileSync(trustFile, serializeTrust(withRequired(trust, required)));
  return { trustFile, operators };
}
