import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { formatBatchHeader, formatBatchTrailer, type BatchMeta } from '../../core/batch-file.js';
import { formatAccountDescriptor, MAX_INDEX, parseAccountDescriptor, type AccountDescriptor } from '../../core/descriptor.js';
import { assertRange } from '../../core/derive.js';
import { CodedError } from '../../core/errors.js';
import { parseNetwork, type Network } from '../../core/network.js';
import { deriveRange } from '../../flows/derive-range.js';
import { assertWritable, openAtomicFile } from '../../io/atomic-file.js';
import { toJson, type Output } from '../output.js';
import { progressBar } from '../progress.js';
import { parseIntegerOption } from '../run.js';
import { unlockAccount } from './unlock.js';

interface DeriveOptions {
  keystore?: string;
  passwordFile?: string;
  descriptor?: string;
  network?: string;
  from: string;
  count: string;
  out: string;
  force?: boolean;
  json?: boolean;
}

/** Show a progress bar from this many addresses up (smaller batches finish before it would draw). */
const PROGRESS_FROM = 20_000;

export function registerDerive(program: Command, out: Output): void {
  program
    .command('derive')
    .summary('write a batch file of receive addresses for the web host')
    .description(
      'Derive receive addresses …/0/i of the BIP84 account for i in [FROM, FROM+COUNT) and write them as a ' +
        'batch file for `coldpool pool load`: CSV rows "index,address" with "#" metadata lines (format, ' +
        'network, account descriptor, chain, first index, count, creation time) and a last line ' +
        '"# sha256: <hex>" over everything before it. The file appears whole or not at all.\n\n' +
        'The account comes from the keystore (needs its password) or from a public descriptor / xpub ' +
        '(no secret needed, so this also runs on the operator box).',
    )
    .option('--keystore <file>', 'keystore written by `init` or `restore`')
    .option('--password-file <file>', 'read the keystore password from this file instead of the terminal')
    .option('--descriptor <desc>', 'account descriptor printed by `export` (checksum optional, checked when present), or a bare xpub/tpub/zpub/vpub')
    .option('--network <net>', 'mainnet | testnet | signet | regtest; required with a tpub/vpub, checked against the keystore otherwise')
    .requiredOption('--from <index>', `first index, 0..${MAX_INDEX}`)
    .requiredOption('--count <n>', 'number of addresses (10000 per batch is the usual size)')
    .requiredOption('--out <file>', 'batch file to write; never overwritten unless --force')
    .option('--force', 'replace an existing --out file', false)
    .option('--json', 'print the summary as JSON on stdout', false)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ coldpool-offline derive --keystore cold.keystore --from 0 --count 10000 --out batch-000000.csv\n' +
        "  $ coldpool-offline derive --descriptor 'wpkh([73c5da0a/84h/0h/0h]xpub6C…/<0;1>/*)#…' \\\n" +
        '      --from 10000 --count 10000 --out batch-010000.csv --json\n\n' +
        'JSON output: {"out","network","descriptor","chain":0,"first","count","last","sha256",\n' +
        '              "first_address","last_address","seconds","addresses_per_second"}\n',
    )
    .action(async (opts: DeriveOptions) => {
      await derive(opts, out);
    });
}

async function derive(opts: DeriveOptions, out: Output): Promise<void> {
  // Every argument is checked before a password is asked for or a byte is written.
  const from = parseIntegerOption('--from', opts.from, 0, MAX_INDEX);
  const count = parseIntegerOption('--count', opts.count, 1, MAX_INDEX + 1);
  assertRange(from, count);
  assertWritable(opts.out, opts.force);
  const network = opts.network === undefined ? undefined : parseNetwork(opts.network);
  const account = await resolveAccount(opts, network, out);

  const started = performance.now();
  const meta: BatchMeta = {
    network: account.network.name,
    descriptor: formatAccountDescriptor(account),
    chain: 0,
    first: from,
    count,
    created: new Date().toISOString(),
  };
  const file = openAtomicFile(opts.out, { overwrite: opts.force });
  const digest = createHash('sha256');
  const emit = (text: string): void => {
    digest.update(text);
    file.write(text);
  };
  const bar = progressBar('deriving', count, out.interactive && count >= PROGRESS_FROM);
  let firstAddress = '';
  let lastAddress = '';
  try {
    emit(formatBatchHeader(meta));
    let done = 0;
    for await (const chunk of deriveRange(account, 0, from, count)) {
      let rows = '';
      chunk.addresses.forEach((a, k) => (rows += `${chunk.first + k},${a}\n`));
      emit(rows);
      if (done === 0) firstAddress = chunk.addresses[0]!;
      lastAddress = chunk.addresses[chunk.addresses.length - 1]!;
      done += chunk.addresses.length;
      bar.tick(done);
    }
    const sha256 = digest.digest('hex');
    file.write(formatBatchTrailer(sha256));
    file.commit();
    bar.done();
    const seconds = (performance.now() - started) / 1000;
    const summary = {
      out: opts.out, network: meta.network, descriptor: meta.descriptor, chain: 0, first: from, count,
      last: from + count - 1, sha256, first_address: firstAddress, last_address: lastAddress,
      seconds: Number(seconds.toFixed(3)), addresses_per_second: Math.round(count / seconds),
    };
    if (opts.json) out.data(toJson(summary));
    else {
      out.data(`wrote ${count} addresses (index ${from}..${from + count - 1}) to ${opts.out}`);
      out.data(`sha256 ${sha256}`);
      out.say(`${meta.network}, ${Math.round(count / seconds)} addresses/s; load it on the web host with: coldpool pool load ${opts.out}`);
    }
  } catch (e) {
    bar.done();
    file.abort();
    throw e;
  }
}

async function resolveAccount(opts: DeriveOptions, network: Network | undefined, out: Output): Promise<AccountDescriptor> {
  if ((opts.keystore === undefined) === (opts.descriptor === undefined)) {
    throw new CodedError('USAGE', 'give exactly one of --keystore or --descriptor');
  }
  if (opts.keystore !== undefined) {
    const account = await unlockAccount({ keystore: opts.keystore, passwordFile: opts.passwordFile }, out);
    if (network && network.name !== account.network.name) {
      throw new CodedError('NETWORK_MISMATCH', `"--network" is ${network.name} but the keystore is for ${account.network.name}`);
    }
    return account;
  }
  const text = opts.descriptor!;
  const guess = network ?? networkFromKeyText(text);
  const parsed = parseAccountDescriptor(text, guess);
  if (parsed.chain === 1) {
    throw new CodedError('USAGE', '"--descriptor" is the change chain (…/1/*); derive writes receive addresses: pass the …/0/* or <0;1> descriptor');
  }
  return { network: parsed.network, key: parsed.key, origin: parsed.origin };
}

/** xpub/zpub imply mainnet; a tpub/vpub is shared by three networks, so the operator must say which. */
function networkFromKeyText(text: string): Network {
  const key = /([xtzv]pub[1-9A-HJ-NP-Za-km-z]+)/.exec(text)?.[1] ?? '';
  if (key.startsWith('xpub') || key.startsWith('zpub')) return parseNetwork('mainnet');
  if (key.startsWith('tpub') || key.startsWith('vpub')) {
    throw new CodedError('USAGE', '"--network" is required with a tpub/vpub: testnet, signet and regtest share these keys', {
      hint: 'add --network testnet, --network signet or --network regtest',
    });
  }
  return parseNetwork('mainnet'); // the parser names what is wrong with the key itself
}
