/**
 * End-to-end: the key ceremony commands of the built `coldpool-offline`
 * (init, restore, export), spawned as an operator's script would. Every run
 * also goes through `expectNoSecrets`: the mnemonic (as a word sequence) and
 * the passphrase never appear in stdout, in error lines or in the argv we
 * passed. Run `npm run build` first (npm test does).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir, type CliResult } from './support/cli.js';

const ABANDON = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const ZPUB = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
const PASSWORD = 'keystore-pw-0451';
const PASSPHRASE = 'bip39-passphrase-8812';

let dir: string;
let pwFile: string;
beforeEach(() => {
  dir = tempDir('coldpool-offline-keys-');
  pwFile = join(dir, 'pw.txt');
  writeFileSync(pwFile, `${PASSWORD}\n`);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Lines a person reads as the error: `error: …` and `hint: …`. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^(error|hint):/.test(l));
}

/** Every run of 4 consecutive words of the mnemonic, so a partial leak is caught too. */
function wordRuns(mnemonic: string): string[] {
  const w = mnemonic.split(' ');
  return w.slice(0, w.length - 3).map((_, i) => w.slice(i, i + 4).join(' '));
}

function expectNoSecrets(args: readonly string[], run: CliResult, mnemonic: string, extraSecrets: string[] = []): void {
  const places = { argv: args.join(' '), stdout: run.stdout, errors: errorLines(run.stderr).join('\n') };
  for (const [where, text] of Object.entries(places)) {
    for (const run4 of wordRuns(mnemonic)) expect(text, `mnemonic words in ${where}`).not.toContain(run4);
    for (const secret of [PASSWORD, PASSPHRASE, ...extraSecrets]) expect(text, `secret in ${where}`).not.toContain(secret);
  }
}

function expectOneErrorLine(run: CliResult): string {
  const lines = errorLines(run.stderr).filter((l) => l.startsWith('error:'));
  expect(lines).toHaveLength(1);
  expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  return lines[0]!;
}

async function offline(args: string[], input = '', mnemonic = ABANDON): Promise<CliResult> {
  const run = await runCli('coldpool-offline', args, { input });
  expectNoSecrets(args, run, mnemonic);
  return run;
}

interface InitRun extends CliResult {
  readonly words: string[];
  readonly asked: number[];
}

/**
 * `init` with a piped stdin: read the words and the three asked positions
 * from stderr, then answer (correctly, or with `wrong` for the second one).
 */
function pipedInit(args: string[], answer: 'right' | 'wrong'): Promise<InitRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'coldpool-offline.js'), ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let words: string[] = [];
    let asked: number[] = [];
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /backup check: type words (#\d+), (#\d+), (#\d+), one per line/.exec(stderr);
      if (m && asked.length === 0) {
        words = [...stderr.matchAll(/^\s*(\d+)\. ([a-z]+)$/gm)].map((x) => x[2]!);
        asked = [m[1]!, m[2]!, m[3]!].map((s) => Number(s.slice(1)));
        const answers = asked.map((p, k) => (answer === 'wrong' && k === 1 ? (words[p - 1] === 'zoo' ? 'zebra' : 'zoo') : words[p - 1]!));
        child.stdin.end(`${answers.join('\n')}\n`);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, words, asked });
    });
  });
}

