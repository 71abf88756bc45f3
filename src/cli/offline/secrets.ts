import { CodedError } from '../../core/errors.js';
import type { Output } from '../output.js';
import { existingPasswordFor, MIN_PASSWORD_LENGTH, newPasswordFor, readSecretFile, requireTerminal, type PasswordUse } from '../secrets.js';
import { readTerminalLine, stdinIsTerminal } from '../terminal.js';

/**
 * The offline program's secrets: the keystore password and the BIP39
 * passphrase. How any secret is read (a file or the terminal, never argv or
 * the environment) lives in ../secrets.ts, shared with the online program.
 */

export { MIN_PASSWORD_LENGTH, readSecretFile };

export interface SecretFiles {
  /** `--password-file`: the keystore password is its first line. */
  readonly passwordFile?: string | undefined;
  /** `--passphrase-file`: the BIP39 passphrase is its first line. */
  readonly passphraseFile?: string | undefined;
}

const KEYSTORE: PasswordUse = {
  noun: 'keystore',
  intro: `Choose a keystore password (at least ${MIN_PASSWORD_LENGTH} characters). It encrypts the seed on this machine; the seed itself is the backup.`,
};

/**
 * Fail early (before a seed is shown or read) when the keystore password
 * could not be obtained: no `--password-file` and no terminal to ask on.
 */
export function assertPasswordSource(files: SecretFiles): void {
  if (files.passwordFile === undefined) requireTerminal('--password-file', 'a keystore password');
}

/** The password of an existing keystore: `--password-file`, else asked once without echo. */
export async function existingPassword(files: SecretFiles, keystore: string): Promise<string> {
  return existingPasswordFor(files.passwordFile, KEYSTORE, keystore);
}

/**
 * The password of a new keystore: `--password-file`, else asked twice
 * without echo (they must match). At least MIN_PASSWORD_LENGTH characters.
 */
export async function newPassword(files: SecretFiles, out: Output): Promise<string> {
  return newPasswordFor(files.passwordFile, KEYSTORE, out);
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
