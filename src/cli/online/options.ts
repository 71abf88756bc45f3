import type { Command } from 'commander';
import { openChainSource } from '../../chain/open-source.js';
import type { ChainSource } from '../../core/ports.js';
import { parseIntegerOption } from '../run.js';
import { CodedError } from '../../core/errors.js';
import type { Alert, Notifier } from '../../core/ports.js';
import type { PayoutAlert } from '../../flows/payout.js';
import { EmailNotifier } from '../../notify/email.js';
import { LogNotifier } from '../../notify/log.js';
import { WebhookNotifier } from '../../notify/webhook.js';
import { toJson, type Output } from '../output.js';
import type { AlertChannels, Config } from './config.js';

/**
 * What several commands of `coldpool` share: command groups and option
 * builders. Commands import these from here, never from each other.
 */

/** The `pool` command group, created by whichever pool command registers first. */
export function poolGroupOf(program: Command): Command {
  return program.commands.find((c) => c.name() === 'pool')
    ?? program.command('pool').summary('the deposit address pool: load, status, claim, assign, check');
}

export interface NodeOptions {
  node?: string;
  rpcCookie?: string;
  esplora?: string;
  timeout?: string;
  retries?: string;
}

export const NODE_HELP =
  'Node: --node http://user:pass@host:port (Bitcoin Core JSON-RPC; no wallet needed), or\n' +
  '--rpc-cookie FILE (Core\'s .cookie; with --node for another host/port, default http://127.0.0.1:8332),\n' +
  'or --esplora URL (an Esplora REST root such as https://blockstream.info/api). Environment:\n' +
  'COLDPOOL_NODE, COLDPOOL_RPC_COOKIE, COLDPOOL_ESPLORA; config file: "node", "rpcCookie", "esplora".\n' +
  'The password never appears in output.';

/** `--node`, `--rpc-cookie`, `--esplora` and the retry knobs, on a command that reads the chain. */
export function addNodeOptions(cmd: Command): Command {
  return cmd
    .option('--node <url>', 'Bitcoin Core JSON-RPC URL, http://user:pass@host:port (default: COLDPOOL_NODE)')
    .option('--rpc-cookie <file>', "Bitcoin Core's .cookie file instead of a password in the URL")
    .option('--esplora <url>', 'Esplora REST API root instead of Core (default: COLDPOOL_ESPLORA)')
    .option('--timeout <ms>', 'per-request timeout in milliseconds', '30000')
    .option('--retries <n>', 'retries of a failed request (network error, timeout, HTTP 5xx, node warming up), with backoff', '4');
}

/** The node the configuration names (flags, environment and file were weighed in `config.node`), with this command's retry knobs. */
export function sourceOf(config: Config, opts: NodeOptions): ChainSource {
  return openChainSource({
    ...config.node,
    timeoutMs: parseIntegerOption('--timeout', opts.timeout ?? '30000', 1, 3_600_000),
    retries: parseIntegerOption('--retries', opts.retries ?? '4', 0, 100),
  });
}

/** Build the configured notifiers and check each one now (SMTP handshake): a bad channel stops the start, exit 3. */
export async function startNotifiers(config: Config, channels: AlertChannels, out: Output): Promise<Notifier[]> {
  const notifiers: Notifier[] = [];
  if (channels.log) notifiers.push(new LogNotifier((line) => out.data(line)));
  if (channels.email) notifiers.push(new EmailNotifier(channels.email));
  if (channels.webhook) notifiers.push(new WebhookNotifier(channels.webhook));
  for (const n of notifiers) {
    try {
      await n.verify();
    } catch (e) {
      await Promise.all(notifiers.map((x) => x.close()));
      const why = e instanceof Error ? e.message : String(e);
      throw new CodedError('INVALID_INPUT', `config ${config.file ?? '(env)'}: channel "${n.channel}" does not work: ${why}`, {
        cause: e,
        hint: e instanceof CodedError && e.hint ? e.hint : 'fix the channel or remove it from the config',
      });
    }
  }
  return notifiers;
}

/**
 * Send what `payout status` recorded and an operator must hear of: always on
 * stderr (the log channel writes there, stdout stays the command's data),
 * and on the configured email and webhook channels. The state was recorded
 * and audited before; a channel that fails is said on stderr and does not
 * undo it.
 */
export async function sendPayoutAlerts(config: Config, channels: AlertChannels, alerts: readonly PayoutAlert[], out: Output): Promise<void> {
  if (alerts.length === 0) return;
  for (const a of alerts) out.say(`alert: ${a.title}\n${a.text}`);
  let notifiers;
  try {
    notifiers = await startNotifiers(config, { ...channels, log: false }, out);
  } catch (e) {
    out.say(`warning: the alert channels could not be started: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  try {
    for (const a of alerts) {
      // facts hold bigints: the wire form is the JSON text of output.ts (ids as strings)
      const alert: Alert = { kind: a.kind, level: 'critical', title: a.title, text: a.text, at: new Date(), facts: JSON.parse(toJson(a.facts)) as Record<string, unknown> };
      for (const n of notifiers) {
        try {
          await n.send(alert);
        } catch (e) {
          out.say(`warning: alert "${a.title}" was not delivered on ${n.channel}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  } finally {
    await Promise.all(notifiers.map((n) => n.close()));
  }
}
