import type { KeyObject } from 'node:crypto';
import { approvalContentFor, approvalContentJson, parseApprovalContent } from '../core/approval.js';
import { signAttestation } from '../core/attestation.js';
import { isCoded } from '../core/errors.js';
import type { Network } from '../core/network.js';
import type {
  ChainSource, Clock, Database, MirroredUser, Notifier, OutboxMail, UserMailer, VerificationFeed, VerifierDatabase, VerifierEvent, VerifierRequest, VerifierState, VerifierStore,
} from '../core/ports.js';
import { fingerprint } from '../core/withdrawal-rules.js';
import type { VerifierSettings } from './settings.js';
import { alertMail, alertOf, emailChangeNotices } from './messages.js';
import { AssignmentRecord, type AssignmentReport } from './assignments.js';
import { ledgers } from './balances.js';
import type { ChainView, ChainViewReport } from './chain-view.js';
import { reconcileLedger, type LedgerDeps, type LedgerReport } from './ledger.js';
import { chainViewDeposits } from './ledger-deposits.js';
import { CLOSED, PAGE, RESCAN, commitStep, emptyCommit, judgeCurrent, type MutableCommit } from './step.js';
import { expireTokens, readRelays, sendTokens } from './tokens.js';

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
 * 6. the assignment record (assignments.ts): addresses re-derived and
 *    recorded with their owner at first sight, any later change alerted;
 * 7. the verifier's own chain view (chain-view.ts, only with a node): deposits
 *    credited to first-sight owners, attested payouts seen paid, reorgs undone;
 * 8. attest each confirmed request that is unchanged (read again now), whose
 *    user is not on hold and, with a chain view, whose amount is within the
 *    user's balance at the verifier (balances.ts); otherwise it stays
 *    confirmed with a note (published to the web's verifier_notes so
 *    `review` shows why) and one alert; publish the attestations;
 * 9. send the outbox (notices and alerts carry no secret, so they are kept
 *    until sent; a token mail is never stored).
 */

export { DEFAULT_VERIFIER_SETTINGS, type VerifierSettings } from './settings.js';
const DEFAULT_ADDRESS_CHECK_MS = 10 * 60_000;

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
  /**
   * The verifier's own chain view (its own node, its own database). Without
   * one there is no balance checking: requests are attested as in issue 13
   * (confirmed, unchanged, not held), whatever the user's deposits.
   */
  readonly chainView?: ChainView;
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
  /** Of `held`: confirmed but above the user's balance at the verifier. */
  heldForBalance: number;
  published: number;
  assignments: AssignmentReport | undefined;
  chain: ChainViewReport | undefined;
  mailsSent: number;
  /** Step 6, the web app's ledger (undefined: not wired). */
  ledger: LedgerReport | undefined;
  /** What failed this cycle (the web database unreachable, a mail refused); the next cycle retries. */
  errors: string[];
}

/** Web statuses after which there is nothing left to attest. */
/** States the verifier re-checks against the web row every cycle. */
const OPEN: readonly VerifierState[] = ['waiting', 'new', 'sending', 'sent', 'confirmed', 'expired'];
const CURSOR_REQUESTS = 'requests';
const CURSOR_SYNC = 'email-sync-ms';
const CURSOR_WEB_DOWN = 'web-down-since-ms';
const CURSOR_NODE_DOWN = 'node-down-since-ms';
/** Every balance hold note starts so: a request held for its balance is alerted once, not every cycle. */
const BALANCE_HOLD = 'held: above the balance';

/** The verifier's chain view on its own database and node; the follower (and bitcoinjs-lib under it) loads only when a node is configured. */
export async function chainViewOn(own: VerifierDatabase, source: ChainSource): Promise<ChainView> {
  const { ChainView } = await import('./chain-view.js');
  return new ChainView(source, own.chain, own.store);
}

export class Verifier {
  private readonly assignments: AssignmentRecord;

  constructor(private readonly deps: VerifierDeps) {
    this.assignments = new AssignmentRecord(deps.web, deps.store, deps.settings.addressCheckEveryMs ?? DEFAULT_ADDRESS_CHECK_MS);
  }

