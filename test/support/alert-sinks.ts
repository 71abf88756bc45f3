/**
 * Real alert receivers on 127.0.0.1 for the watcher tests: an SMTP server
 * (smtp-server, no TLS, any login accepted) and an HTTP server standing in for
 * a Slack-style webhook. Both record what arrived; `waitFor` polls for it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Mail {
  readonly from: string;
  readonly to: string[];
  readonly subject: string;
  /** The body, quoted-printable decoded. */
  readonly text: string;
  readonly raw: string;
}

function decodeQuotedPrintable(s: string): string {
  return Buffer.from(s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
}

function parseMail(raw: string, from: string, to: string[]): Mail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const subject = /^Subject: (.*)$/im.exec(head)?.[1] ?? '';
  const text = /Content-Transfer-Encoding: quoted-printable/i.test(head) ? decodeQuotedPrintable(body) : body;
  return { from, to, subject, text: text.replace(/\r\n/g, '\n'), raw };
}

export interface SmtpSinkOptions {
  /** Hold the reply to each message this long after it was received: a slow relay, so a kill lands between "mail delivered" and the sender knowing it. */
  readonly replyDelayMs?: number;
  /** Called as each message is recorded, before the reply goes out (a crash test kills the sender here). */
  readonly onMail?: (mail: Mail) => void;
}

export class SmtpSink {
  readonly mails: Mail[] = [];
  private server: SMTPServer | undefined;
  port = 0;

  constructor(private readonly options: SmtpSinkOptions = {}) {}

  /** Listen on 127.0.0.1 (on `port`, or a free one the first time). */
  async start(port = this.port): Promise<this> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth: (_auth, _session, cb) => cb(null, { user: 'test' }),
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          const mail = parseMail(Buffer.concat(chunks).toString('utf8'), from, session.envelope.rcptTo.map((r) => r.address));
          // Recorded once the whole message arrived (a sender killed mid-message never ends the stream): the user has it.
          this.mails.push(mail);
          this.options.onMail?.(mail);
          if (this.options.replyDelayMs) setTimeout(() => cb(), this.options.replyDelayMs);
          else cb();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    // After the listen: a sender killed with its connection open (a pooled transport) resets it; that is the test's doing, not a failure.
    server.on('error', () => {});
    this.server = server;
    this.port = (server.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

export interface Hook {
  readonly body: Record<string, unknown> & { text: string; kind: string };
  readonly headers: Record<string, string | string[] | undefined>;
}

export class WebhookSink {
  readonly hooks: Hook[] = [];
  /** Answer this status (e.g. 500 to simulate a broken receiver). */
  status = 200;
  private server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/T000/B000/secret`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.status === 200) this.hooks.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), headers: req.headers });
        res.writeHead(this.status, { 'content-type': 'text/plain' }).end(this.status === 200 ? 'ok' : 'broken');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }
}

/** Poll `check` until it returns a value (not undefined/false) or `ms` pass. */
export async function waitFor<T>(check: () => T | undefined | false, ms = 5000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