describe('coldpool-offline init (stdin not a terminal)', () => {
  it('shows 24 words once, checks 3 of them, writes a 0600 keystore that export opens', async () => {
    const keystore = join(dir, 'cold.keystore');
    const args = ['init', '--keystore', keystore, '--network', 'regtest', '--password-file', pwFile, '--json'];
    const run = await pipedInit(args, 'right');
    expect(run.code, run.stderr).toBe(0);
    expect(run.words).toHaveLength(24);
    expect(new Set(run.asked).size).toBe(3);
    const mnemonic = run.words.join(' ');
    expectNoSecrets(args, run, mnemonic);
    const result = JSON.parse(run.stdout) as { fingerprint: string; descriptor: string; path: string };
    expect(result.fingerprint).toMatch(/^[0-9a-f]{8}$/);
    expect(result.path).toBe('m/84h/1h/0h');
    expect(result.descriptor).toMatch(new RegExp(`^wpkh\\(\\[${result.fingerprint}/84h/1h/0h\\]tpub[1-9A-HJ-NP-Za-km-z]+/<0;1>/\\*\\)#[a-z0-9]{8}$`));
    expect(statSync(keystore).mode & 0o777).toBe(0o600);
    expect(readFileSync(keystore, 'utf8')).not.toContain(run.words[0]!.length > 3 ? `"${run.words[0]} ` : mnemonic);

    const exportArgs = ['export', '--keystore', keystore, '--password-file', pwFile, '--json'];
    const exported = await offline(exportArgs, '', mnemonic);
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ network: 'regtest', fingerprint: result.fingerprint, descriptor: result.descriptor });

    // A second init on the same path is refused before any seed is made; the file is unchanged.
    const before = readFileSync(keystore);
    const again = await offline(['init', '--keystore', keystore, '--network', 'regtest', '--password-file', pwFile], '', mnemonic);
    expect(again.code).toBe(4);
    expect(expectOneErrorLine(again)).toContain('already exists');
    expect(again.stderr).not.toMatch(/^\s*1\. /m);
    expect(readFileSync(keystore).equals(before)).toBe(true);
  });

  it('writes nothing when a backup word is answered wrong', async () => {
    const keystore = join(dir, 'cold.keystore');
    const args = ['init', '--keystore', keystore, '--network', 'signet', '--password-file', pwFile];
    const run = await pipedInit(args, 'wrong');
    expect(run.code).toBe(3);
    expect(expectOneErrorLine(run)).toMatch(/backup check failed: word #\d+ does not match; nothing was written/);
    expectNoSecrets(args, run, run.words.join(' '));
    expect(run.stdout).toBe('');
    expect(readdirSync(dir)).toEqual(['pw.txt']);
  });

  it('refuses to start without --password-file when stdin is not a terminal', async () => {
    const keystore = join(dir, 'cold.keystore');
    const run = await offline(['init', '--keystore', keystore, '--network', 'mainnet']);
    expect(run.code).toBe(2);
    expect(expectOneErrorLine(run)).toContain('--password-file');
    expect(run.stderr).not.toMatch(/^\s*1\. /m); // no seed was shown
    expect(existsSync(keystore)).toBe(false);
  });

  it('refuses a too-short password file and a missing directory before showing any seed', async () => {
    const shortPw = join(dir, 'short.txt');
    writeFileSync(shortPw, 'seven77\n');
    const short = await offline(['init', '--keystore', join(dir, 'k'), '--network', 'regtest', '--password-file', shortPw]);
    expect(short.code).toBe(2);
    expect(expectOneErrorLine(short)).toContain('"--password-file" password expected at least 8 characters, got 7');
    const noDir = await offline(['init', '--keystore', join(dir, 'missing', 'k'), '--network', 'regtest', '--password-file', pwFile]);
    expect(noDir.code).toBe(2);
    expect(expectOneErrorLine(noDir)).toContain('cannot be written: ENOENT');
    for (const run of [short, noDir]) expect(run.stderr).not.toMatch(/^\s*1\. /m);
    expect(readdirSync(dir).sort()).toEqual(['pw.txt', 'short.txt']);
  });

  it('refuses an unknown network as a usage error', async () => {
    const run = await offline(['init', '--keystore', join(dir, 'k'), '--network', 'litecoin', '--password-file', pwFile]);
    expect(run.code).toBe(2);
    expect(expectOneErrorLine(run)).toContain('"network" expected one of mainnet, testnet, signet, regtest');
  });
});

