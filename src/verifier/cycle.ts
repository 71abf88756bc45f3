import type { KeyObject } from 'node:crypto';
import { approvalContentFor, approvalContentJson, parseApprovalContent } from '../core/approval.js';
import { signAttestation } from '../core/attestation.js';
import { confirmationLink, newToken, tokenHash, tokenMatches } from '../core/confirmation-token.js';
import { isCoded } from '../core/errors.js';
import type { Network } from '../core/network.js';
import type {
  Clock, Database, MirroredUser, Notifier, OutboxMail, RequestUpdate, UserMailer, VerificationFeed, VerifierDatabase, VerifierEvent, VerifierRequest, VerifierState, VerifierStore,
  WithdrawalRecord,
} from '../core/ports.js';
import { contentText, fingerprint } from '../core/withdrawal-rules.js';
import type { VerifierSettings } from './settings.js';
import { alertMail, alertOf, changedAlert, emailChangeNotices, tokenMail } from './messages.js';
import { reconcileLedger, type LedgerDeps, type LedgerReport } from './ledger.js';
import { chainViewDeposits } from './ledger-deposits.js';

/**
 * The verifier's pull loop (DESIGN.md "The verifier"), one `cycle()` at a
 * time. Each step reads, decides, and commits what it decided to the
 * verifier's own database in ONE transaction, with the cursor of what it has
 * read, so a SIGKILL anywhere leaves a step done or not done, never half:
 *
 * 1. first sight of new requests (fingerprint, the content to attest);
 * 2. re-check open requests: one that changed or vanished is never attested;
 * 3. sync the email mirror when due (default hourly) or when a new request's
 *    user is not mirrored yet: a change is stamped with this clock, both
 *    addresses are told, and the user is held (default 24 h);
 * 4. a token for each new request, mailed to the MIRRORED address; only its
 *    hash is stored, before the mail goes out (a crash after storing and
 *    before marking it sent issues a NEW token next cycle: the old one, if it
 *    went out, no longer works, so no token is ever valid twice);
 * 5. relayed tokens, in order: right and in time confirms, a reuse or a token
 *    of another request is refused, too many wrong ones lock the request;
 * 6. attest each confirmed request that is unchanged (read again now) and
 *    whose user is not on hold; publish the attestations in the web database;
 * 7. send the outbox (notices and alerts carry no secret, so they are kept
 *    until sent; a token mail is never stored).
 */

export { DEFAULT_VERIFIER_SETTINGS, type VerifierSettings } from './settings.js';

export interface VerifierDeps {
  readonly web: VerificationFeed;
  /** The pool's network (the web database's pinned account). */
  readonly network: () => Promise<Network>;
  readonly store: VerifierStore;
  readonly key: { readonly privateKey: KeyObject; readonly id: string };
  readonly mailer: UserMailer;
  readonly notifiers: readonly Notifier[];
  readonly clock: Clock;
  readonly settings: VerifierSettings;
  /** One JSON object per event (never a token). */
  readonly log: (event: Record<string, unknown>) => void;
  /** The web app's published ledger and the verifier's mirror of it (step 6); absent: not reconciled. */
  readonly ledger?: LedgerDeps;
}

export interface CycleReport {
  readonly at: string;
  synced: { users: number; added: number; changed: number; missing: number } | undefined;
  firstSight: number;
  changed: number;
  tokensSent: number;
  confirmed: number;
  refused: number;
  locked: number;
  attested: number;
  held: number;
  published: number;
  mailsSent: number;
  /** Step 6, the web app's ledger (undefined: not wired). */
  ledger: LedgerReport | undefined;
  /** What failed this cycle (the web database unreachable, a mail refused); the next cycle retries. */
  errors: string[];
}

/** Web statuses after which there is nothing left to attest. */
const CLOSED = new Set(['rejected', 'cancelled', 'invalid', 'failed']);
/** States the verifier re-checks against the web row every cycle. */
const OPEN: readonly VerifierState[] = ['waiting', 'new', 'sending', 'sent', 'confirmed', 'expired'];
const PAGE = 1_000;
/** How far below its cursor the verifier reads again for rows committed late (ids are taken before commit). */
const RESCAN = 1_000n;
const CURSOR_REQUESTS = 'requests';
const CURSOR_RELAYS = 'relays';
const CURSOR_SYNC = 'email-sync-ms';
const CURSOR_WEB_DOWN = 'web-down-since-ms';

