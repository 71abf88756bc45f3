import { readFileSync } from 'node:fs';
import { CodedError } from '../../core/errors.js';
import type { Output } from '../output.js';
import { readTerminalLine, stdinIsTerminal } from './terminal.js';

/**
 * How secrets reach the offline program. They come from a file named on the
 * command line or from the terminal without echo, and NEVER from argv or the
 * environment: both leak (`ps`, shell history, /proc/PID/environ, crash
 * reports). There is deliberately no `--password` or `--mnemonic` option.
 *
 * When stdin is not a terminal and a needed secret has no file option, the
 * command fails with USAGE naming the missing option instead of hanging or
 * reading a secret from a pipe it cannot prompt on.
 */

/** New keystore passwords must be at least this long (the scrypt cost buys time, not entropy). */
export const MIN_PASSWORD_LENGTH = 8;

export interface SecretFiles {
  /** `--password-file`: the keystore password is its first line. */
  readonly passwordFile?: string | undefined;
  /** `--passphrase-file`: the BIP39 passphrase is its first line. */
  readonly passphraseFile?: string | undefined;
}

/**
 * The first line of a secret file, without its line ending. Only a trailing
 * newline is stripped: spaces are part of the secret.
 */
export function readSecretFile(path: string, option: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CodedError('NOT_FOUND', `"${option}" file ${JSON.stringify(path)} does not exist`);
    throw new CodedError('USAGE', `"${option}" file ${JSON.stringify(path)} cannot be read: ${code ?? 'error'}`, { cause: e });
  }
  const newline = text.search(/\r?\n/);
  return newline < 0 ? text : text.slice(0, newline);
}

function requireTerminal(option: string, what: string): void {
  if (!stdinIsTerminal()) {
    throw new CodedError('USAGE', `${what} is needed but stdin is not a terminal and no ${option} was given`, {
      hint: `pass ${option} FILE (first line is used); secrets are never read from argv or the environment`,
    });
  }
}

/**
 * Fail early (before a seed is shown or read) when the keystore password
 * could not be obtained: no `--password-file` and no terminal to ask on.
 */
export function assertPasswordSource(files: SecretFiles): void {
  if (files.passwordFile === undefined) requireTerminal('--password-file', 'a keystore password');
}

/** The password of an existing keystore: `--password-file`, else asked once without echo. */
export async function existingPassword(files: SecretFiles, keystore: string): Promise<string> {
  if (files.passwordFile !== undefined) return readSecretFile(files.passwordFile, '--password-file');
  requireTerminal('--password-file', 'the keystore password');
  return readTerminalLine(`password for ${keystore}: `, { echo: false });
}

/**
 * The password of a new keystore: `--password-file`, else asked twice
 * without echo (they must match). At least MIN_PASSWORD_LENGTH characters.
 */
export async function newPassword(files: SecretFiles, out: Output): Promise<string> {
  if (files.passwordFile !== undefined) return checkNewPassword(readSecretFile(files.passwordFile, '--password-file'));
  requireTerminal('--password-file', 'a password for the new keystore');
  out.say(`Choose a keystore password (at least ${MIN_PASSWORD_LENGTH} characters). It encrypts the seed on this machine; the seed itself is the backup.`);
  for (let attempt = 1; attempt <= 3; attempt++) {
    const first = await readTerminalLine('new keystore password: ', { echo: false });
    if (Array.from(first).length < MIN_PASSWORD_LENGTH) {
      out.say(`too short: at least ${MIN_PASSWORD_LENGTH} characters, try again`);
      continue;
    }
    const second = await readTerminalLine('repeat the password: ', { echo: false });
    if (first === second) return first;
    out.say('the two passwords differ, try again');
  }
  throw new CodedError('CANCELLED', 'no matching password after 3 attempts; nothing was written');
}

function checkNewPassword(password: string): string {
  const length = Array.from(password).length;
  if (length < MIN_PASSWORD_LENGTH) {
    throw new CodedError('USAGE', `"--password-file" password expected at least ${MIN_PASSWORD_LENGTH} characters, got ${length}`);
  }
  return password;
}

/**
 * The BIP39 passphrase of a new or restored seed: `--passphrase-file` (its
 * first line; an empty line means none), else on a terminal the operator is
 * asked "add a BIP39 passphrase? [y/N]" and types it twice without echo.
 * Without a terminal and without the file, there is no passphrase.
 */
export async function bip39Passphrase(files: SecretFiles, out: Output): Promise<string> {
  if (files.passphraseFile !== undefined) return readSecretFile(files.passphraseFile, '--passphrase-file');
  if (!stdinIsTerminal()) return '';
  const answer = (await readTerminalLine('add a BIP39 passphrase? [y/N] ', { echo: true })).trim().toLowerCase();
  if (answer !== 'y' && answer !== 'yes') return '';
  out.say('The passphrase is part of the key: without it the mnemonic restores a DIFFERENT, empty wallet. Back it up separately.');
  for (let attempt = 1; attempt <= 3; attempt++) {
    const first = await readTerminalLine('BIP39 passphrase: ', { echo: false });
    const second = await readTerminalLine('repeat the passphrase: ', { echo: false });
    if (first === second) return first;
    out.say('the two passphrases differ, try again');
  }
  throw new CodedError('CANCELLED', 'no matching passphrase after 3 attempts; nothing was written');
}
