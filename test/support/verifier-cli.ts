/**
 * The verifier as an operator sets it up with the real CLI: `verifier init`
 * (its own database and key), its config file (mail through the test's SMTP
 * sink), and `trust set-verifier` putting its key in the trust file the
 * operator box and the signer read. Then `verifier run --once` per cycle.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTrustText } from '../../src/core/trust.js';
import { cliJson as json, runCli } from './cli.js';

export interface CliVerifier {
  /** The config file `verifier run / status --config` read. */
  readonly config: string;
  readonly keyId: string;
}

/** `webDb`: the web database as the verifier's account; `verifierDb`: its own database. Files go in `dir`, named after `name`. */
export async function setUpCliVerifier(opts: { dir: string; name: string; webDb: string; verifierDb: string; smtpPort: number; trustFile: string }): Promise<CliVerifier> {
  const { dir, name } = opts;
  const keyFile = join(dir, `${name}-verifier.key`);
  const keyPw = join(dir, `${name}-verifier.pw`);
  writeFileSync(keyPw, 'verifier key password\n', { mode: 0o600 });
  const init = json<{ id: string; publicKey: string; created: boolean }>(await runCli('coldpool', ['verifier', 'init', '--db', opts.verifierDb, '--key', keyFile, '--password-file', keyPw, '--json']));
  if (!init.created) throw new Error('verifier init found an existing key');
  const config = join(dir, `${name}-verifier.json`);
  writeFileSync(config, JSON.stringify({
    db: opts.verifierDb, webDb: opts.webDb, key: keyFile, passwordFile: keyPw,
    verifier: { confirmUrl: 'https://shop.example/confirm?w={id}&t={token}' },
    channels: { email: { host: '127.0.0.1', port: opts.smtpPort, from: 'security@shop.example', to: ['ops@shop.example'] }, log: false },
  }));
  const set = json<{ verifier: { key_id: string } }>(await runCli('coldpool', ['trust', 'set-verifier', '--trust', opts.trustFile, '--public-key', init.publicKey, '--json']));
  if (set.verifier.key_id !== init.id || parseTrustText(readFileSync(opts.trustFile, 'utf8')).verifier?.publicKey !== init.publicKey) {
    throw new Error('trust set-verifier did not record the verifier key');
  }
  return { config, keyId: init.id };
}

/** One verifier cycle through the CLI. */
export async function verifierCycle(config: string): Promise<{ attested: number; tokensSent: number; errors: string[] }> {
  return json(await runCli('coldpool', ['verifier', 'run', '--once', '--json', '--config', config]));
}