export class Verifier {
  constructor(private readonly deps: VerifierDeps) {}

  /** A verifier on its two handles: the web database (read-only account) and its own. */
  static on(web: Database, own: VerifierDatabase, deps: Omit<VerifierDeps, 'web' | 'network' | 'store'>): Verifier {
    return new Verifier({
      ledger: { feed: web.ledger, mirror: own.ledger, deposits: chainViewDeposits(own) },
      ...deps, web: web.verification, network: () => web.withdrawals.network(), store: own.store,
    });
  }

  /** One pass of the loop. Never throws for the web database or mail being down: the report says so, the alert goes out once. */
  async cycle(opts: { readonly forceSync?: boolean } = {}): Promise<CycleReport> {
    const now = this.deps.clock.now();
    const report: CycleReport = {
      at: now.toISOString(), synced: undefined, firstSight: 0, changed: 0, tokensSent: 0, confirmed: 0, refused: 0, locked: 0, attested: 0, held: 0, published: 0, mailsSent: 0, ledger: undefined, errors: [],
    };
    try {
      const network = await this.deps.network();
      await this.firstSight(network, now, report);
      await this.recheck(now, report);
      if (opts.forceSync || (await this.syncDue(now))) await this.syncEmails(now, report);
      await this.sendTokens(now, report);
      await this.readRelays(now, report);
      await this.expire(now);
      if (this.deps.ledger) report.ledger = await reconcileLedger(this.deps.ledger, this.deps.store, now);
      await this.attest(now, report);
      await this.publish(now, report);
      await this.webUp(now);
    } catch (e) {
      if (!isCoded(e) || !['UNAVAILABLE', 'REFUSED'].includes(e.code)) throw e;
      report.errors.push((e as Error).message);
      await this.webDown(now, (e as Error).message);
    }
    await this.sendOutbox(now, report);
    this.deps.log({ event: 'cycle', ...report });
    return report;
  }

  // ---- 1. first sight -----------------------------------------------------

  private async firstSight(network: Network, now: Date, report: CycleReport): Promise<void> {
    const cursor = await this.deps.store.cursor(CURSOR_REQUESTS);
    // An auto-increment id is taken at INSERT and seen at COMMIT: with many web workers a lower id
    // can appear after a higher one was read. The last RESCAN ids below the cursor are read again,
    // and only the ones never seen are new, so a late commit is still seen (once).
    let after = cursor > RESCAN ? cursor - RESCAN : 0n;
    for (;;) {
      const rows = await this.deps.web.requestsAfter(after, PAGE);
      if (rows.length === 0) return;
      after = rows[rows.length - 1]!.id;
      const known = await this.deps.store.requests(rows.filter((w) => w.id <= cursor).map((w) => w.id));
      const inserts = rows.filter((w) => !known.has(w.id)).map((w) => {
        const fp = fingerprint(w);
        let content: string | undefined;
        let note: string | undefined;
        try {
          content = JSON.stringify(approvalContentJson(approvalContentFor(network, w, fp)));
        } catch (e) {
          note = `the request cannot be paid: ${(e as Error).message}`;
        }
        const state: VerifierState = content === undefined ? 'unpayable' : CLOSED.has(String(w.status)) ? 'closed' : 'new';
        return { withdrawalId: w.id, user: w.user, fingerprint: fp, content, firstSeenAt: now.toISOString(), state, note };
      });
      if (inserts.length === 0 && after <= cursor) continue;
      await this.deps.store.commit({
        inserts,
        events: inserts.map((r) => ({ kind: 'first-sight', withdrawalId: r.withdrawalId, user: r.user, detail: `fingerprint ${r.fingerprint}${r.note ? `; ${r.note}` : ''}` })),
        cursors: { [CURSOR_REQUESTS]: after > cursor ? after : cursor },
      }, now);
      report.firstSight += inserts.length;
    }
  }

  // ---- 2. re-check --------------------------------------------------------

