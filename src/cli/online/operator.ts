import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { CodedError } from '../../core/errors.js';
import { assertOperatorKeyAbsent, generateOperatorKey, readOperatorKeyPublic, writeOperatorKey, type OperatorKeyHeader } from '../../trust/operator-key.js';
import { toJson, type Output } from '../output.js';
import { MIN_PASSWORD_LENGTH, newPasswordFor } from '../secrets.js';

const OPERATOR_KEY_PASSWORD = {
  noun: 'operator key',
  intro: `Choose a password for this operator key (at least ${MIN_PASSWORD_LENGTH} characters). Anyone with the file and the password can approve withdrawals as you.`,
};

/** `coldpool operator keygen|show`: an operator's own Ed25519 signing key, in a file on the operator box. */
export function registerOperator(program: Command, out: Output): void {
  const group = program
    .command('operator')
    .summary('operator signing keys: create one (keygen), show its public part (show)')
    .description(
      'Each operator approves withdrawals with an Ed25519 key of their own. The key\n' +
        'lives in an encrypted file on the operator box (scrypt + AES-256-GCM, mode\n' +
        '0600), never in a database, so a compromised web host cannot approve\n' +
        'anything. Its public key goes in the trust file (`coldpool trust\n' +
        'add-operator`) of the operator box and of the signer.',
    );

  group
    .command('keygen')
    .summary('create an operator key file and print its public key and id')
    .description(
      'Create a new Ed25519 operator key, encrypted with a password, in a new file\n' +
        '(never over an existing one). The password is asked twice on the terminal,\n' +
        'or read from the first line of --password-file; it is never taken from the\n' +
        'command line or the environment.\n' +
        '\n' +
        'Prints the public key (64 hex) and its id (the first 16 hex of its sha256):\n' +
        'read the id aloud when whoever keeps the signer\'s trust file adds you, and\n' +
        'compare.\n' +
        '\n' +
        'JSON: {"name", "id", "publicKey", "file", "created"}',
    )
    .requiredOption('--name <name>', 'who this key belongs to, as review screens and the trust file show it (1..64 characters)')
    .requiredOption('--out <file>', 'the key file to create (refused if it exists)')
    .option('--password-file <file>', `password from the first line of this file (default: asked twice on the terminal, at least ${MIN_PASSWORD_LENGTH} characters)`)
    .option('--json', 'print the public part as JSON')
    .addHelpText('after',
      '\nExamples:\n' +
        '  $ coldpool operator keygen --name alice --out ~/.coldpool/alice.operator-key\n' +
        '  $ coldpool operator keygen --name bob --out bob.operator-key --password-file /run/secrets/bob --json\n' +
        '  $ coldpool trust add-operator --trust coldpool-trust.json --key ~/.coldpool/alice.operator-key --network mainnet\n')
    .action(async (opts: { name: string; out: string; passwordFile?: string; json?: boolean }) => {
      // Everything that can fail without the password fails before it is asked for.
      const key = generateOperatorKey(opts.name);
      assertOperatorKeyAbsent(opts.out);
      assertDirectory(opts.out);
      const password = await newPasswordFor(opts.passwordFile, OPERATOR_KEY_PASSWORD, out);
      const file = await writeOperatorKey(opts.out, key, password);
      out.say(`wrote operator key for ${JSON.stringify(file.name)} to ${opts.out} (mode 0600); keep a backup of the file and its password apart`);
      if (opts.json) out.data(toJson(publicJson(file, opts.out)));
      else out.data(publicText(file));
      out.say(`next: coldpool trust add-operator --trust coldpool-trust.json --key ${opts.out}`);
    });

  group
    .command('show')
    .argument('<file>', 'an operator key file')
    .summary('print the name, public key and id of an operator key file (no password needed)')
    .description(
      'Print the clear part of an operator key file: name, public key, id, creation\n' +
        'time. No password is asked: the private key stays sealed. The header is\n' +
        'checked for form only; that it belongs to the sealed key is proven when the\n' +
        'key is unlocked to sign.\n' +
        '\n' +
        'JSON: {"name", "id", "publicKey", "file", "created"}',
    )
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  $ coldpool operator show ~/.coldpool/alice.operator-key\n  $ coldpool operator show alice.operator-key --json\n')
    .action(async (file: string, opts: { json?: boolean }) => {
      const header = readOperatorKeyPublic(file);
      if (opts.json) out.data(toJson(publicJson(header, file)));
      else out.data(publicText(header));
    });
}

function publicJson(h: OperatorKeyHeader, file: string): Record<string, unknown> {
  return { name: h.name, id: h.id, publicKey: h.publicKey, file, created: h.created };
}

function publicText(h: OperatorKeyHeader): string {
  return [`name        ${h.name}`, `key id      ${h.id}`, `public key  ${h.publicKey}`, `created     ${h.created}`].join('\n');
}

function assertDirectory(path: string): void {
  const dir = dirname(path);
  try {
    if (statSync(dir).isDirectory()) return;
  } catch {
    // Named below, with the option.
  }
  throw new CodedError('USAGE', `"--out" directory ${JSON.stringify(dir)} does not exist or is not a directory`);
}
