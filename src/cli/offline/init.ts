import { randomInt } from 'node:crypto';
import type { Command } from 'commander';
import { CodedError } from '../../core/errors.js';
import { parseNetwork } from '../../core/network.js';
import { assertKeystoreCreatable, DEFAULT_SCRYPT } from '../../keys/keystore.js';
import { generateMnemonic, mnemonicWords, normalizeMnemonic } from '../../keys/seed.js';
import type { Output } from '../output.js';
import { accountReport, printAccountReport } from './account-report.js';
import { sealSeed } from './seal.js';
import { assertPasswordSource, bip39Passphrase, MIN_PASSWORD_LENGTH, newPassword } from './secrets.js';
import { closeStdin, readStdinLine, readTerminalLine, stdinIsTerminal } from '../terminal.js';

/** How many words the operator is asked back before anything is written. */
export const BACKUP_CHECK_WORDS = 3;

interface InitOptions {
  keystore: string;
  network: string;
  passwordFile?: string;
  passphraseFile?: string;
  json?: boolean;
}

/**
 * `coldpool-offline init`: the key ceremony. A new 24-word seed from the OS
 * CSPRNG is shown once, the operator proves the backup by typing back three
 * words chosen at random, and only then is the encrypted keystore written.
 */
export function registerInit(program: Command, out: Output): void {
  program
    .command('init')
    .summary('create a new seed, show it once, check the backup, store it encrypted')
    .description(`Create a new 24-word BIP39 seed (256 bits from the OS random source), show it once on the terminal, ask back ${BACKUP_CHECK_WORDS} words at random positions, then write it to a new encrypted keystore (scrypt N=2^17 r=8 p=1, AES-256-GCM, mode 0600). A wrong answer writes nothing.`)
    .requiredOption('--keystore <file>', 'keystore file to create; an existing file is never overwritten')
    .requiredOption('--network <name>', 'mainnet | testnet | signet | regtest (no default: always explicit)')
    .option('--password-file <file>', `keystore password from the first line of this file (default: asked twice on the terminal, at least ${MIN_PASSWORD_LENGTH} characters)`)
    .option('--passphrase-file <file>', 'BIP39 passphrase from the first line of this file (default: on a terminal you are asked "add a BIP39 passphrase? [y/N]"; otherwise none)')
    .option('--json', 'print the result as JSON: {network, fingerprint, path, descriptor}')
    .addHelpText('after', `
Secrets never come from arguments or environment variables: use the terminal or the *-file options.

Output (stdout): network, master fingerprint, account path and the account descriptor,
  wpkh([fingerprint/84h/0h/0h]xpub.../<0;1>/*)#checksum

Without a terminal (stdin is a pipe), for automated ceremonies and tests:
  --password-file is required; the 24 words are printed on stderr as " 1. word" lines,
  then a line "backup check: type words #A, #B, #C, one per line" and the three
  answers are read as lines from stdin.

Examples:
  $ coldpool-offline init --keystore /media/usb/cold.keystore --network mainnet
  $ coldpool-offline init --keystore cold.keystore --network regtest --password-file pw.txt --json`)
    .action(async (opts: InitOptions) => {
      try {
        await runInit(opts, out);
      } finally {
        closeStdin();
      }
    });
}

async function runInit(opts: InitOptions, out: Output): Promise<void> {
  const network = parseNetwork(opts.network);
  assertKeystoreCreatable(opts.keystore);
  assertPasswordSource(opts);
  const password = await newPassword(opts, out);
  const passphrase = await bip39Passphrase(opts, out);
  const mnemonic = generateMnemonic();
  const words = mnemonicWords(mnemonic);
  if (stdinIsTerminal()) await showAndCheckOnTerminal(words, out);
  else await showAndCheckOnPipe(words, out);
  out.say(`backup check passed; encrypting (scrypt N=2^${Math.log2(DEFAULT_SCRYPT.n)}, takes a moment)...`);
  const account = await sealSeed(opts.keystore, network, { mnemonic, passphrase }, password);
  out.say(`keystore written: ${opts.keystore}`);
  printAccountReport(accountReport(account), { json: Boolean(opts.json), full: false }, out);
}

/** Three distinct 0-based positions, from the CSPRNG, in ascending order. */
export function pickPositions(wordCount: number, howMany = BACKUP_CHECK_WORDS): number[] {
  const picked = new Set<number>();
  while (picked.size < howMany) picked.add(randomInt(wordCount));
  return [...picked].sort((a, b) => a - b);
}

/** ` 1. abandon     2. ability  …`, four per row, numbered so the order is never in doubt. */
function wordGrid(words: string[]): string {
  const rows: string[] = [];
  for (let i = 0; i < words.length; i += 4) {
    rows.push(words.slice(i, i + 4).map((w, k) => `${String(i + k + 1).padStart(2)}. ${w.padEnd(9)}`).join('  ').trimEnd());
  }
  return rows.join('\n');
}

const CLEAR_SCREEN_AND_SCROLLBACK = '\x1b[2J\x1b[3J\x1b[H';

async function showAndCheckOnTerminal(words: string[], out: Output): Promise<void> {
  out.say('\nYour new seed. Write the words down, in order, on paper. It is shown ONCE and never stored in the clear.\n');
  out.say(wordGrid(words));
  out.say('');
  await readTerminalLine('press Enter when you have written all the words down...', { echo: false });
  out.say(CLEAR_SCREEN_AND_SCROLLBACK);
  out.say(`Backup check: type back ${BACKUP_CHECK_WORDS} words from your paper.`);
  for (const position of pickPositions(words.length)) {
    const answer = await readTerminalLine(`word #${position + 1}: `, { echo: true });
    checkAnswer(words, position, answer);
  }
}

async function showAndCheckOnPipe(words: string[], out: Output): Promise<void> {
  out.say('new seed (shown once; stdin is not a terminal, so the words go to stderr):');
  out.say(words.map((w, i) => `${String(i + 1).padStart(2)}. ${w}`).join('\n'));
  const positions = pickPositions(words.length);
  out.say(`backup check: type words ${positions.map((p) => `#${p + 1}`).join(', ')}, one per line`);
  for (const position of positions) {
    const answer = await readStdinLine();
    if (answer === undefined) {
      throw new CodedError('REFUSED', `backup check: stdin ended before ${BACKUP_CHECK_WORDS} answers were read; nothing was written`);
    }
    checkAnswer(words, position, answer);
  }
}

/** Compare without saying what the right word was or echoing what was typed. */
function checkAnswer(words: string[], position: number, answer: string): void {
  if (normalizeMnemonic(answer) !== words[position]) {
    throw new CodedError('REFUSED', `backup check failed: word #${position + 1} does not match; nothing was written`, {
      hint: 'run init again and write the new words down carefully; this seed was discarded',
    });
  }
}
