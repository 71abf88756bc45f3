import type { Command } from 'commander';
import cron from 'node-cron';
import { systemClock } from '../../core/ports.js';
import { Watcher, type EventLog } from '../../flows/watch.js';
import type { Output } from '../output.js';
import { CONFIG_OPTION_HELP, DB_OPTION_HELP, channelsOf, checkCron, configOf } from './config.js';
import { startNotifiers } from './options.js';
import { withDatabase } from './database.js';

/** Resolves on the first SIGTERM or SIGINT. */
function stopSignal(): { promise: Promise<NodeJS.Signals>; dispose: () => void } {
  let dispose = () => {};
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    const on = (signal: NodeJS.Signals) => resolve(signal);
    process.once('SIGTERM', on);
    process.once('SIGINT', on);
    dispose = () => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
    };
  });
  return { promise, dispose };
}

/**
 * `coldpool watch [--cron EXPR]`: the low-water watcher daemon. Writes one
 * JSON line per event on stdout; stops cleanly after the check in progress on
 * SIGTERM or SIGINT (exit 0).
 */
export function registerWatch(program: Command, out: Output): void {
  program
    .command('watch')
    .summary('the low-water watcher: alert by email, webhook and log before the address pool runs dry')
    .description(
      'Check the pool at start, then on a cron schedule (default every 5 minutes). Below the threshold\n' +
        '(default 1000) an alert goes out on every channel, with the count, the threshold, the claims per\n' +
        'day, the days left and the exact `coldpool-offline derive` command for the next batch. It is\n' +
        'repeated at most once per --repeat (default 24h) while the pool stays low; a "recovered" notice\n' +
        'follows when a loaded batch lifts it back. This memory is in the database (table watcher_state,\n' +
        '`coldpool db migrate`), so a restart never re-sends. With --warn, an earlier warning level.\n\n' +
        'Failures never stop it: an unreachable database, SMTP server or webhook is logged and retried;\n' +
        'after 3 failures in a row the channels that still work get "watcher cannot reach the …".\n\n' +
        'Channels are configured in the config file (secrets only there, e.g. "passwordFile"):\n' +
        '  {"threshold":1000,"warning":2500,"repeat":"24h","cron":"*/5 * * * *","keystore":"/media/usb/cold.keystore",\n' +
        '   "channels":{"email":{"host":"smtp.example.com","port":587,"requireTls":true,"user":"alerts",\n' +
        '               "passwordFile":"/etc/coldpool/smtp-password","from":"coldpool@example.com","to":["ops@example.com"]},\n' +
        '               "webhook":{"url":"https://hooks.slack.com/services/…","headers":{}},\n' +
        '               "log":true}}\n' +
        'or env: COLDPOOL_WEBHOOK_URL, COLDPOOL_SMTP_HOST/_PORT, COLDPOOL_ALERT_EMAIL_FROM/_TO,\n' +
        'COLDPOOL_WATCH_CHANNELS=log,email,webhook, COLDPOOL_WATCH_THRESHOLD/_WARNING/_REPEAT/_CRON.\n' +
        'Order: flags, env, file, defaults. The log channel (JSON lines on stdout) is on unless "log":false.\n\n' +
        'Exit codes: 0 stopped by SIGTERM/SIGINT, 2 bad flag, 3 bad config or a channel that fails at start.',
    )
    .option('--db <url>', DB_OPTION_HELP)
    .option('--cron <expr>', 'schedule, node-cron syntax, optional seconds field first (default "*/5 * * * *")')
    .option('--threshold <n>', 'low-water mark (default 1000)')
    .option('--warn <n>', 'earlier warning level, above the threshold')
    .option('--repeat <duration>', 'repeat a low alert at most this often while it stays low: 90s, 15m, 24h, 1d (default 24h)')
    .option('--keystore <path>', 'keystore path on the signer, for the derive command in alerts (default cold.keystore)')
    .option('--config <file>', CONFIG_OPTION_HELP)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ coldpool watch --config /etc/coldpool/config.json\n' +
        "  $ COLDPOOL_WEBHOOK_URL=https://hooks.slack.com/services/… coldpool watch --cron '*/10 * * * *' --warn 3000\n\n" +
        'Log lines (stdout): {"event":"started"|"check"|"alert"|"delivered"|"delivery-failed"|"database-unavailable"|"stopped",…}\n',
    )
    .action(async (opts: { cron?: string }, cmd: Command) => {
      const config = configOf(cmd);
      const schedule = await checkCron(config, opts.cron !== undefined);
      const settings = config.watch;
      const notifiers = await startNotifiers(config, channelsOf(config), out);
      const log: EventLog = (event) => out.data(JSON.stringify(event));
      // One handle for the daemon's life: nothing connects until the first check, and a
      // check that finds the database unreachable is retried on the next tick.
      const { signal, pending } = await withDatabase(config.db, async (database) => {
        const watcher = new Watcher({
          pool: database.pool, state: database.watcher, notifiers, clock: systemClock, log,
          policy: { threshold: settings.threshold, warning: settings.warning, repeatMs: settings.repeatMs },
          derive: { keystore: settings.keystore, count: settings.batchCount },
          failuresBeforeAlert: settings.failuresBeforeAlert,
        });
        const stop = stopSignal();
        log({
          event: 'started', at: new Date().toISOString(), pid: process.pid, db: database.label, cron: schedule, threshold: settings.threshold,
          warning: settings.warning, repeat_s: settings.repeatMs / 1000, channels: notifiers.map((n) => n.channel), config: config.file,
        });
        const task = cron.schedule(schedule, () => watcher.tick(), {
          noOverlap: true,
          name: 'coldpool-watch',
          // node-cron's own notes (missed or overlapping runs) go to stderr: stdout is JSON lines only.
          logger: { info: () => {}, debug: () => {}, warn: (m) => out.say(`cron: ${m}`), error: (m) => out.say(`cron: ${String(m)}`) },
        });
        void watcher.tick();
        const received = await stop.promise;
        stop.dispose();
        await task.destroy();
        await watcher.idle();
        await Promise.all(notifiers.map((n) => n.close()));
        return { signal: received, pending: watcher.pendingDeliveries };
      });
      log({ event: 'stopped', at: new Date().toISOString(), signal, pending_deliveries: pending });
    });
}
