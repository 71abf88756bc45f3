import type { AccountDescriptor } from '../../core/descriptor.js';
import type { Network } from '../../core/network.js';
import { accountFromSeed } from '../../keys/account.js';
import { writeKeystore } from '../../keys/keystore.js';
import { mnemonicToSeed } from '../../keys/seed.js';

/**
 * The last step shared by `init` and `restore`: derive the account (for the
 * fingerprint stored in the clear header), encrypt the mnemonic and
 * passphrase with the default scrypt cost, write the file (never over an
 * existing one). Returns the public account to print.
 */
export async function sealSeed(
  keystore: string,
  network: Network,
  secret: { mnemonic: string; passphrase: string },
  password: string,
): Promise<AccountDescriptor> {
  const seed = mnemonicToSeed(secret.mnemonic, secret.passphrase);
  let account: AccountDescriptor;
  try {
    account = accountFromSeed(seed, network);
  } finally {
    seed.fill(0);
  }
  await writeKeystore(keystore, secret, password, { network, fingerprint: account.origin?.fingerprint ?? '' });
  return account;
}