  private async recheck(now: Date, report: CycleReport): Promise<void> {
    const open = await this.deps.store.inState(OPEN, 100_000);
    if (open.length === 0) return;
    const current = await this.deps.web.requests(open.map((r) => r.withdrawalId));
    const c = emptyCommit();
    for (const r of open) this.judgeCurrent(r, current.get(r.withdrawalId), c, report);
    await this.commit(c, now);
  }

  /** A request as it stands now against its first sight; true when it may go on. */
  private judgeCurrent(r: VerifierRequest, w: WithdrawalRecord | undefined, c: MutableCommit, report: CycleReport): boolean {
    if (w === undefined || fingerprint(w) !== r.fingerprint) {
      const after = w === undefined ? 'deleted from the web database' : contentText(w);
      c.updates.push({ id: r.withdrawalId, from: [r.state], set: { state: 'changed', note: w === undefined ? 'deleted from the web database after first sight' : `changed after first sight: now ${after}` } });
      c.events.push({ kind: 'request-changed', withdrawalId: r.withdrawalId, user: r.user, detail: `first seen ${r.fingerprint}, now ${w === undefined ? 'deleted' : fingerprint(w)}` });
      c.outbox.push(changedAlert(r, r.content ?? r.fingerprint, after));
      report.changed++;
      return false;
    }
    if (CLOSED.has(String(w.status))) {
      c.updates.push({ id: r.withdrawalId, from: [r.state], set: { state: 'closed', note: `${w.status} on the web side` } });
      c.events.push({ kind: 'closed', withdrawalId: r.withdrawalId, user: r.user, detail: `web status ${w.status}` });
      return false;
    }
    return true;
  }

  // ---- 3. the email mirror ------------------------------------------------

  private async syncDue(now: Date): Promise<boolean> {
    const last = Number(await this.deps.store.cursor(CURSOR_SYNC));
    if (now.getTime() - last >= this.deps.settings.emailSyncEveryMs) return true;
    // A new request of a user the mirror has never seen waits for a sync: do it now rather than in an hour.
    const waiting = await this.deps.store.inState(['waiting'], 1);
    return waiting.length > 0;
  }

  private async syncEmails(now: Date, report: CycleReport): Promise<void> {
    const view = new Map<string, string>();
    await this.deps.web.emails((rows) => {
      for (const r of rows) view.set(r.user, r.email.trim());
    });
    const mirror = await this.deps.store.mirror();
    const holdUntil = new Date(now.getTime() + this.deps.settings.holdMs);
    const mirrorAdd: MirroredUser[] = [];
    const mirrorSet: { user: string; set: Partial<Omit<MirroredUser, 'user' | 'firstSeenAt'>> }[] = [];
    const emailChanges: { user: string; oldEmail: string; newEmail: string; noticedAt: Date }[] = [];
    const outbox: OutboxMail[] = [];
    const events: VerifierEvent[] = [];
    for (const [user, email] of view) {
      const m = mirror.get(user);
      if (m === undefined) {
        mirrorAdd.push({ user, email, firstSeenAt: now.toISOString(), changedAt: undefined, holdUntil: undefined, missingSince: undefined });
      } else if (m.email !== email) {
        mirrorSet.push({ user, set: { email, changedAt: now.toISOString(), holdUntil: holdUntil.toISOString(), missingSince: undefined } });
        emailChanges.push({ user, oldEmail: m.email, newEmail: email, noticedAt: now });
        outbox.push(...emailChangeNotices(user, m.email, email, now, holdUntil));
        outbox.push(alertMail('email-changed', 'warning', `coldpool verifier: the email of user ${user} changed; withdrawals held until ${holdUntil.toISOString()}`,
          `from ${m.email}\nto   ${email}\nnoticed ${now.toISOString()} (the verifier's clock). Both addresses were told.`, { user, oldEmail: m.email, newEmail: email, holdUntil: holdUntil.toISOString() }));
        events.push({ kind: 'email-changed', user, detail: `${m.email} -> ${email}; held until ${holdUntil.toISOString()}` });
      } else if (m.missingSince !== undefined) {
        mirrorSet.push({ user, set: { missingSince: undefined } });
      }
    }
    let missing = 0;
    for (const [user, m] of mirror) {
      if (view.has(user) || m.missingSince !== undefined) continue;
      missing++;
      mirrorSet.push({ user, set: { missingSince: now.toISOString() } });
      outbox.push(alertMail('user-missing', 'warning', `coldpool verifier: user ${user} is no longer in the web app's email view`,
        `The verifier keeps mailing the address it mirrored (${m.email}); a user deleted on the web side cannot confirm through another address.`, { user, email: m.email }));
      events.push({ kind: 'user-missing', user, detail: `no longer listed by coldpool_user_emails; mirror keeps ${m.email}` });
    }
    await this.deps.store.commit({ mirrorAdd, mirrorSet, emailChanges, outbox, events, cursors: { [CURSOR_SYNC]: BigInt(now.getTime()) } }, now);
    report.synced = { users: view.size, added: mirrorAdd.length, changed: emailChanges.length, missing };
  }