describe('coldpool-offline restore + export', () => {
  it('restores the BIP84 test mnemonic and exports the BIP84 vector zpub', async () => {
    const keystore = join(dir, 'abandon.keystore');
    const sloppy = `  ${ABANDON.toUpperCase().replace(/ /g, '   ')}  \n`;
    const restored = await offline(['restore', '--keystore', keystore, '--network', 'mainnet', '--password-file', pwFile], sloppy);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/^fingerprint: +73c5da0a$/m);

    const exported = await offline(['export', '--keystore', keystore, '--password-file', pwFile, '--json']);
    expect(exported.code, exported.stderr).toBe(0);
    const account = JSON.parse(exported.stdout) as Record<string, string>;
    expect(account).toMatchObject({ network: 'mainnet', fingerprint: '73c5da0a', path: 'm/84h/0h/0h', zpub: ZPUB });
    expect(account.xpub).toMatch(/^xpub/);
    expect(account.descriptor).toBe(`wpkh([73c5da0a/84h/0h/0h]${account.xpub}/<0;1>/*)#${account.descriptor!.slice(-8)}`);
    expect(account.receive_descriptor).toMatch(/\/0\/\*\)#[a-z0-9]{8}$/);
    expect(account.change_descriptor).toMatch(/\/1\/\*\)#[a-z0-9]{8}$/);

    // Wrong password: exit 3, one error line, no stack trace.
    const badPw = join(dir, 'bad.txt');
    writeFileSync(badPw, 'not-the-password\n');
    const wrong = await offline(['export', '--keystore', keystore, '--password-file', badPw], '', ABANDON);
    expect(wrong.code).toBe(3);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(expectOneErrorLine(wrong)).toContain('could not be decrypted: wrong password, or the file was altered');

    // Restore over an existing keystore is refused and leaves it unchanged.
    const before = readFileSync(keystore);
    const again = await offline(['restore', '--keystore', keystore, '--network', 'mainnet', '--password-file', pwFile], `${ABANDON}\n`);
    expect(again.code).toBe(4);
    expect(expectOneErrorLine(again)).toContain('already exists');
    expect(readFileSync(keystore).equals(before)).toBe(true);
  });

  it('keeps a BIP39 passphrase from --passphrase-file: a different wallet, secret never printed', async () => {
    const keystore = join(dir, 'pp.keystore');
    const ppFile = join(dir, 'pp.txt');
    writeFileSync(ppFile, `${PASSPHRASE}\n`);
    const restored = await offline(['restore', '--keystore', keystore, '--network', 'mainnet', '--password-file', pwFile, '--passphrase-file', ppFile, '--json'], `${ABANDON}\n`);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr).not.toContain(PASSPHRASE);
    const { fingerprint } = JSON.parse(restored.stdout) as { fingerprint: string };
    expect(fingerprint).toMatch(/^[0-9a-f]{8}$/);
    expect(fingerprint).not.toBe('73c5da0a');
  });

  it.each([
    { description: 'unknown word, named with its position', input: ABANDON.replace(/ about$/, ' abuot'), message: '"mnemonic" word 12 "abuot" is not in the BIP39 English wordlist' },
    { description: 'wrong word count', input: ABANDON.split(' ').slice(0, 11).join(' '), message: '"mnemonic" expected 12/15/18/21/24 words, got 11' },
    { description: 'failed checksum', input: ABANDON.replace(/ about$/, ' abandon'), message: '"mnemonic" checksum failed' },
    { description: 'empty stdin', input: '', message: '"mnemonic" expected 12/15/18/21/24 words, got 0' },
  ])('refuses a bad mnemonic: $description', async ({ input, message }) => {
    const keystore = join(dir, 'bad.keystore');
    const run = await offline(['restore', '--keystore', keystore, '--network', 'mainnet', '--password-file', pwFile], `${input}\n`, input || ABANDON);
    expect(run.code).toBe(3);
    expect(expectOneErrorLine(run)).toContain(message);
    expect(run.stdout).toBe('');
    expect(existsSync(keystore)).toBe(false);
    expect(readdirSync(dir)).toEqual(['pw.txt']);
  });
});

describe('secrets never come from argv', () => {
  it.each([
    ['restore', '--mnemonic'],
    ['restore', '--password'],
    ['init', '--password'],
    ['init', '--mnemonic'],
    ['export', '--password'],
  ])('%s %s is an unknown option (usage error, exit 2, nothing written)', async (command, flag) => {
    const keystore = join(dir, 'k');
    const args = [command, '--keystore', keystore, ...(command === 'export' ? [] : ['--network', 'regtest']), flag, 'placeholder-not-a-secret'];
    const run = await offline(args, `${ABANDON}\n`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`unknown option '${flag}'`);
    expect(existsSync(keystore)).toBe(false);
  });

  it('help lists only file options for secrets', async () => {
    for (const command of ['init', 'restore', 'export']) {
      const run = await offline([command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('--password-file');
      expect(run.stdout).toContain('Examples:');
      const options = [...new Set([...run.stdout.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]))];
      expect(options).toContain('--password-file');
      expect(options.filter((o) => /password|passphrase|mnemonic|seed|secret/.test(o!))).toEqual(
        command === 'export' ? ['--password-file'] : ['--password-file', '--passphrase-file'],
      );
    }
  });
});
