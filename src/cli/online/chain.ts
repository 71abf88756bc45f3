import type { Command } from 'commander';
import type { ChainSource, ChainStore } from '../../core/ports.js';
import { formatBtc } from '../../core/amount.js';
import { isCoded } from '../../core/errors.js';
import type { ChainFollower, SyncEvent, SyncOptions, SyncResult } from '../../flows/chain-sync.js';
import { chainStatus, listDeposits } from '../../flows/chain-status.js';
import { withDatabase } from './database.js';
import { table, toJson, type Output } from '../output.js';
import { progressBar, type Progress } from '../progress.js';
import { parseIntegerOption } from '../run.js';
import { DB_OPTION_HELP, configOf } from './config.js';
import { NODE_HELP, addNodeOptions, sourceOf, type NodeOptions } from './options.js';

/** The `chain` command group. */
export function chainGroupOf(program: Command): Command {
  return program.commands.find((c) => c.name() === 'chain')
    ?? program.command('chain').summary('read the chain: deposits, the cold wallet\'s coins, confirmations, reorgs');
}

/**
 * Stop cleanly on SIGINT/SIGTERM: the flag is read between blocks, so the
 * block in progress is committed (or not at all) before the command returns.
 */
function stopSignal(): { readonly stopped: () => boolean; readonly sleep: (ms: number) => Promise<void>; readonly dispose: () => void } {
  let stop = false;
  let wake: (() => void) | undefined;
  const handler = (): void => {
    stop = true;
    wake?.();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    stopped: () => stop,
    sleep: (ms) => new Promise<void>((resolve) => {
      if (stop) return resolve();
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    }),
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** Messages (stderr) for what the follower does; a progress bar on a terminal. */
function reporter(out: Output, verbose: boolean): { onEvent: (e: SyncEvent) => void; done: () => void } {
  let bar: Progress | undefined;
  let from = 0;
  return {
    onEvent: (e) => {
      switch (e.kind) {
        case 'start':
          from = e.fromHeight;
          if (e.tipHeight >= e.fromHeight) {
            out.say(`scanning blocks ${e.fromHeight}..${e.tipHeight} for ${e.scripts} scripts of the account`);
            bar = progressBar('blocks', e.tipHeight - e.fromHeight + 1, out.interactive && !verbose);
          }
          break;
        case 'block':
          bar?.tick(e.height - from + 1);
          if (verbose && (e.outputs > 0 || e.spends > 0)) out.say(`block ${e.height} ${e.hash}: ${e.outputs} output(s) to the account, ${e.spends} spend(s)`);
          break;
        case 'reorg':
          out.say(`reorg: the node's chain left ours after height ${e.report.forkHeight}; rolled back ${e.report.depth} block(s) and ${e.report.dropped.length} deposit(s) in them, re-reading`);
          break;
        case 'deposit-disappeared':
          out.say(`warning: deposit ${e.deposit.txid}:${e.deposit.vout} of ${formatBtc(e.deposit.amountSat)} BTC to ${e.deposit.address}${e.deposit.user ? ` (user ${e.deposit.user})` : ''}, once in block ${e.deposit.height}, is no longer in the chain`);
          break;
        case 'mempool':
          if (verbose && (e.outputs > 0 || e.spends > 0)) out.say(`mempool: ${e.outputs} unconfirmed output(s) to the account, ${e.spends} unconfirmed spend(s)`);
          break;
      }
    },
    done: () => bar?.done(),
  };
}

function syncJson(db: string, node: string, r: SyncResult): Record<string, unknown> {
  return { db, node, tip: r.tip ?? null, blocks: r.blocks, outputs: r.outputs, spends: r.spends, reorgs: r.reorgs, disappeared: r.disappeared, moved: r.moved, stopped: r.stopped };
}

async function withChain<T>(cmd: Command, opts: NodeOptions, fn: (source: ChainSource, store: ChainStore) => Promise<T>): Promise<T> {
  const source = sourceOf(configOf(cmd), opts);
  try {
    return await withDatabase(configOf(cmd).db, (db) => fn(source, db.chain));
  } finally {
    await source.close();
  }
}

/**
 * The follower (and bitcoinjs-lib under it, a sixth of start-up) loads only
 * when a command syncs, so `pool load` and the other commands start faster.
 */
async function openFollower(source: ChainSource, store: ChainStore, options: SyncOptions): Promise<ChainFollower> {
  const { ChainFollower } = await import('../../flows/chain-sync.js');
  return ChainFollower.open(source, store, options);
}

/** `coldpool chain sync|follow|status`. */
export function registerChain(program: Command, out: Output): void {
  const group = chainGroupOf(program);
  addNodeOptions(group.command('sync'))
    .summary('catch up with the node once: deposits, coins, spends, reorgs; then exit')
    .description(
      'Scan blocks from the last recorded one (first run: the first block at or after the\n' +
        'earliest batch\'s creation time minus 2 h, or --from-height) to the node\'s tip, recording\n' +
        'every output to the account (receive addresses loaded in the pool, change addresses\n' +
        '…/1/j up to the highest used + 1000) and every spend of them. Each block is committed\n' +
        'with its hash in one transaction: an interrupted sync resumes where it stopped. When the\n' +
        'node\'s chain no longer holds a recorded block, everything from the fork on is rolled\n' +
        'back and re-read; deposits that vanished are reported.\n\n' + NODE_HELP + '\n\n' +
        'JSON: {"db", "node", "tip": {height, hash} | null, "blocks", "outputs", "spends",\n' +
        '  "reorgs": [{forkHeight, depth, dropped: [...]}], "disappeared": [...], "moved": [...], "stopped"}\n\n' +
        'Example:\n  coldpool chain sync --rpc-cookie ~/.bitcoin/.cookie --db mysql://coldpool_operator:…@127.0.0.1/coldpool',
    )
    .option('--from-height <h>', 'first height to scan on the first sync (default: the account\'s birthday)')
    .option('--db <url>', DB_OPTION_HELP)
    .option('--json', 'print the result as JSON')
    .option('-v, --verbose', 'one line per block that touched the account')
    .action(async (opts: NodeOptions & { fromHeight?: string; json?: boolean; verbose?: boolean }, cmd: Command) => {
      const fromHeight = opts.fromHeight === undefined ? undefined : parseIntegerOption('--from-height', opts.fromHeight, 0, 100_000_000);
      const signal = stopSignal();
      const report = reporter(out, Boolean(opts.verbose));
      try {
        await withChain(cmd, opts, async (source, store) => {
          const follower = await openFollower(source, store, { ...(fromHeight === undefined ? {} : { fromHeight }), onEvent: report.onEvent, shouldStop: signal.stopped });
          const result = await follower.sync();
          report.done();
          if (opts.json) out.data(toJson(syncJson(store.label, source.label, result)));
          else out.data(`synced to ${result.tip ? `${result.tip.height} ${result.tip.hash}` : 'nothing yet'}: ${result.blocks} block(s), ${result.outputs} output(s) to the account, ${result.spends} spend(s)${result.reorgs.length ? `, ${result.reorgs.length} reorg(s), ${result.disappeared.length} deposit(s) gone` : ''}${result.stopped ? ' (stopped)' : ''}`);
        });
      } finally {
        signal.dispose();
      }
    });

  addNodeOptions(group.command('follow'))
    .summary('keep following: new blocks and the mempool, until SIGINT/SIGTERM')
    .description(
      'Like `chain sync`, then poll every --interval seconds for new blocks and read the\n' +
        'mempool: unconfirmed deposits are recorded (shown by `deposits list` with 0\n' +
        'confirmations) but never counted as spendable coins. SIGINT/SIGTERM stop after the\n' +
        'block in progress. A node that goes away is reported and retried at the next poll.\n\n' + NODE_HELP,
    )
    .option('--interval <s>', 'seconds between polls', '10')
    .option('--no-mempool', 'do not read the mempool')
    .option('--db <url>', DB_OPTION_HELP)
    .option('-v, --verbose', 'one line per block that touched the account')
    .action(async (opts: NodeOptions & { interval: string; mempool: boolean; verbose?: boolean }, cmd: Command) => {
      const intervalMs = parseIntegerOption('--interval', opts.interval, 1, 86_400) * 1000;
      const signal = stopSignal();
      const report = reporter(out, opts.verbose ?? true);
      try {
        await withChain(cmd, opts, async (source, store) => {
          const follower = await openFollower(source, store, { onEvent: report.onEvent, shouldStop: signal.stopped });
          let lastTip = '';
          while (!signal.stopped()) {
            try {
              const r = await follower.sync();
              if (opts.mempool && !signal.stopped()) await follower.scanMempool();
              const tip = r.tip ? `${r.tip.height} ${r.tip.hash}` : 'nothing yet';
              if (tip !== lastTip) out.say(`at ${tip}`);
              lastTip = tip;
            } catch (e) {
              // A node that went away or answers garbage for a while: report and poll again.
              if (!isCoded(e, 'UNAVAILABLE', 'INVALID_INPUT')) throw e;
              out.say(`error: ${e.message} (retrying in ${intervalMs / 1000} s)`);
            }
            await signal.sleep(intervalMs);
          }
          out.say('stopped');
        });
      } finally {
        signal.dispose();
      }
    });

  group.command('status')
    .summary('the synced height, the account\'s coins and totals (no node needed)')
    .description('JSON: {"db", "synced": {height, hash, prevHash, time} | null, "firstHeight", "minConf",\n  "confirmedSat", "spendableSat", "unconfirmedSat", "coins": [{txid, vout, valueSat, address, chain, index, height, confirmations, spendable}]}\n(sats as strings)')
    .option('--min-conf <n>', 'confirmations a coin needs to count as spendable (at least 1)', '1')
    .option('--db <url>', DB_OPTION_HELP)
    .option('--json', 'print as JSON')
    .action(async (opts: { minConf: string; json?: boolean }, cmd: Command) => {
      const minConf = parseIntegerOption('--min-conf', opts.minConf, 1, 1_000_000);
      await withDatabase(configOf(cmd).db, async (db) => {
        const { summary: s, coins } = await chainStatus(db.chain, minConf);
        if (opts.json) {
          out.data(toJson({ db: db.label, synced: s.synced ?? null, firstHeight: s.firstHeight ?? null, minConf, confirmedSat: s.confirmedSat, spendableSat: s.spendableSat, unconfirmedSat: s.unconfirmedSat, coins }));
          return;
        }
        out.data([
          `db        ${db.label}`,
          `synced    ${s.synced ? `${s.synced.height} ${s.synced.hash} (${new Date(s.synced.time * 1000).toISOString()}), from ${s.firstHeight}` : 'never: run coldpool chain sync'}`,
          `coins     ${s.coins}: ${formatBtc(s.confirmedSat)} BTC confirmed, ${formatBtc(s.spendableSat)} BTC spendable (>= ${minConf} conf), ${formatBtc(s.unconfirmedSat)} BTC unconfirmed`,
          '',
          table(['txid:vout', 'BTC', 'address', 'path', 'height', 'conf', 'spendable'],
            coins.map((c) => [`${c.txid}:${c.vout}`, formatBtc(c.valueSat), c.address, `${c.chain}/${c.index}`, c.height ?? 'mempool', c.confirmations, c.spendable ? 'yes' : 'no'])),
        ].join('\n'));
      });
    });
}

/** `coldpool deposits list [--user U] [--json]`. */
export function registerDeposits(program: Command, out: Output): void {
  const group = program.commands.find((c) => c.name() === 'deposits') ?? program.command('deposits').summary('deposits found on the chain by `coldpool chain sync|follow`');
  group.command('list')
    .summary('deposits to pool addresses: address, user, txid:vout, amount, height, confirmations')
    .description('Unconfirmed deposits (mempool, seen by `chain follow`) show height "mempool" and 0\nconfirmations. Confirmations count up to the last synced block.\n\nJSON: [{address, user, txid, vout, amountSat, height, blockHash, confirmations, spentBy}] (sats as strings)')
    .option('--user <u>', 'only this user\'s deposits')
    .option('--db <url>', DB_OPTION_HELP)
    .option('--json', 'print as JSON')
    .action(async (opts: { user?: string; json?: boolean }, cmd: Command) => {
      await withDatabase(configOf(cmd).db, async (db) => {
        const deposits = await listDeposits(db.chain, opts.user === undefined ? {} : { user: opts.user });
        if (opts.json) {
          out.data(toJson(deposits.map((d) => ({ ...d, user: d.user ?? null, height: d.height ?? null, blockHash: d.blockHash ?? null, spentBy: d.spentBy ?? null }))));
          return;
        }
        out.data(table(['address', 'user', 'txid:vout', 'BTC', 'height', 'conf'],
          deposits.map((d) => [d.address, d.user ?? '-', `${d.txid}:${d.vout}`, formatBtc(d.amountSat), d.height ?? 'mempool', d.confirmations])));
      });
    });
}
