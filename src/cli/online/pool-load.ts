import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CodedError } from '../../core/errors.js';
import { loadBatch, type LoadBatchResult, type LoadPhase } from '../../flows/load-batch.js';
import { withDatabase } from './database.js';
import { toJson, type Output } from '../output.js';
import { progressBar, type Progress } from '../progress.js';
import { DB_OPTION_HELP, configOf } from './config.js';
import { poolGroupOf } from './options.js';

interface PoolLoadOptions {
  db: string;
  dryRun?: boolean;
  addAccount?: boolean;
  json?: boolean;
  progress: string;
}

const PROGRESS_MODES = ['auto', 'lines', 'none'] as const;
type ProgressMode = (typeof PROGRESS_MODES)[number];

/** Show a progress bar from this many addresses up (smaller batches finish before it would draw). */
const BAR_FROM = 20_000;


/** `coldpool pool load FILE [--dry-run] [--add-account] [--json]`: verify a batch file, then load it whole. */
export function registerPoolLoad(program: Command, out: Output): void {
  poolGroupOf(program)
    .command('load')
    .summary('verify a batch file from `coldpool-offline derive` and load it into the pool')
    .description(
      'Verify a batch file, then insert it in one transaction. Checked first:\n' +
        '  - the "# sha256:" line, the format version, the header;\n' +
        '  - indexes contiguous from "first", as many rows as "count";\n' +
        '  - the network: the pool\'s (a fresh pool takes the file\'s);\n' +
        '  - the descriptor: the account the pool is pinned to;\n' +
        '  - every address, re-derived from the descriptor and compared\n' +
        '    (whoever edits the file can recompute its sha256 line).\n' +
        'Nothing is written before every check passed. The same file again\n' +
        'is a no-op that says so; a file overlapping loaded indexes is\n' +
        'refused. A load killed half-way leaves nothing: run it again.',
    )
    .argument('<file>', 'batch file written by `coldpool-offline derive`')
    .option('--db <url>', DB_OPTION_HELP)
    .option('--dry-run', 'verify everything and say what would happen; write nothing', false)
    .option('--add-account', 'accept a batch of another account than the pinned one, adding that account (same network only)', false)
    .option('--json', 'print the result as JSON on stdout (errors as JSON on stderr)', false)
    .option('--progress <mode>', 'auto (a bar when stderr is a terminal), lines (one line per step on stderr, for logs), none', 'auto')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ coldpool pool load batch-000000.csv\n' +
        '  $ coldpool pool load batch-010000.csv --dry-run\n' +
        '  $ COLDPOOL_DB=mysql://coldpool_operator:…@db.internal/coldpool coldpool pool load batch-020000.csv --json\n\n' +
        'JSON output:\n' +
        '  {"result": "loaded" | "already-loaded" | "would-load" | "would-skip",\n' +
        '   "batch_id": "7" (string; null for would-load), "inserted": 10000 (0 unless loaded),\n' +
        '   "network", "descriptor", "chain": 0, "first", "last", "count", "sha256",\n' +
        '   "account": "pinned" | "same" | "added", "dry_run", "verify_seconds", "insert_seconds"}\n\n' +
        'Exit codes: 0 loaded or already loaded, 2 usage or file not found, 3 invalid or refused file\n' +
        '(digest, network, account, re-derived address, overlap), 4 database schema not migrated,\n' +
        '5 database unreachable.\n',
    )
    .action(async (file: string, _opts: PoolLoadOptions, cmd: Command) => {
      await poolLoad(file, { ...cmd.opts<PoolLoadOptions>(), db: configOf(cmd).db }, out);
    });
}

async function poolLoad(file: string, opts: PoolLoadOptions, out: Output): Promise<void> {
  const mode = opts.progress as ProgressMode;
  if (!PROGRESS_MODES.includes(mode)) {
    throw new CodedError('USAGE', `"--progress" expected one of ${PROGRESS_MODES.join(', ')}, got ${JSON.stringify(opts.progress)}`);
  }
  const bytes = readBatchBytes(file);
  const progress = phaseProgress(mode, out);
  await withDatabase(opts.db, async (db) => {
    const result = await loadBatch(db.pool, bytes, {
      dryRun: Boolean(opts.dryRun),
      addAccount: Boolean(opts.addAccount),
      onProgress: progress.update,
    });
    progress.finish();
    report(result, file, Boolean(opts.json), out);
  }).finally(() => progress.finish());
}

function readBatchBytes(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CodedError('NOT_FOUND', `batch file ${JSON.stringify(file)} not found`, { cause: e });
    throw new CodedError('INVALID_INPUT', `cannot read batch file ${JSON.stringify(file)}: ${(e as Error).message}`, { cause: e });
  }
}

/** One bar per phase on a terminal; plain `verify 5000/10000` lines with --progress lines. */
function phaseProgress(mode: ProgressMode, out: Output): { update: (phase: LoadPhase, done: number, total: number) => void; finish: () => void } {
  if (mode === 'lines') {
    return { update: (phase, done, total) => out.say(`${phase} ${done}/${total}`), finish: () => {} };
  }
  let current: { phase: LoadPhase; bar: Progress } | undefined;
  const finish = (): void => {
    current?.bar.done();
    current = undefined;
  };
  return {
    update: (phase, done, total) => {
      if (mode === 'none') return;
      if (current?.phase !== phase) {
        finish();
        const label = phase === 'verify' ? 're-deriving' : 'inserting';
        current = { phase, bar: progressBar(label, total, out.interactive && total >= BAR_FROM) };
      }
      current.bar.tick(done);
    },
    finish,
  };
}

function report(r: LoadBatchResult, file: string, json: boolean, out: Output): void {
  const range = `index ${r.first}..${r.last}`;
  if (json) {
    out.data(toJson({
      result: r.kind,
      batch_id: 'batchId' in r ? r.batchId : null,
      inserted: r.kind === 'loaded' ? r.inserted : 0,
      network: r.network,
      descriptor: r.descriptor,
      chain: r.chain,
      first: r.first,
      last: r.last,
      count: r.count,
      sha256: r.digest,
      account: r.account,
      dry_run: r.kind === 'would-load' || r.kind === 'would-skip',
      verify_seconds: Number(r.verifySeconds.toFixed(3)),
      insert_seconds: Number(r.insertSeconds.toFixed(3)),
    }));
    return;
  }
  switch (r.kind) {
    case 'loaded':
      out.data(`loaded ${r.inserted} addresses (${range}) as batch #${r.batchId}`);
      if (r.account === 'pinned') out.say(`the pool is now pinned to ${r.network} account ${r.descriptor}`);
      if (r.account === 'added') out.say(`added a second account to the pool: ${r.descriptor}`);
      break;
    case 'already-loaded':
      out.data(`already loaded (batch #${r.batchId}), nothing to do`);
      break;
    case 'would-load':
      out.data(`dry run: ${file} is valid; would load ${r.count} addresses (${range}); nothing was written`);
      if (r.account === 'pinned') out.say(`it would pin the pool to ${r.network} account ${r.descriptor}`);
      if (r.account === 'added') out.say(`it would add a second account to the pool: ${r.descriptor}`);
      break;
    case 'would-skip':
      out.data(`dry run: already loaded (batch #${r.batchId}), nothing to do`);
      break;
  }
}
