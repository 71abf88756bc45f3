import type { Alert, Notifier } from '../core/ports.js';

/**
 * Alerts as one JSON line each (`{"event":"alert",…}`) through `write`, by
 * default stdout, where journald or a log shipper picks them up. The text is
 * included verbatim, so the derive command is in the log too.
 */
export class LogNotifier implements Notifier {
  readonly channel = 'log';

  constructor(private readonly write: (line: string) => void = (line) => void process.stdout.write(`${line}\n`)) {}

  async verify(): Promise<void> {}

  async send(alert: Alert): Promise<void> {
    this.write(JSON.stringify({ event: 'alert', at: alert.at.toISOString(), kind: alert.kind, level: alert.level, title: alert.title, ...alert.facts, text: alert.text }));
  }

  async close(): Promise<void> {}
}
