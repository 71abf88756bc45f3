import type { Command } from 'commander';
import { parseNetwork } from '../../core/network.js';
import { assertKeystoreCreatable } from '../../keys/keystore.js';
import { validateMnemonic } from '../../keys/seed.js';
import type { Output } from '../output.js';
import { accountReport, printAccountReport } from './account-report.js';
import { sealSeed } from './seal.js';
import { assertPasswordSource, bip39Passphrase, MIN_PASSWORD_LENGTH, newPassword } from './secrets.js';
import { closeStdin, readStdinLine, readTerminalLine, stdinIsTerminal } from '../terminal.js';

interface RestoreOptions {
  keystore: string;
  network: string;
  passwordFile?: string;
  passphraseFile?: string;
  json?: boolean;
}

/**
 * `coldpool-offline restore`: an existing BIP39 mnemonic into a new
 * encrypted keystore. The mnemonic comes from stdin or the terminal, never
 * from argv, and a bad one is refused with the reason (word count, the
 * unknown word and its position, or the checksum) before any password is asked.
 */
export function registerRestore(program: Command, out: Output): void {
  program
    .command('restore')
    .summary('store an existing BIP39 mnemonic in a new encrypted keystore')
    .description('Read a BIP39 mnemonic (12/15/18/21/24 English words), check it, and write it to a new encrypted keystore (scrypt N=2^17 r=8 p=1, AES-256-GCM, mode 0600). An existing file is never overwritten.')
    .requiredOption('--keystore <file>', 'keystore file to create; an existing file is never overwritten')
    .requiredOption('--network <name>', 'mainnet | testnet | signet | regtest (no default: always explicit)')
    .option('--password-file <file>', `keystore password from the first line of this file (default: asked twice on the terminal, at least ${MIN_PASSWORD_LENGTH} characters)`)
    .option('--passphrase-file <file>', 'BIP39 passphrase from the first line of this file (default: on a terminal you are asked "add a BIP39 passphrase? [y/N]"; otherwise none)')
    .option('--json', 'print the result as JSON: {network, fingerprint, path, descriptor}')
    .addHelpText('after', `
The mnemonic is read from the terminal without echo, or, when stdin is not a terminal,
from the first line of stdin (then --password-file is required). Case and extra spaces
do not matter. Never pass it as an argument: there is no --mnemonic option on purpose.

Examples:
  $ coldpool-offline restore --keystore cold.keystore --network mainnet
  $ coldpool-offline restore --keystore cold.keystore --network mainnet --password-file pw.txt < mnemonic.txt`)
    .action(async (opts: RestoreOptions) => {
      try {
        await runRestore(opts, out);
      } finally {
        closeStdin();
      }
    });
}

async function runRestore(opts: RestoreOptions, out: Output): Promise<void> {
  const network = parseNetwork(opts.network);
  assertKeystoreCreatable(opts.keystore);
  assertPasswordSource(opts);
  // A password file is checked (length) before the mnemonic is read; on a terminal it is asked after, so a typo in the mnemonic costs no retyping.
  const filePassword = opts.passwordFile !== undefined ? await newPassword(opts, out) : undefined;
  const typed = stdinIsTerminal()
    ? await readTerminalLine('mnemonic (words separated by spaces; not shown as you type): ', { echo: false })
    : (await readStdinLine()) ?? '';
  const mnemonic = validateMnemonic(typed);
  out.say(`mnemonic accepted (${mnemonic.split(' ').length} words, checksum ok)`);
  const password = filePassword ?? (await newPassword(opts, out));
  const passphrase = await bip39Passphrase(opts, out);
  out.say('encrypting (scrypt N=2^17, takes a moment)...');
  const account = await sealSeed(opts.keystore, network, { mnemonic, passphrase }, password);
  out.say(`keystore written: ${opts.keystore}`);
  printAccountReport(accountReport(account), { json: Boolean(opts.json), full: false }, out);
}
