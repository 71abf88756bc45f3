import type { Command } from 'commander';
import { CodedError } from '../../core/errors.js';
import {
  formatDaysLeft, formatRate, formatWindow, levelOf, nextDeriveCommand, nextLoadCommand, round1, type Forecast,
} from '../../core/low-water.js';
import type { AlertLevel } from '../../core/ports.js';
import { poolForecast } from '../../flows/watch.js';
import { withDatabase } from './database.js';
import { poolGroupOf } from './options.js';
import { ExitCode } from '../exit-codes.js';
import { toJson, type Output } from '../output.js';
import { CONFIG_OPTION_HELP, DB_OPTION_HELP, configOf, type WatchSettings } from './config.js';

interface PoolCheckOptions {
  db?: string;
  threshold?: string;
  warn?: string;
  keystore?: string;
  config?: string;
  json?: boolean;
}


export interface PoolCheckResult {
  readonly level: AlertLevel;
  readonly forecast: Forecast;
  readonly db: string;
}

/** Read the pool once: available count, claim rate, next index. */
export async function checkPool(url: string, now: Date = new Date()): Promise<{ db: string; forecast: Forecast }> {
  return withDatabase(url, async (db) => ({ db: db.label, forecast: await poolForecast(db.pool, db.watcher, now) }));
}

function report(config: WatchSettings, level: AlertLevel, db: string, f: Forecast): { json: Record<string, unknown>; text: string } {
  const command = nextDeriveCommand(f.nextIndex, { keystore: config.keystore, count: config.batchCount });
  const json = {
    status: level,
    available: f.available,
    threshold: config.threshold,
    warning: config.warning,
    claims_per_day: round1(f.claimsPerDay),
    window_days: round1(f.windowDays),
    days_left: round1(f.daysLeft),
    next_index: f.nextIndex,
    next_command: command,
    load_command: nextLoadCommand(f.nextIndex),
    db,
  };
  const limits = `threshold ${config.threshold}${config.warning !== undefined ? `, warning ${config.warning}` : ''}`;
  const rows: [string, string][] = [
    ['status', `${level.toUpperCase()}`],
    ['available', `${f.available} receive addresses (${limits})`],
    ['claims/day', `${formatRate(f.claimsPerDay)} (${formatWindow(f.windowDays)})`],
    ['days left', formatDaysLeft(f.daysLeft)],
    ['next batch', `${command}   (on the signer)`],
    ['then', `${nextLoadCommand(f.nextIndex)}   (here)`],
  ];
  const text = rows.map(([k, v]) => `${k.padEnd(11)} ${v}`).join('\n');
  return { json, text };
}

/**
 * `coldpool pool check [--threshold N] [--warn N] [--json]`: one check for
 * system cron and monitoring. Exit 0 at or above the threshold (also at the
 * warning level), 6 below it, 5 when the database cannot be reached.
 */
export function registerPoolCheck(program: Command, out: Output): void {
  poolGroupOf(program)
    .command('check')
    .summary('one low-water check for cron and monitoring: exit 6 when fewer addresses than the threshold remain')
    .description(
      'Count the available receive addresses and compare them with the threshold (default 1000).\n' +
        'Prints how many remain, the claims per day over the last 7 days (from assigned_at; over the\n' +
        'pool\'s age when it is younger), the days left at that rate, and the exact command that derives\n' +
        'the next batch on the signer. Threshold, warning and keystore path also come from the watcher\'s\n' +
        'config file (see `coldpool watch --help`) or COLDPOOL_WATCH_THRESHOLD / COLDPOOL_WATCH_WARNING /\n' +
        'COLDPOOL_KEYSTORE; flags win.\n\n' +
        'Exit codes: 0 at or above the threshold (a warning level still exits 0, and says WARNING),\n' +
        '            6 below the threshold, 5 database unreachable, 4 schema not migrated, 2/3 bad flag/config.',
    )
    .option('--db <url>', DB_OPTION_HELP)
    .option('--threshold <n>', 'low-water mark: fewer available addresses than this exits 6 (default 1000)')
    .option('--warn <n>', 'earlier warning level, above the threshold (reported, exit 0)')
    .option('--keystore <path>', 'keystore path on the signer, for the suggested derive command (default cold.keystore)')
    .option('--config <file>', CONFIG_OPTION_HELP)
    .option('--json', 'print the result as JSON on stdout (errors as JSON on stderr)', false)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ coldpool pool check\n' +
        '  $ coldpool pool check --threshold 2000 --warn 5000 --json\n' +
        '  # crontab, hourly; cron mails what a job prints, here only a failing check:\n' +
        '  0 * * * *  out=$(coldpool pool check --db sqlite:/var/lib/coldpool/pool.db 2>&1) || echo "$out"\n\n' +
        'JSON output: {"status":"ok|warning|critical","available","threshold","warning","claims_per_day",\n' +
        '              "window_days","days_left","next_index","next_command","load_command","db"}\n' +
        '(days_left is absent when nothing was claimed in the window)\n',
    )
    .action(async (opts: PoolCheckOptions, cmd: Command) => {
      const { db: url, watch: config } = configOf(cmd);
      const { db, forecast: f } = await checkPool(url);
      const level = levelOf(f.available, config);
      const { json, text } = report(config, level, db, f);
      out.data(opts.json ? toJson(json) : text);
      if (level === 'critical') {
        throw new CodedError('POOL_LOW', `${f.available} receive addresses left, below the threshold ${config.threshold}`, {
          hint: `derive the next batch on the signer: ${json.next_command}`,
          context: { available: f.available, threshold: config.threshold, exitCode: ExitCode.POOL_LOW },
        });
      }
    });
}
