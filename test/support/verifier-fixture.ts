/**
 * A verifier under test: a web database (SQLite file or MariaDB database,
 * migrated, network testnet), the verifier's own database of the same kind,
 * a real SMTP server that records the mail, a recording alert channel, a
 * clock the test moves, and the Verifier of src/verifier/cycle.ts wired to
 * all of it with a fresh Ed25519 key.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Alert, ChainSource, Database, Notifier, VerifierDatabase } from '../../src/core/ports.js';
import { auditSigner } from '../../src/core/audit-signature.js';
import { keyIdOf, publicKeyHex } from '../../src/core/ed25519.js';
import { NETWORKS } from '../../src/core/network.js';
import { SmtpUserMailer } from '../../src/notify/email.js';
import { openDatabase, openVerifierDatabase } from '../../src/store/db.js';
import { Verifier, DEFAULT_VERIFIER_SETTINGS, chainViewOn, type VerifierSettings } from '../../src/verifier/cycle.js';
import type { LedgerDeps } from '../../src/verifier/ledger.js';
import { SmtpSink, type Mail } from './alert-sinks.js';
import { freshDbUrl, type Cleanup } from './pool-fixtures.js';

export const CONFIRM_URL = 'https://shop.example/confirm?w={id}&t={token}';

export class RecordingNotifier implements Notifier {
  readonly channel = 'log';
  readonly alerts: Alert[] = [];
  async verify(): Promise<void> {}
  async send(alert: Alert): Promise<void> {
    this.alerts.push(alert);
  }
  async close(): Promise<void> {}
}

export interface VerifierFixture {
  readonly webUrl: string;
  readonly verifierUrl: string;
  readonly web: Database;
  readonly vdb: VerifierDatabase;
  readonly smtp: SmtpSink;
  readonly alerts: RecordingNotifier;
  readonly key: KeyObject;
  readonly publicKey: string;
  readonly keyId: string;
  readonly clock: { t: number; now(): Date };
  readonly verifier: Verifier;
  readonly logLines: string[];
  /** The token of the last mail to `to` about withdrawal `id`, read from the mail's link. */
  tokenFromMail(id: bigint): string | undefined;
  mailsTo(address: string): Mail[];
  close(): Promise<void>;
}

export function tokenIn(mail: Mail): { id: bigint; token: string } | undefined {
  const m = /https:\/\/shop\.example\/confirm\?w=(\d+)&t=([A-Za-z0-9_-]+)/.exec(mail.text.replace(/=\n/g, ''));
  return m ? { id: BigInt(m[1]!), token: decodeURIComponent(m[2]!) } : undefined;
}

/**
 * `opts.network`: the web database's network (testnet unless said);
 * `opts.source`: the verifier's own node, which turns its chain view and
 * balance checking on.
 */
export async function verifierFixture(kind: 'sqlite' | 'mariadb', cleanups: Cleanup[], settings: Partial<VerifierSettings> = {},
  opts: { network?: 'testnet' | 'regtest'; source?: ChainSource; ledger?: (web: Database, vdb: VerifierDatabase) => LedgerDeps } = {}): Promise<VerifierFixture> {
  const network = opts.network ?? 'testnet';
  const webUrl = await freshDbUrl(kind, cleanups);
  const verifierUrl = await freshDbUrl(kind, cleanups);
  const web = openDatabase(webUrl, { network });
  await web.migrate();
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicKey = publicKeyHex(privateKey);
  const vdb = openVerifierDatabase(verifierUrl, { auditSigner: auditSigner(keyIdOf(publicKey), privateKey) });
  await vdb.migrate();
  const smtp = await new SmtpSink().start();
  const mailer = new SmtpUserMailer({ host: '127.0.0.1', port: smtp.port, secure: false, requireTls: false, user: undefined, password: undefined, from: 'verifier@shop.example', to: ['ops@shop.example'], timeoutMs: 5_000 });
  const alerts = new RecordingNotifier();
  const clock = { t: Date.parse('2026-12-01T10:00:00.000Z'), now() { return new Date(this.t); } };
  const logLines: string[] = [];
  const chainView = opts.source === undefined ? undefined : await chainViewOn(vdb, opts.source);
  const verifier = new Verifier({
    ...(chainView ? { chainView } : {}),
    web: web.verification, network: async () => NETWORKS[network], store: vdb.store, key: { privateKey, id: keyIdOf(publicKey) }, mailer, notifiers: [alerts], clock,
    settings: { ...DEFAULT_VERIFIER_SETTINGS, confirmUrl: CONFIRM_URL, ...settings }, ...(opts.ledger ? { ledger: opts.ledger(web, vdb) } : {}), log: (e) => void logLines.push(JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))),
  });
  return {
    webUrl, verifierUrl, web, vdb, smtp, alerts, key: privateKey, publicKey, keyId: keyIdOf(publicKey), clock, verifier, logLines,
    tokenFromMail(id) {
      const found = smtp.mails.map(tokenIn).filter((t) => t?.id === id);
      return found[found.length - 1]?.token;
    },
    mailsTo(address) {
      return smtp.mails.filter((m) => m.to.includes(address));
    },
    close: async () => {
      await mailer.close();
      await smtp.stop();
      await web.close();
      await vdb.close();
    },
  };
}