  // ---- 4. tokens ----------------------------------------------------------

  private async sendTokens(now: Date, report: CycleReport): Promise<void> {
    const todo = await this.deps.store.inState(['waiting', 'new', 'sending'], PAGE);
    if (todo.length === 0) return;
    const mirror = await this.deps.store.mirrorOf(todo.map((r) => r.user));
    const current = await this.deps.web.requests(todo.map((r) => r.withdrawalId));
    for (const r of todo) {
      const c = emptyCommit();
      if (!this.judgeCurrent(r, current.get(r.withdrawalId), c, report)) {
        await this.commit(c, now);
        continue;
      }
      const m = mirror.get(r.user);
      if (m === undefined) {
        if (r.state !== 'waiting') {
          await this.commit({ ...c, updates: [{ id: r.withdrawalId, from: [r.state], set: { state: 'waiting', note: 'its user is not in the email mirror yet' } }] }, now);
        }
        continue;
      }
      const token = newToken();
      const expiresAt = new Date(now.getTime() + this.deps.settings.tokenTtlMs);
      const issued = r.tokensIssued + 1;
      // The hash is stored BEFORE the mail leaves: a token that went out is always one the verifier can check.
      await this.commit({
        ...c,
        updates: [{ id: r.withdrawalId, from: [r.state], set: { state: 'sending', tokenHash: tokenHash(token), tokenExpiresAt: expiresAt.toISOString(), tokensIssued: issued, note: undefined } }],
        events: [{ kind: 'token-issued', withdrawalId: r.withdrawalId, user: r.user, detail: `token ${issued} to ${maskEmail(m.email)}, expires ${expiresAt.toISOString()}` }],
      }, now);
      const mail = tokenMail(current.get(r.withdrawalId)!, confirmationLink(this.deps.settings.confirmUrl, r.withdrawalId, token), expiresAt, issued > 1);
      try {
        await this.deps.mailer.send({ to: m.email, subject: mail.subject, text: mail.text, kind: 'confirmation-token' });
      } catch (e) {
        // Stays 'sending': the next cycle issues a new token (this one may or may not have gone out).
        report.errors.push(`token mail for withdrawal ${r.withdrawalId}: ${(e as Error).message}`);
        continue;
      }
      await this.commit({ updates: [{ id: r.withdrawalId, from: ['sending'], set: { state: 'sent', tokenSentAt: now.toISOString() } }], events: [], outbox: [] }, now);
      report.tokensSent++;
    }
  }

  // ---- 5. relayed tokens --------------------------------------------------

