/**
 * The verifier's step of `coldpool demo` (flow 7 of DESIGN.md): a verifier
 * with its own SQLite database in the demo's directory and a key made for
 * the demo mails each request's user a one-time token, the "web app" relays
 * the clicked tokens, and the verifier attests. The demo has no SMTP server,
 * so the mail is kept in memory and shown, the token masked.
 */
import Sqlite from 'better-sqlite3';
import { join } from 'node:path';
import { parseApprovalContent } from '../core/approval.js';
import { verifyAttestation } from '../core/attestation.js';
import { publicKeyFromHex } from '../core/ed25519.js';
import { CodedError } from '../core/errors.js';
import { systemClock, type Database, type UserMailer } from '../core/ports.js';
import { relayConfirmation } from '../flows/relay-confirmation.js';
import { openVerifierDatabase } from '../store/db.js';
import { auditSigner } from '../core/audit-signature.js';
import { generateOperatorKey, writeOperatorKey } from '../trust/operator-key.js';
import { DEFAULT_VERIFIER_SETTINGS, Verifier } from '../verifier/cycle.js';

/** The link template of the demo's mails; nothing answers at it. */
export const DEMO_CONFIRM_URL = 'https://shop.example/confirm?w={id}&t={token}';

export interface CapturedMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly kind: string;
}

/** A UserMailer that keeps the mail: the demo shows it instead of sending it. */
export class MemoryMailer implements UserMailer {
  readonly mails: CapturedMail[] = [];
  async send(mail: CapturedMail): Promise<void> {
    this.mails.push({ to: mail.to, subject: mail.subject, text: mail.text, kind: mail.kind });
  }
  async verify(): Promise<void> {}
  async close(): Promise<void> {}
}

/** The confirmation link in a token mail, its withdrawal id and token. */
export function linkIn(text: string): { link: string; id: bigint; token: string } | undefined {
  const m = /https:\/\/shop\.example\/confirm\?w=(\d+)&t=([A-Za-z0-9_-]+)/.exec(text);
  return m ? { link: m[0], id: BigInt(m[1]!), token: m[2]! } : undefined;
}

/** The link with its token cut to 4 characters: even in a demo a printed token is a habit worth not having. */
export function maskedLink(link: string): string {
  return link.replace(/([?&]t=)([A-Za-z0-9_-]{4})[A-Za-z0-9_-]*/, '$1$2…');
}

export interface DemoAttestation {
  readonly withdrawal_id: string;
  readonly key_id: string;
  /** The signature verifies under the verifier's public key, over the request's content. */
  readonly verified: boolean;
}

export interface VerifierStepResult {
  readonly publicKey: string;
  readonly keyId: string;
  readonly attestations: DemoAttestation[];
}

/**
 * Run the verifier's part on the demo's web database (`webPath`, SQLite),
 * announcing each part with `step` and the mails with `say`.
 */
export async function demoVerifierStep(dir: string, database: Database, webPath: string, users: Readonly<Record<string, string>>, ids: readonly bigint[],
  step: (what: string, proves: string) => void, say: (line: string) => void): Promise<VerifierStepResult> {
  // The web app owns user_emails (schema 008): the demo plays the web app, writing it as the app would.
  const web = new Sqlite(webPath);
  try {
    const insert = web.prepare('INSERT INTO user_emails (user_id, email) VALUES (?, ?)');
    for (const [user, email] of Object.entries(users)) insert.run(user, email);
  } finally {
    web.close();
  }

  const key = generateOperatorKey('demo-verifier');
  await writeOperatorKey(join(dir, 'demo-verifier.key'), key, 'demo-verifier demo password');
  const vdb = openVerifierDatabase(`sqlite:${join(dir, 'verifier.db')}`, { auditSigner: auditSigner(key.id, key.privateKey) });
  try {
    await vdb.migrate();
    step(`verifier init: verifier.db and demo-verifier.key (key id ${key.id})`, 'the verifier has a database and an Ed25519 key of its own, on its own machine in real life');

    const mailer = new MemoryMailer();
    const verifier = Verifier.on(database, vdb, {
      key: { privateKey: key.privateKey, id: key.id }, mailer, notifiers: [], clock: systemClock,
      settings: { ...DEFAULT_VERIFIER_SETTINGS, confirmUrl: DEMO_CONFIRM_URL }, log: () => {},
    });
    const first = await verifier.cycle();
    const tokens = mailer.mails.filter((m) => m.kind === 'confirmation-token').map((m) => ({ mail: m, link: linkIn(m.text) }));
    if (first.errors.length > 0 || first.tokensSent !== ids.length || tokens.length !== ids.length || tokens.some((t) => t.link === undefined)) {
      throw new CodedError('INTERNAL', `demo: the verifier mailed ${tokens.length} token(s) for ${ids.length} request(s)${first.errors.length ? `: ${first.errors.join('; ')}` : ''}`);
    }
    step(`verifier run: ${first.firstSight} request(s) first seen, ${first.tokensSent} one-time token(s) mailed`, 'each user is asked at the address in the verifier\'s own mirror; only the token\'s hash is kept');
    for (const { mail, link } of tokens) say(`        mail to ${mail.to}: ${mail.subject} — link ${maskedLink(link!.link)}`);

    // The users click; the web app hands each token on without judging it.
    for (const { link } of tokens) await relayConfirmation(database.verification, link!.id, link!.token);
    step(`withdrawals confirm ${tokens.map((t) => t.link!.id).join(' ')}: the web host relays the clicked tokens`, 'the web host cannot tell a right token from a wrong one: only the verifier holds the hashes');

    const second = await verifier.cycle();
    const rows = await database.verification.attestations(ids);
    const publicKey = publicKeyFromHex(key.publicKey);
    const attestations: DemoAttestation[] = ids.map((id) => {
      const [row, ...more] = rows.get(id) ?? [];
      if (row === undefined || more.length > 0) throw new CodedError('INTERNAL', `demo: withdrawal ${id} has ${row === undefined ? 0 : 1 + more.length} attestation(s), expected 1`);
      const content = parseApprovalContent(JSON.parse(row.content));
      return { withdrawal_id: id.toString(), key_id: row.keyId, verified: content.withdrawalId === id && verifyAttestation(content, row.signature, publicKey) };
    });
    if (second.errors.length > 0 || second.attested !== ids.length || !attestations.every((a) => a.verified)) {
      throw new CodedError('INTERNAL', `demo: the verifier attested ${second.attested} of ${ids.length}${second.errors.length ? `: ${second.errors.join('; ')}` : ''}`);
    }
    step(`verifier run: ${second.confirmed} confirmed, ${second.attested} attested, ${second.published} published; attestations ${attestations.map((a) => `#${a.withdrawal_id} ${a.verified ? 'verifies' : 'DOES NOT VERIFY'}`).join(', ')}`,
      'the verifier signs each request the user confirmed and that did not change since it first saw it');
    return { publicKey: key.publicKey, keyId: key.id, attestations };
  } finally {
    await vdb.close();
  }
}
