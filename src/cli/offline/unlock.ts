import { CodedError } from '../../core/errors.js';
import type { AccountDescriptor } from '../../core/descriptor.js';
import { accountFromSeed } from '../../keys/account.js';
import { keystoreNetwork, loadKeystoreFile, readKeystore, type KeystoreHeader, type KeystoreSecret } from '../../keys/keystore.js';
import { mnemonicToSeed } from '../../keys/seed.js';
import type { Output } from '../output.js';
import { existingPassword } from './secrets.js';

export interface UnlockOptions {
  /** `--keystore F`. */
  readonly keystore: string;
  /** `--password-file F`; without it the password is asked on the terminal (USAGE error when stdin is not one). */
  readonly passwordFile?: string | undefined;
}

/**
 * Open a keystore: check the file first (so a missing or malformed file is
 * reported before anyone types a password), get the password per the rules
 * in secrets.ts, decrypt. Wrong password or tampering: DECRYPT (exit 3).
 */
export async function unlockKeystore(opts: UnlockOptions, out: Output): Promise<{ header: KeystoreHeader; secret: KeystoreSecret }> {
  void out;
  loadKeystoreFile(opts.keystore);
  const password = await existingPassword({ passwordFile: opts.passwordFile }, opts.keystore);
  return readKeystore(opts.keystore, password);
}

/**
 * The BIP84 account (with key origin) of a keystore, for commands that only
 * need the public half (`export`, `derive`). The seed is derived, used and
 * zeroed here; only the xpub leaves.
 *
 * @example
 * const account = await unlockAccount({ keystore: 'cold.keystore', passwordFile: 'pw.txt' }, out);
 * formatAccountDescriptor(account); // wpkh([73c5da0a/84h/0h/0h]xpub…/<0;1>/*)#…
 */
export async function unlockAccount(opts: UnlockOptions, out: Output): Promise<AccountDescriptor> {
  const { header, secret } = await unlockKeystore(opts, out);
  return accountOf(header, secret);
}

/** Derive the account of a decrypted keystore and check it against the fingerprint in its header. */
export function accountOf(header: KeystoreHeader, secret: KeystoreSecret): AccountDescriptor {
  const seed = mnemonicToSeed(secret.mnemonic, secret.passphrase);
  let account: AccountDescriptor;
  try {
    account = accountFromSeed(seed, keystoreNetwork(header));
  } finally {
    seed.fill(0);
  }
  if (account.origin?.fingerprint !== header.fingerprint) {
    throw new CodedError('INVALID_INPUT', `keystore header says master fingerprint ${header.fingerprint} but the key inside has ${account.origin?.fingerprint ?? 'none'}`);
  }
  return account;
}