  private async readRelays(now: Date, report: CycleReport): Promise<void> {
    const cursor = await this.deps.store.cursor(CURSOR_RELAYS);
    // As for requests: relays committed late, below the cursor, are judged too, and each relay once.
    let after = cursor > RESCAN ? cursor - RESCAN : 0n;
    for (;;) {
      const page = await this.deps.web.relayedAfter(after, PAGE);
      if (page.length === 0) return;
      after = page[page.length - 1]!.id;
      const judged = await this.deps.store.relaysJudged(page.filter((t) => t.id <= cursor).map((t) => t.id));
      const relays = page.filter((t) => !judged.has(t.id));
      if (relays.length === 0 && after <= cursor) continue;
      const known = await this.deps.store.requests([...new Set(relays.map((t) => t.withdrawalId))]);
      const c = emptyCommit();
      const judgedNow: { id: bigint; withdrawalId: bigint; outcome: string }[] = [];
      for (const t of relays) {
        const r = known.get(t.withdrawalId);
        const refuse = (kind: string, detail: string): void => {
          c.events.push({ kind, withdrawalId: t.withdrawalId, user: r?.user, detail: `relay #${t.id}: ${detail}` });
          judgedNow.push({ id: t.id, withdrawalId: t.withdrawalId, outcome: kind });
          report.refused++;
        };
        if (r === undefined) {
          refuse('token-refused', 'no such request at the verifier');
          continue;
        }
        const match = r.tokenHash !== undefined && tokenMatches(r.tokenHash, t.token);
        const move = (set: RequestUpdate['set']): void => {
          c.updates.push({ id: r.withdrawalId, from: [r.state], set });
          known.set(r.withdrawalId, { ...r, ...set } as VerifierRequest);
        };
        if (r.state === 'sent' && match) {
          if (r.tokenExpiresAt !== undefined && now.getTime() > Date.parse(r.tokenExpiresAt)) {
            move({ state: 'expired', note: `the token was relayed after it expired at ${r.tokenExpiresAt}` });
            refuse('token-expired', `relayed after ${r.tokenExpiresAt}`);
          } else {
            move({ state: 'confirmed', confirmedAt: now.toISOString(), note: undefined });
            c.events.push({ kind: 'confirmed', withdrawalId: r.withdrawalId, user: r.user, detail: `relay #${t.id}: the user's token, in time` });
            judgedNow.push({ id: t.id, withdrawalId: t.withdrawalId, outcome: 'confirmed' });
            report.confirmed++;
          }
        } else if (match) {
          refuse('token-reused', `the right token again, but the request is ${r.state}: a token works once`);
        } else if (r.state === 'sent') {
          const wrong = r.wrongTokens + 1;
          if (wrong >= this.deps.settings.maxWrongTokens) {
            move({ state: 'locked', wrongTokens: wrong, note: `locked after ${wrong} wrong tokens` });
            c.outbox.push(alertMail('token-locked', 'critical', `coldpool verifier: withdrawal #${r.withdrawalId} locked after ${wrong} wrong tokens`,
              `Someone relayed ${wrong} wrong confirmation tokens for the request of user ${r.user}. It will never be attested; the user must ask again.`, { withdrawalId: r.withdrawalId.toString(), user: r.user, wrongTokens: wrong }));
            report.locked++;
          } else {
            move({ wrongTokens: wrong });
          }
          refuse('token-wrong', `wrong token (${wrong} of ${this.deps.settings.maxWrongTokens})`);
        } else {
          refuse('token-refused', `a token for a request that is ${r.state}`);
        }
      }
      await this.deps.store.commit({ ...c, relays: judgedNow, cursors: { [CURSOR_RELAYS]: after > cursor ? after : cursor } }, now);
    }
  }

  private async expire(now: Date): Promise<void> {
    const sent = await this.deps.store.inState(['sent'], 100_000);
    const c = emptyCommit();
    for (const r of sent) {
      if (r.tokenExpiresAt === undefined || now.getTime() <= Date.parse(r.tokenExpiresAt)) continue;
      c.updates.push({ id: r.withdrawalId, from: ['sent'], set: { state: 'expired', note: `no confirmation before ${r.tokenExpiresAt}` } });
      c.events.push({ kind: 'token-expired', withdrawalId: r.withdrawalId, user: r.user, detail: `not confirmed before ${r.tokenExpiresAt}` });
    }
    await this.commit(c, now);
  }

  // ---- 6. attest and publish ---------------------------------------------

