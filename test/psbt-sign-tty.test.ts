/**
 * `coldpool-offline sign` in a pseudo-terminal (tmux), the way an operator
 * meets it: the password typed without echo, the review on screen, then the
 * first 8 characters of the unsigned txid typed to confirm. A wrong prefix
 * cancels (exit 130) and writes nothing. Skipped when tmux is not installed.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Psbt } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './support/cli.js';
import { hasTmux, killTmux, tmuxOn, tmuxSocket } from './support/tmux.js';
import { buildPayout, writeFixtureKeystore } from './support/psbt-fixtures.js';

const PASSWORD = 'tty-sign-password-1618';

let dir: string;
let socket: string;
beforeEach(() => {
  dir = tempDir('coldpool-sign-tty-');
  socket = tmuxSocket('coldpool-sign');
});
afterEach(() => {
  killTmux(socket);
  rmSync(dir, { recursive: true, force: true });
});

const tmux = (...args: string[]): string => tmuxOn(socket, ...args);
const pane = (history = false): string => tmux('capture-pane', '-p', '-t', 'sign', ...(history ? ['-S', '-'] : []));

async function waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = pane(true);
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; pane:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function type(text: string): void {
  tmux('send-keys', '-t', 'sign', '-l', text);
  tmux('send-keys', '-t', 'sign', 'Enter');
}

async function run(confirmWith: (txid: string) => string): Promise<{ rc: string; out: string; log: string; screen: string; txid: string }> {
  const keystore = join(dir, 'cold.keystore');
  await writeFixtureKeystore(keystore, PASSWORD);
  const payout = buildPayout();
  const psbt = join(dir, 'payout.psbt');
  writeFileSync(psbt, payout.psbt.toBase64());
  const out = join(dir, 'signed.psbt');
  const log = join(dir, 'sign.jsonl');
  const rcFile = join(dir, 'rc');
  const script = `cd '${ROOT}' && node bin/coldpool-offline.js sign '${psbt}' --keystore '${keystore}' --out '${out}' --log '${log}'; echo $? > '${rcFile}'; sleep 30`;
  tmux('new-session', '-d', '-s', 'sign', '-x', '200', '-y', '60', 'sh', '-c', script);
  await waitFor(/password for .*cold\.keystore:/);
  type(PASSWORD);
  const screen = await waitFor(/type the first 8 characters of the unsigned txid \([0-9a-f]{4}…\):/);
  const txid = payout.manifest.unsignedTxid;
  type(confirmWith(txid));
  for (let i = 0; i < 300 && !existsSync(rcFile); i++) await new Promise((r) => setTimeout(r, 100));
  return { rc: readFileSync(rcFile, 'utf8').trim(), out, log, screen, txid };
}

describe.skipIf(!hasTmux)('coldpool-offline sign in a terminal', () => {
  it('shows the review, signs after the first 8 characters of the unsigned txid are typed', async () => {
    const r = await run((txid) => txid.slice(0, 8).toUpperCase());
    expect(r.rc).toBe('0');
    expect(r.screen).toContain(`unsigned txid ${r.txid}`);
    expect(r.screen).toMatch(/outputs: 3/);
    expect(r.screen).toMatch(/change\s+m\/84'\/1'\/0'\/1\/3/);
    expect(r.screen).not.toContain(PASSWORD);
    expect(Psbt.fromBase64(readFileSync(r.out, 'utf8').trim()).validateSignaturesOfAllInputs((p, h, s) => ecc.verify(h, p, s))).toBe(true);
    expect(readFileSync(r.log, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('a wrong prefix cancels (exit 130): no signed file, no log line', async () => {
    const r = await run((txid) => (txid.startsWith('0') ? '11111111' : '00000000'));
    expect(r.rc).toBe('130');
    expect(existsSync(r.out)).toBe(false);
    expect(existsSync(r.log)).toBe(false);
    expect(pane(true)).toMatch(/nothing was signed/);
  });
});
