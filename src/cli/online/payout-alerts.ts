import type { Alert } from '../../core/ports.js';
import type { PayoutAlert } from '../../flows/payout.js';
import type { Output } from '../output.js';
import { toJson } from '../output.js';
import type { AlertChannels, Config } from './config.js';
import { startNotifiers } from './options.js';

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