  private async attest(now: Date, report: CycleReport): Promise<void> {
    const confirmed = await this.deps.store.inState(['confirmed'], 10_000);
    if (confirmed.length === 0) return;
    // Read again now: a request edited between the click and this moment is never signed.
    const current = await this.deps.web.requests(confirmed.map((r) => r.withdrawalId));
    const mirror = await this.deps.store.mirrorOf(confirmed.map((r) => r.user));
    const c = emptyCommit();
    for (const r of confirmed) {
      if (!this.judgeCurrent(r, current.get(r.withdrawalId), c, report)) continue;
      const hold = mirror.get(r.user)?.holdUntil;
      if (hold !== undefined && Date.parse(hold) > now.getTime()) {
        const note = `held until ${hold}: the user's email changed`;
        if (r.note !== note) c.updates.push({ id: r.withdrawalId, from: ['confirmed'], set: { note } });
        report.held++;
        continue;
      }
      const content = parseApprovalContent(JSON.parse(r.content!));
      const signature = signAttestation(content, this.deps.key.privateKey);
      c.updates.push({ id: r.withdrawalId, from: ['confirmed'], set: { state: 'attested', attestedAt: now.toISOString(), signature, note: undefined } });
      c.events.push({ kind: 'attested', withdrawalId: r.withdrawalId, user: r.user, detail: `signed by verifier key ${this.deps.key.id}` });
      report.attested++;
    }
    await this.commit(c, now);
  }

  private async publish(now: Date, report: CycleReport): Promise<void> {
    for (;;) {
      const rows = await this.deps.store.unpublished(PAGE);
      if (rows.length === 0) return;
      await this.deps.web.publish(rows.map((r) => ({ withdrawalId: r.withdrawalId, keyId: this.deps.key.id, content: r.content!, signature: r.signature!, attestedAt: new Date(r.attestedAt!) })));
      await this.commit({ updates: rows.map((r) => ({ id: r.withdrawalId, from: ['attested'], set: { publishedAt: now.toISOString() } })), events: [], outbox: [] }, now);
      report.published += rows.length;
    }
  }

  // ---- 7. mail and alerts -------------------------------------------------

  private async sendOutbox(now: Date, report: CycleReport): Promise<void> {
    let pending;
    try {
      pending = await this.deps.store.pendingMail(500);
    } catch (e) {
      report.errors.push(`outbox: ${(e as Error).message}`);
      return;
    }
    for (const m of pending) {
      try {
        if (m.recipient !== undefined) await this.deps.mailer.send({ to: m.recipient, subject: m.subject, text: m.body, kind: m.kind });
        else for (const n of this.deps.notifiers) await n.send(alertOf(m.kind, m.subject, m.body, m.facts, new Date(m.createdAt)));
        await this.deps.store.mailSent(m.id, now);
        report.mailsSent++;
      } catch (e) {
        await this.deps.store.mailFailed(m.id).catch(() => {});
        report.errors.push(`${m.kind} mail ${m.id}: ${(e as Error).message}`);
      }
    }
  }

  private async webDown(now: Date, why: string): Promise<void> {
    const since = await this.deps.store.cursor(CURSOR_WEB_DOWN);
    if (since > 0n) return;
    await this.deps.store.commit({
      outbox: [alertMail('web-unavailable', 'critical', 'coldpool verifier cannot read the web database',
        `${why}\n\nNothing is attested while this lasts; the verifier retries every cycle.`, { error: why })],
      events: [{ kind: 'web-unavailable', detail: why }],
      cursors: { [CURSOR_WEB_DOWN]: BigInt(now.getTime()) },
    }, now);
  }

  private async webUp(now: Date): Promise<void> {
    const since = await this.deps.store.cursor(CURSOR_WEB_DOWN);
    if (since === 0n) return;
    await this.deps.store.commit({
      outbox: [alertMail('web-recovered', 'ok', 'coldpool verifier reads the web database again', `It could not from ${new Date(Number(since)).toISOString()} to ${now.toISOString()}.`, {})],
      events: [{ kind: 'web-recovered', detail: `down since ${new Date(Number(since)).toISOString()}` }],
      resetCursors: [CURSOR_WEB_DOWN],
    }, now);
  }

  private async commit(c: MutableCommit, now: Date): Promise<void> {
    if (c.updates.length + c.events.length + c.outbox.length + Object.keys(c.cursors ?? {}).length === 0) return;
    await this.deps.store.commit(c, now);
  }
}

interface MutableCommit {
  updates: RequestUpdate[];
  events: VerifierEvent[];
  outbox: OutboxMail[];
  cursors?: Record<string, bigint>;
}

function emptyCommit(): MutableCommit {
  return { updates: [], events: [], outbox: [] };
}

/** `a***@example.com`: the verifier's events say where a token went without copying the address into every log. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return at <= 0 ? '***' : `${email[0]}***${email.slice(at)}`;
}
