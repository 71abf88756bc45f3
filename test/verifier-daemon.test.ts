/**
 * `coldpool verifier run` as a daemon (the built CLI, a real process): it
 * logs JSON lines on stdout, runs a cycle at start and then on its cron
 * (here every second), mails the token, attests after the relay, and stops
 * cleanly on SIGTERM (exit 0, a "stopped" line). No token in its output.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { relayConfirmation } from '../src/flows/relay-confirmation.js';
import { requestWithdrawal } from '../src/flows/request-withdrawal.js';
import { openDatabase } from '../src/store/db.js';
import { generateOperatorKey, writeOperatorKey } from '../src/trust/operator-key.js';
import { SmtpSink } from './support/alert-sinks.js';
import { CHEAP_SCRYPT } from './support/approvers.js';
import { ROOT, tempDir } from './support/cli.js';
import { sqliteBackend } from './support/withdrawal-backends.js';
import { CONFIRM_URL, tokenIn } from './support/verifier-fixture.js';

const P2WPKH = 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx';

async function until<T>(what: string, get: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('coldpool verifier run (daemon)', () => {
  const cleanups: (() => unknown)[] = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('cycles on its cron, mails, attests after the relay, and stops on SIGTERM with exit 0', async () => {
    const dir = tempDir('coldpool-verifier-daemon-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const raw = sqliteBackend();
    const webUrl = `sqlite:${join(dir, 'web.db')}`;
    const web = openDatabase(webUrl, { network: 'testnet' });
    cleanups.push(() => web.close());
    await web.migrate();
    await raw.exec(webUrl, 'INSERT INTO user_emails (user_id, email) VALUES (?, ?)', ['alice', 'alice@mail.example']);
    const id = (await requestWithdrawal(web.withdrawals, { appId: 'd-1', user: 'alice', address: P2WPKH, amountSat: 150_000n })).withdrawal.id;
    const smtp = await new SmtpSink().start();
    cleanups.push(() => smtp.stop());

    const keyFile = join(dir, 'verifier.key');
    const passwordFile = join(dir, 'pw');
    writeFileSync(passwordFile, 'daemon test password\n', { mode: 0o600 });
    await writeOperatorKey(keyFile, generateOperatorKey('verifier'), 'daemon test password', { scrypt: CHEAP_SCRYPT });
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({
      db: `sqlite:${join(dir, 'verifier.db')}`, webDb: webUrl, network: 'testnet', key: keyFile, passwordFile,
      verifier: { confirmUrl: CONFIRM_URL, cron: '* * * * * *' },
      channels: { email: { host: '127.0.0.1', port: smtp.port, from: 'verifier@shop.example', to: ['ops@shop.example'] }, log: true },
    }));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COLDPOOL_')));
    const init = spawn(process.execPath, [join(ROOT, 'bin/coldpool.js'), 'verifier', 'init', '--config', config, '--key', keyFile], { env });
    expect(await new Promise((r) => init.on('close', r))).toBe(0);

    const child = spawn(process.execPath, [join(ROOT, 'bin/coldpool.js'), 'verifier', 'run', '--config', config], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    cleanups.push(() => child.kill('SIGKILL'));

    const token = await until('the token mail', () => smtp.mails.map(tokenIn).find((t) => t?.id === id)?.token);
    await relayConfirmation(web.verification, id, token);
    await until('the attestation', async () => ((await raw.query(webUrl, 'SELECT 1 FROM attestations WHERE withdrawal_id = ?', [id])).length > 0 ? true : undefined));
    child.kill('SIGTERM');
    expect(await closed, stderr).toBe(0);

    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; attested?: number });
    expect(lines[0]!.event).toBe('started');
    expect(lines.at(-1)!.event).toBe('stopped');
    expect(lines.filter((l) => l.event === 'cycle').length).toBeGreaterThanOrEqual(2);
    expect(lines.some((l) => l.event === 'cycle' && l.attested === 1)).toBe(true);
    expect(stdout + stderr).not.toContain(token);
  }, 60_000);
});