  /**
   * A verifier on its two handles: the web database (read-only account) and
   * its own. Give `chainView` (a ChainView over `own.chain` and the verifier's
   * own node: `await chainViewOn(own, source)`) to check balances before attesting.
   */
  static on(web: Database, own: VerifierDatabase, deps: Omit<VerifierDeps, 'web' | 'network' | 'store'>): Verifier {
    return new Verifier({
      ledger: { feed: web.ledger, mirror: own.ledger, deposits: deps.chainView ? chainViewDeposits(own) : undefined },
      ...deps, web: web.verification, network: () => web.withdrawals.network(), store: own.store,
    });
  }

  /** One pass of the loop. Never throws for the web database or mail being down: the report says so, the alert goes out once. */
  async cycle(opts: { readonly forceSync?: boolean } = {}): Promise<CycleReport> {
    const now = this.deps.clock.now();
    const report: CycleReport = {
      at: now.toISOString(), synced: undefined, firstSight: 0, changed: 0, tokensSent: 0, confirmed: 0, refused: 0, locked: 0, attested: 0, held: 0, heldForBalance: 0, published: 0,
      assignments: undefined, chain: undefined, mailsSent: 0, ledger: undefined, errors: [],
    };
    try {
      const network = await this.deps.network();
      await this.firstSight(network, now, report);
      await this.recheck(now, report);
      if (opts.forceSync || (await this.syncDue(now))) await this.syncEmails(now, report);
      report.assignments = await this.assignments.step(now);
      await this.followChain(now, report);
      await sendTokens(this.deps, now, report);
      await readRelays(this.deps, now, report);
      await expireTokens(this.deps, now);
      if (this.deps.ledger) report.ledger = await reconcileLedger(this.deps.ledger, this.deps.store, now);
      await this.attest(now, report);
      await this.publish(now, report);
      await this.publishNotes(now);
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
    for (const r of open) judgeCurrent(r, current.get(r.withdrawalId), c, report);
    await this.commit(c, now);
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

  // ---- 6. attest and publish ---------------------------------------------

  private async attest(now: Date, report: CycleReport): Promise<void> {
    const confirmed = await this.deps.store.inState(['confirmed'], 10_000);
    if (confirmed.length === 0) return;
    // Read again now: a request edited between the click and this moment is never signed.
    const current = await this.deps.web.requests(confirmed.map((r) => r.withdrawalId));
    const mirror = await this.deps.store.mirrorOf(confirmed.map((r) => r.user));
    // With a chain view: what each user may still withdraw, lowered as this step attests (oldest request first).
    const books = this.deps.chainView === undefined ? undefined : await ledgers(this.deps.store, confirmed.map((r) => r.user), this.deps.ledger?.mirror);
    const available = new Map([...(books ?? new Map())].map(([u, l]) => [u, l.balanceSat as bigint]));
    const c = emptyCommit();
    const notes: { withdrawalId: bigint; note: string }[] = [];
    const hold = (r: VerifierRequest, note: string): void => {
      if (r.note !== note) {
        c.updates.push({ id: r.withdrawalId, from: ['confirmed'], set: { note } });
        notes.push({ withdrawalId: r.withdrawalId, note });
      }
      report.held++;
    };
    for (const r of confirmed) {
      if (!judgeCurrent(r, current.get(r.withdrawalId), c, report)) continue;
      const holdUntil = mirror.get(r.user)?.holdUntil;
      if (holdUntil !== undefined && Date.parse(holdUntil) > now.getTime()) {
        hold(r, `held until ${holdUntil}: the user's email changed`);
        continue;
      }
      const content = parseApprovalContent(JSON.parse(r.content!));
      if (books !== undefined) {
        const left = available.get(r.user) ?? 0n;
        if (content.amountSat > left) {
          const l = books.get(r.user);
          const note = `${BALANCE_HOLD}: user ${r.user} has ${left} sat at the verifier (confirmed deposits ${l?.creditedSat ?? 0n} sat to addresses recorded for the user, attested withdrawals ${(l?.pendingDebitSat ?? 0n) + (l?.confirmedDebitSat ?? 0n)} sat, reconciled internal entries ${l?.internalSat ?? 0n} sat${left !== (l?.balanceSat ?? 0n) ? ', and earlier requests of this cycle' : ''}); this request is ${content.amountSat} sat. It is attested once the balance covers it.`;
          if (!(r.note ?? '').startsWith(BALANCE_HOLD)) {
            c.outbox.push(alertMail('balance-hold', 'warning', `coldpool verifier: withdrawal #${r.withdrawalId} of user ${r.user} is above the user's balance at the verifier`,
              `${note}\n\nThe user confirmed it; it stays confirmed and held. A web ledger that shows more than the chain does is a sign of an edited web database.`,
              { withdrawalId: r.withdrawalId.toString(), user: r.user, users: [r.user], amountSat: content.amountSat.toString(), balanceSat: left.toString() }));
            c.events.push({ kind: 'balance-hold', withdrawalId: r.withdrawalId, user: r.user, detail: `${content.amountSat} sat asked, ${left} sat at the verifier` });
          }
          hold(r, note);
          report.heldForBalance++;
          continue;
        }
        available.set(r.user, left - content.amountSat);
      }
      const signature = signAttestation(content, this.deps.key.privateKey);
      c.updates.push({ id: r.withdrawalId, from: ['confirmed'], set: { state: 'attested', attestedAt: now.toISOString(), signature, note: undefined } });
      c.events.push({ kind: 'attested', withdrawalId: r.withdrawalId, user: r.user, detail: `signed by verifier key ${this.deps.key.id}` });
      if (r.note !== undefined) notes.push({ withdrawalId: r.withdrawalId, note: 'attested' });
      report.attested++;
    }
    if (c.updates.length + c.events.length + c.outbox.length + notes.length === 0) return;
    // The notes for the web go out with the step's decisions (same transaction), published by publishNotes.
    await this.deps.store.commit({ ...c, notes }, now);
  }

  // ---- the assignment record and the chain view ---------------------------

  private async followChain(now: Date, report: CycleReport): Promise<void> {
    const view = this.deps.chainView;
    if (view === undefined) return;
    try {
      report.chain = await view.step(now, (report.assignments?.recorded ?? 0) > 0);
    } catch (e) {
      if (!isCoded(e) || e.code !== 'UNAVAILABLE') throw e;
      // The node is down: the view stays where it was (deposits since are not credited yet, so a balance only errs low).
      report.errors.push(`node: ${(e as Error).message}`);
      if ((await this.deps.store.cursor(CURSOR_NODE_DOWN)) > 0n) return;
      await this.deps.store.commit({
        outbox: [alertMail('node-unavailable', 'critical', 'coldpool verifier cannot read its node', `${(e as Error).message}\n\nBalances stay as of the last block read; new deposits are not credited meanwhile.`, { error: (e as Error).message })],
        events: [{ kind: 'node-unavailable', detail: (e as Error).message }],
        cursors: { [CURSOR_NODE_DOWN]: BigInt(now.getTime()) },
      }, now);
      return;
    }
    const since = await this.deps.store.cursor(CURSOR_NODE_DOWN);
    if (since === 0n) return;
    await this.deps.store.commit({
      outbox: [alertMail('node-recovered', 'ok', 'coldpool verifier reads its node again', `It could not from ${new Date(Number(since)).toISOString()} to ${now.toISOString()}.`, {})],
      events: [{ kind: 'node-recovered', detail: `down since ${new Date(Number(since)).toISOString()}` }],
      resetCursors: [CURSOR_NODE_DOWN],
    }, now);
  }

  /** The hold notes, into the web database's verifier_notes (INSERT only; a repeat after a crash is the same row). */
  private async publishNotes(now: Date): Promise<void> {
    for (;;) {
      const rows = await this.deps.store.unpublishedNotes(PAGE);
      if (rows.length === 0) return;
      await this.deps.web.publishNotes(rows.map((n) => ({ withdrawalId: n.withdrawalId, note: n.note, notedAt: new Date(n.notedAt) })));
      await this.deps.store.commit({ notesPublished: rows.map((n) => n.id) }, now);
    }
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
    await commitStep(this.deps.store, c, now);
  }
}

