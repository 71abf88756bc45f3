import { CodedError } from '../core/errors.js';
import type { Alert, Notifier } from '../core/ports.js';

export interface WebhookChannelConfig {
  readonly url: string;
  /** Extra headers (e.g. an Authorization token), from the config file only. */
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

/**
 * Alerts as a JSON POST. The body has a Slack-compatible `text` (Slack,
 * Mattermost and Rocket.Chat incoming webhooks show it as is) plus the facts
 * as fields for anything that parses JSON:
 *
 * ```json
 * {"text":"coldpool CRITICAL: 812 …","kind":"low","level":"critical","at":"…","available":812,"threshold":1000,…}
 * ```
 *
 * Any status other than 2xx is a failure (retried by the watcher).
 */
export class WebhookNotifier implements Notifier {
  readonly channel = 'webhook';

  constructor(private readonly config: WebhookChannelConfig) {}

  /** The URL without its path and query, which often carry the token. */
  private get where(): string {
    const u = new URL(this.config.url);
    return `${u.protocol}//${u.host}`;
  }

  async verify(): Promise<void> {
    // Posting a test message at every start would spam the channel; the URL was checked by the config parser.
  }

  async send(alert: Alert): Promise<void> {
    const body = JSON.stringify({ text: alert.text, kind: alert.kind, level: alert.level, title: alert.title, at: alert.at.toISOString(), ...alert.facts });
    let res: Response;
    try {
      res = await fetch(this.config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'coldpool-watch', ...this.config.headers },
        body,
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new CodedError('UNAVAILABLE', `webhook ${this.where} unreachable: ${cause}`, { cause: e });
    }
    const reply = (await res.text().catch(() => '')).slice(0, 200);
    if (!res.ok) throw new CodedError('UNAVAILABLE', `webhook ${this.where} answered HTTP ${res.status}${reply ? `: ${reply}` : ''}`);
  }

  async close(): Promise<void> {}
}
