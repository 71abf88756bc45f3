import { createRequire } from 'node:module';
import type { Transporter } from 'nodemailer';
import { CodedError } from '../core/errors.js';
import type { Alert, Notifier, UserMailer } from '../core/ports.js';

export interface EmailChannelConfig {
  readonly host: string;
  readonly port: number;
  /** Implicit TLS from the first byte (port 465). Otherwise STARTTLS when the server offers it. */
  readonly secure: boolean;
  /** Refuse to send unless STARTTLS succeeds. */
  readonly requireTls: boolean;
  readonly user: string | undefined;
  /** Read from the config file or a `passwordFile`, never from a flag. */
  readonly password: string | undefined;
  readonly from: string;
  readonly to: readonly string[];
  /** Connection, greeting and socket timeout. */
  readonly timeoutMs: number;
}

/**
 * Alerts by mail through an SMTP relay (nodemailer). `verify()` at startup
 * connects and authenticates, so a wrong host or password is a startup error,
 * not a silent failure at the first alert.
 */
export class EmailNotifier implements Notifier {
  readonly channel = 'email';
  private readonly transport: Transporter;

  constructor(private readonly config: EmailChannelConfig) {
    this.transport = smtpTransport(config);
  }

  private get where(): string {
    return smtpWhere(this.config);
  }

  async verify(): Promise<void> {
    await verifySmtp(this.transport, this.config);
  }

  async send(alert: Alert): Promise<void> {
    try {
      await this.transport.sendMail({
        from: this.config.from,
        to: [...this.config.to],
        subject: alert.title,
        text: alert.text,
        headers: { 'X-Coldpool-Alert': alert.kind, 'X-Coldpool-Level': alert.level },
      });
    } catch (e) {
      throw new CodedError('UNAVAILABLE', `email to ${this.config.to.join(', ')} through ${this.where} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

/** The one SMTP transport of a channel config (alerts and user mail share it). */
function smtpTransport(config: EmailChannelConfig, pooled = false): Transporter {
  // Loaded only when email is configured: the CLI's start-up should not pay for it.
  const nodemailer = createRequire(import.meta.url)('nodemailer') as typeof import('nodemailer');
  return nodemailer.createTransport({
    // A pooled transport keeps its connection between mails: a verifier cycle mailing 1,000 tokens
    // pays one SMTP handshake, not 1,000 (about 150 ms each even on the loopback).
    ...(pooled ? { pool: true, maxConnections: 4, maxMessages: 1_000 } : {}),
    host: config.host,
    port: config.port,
    secure: config.secure,
    requireTLS: config.requireTls,
    ...(config.user !== undefined ? { auth: { user: config.user, pass: config.password ?? '' } } : {}),
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
  });
}

function smtpWhere(config: EmailChannelConfig): string {
  return `smtp://${config.host}:${config.port}`;
}

async function verifySmtp(transport: Transporter, config: EmailChannelConfig): Promise<void> {
  try {
    await transport.verify();
  } catch (e) {
    throw new CodedError('UNAVAILABLE', `email channel: cannot reach the SMTP server ${smtpWhere(config)}: ${(e as Error).message}`, {
      cause: e,
      hint: 'check channels.email host, port, secure/requireTls, user and password in the config file',
    });
  }
}

/**
 * Mail to one user through the relay of `channels.email` (the verifier's
 * tokens and email-change notices). Errors never repeat the body: a token
 * mail's body holds the token.
 */
export class SmtpUserMailer implements UserMailer {
  private readonly transport: Transporter;

  constructor(private readonly config: EmailChannelConfig) {
    this.transport = smtpTransport(config, true);
  }

  async verify(): Promise<void> {
    await verifySmtp(this.transport, this.config);
  }

  async send(mail: { readonly to: string; readonly subject: string; readonly text: string; readonly kind: string }): Promise<void> {
    try {
      await this.transport.sendMail({ from: this.config.from, to: mail.to, subject: mail.subject, text: mail.text, headers: { 'X-Coldpool-Mail': mail.kind } });
    } catch (e) {
      throw new CodedError('UNAVAILABLE', `mail (${mail.kind}) to ${mail.to} through ${smtpWhere(this.config)} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
