/**
 * One real key ceremony in a pseudo-terminal (tmux), the way an operator
 * meets it: passwords typed twice without echo, the passphrase question, the
 * words shown once then cleared, three words typed back. Skipped when tmux
 * is not installed. Needs the built dist/ (npm test builds it).
 */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './support/cli.js';
import { hasTmux, killTmux, tmuxOn, tmuxSocket } from './support/tmux.js';

const PASSWORD = 'tty-password-3141';

let dir: string;
let socket: string;
beforeEach(() => {
  dir = tempDir('coldpool-offline-tty-');
  socket = tmuxSocket('coldpool-test');
});
afterEach(() => {
  killTmux(socket);
  rmSync(dir, { recursive: true, force: true });
});

function tmux(...args: string[]): string {
  return tmuxOn(socket, ...args);
}

/** The visible pane, and with `history` the scrollback too. */
function pane(history = false): string {
  return tmux('capture-pane', '-p', '-t', 'ceremony', ...(history ? ['-S', '-'] : []));
}

/** Wait until `pattern` (global) matches at least `count` times on the screen. */
async function waitFor(pattern: RegExp, count = 1, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
  for (;;) {
    const text = pane();
    if ([...text.matchAll(global)].length >= count) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; pane:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function type(text: string): void {
  tmux('send-keys', '-t', 'ceremony', '-l', text);
  tmux('send-keys', '-t', 'ceremony', 'Enter');
}

describe.skipIf(!hasTmux)('coldpool-offline init in a terminal', () => {
  it('asks the password twice without echo, shows the words once, checks three, writes the keystore', async () => {
    const keystore = join(dir, 'cold.keystore');
    const outFile = join(dir, 'out.json');
    const rcFile = join(dir, 'rc');
    const script = `cd '${ROOT}' && node bin/coldpool-offline.js init --keystore '${keystore}' --network testnet --json > '${outFile}'; echo $? > '${rcFile}'; sleep 30`;
    tmux('new-session', '-d', '-s', 'ceremony', '-x', '160', '-y', '50', 'sh', '-c', script);

    await waitFor(/new keystore password:$/m);
    type('qw7');
    await waitFor(/too short: at least 8 characters/);
    await waitFor(/new keystore password:$/m, 2);
    type(PASSWORD);
    await waitFor(/repeat the password:$/m);
    type(PASSWORD);
    await waitFor(/add a BIP39 passphrase\? \[y\/N\]$/m);
    type('n');
    const shown = await waitFor(/press Enter when you have written all the words down/);
    const words = new Map([...shown.matchAll(/(\d+)\. ([a-z]+)/g)].map((m) => [Number(m[1]), m[2]!]));
    expect(words.size).toBe(24);
    expect(shown).not.toContain(PASSWORD); // no echo
    expect(shown).not.toContain('qw7');
    type('');

    for (let k = 0; k < 3; k++) {
      const screen = await waitFor(/word #\d+:/, k + 1);
      // The words were cleared from the screen before the check.
      expect(screen).not.toMatch(/ 1\. [a-z]+ +2\. /);
      const asked = [...screen.matchAll(/word #(\d+):/g)].at(-1)!;
      type(words.get(Number(asked[1]))!);
    }
    await waitFor(/keystore written/);
    for (let i = 0; i < 100 && !existsSync(rcFile); i++) await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(rcFile, 'utf8').trim()).toBe('0');
    const result = JSON.parse(readFileSync(outFile, 'utf8')) as { network: string; fingerprint: string; descriptor: string };
    expect(result.network).toBe('testnet');
    expect(result.descriptor).toMatch(new RegExp(`^wpkh\\(\\[${result.fingerprint}/84h/1h/0h\\]tpub`));
    expect(statSync(keystore).mode & 0o777).toBe(0o600);
    const history = pane(true);
    expect(history).not.toContain(PASSWORD);
    // The words were shown once: cleared from the screen and the scrollback after "press Enter".
    expect(history).not.toMatch(/ 1\. [a-z]+ +2\. /);
  });

  it('restores with the mnemonic typed without echo and a BIP39 passphrase asked twice', async () => {
    const mnemonic = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
    const passphrase = 'tty-passphrase-2718';
    const keystore = join(dir, 'restored.keystore');
    const outFile = join(dir, 'out.json');
    const rcFile = join(dir, 'rc');
    const script = `cd '${ROOT}' && node bin/coldpool-offline.js restore --keystore '${keystore}' --network mainnet --json > '${outFile}'; echo $? > '${rcFile}'; sleep 30`;
    tmux('new-session', '-d', '-s', 'ceremony', '-x', '160', '-y', '50', 'sh', '-c', script);

    await waitFor(/mnemonic \(words separated by spaces; not shown as you type\):$/m);
    type(mnemonic.toUpperCase());
    await waitFor(/mnemonic accepted \(12 words, checksum ok\)/);
    await waitFor(/new keystore password:$/m);
    type(PASSWORD);
    await waitFor(/repeat the password:$/m);
    type(PASSWORD);
    await waitFor(/add a BIP39 passphrase\? \[y\/N\]$/m);
    type('y');
    await waitFor(/BIP39 passphrase:$/m);
    type(passphrase);
    await waitFor(/repeat the passphrase:$/m);
    type(passphrase);
    await waitFor(/keystore written/);
    for (let i = 0; i < 100 && !existsSync(rcFile); i++) await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(rcFile, 'utf8').trim()).toBe('0');
    const result = JSON.parse(readFileSync(outFile, 'utf8')) as { fingerprint: string };
    expect(result.fingerprint).toMatch(/^[0-9a-f]{8}$/);
    expect(result.fingerprint).not.toBe('73c5da0a'); // the passphrase made it another wallet
    const history = pane(true);
    for (const secret of [PASSWORD, passphrase, 'ABANDON ABANDON', 'abandon abandon']) expect(history).not.toContain(secret);
  });
});
