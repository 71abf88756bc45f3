/**
 * `coldpool operator keygen|show` and `coldpool trust add-operator|show`
 * through the built CLI, as an operator runs them: real files, real exit
 * codes, the password from a file or the terminal and never from argv.
 * Needs the built dist/ (npm test builds it).
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyIdOf } from '../src/core/ed25519.js';
import { parseTrustText } from '../src/core/trust.js';
import { lockPathOf } from '../src/io/file-lock.js';
import { generateOperatorKey, readOperatorKey, writeOperatorKey } from '../src/trust/operator-key.js';
import { CHEAP_SCRYPT } from './support/approvers.js';
import { ROOT, runCli, tempDir, type CliResult } from './support/cli.js';
import { hasTmux, killTmux, tmuxOn, tmuxSocket } from './support/tmux.js';

const PASSWORD = 'operator-pw-27182818';

let dir: string;
let passwordFile: string;
beforeEach(() => {
  dir = tempDir('coldpool-operator-cli-');
  passwordFile = join(dir, 'pw');
  writeFileSync(passwordFile, `${PASSWORD}\n`);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const coldpool = (...args: string[]): Promise<CliResult> => runCli('coldpool', args);

function expectNoPassword(r: CliResult): void {
  expect(r.stdout).not.toContain(PASSWORD);
  expect(r.stderr).not.toContain(PASSWORD);
}

async function keygen(name: string): Promise<{ file: string; id: string; publicKey: string }> {
  const file = join(dir, `${name}.operator-key`);
  const r = await coldpool('operator', 'keygen', '--name', name, '--out', file, '--password-file', passwordFile, '--json');
  expect(r.stderr).toContain(`wrote operator key for "${name}"`);
  expect(r.code).toBe(0);
  expectNoPassword(r);
  return JSON.parse(r.stdout) as { file: string; id: string; publicKey: string };
}

describe('coldpool operator keygen', () => {
  it('writes a 0600 key file, prints its public key and id, and the password appears nowhere', async () => {
    const file = join(dir, 'alice.operator-key');
    const args = ['operator', 'keygen', '--name', 'alice', '--out', file, '--password-file', passwordFile];
    expect(args).not.toContain(PASSWORD); // the password never rides on argv
    const r = await coldpool(...args);
    expect(r.code).toBe(0);
    expectNoPassword(r);
    const publicKey = /public key +([0-9a-f]{64})/.exec(r.stdout)![1]!;
    const id = /key id +([0-9a-f]{16})/.exec(r.stdout)![1]!;
    expect(id).toBe(keyIdOf(publicKey));
    expect(r.stdout).toMatch(/name +alice/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain(PASSWORD);
    const key = await readOperatorKey(file, PASSWORD);
    expect(key).toMatchObject({ name: 'alice', id, publicKey });
  });

  it('--json prints the public part; `operator show` prints the same without a password', async () => {
    const made = await keygen('alice');
    expect(made).toMatchObject({ file: join(dir, 'alice.operator-key'), id: keyIdOf(made.publicKey) });
    const shown = await coldpool('operator', 'show', made.file, '--json');
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual(made);
    const text = await coldpool('operator', 'show', made.file);
    expect(text.stdout).toContain(made.publicKey);
  });

  it('refuses to overwrite an existing key file (exit 4), before asking for a password', async () => {
    const made = await keygen('alice');
    const before = readFileSync(made.file);
    const r = await coldpool('operator', 'keygen', '--name', 'bob', '--out', made.file);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('already exists; it was left untouched');
    expect(readFileSync(made.file).equals(before)).toBe(true);
  });

  it('without --password-file and without a terminal: usage error naming the option, nothing written', async () => {
    const file = join(dir, 'x.operator-key');
    const r = await coldpool('operator', 'keygen', '--name', 'alice', '--out', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/a password for the new operator key is needed but stdin is not a terminal and no --password-file was given/);
    expect(existsSync(file)).toBe(false);
  });

  it('there is no --password option; a short password is refused; a bad name is refused', async () => {
    const file = join(dir, 'x.operator-key');
    const viaArgv = await coldpool('operator', 'keygen', '--name', 'alice', '--out', file, '--password', PASSWORD);
    expect(viaArgv.code).toBe(2);
    expect(viaArgv.stderr).toMatch(/unknown option '--password'/);
    expectNoPassword({ ...viaArgv, stderr: viaArgv.stderr.replace(`'--password'`, '') });
    writeFileSync(join(dir, 'short'), 'abc\n');
    const short = await coldpool('operator', 'keygen', '--name', 'alice', '--out', file, '--password-file', join(dir, 'short'));
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('"--password-file" password expected at least 8 characters, got 3');
    const badName = await coldpool('operator', 'keygen', '--name', ' alice', '--out', file, '--password-file', passwordFile);
    expect(badName.code).toBe(3);
    expect(badName.stderr).toContain('"--name" expected 1..64 printable characters');
    expect(existsSync(file)).toBe(false);
  });

  it('show refuses a tampered key file (exit 3) and names a missing one (exit 2)', async () => {
    const made = await keygen('alice');
    writeFileSync(made.file, readFileSync(made.file, 'utf8').replace('"name": "alice"', '"name":  "alice"'));
    const r = await coldpool('operator', 'show', made.file);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('is not a valid coldpool operator key: it is not in canonical form');
    const missing = await coldpool('operator', 'show', join(dir, 'nope'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/operator key ".*nope" does not exist/);
  });

  it('help teaches, with examples', async () => {
    const r = await coldpool('operator', 'keygen', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/never taken from the\s+command line or the environment/);
    expect(r.stdout).toContain('$ coldpool operator keygen --name alice');
    expect(r.stdout).toContain('--password-file <file>');
  });
});

describe('coldpool trust add-operator / show', () => {
  it('creates a trust file, adds a second operator with --required 2, refuses one added twice', async () => {
    const alice = await keygen('alice');
    const bob = await keygen('bob');
    const trustFile = join(dir, 'coldpool-trust.json');

    const noNetwork = await coldpool('trust', 'add-operator', '--trust', trustFile, '--key', alice.file);
    expect(noNetwork.code).toBe(2);
    expect(noNetwork.stderr).toContain('"--network" is needed to create it');
    expect(existsSync(trustFile)).toBe(false);

    const first = await coldpool('trust', 'add-operator', '--trust', trustFile, '--key', alice.file, '--network', 'regtest');
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`created ${trustFile}: added "alice" (key id ${alice.id})`);

    const tooMany = await coldpool('trust', 'add-operator', '--trust', trustFile, '--key', bob.file, '--required', '3');
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toContain('"--required" expected an integer 1..2');

    const second = await coldpool('trust', 'add-operator', '--trust', trustFile, '--key', bob.file, '--required', '2');
    expect(second.code).toBe(0);
    const trust = parseTrustText(readFileSync(trustFile, 'utf8'));
    expect(trust.operators).toEqual([{ name: 'alice', publicKey: alice.publicKey, id: alice.id }, { name: 'bob', publicKey: bob.publicKey, id: bob.id }]);
    expect(trust.approvals.required).toBe(2);

    const before = readFileSync(trustFile);
    const again = await coldpool('trust', 'add-operator', '--trust', trustFile, '--key', bob.file);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('operator name "bob" is already in the trust file');
    const otherNetwork = await coldpool('trust', 'add-operator', '--trust', trustFile, '--key', bob.file, '--network', 'mainnet');
    expect(otherNetwork.code).toBe(3);
    expect(readFileSync(trustFile).equals(before)).toBe(true);

    const shown = await coldpool('trust', 'show', '--trust', trustFile, '--json');
    expect(shown.code).toBe(0);
    expect(`${shown.stdout.trimEnd()}\n`).toBe(readFileSync(trustFile, 'utf8'));
  });

  it('operators added at the same moment all end up in the trust file (read-modify-write under its lock)', async () => {
    const names = ['op1', 'op2', 'op3', 'op4', 'op5', 'op6'];
    const keys = await Promise.all(['first', ...names].map(async (name) => {
      const file = join(dir, `${name}.operator-key`);
      const key = generateOperatorKey(name);
      await writeOperatorKey(file, key, PASSWORD, { scrypt: CHEAP_SCRYPT });
      return { name, file, publicKey: key.publicKey };
    }));
    const trustFile = join(dir, 'coldpool-trust.json');
    expect((await coldpool('trust', 'add-operator', '--trust', trustFile, '--key', keys[0]!.file, '--network', 'regtest')).code).toBe(0);
    const runs = await Promise.all(keys.slice(1).map((k) => coldpool('trust', 'add-operator', '--trust', trustFile, '--key', k.file)));
    expect(runs.map((r) => r.code), runs.map((r) => r.stderr).join('\n')).toEqual(names.map(() => 0));
    const trust = parseTrustText(readFileSync(trustFile, 'utf8'));
    expect(trust.operators.map((o) => o.name).sort()).toEqual(['first', ...names]);
    expect(existsSync(lockPathOf(trustFile))).toBe(false);
  });

  it('a lock left on the trust file is waited for, then refused naming it; the file is untouched', async () => {
    const alice = await keygen('alice');
    const bob = await keygen('bob');
    const trustFile = join(dir, 'coldpool-trust.json');
    expect((await coldpool('trust', 'add-operator', '--trust', trustFile, '--key', alice.file, '--network', 'regtest')).code).toBe(0);
    const before = readFileSync(trustFile);
    const lock = lockPathOf(trustFile);
    writeFileSync(lock, '');
    for (const r of [await coldpool('trust', 'add-operator', '--trust', trustFile, '--key', bob.file), await coldpool('trust', 'add-auditor', '--trust', trustFile, '--key', bob.file)]) {
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(`lock file ${JSON.stringify(lock)} is held by`);
      expect(r.stderr).toContain(`remove ${lock} and retry`);
    }
    expect(readFileSync(trustFile).equals(before)).toBe(true);
    expect(existsSync(lock)).toBe(true);
  });

  it('show refuses a misspelt field with its path (exit 3)', async () => {
    const alice = await keygen('alice');
    const trustFile = join(dir, 'coldpool-trust.json');
    expect((await coldpool('trust', 'add-operator', '--trust', trustFile, '--key', alice.file, '--network', 'regtest')).code).toBe(0);
    writeFileSync(trustFile, readFileSync(trustFile, 'utf8').replace('"tiers"', '"tier"'));
    const r = await coldpool('trust', 'show', '--trust', trustFile);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('"approvals.tier" is not a field of a trust file');
  });
});

describe.skipIf(!hasTmux)('coldpool operator keygen in a terminal', () => {
  let socket: string;
  beforeEach(() => {
    socket = tmuxSocket('coldpool-operator');
  });
  afterEach(() => killTmux(socket));

  it('asks the password twice without echo and writes the key', async () => {
    const file = join(dir, 'tty.operator-key');
    const rcFile = join(dir, 'rc');
    const script = `cd '${ROOT}' && node bin/coldpool.js operator keygen --name carol --out '${file}'; echo $? > '${rcFile}'; sleep 30`;
    tmuxOn(socket, 'new-session', '-d', '-s', 'kg', '-x', '160', '-y', '40', 'sh', '-c', script);
    const pane = (): string => tmuxOn(socket, 'capture-pane', '-p', '-t', 'kg', '-S', '-');
    const waitFor = async (pattern: RegExp): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (!pattern.test(pane())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; pane:\n${pane()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const type = (text: string): void => {
      tmuxOn(socket, 'send-keys', '-t', 'kg', '-l', text);
      tmuxOn(socket, 'send-keys', '-t', 'kg', 'Enter');
    };
    await waitFor(/new operator key password:$/m);
    type(PASSWORD);
    await waitFor(/repeat the password:$/m);
    type(PASSWORD);
    await waitFor(/public key +[0-9a-f]{64}/);
    for (let i = 0; i < 100 && !existsSync(rcFile); i++) await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(rcFile, 'utf8').trim()).toBe('0');
    expect(pane()).not.toContain(PASSWORD);
    expect((await readOperatorKey(file, PASSWORD)).name).toBe('carol');
  });
});
