import type { Command } from 'commander';
import type { Output } from '../output.js';
import { accountReport, printAccountReport } from './account-report.js';
import { closeStdin } from '../terminal.js';
import { unlockAccount } from './unlock.js';

interface ExportOptions {
  keystore: string;
  passwordFile?: string;
  json?: boolean;
}

/**
 * `coldpool-offline export`: the public half of the cold wallet, to carry to
 * the operator box and the web host. Nothing printed here can spend.
 */
export function registerExport(program: Command, out: Output): void {
  program
    .command('export')
    .summary('print the account: descriptors, xpub, zpub, fingerprint, path')
    .description('Unlock the keystore and print the public BIP84 account: network (from the keystore), master fingerprint, account path, xpub/tpub, SLIP-132 zpub/vpub (for Electrum), and the receive (/0/*), change (/1/*) and multipath (/<0;1>/*) output descriptors, each with its BIP380 checksum.')
    .requiredOption('--keystore <file>', 'keystore file to read')
    .option('--password-file <file>', 'keystore password from the first line of this file (default: asked on the terminal)')
    .option('--json', 'print JSON: {network, fingerprint, path, xpub, zpub, descriptor, receive_descriptor, change_descriptor}')
    .addHelpText('after', `
On test networks the "xpub" field holds a tpub and "zpub" a vpub.
Bitcoin Core, Sparrow and BTCPay import "descriptor"; Electrum imports "zpub".
A wrong password (or an altered file) is refused with exit code 3.

Examples:
  $ coldpool-offline export --keystore cold.keystore
  $ coldpool-offline export --keystore cold.keystore --password-file pw.txt --json > account.json`)
    .action(async (opts: ExportOptions) => {
      try {
        const account = await unlockAccount({ keystore: opts.keystore, passwordFile: opts.passwordFile }, out);
        printAccountReport(accountReport(account), { json: Boolean(opts.json), full: true }, out);
      } finally {
        closeStdin();
      }
    });
}
