import { readFileSync } from 'node:fs';
import { CodedError } from '../core/errors.js';
import type { Output } from './output.js';
import { readTerminalLine, stdinIsTerminal } from './terminal.js';

/**
 * How secrets reach either program. They come from a file named on the
 * command line or from the terminal without echo, and NEVER from argv or the
 * environment: both leak (`ps`, shell history, /proc/PID/environ, crash
 * reports). There is deliberately no `--password` option anywhere.
 *
 * When stdin is not a terminal and a needed secret has no file option, the
 * command fails with USAGE naming the missing option instead of hanging or
 * reading a secret from a pipe it cannot prompt on.
 */

/** New passwords must be at least this long (the scrypt cost buys time, not entropy). */
export const MIN_PASSWORD_LENGTH = 8;

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

/** USAGE naming `option` when there is no terminal to ask for `what` on. */
export function requireTerminal(option: string, what: string): void {
  if (!stdinIsTerminal()) {
    throw new CodedError('USAGE', `${what} is needed but stdin is not a terminal and no ${option} was given`, {
      hint: `pass ${option} FILE (first line is used); secrets are never read from argv or the environment`,
    });
  }
}

/** What a password protects, in the words its prompts use. */
export interface PasswordUse {
  /** "keystore", "operator key". */
  readonly noun: string;
  /** Said once before the first prompt: what the password is for. */
  readonly intro: string;
}

/** The password of an existing file: `--password-file`, else asked once without echo. */
export async function existingPasswordFor(passwordFile: string | undefined, use: PasswordUse, file: string): Promise<string> {
  if (passwordFile !== undefined) return readSecretFile(passwordFile, '--password-file');
  requireTerminal('--password-file', `the ${use.noun} password`);
  return readTerminalLine(`password for ${file}: `, { echo: false });
}

/**
 * A new password: `--password-file`, else asked twice without echo (they
 * must match). At least MIN_PASSWORD_LENGTH characters.
 */
export async function newPasswordFor(passwordFile: string | undefined, use: PasswordUse, out: Output): Promise<string> {
  if (passwordFile !== undefined) return checkNewPassword(readSecretFile(passwordFile, '--password-file'));
  requireTerminal('--password-file', `a password for the new ${use.noun}`);
  out.say(use.intro);
  for (let attempt = 1; attempt <= 3; attempt++) {
    const first = await readTerminalLine(`new ${use.noun} password: `, { echo: false });
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
