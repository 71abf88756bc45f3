import { confirmationLink, newToken, tokenHash, tokenMatches } from '../core/confirmation-token.js';
import type { RequestUpdate, UserMailer, VerificationFeed, VerifierRequest, VerifierStore } from '../core/ports.js';
import { alertMail, tokenMail } from './messages.js';
import type { VerifierSettings } from './settings.js';
import { PAGE, RESCAN, commitStep, emptyCommit, judgeCurrent } from './step.js';

/**
 * Steps 4 and 5 of the verifier's loop: one-time tokens mailed to the
 * MIRRORED address of each new request's user (only the hash is stored,
 * before the mail leaves), the tokens the web app relayed judged in order,
 * and the ones nobody used in time expired.
 */

/** Token mails whose hashes are committed together before they go out. */
const TOKEN_BATCH = 50;
/** Token mails in flight at once (the pooled SMTP transport's connections). */
const MAIL_CONCURRENCY = 4;
/** Earlier tokens of a request remembered (by hash) after a cut-off mail. */
const MAX_SUPERSEDED = 10;
const CURSOR_RELAYS = 'relays';

export interface TokenDeps {
  readonly web: VerificationFeed;
  readonly store: VerifierStore;
  readonly mailer: UserMailer;
  readonly settings: VerifierSettings;
}

/** The cycle report's counters these steps move. */
export interface TokenCounters {
  tokensSent: number;
  confirmed: number;
  refused: number;
  locked: number;
  changed: number;
  errors: string[];
}

/** Step 4: a token for each new request (and a new one for each whose mail may have been cut off), mailed to the mirrored address. */
export async function sendTokens(deps: TokenDeps, now: Date, report: TokenCounters): Promise<void> {
  const todo = await deps.store.inState(['waiting', 'new', 'sending'], PAGE);
  if (todo.length === 0) return;
  const mirror = await deps.store.mirrorOf(todo.map((r) => r.user));
  const current = await deps.web.requests(todo.map((r) => r.withdrawalId));
  for (let k = 0; k < todo.length; k += TOKEN_BATCH) {
    const c = emptyCommit();
    const outgoing: { r: VerifierRequest; to: string; token: string; expiresAt: Date; issued: number }[] = [];
    for (const r of todo.slice(k, k + TOKEN_BATCH)) {
      if (!judgeCurrent(r, current.get(r.withdrawalId), c, report)) continue;
      const m = mirror.get(r.user);
      if (m === undefined) {
        if (r.state !== 'waiting') c.updates.push({ id: r.withdrawalId, from: [r.state], set: { state: 'waiting', note: 'its user is not in the email mirror yet' } });
        continue;
      }
      const token = newToken();
      const expiresAt = new Date(now.getTime() + deps.settings.tokenTtlMs);
      const issued = r.tokensIssued + 1;
      // A token whose mail may have gone out (state 'sending') is kept as superseded: a click on it is refused, but is no strike towards the lock.
      const superseded = r.state === 'sending' && r.tokenHash !== undefined ? [...(r.supersededHashes?.split(' ') ?? []), r.tokenHash].slice(-MAX_SUPERSEDED).join(' ') : r.supersededHashes;
      c.updates.push({ id: r.withdrawalId, from: [r.state], set: { state: 'sending', tokenHash: tokenHash(token), supersededHashes: superseded, tokenExpiresAt: expiresAt.toISOString(), tokensIssued: issued, note: undefined } });
      c.events.push({ kind: 'token-issued', withdrawalId: r.withdrawalId, user: r.user, detail: `token ${issued} to ${maskEmail(m.email)}, expires ${expiresAt.toISOString()}` });
      outgoing.push({ r, to: m.email, token, expiresAt, issued });
    }
    // The hashes are stored BEFORE any of these mails leaves: a token that went out is always one
    // the verifier can check. A crash after this commit leaves them 'sending', and the next cycle
    // issues NEW tokens for them (whichever old ones went out no longer work).
    await commitStep(deps.store, c, now);
    // Each mail's 'sent' is committed as soon as the relay took it, so a crash re-mails (with a new
    // token) at most the MAIL_CONCURRENCY mails in flight; the rest of the batch had not left yet.
    await mapLimit(outgoing, MAIL_CONCURRENCY, async (o) => {
      const mail = tokenMail(current.get(o.r.withdrawalId)!, confirmationLink(deps.settings.confirmUrl, o.r.withdrawalId, o.token), o.expiresAt, o.issued > 1);
      try {
        await deps.mailer.send({ to: o.to, subject: mail.subject, text: mail.text, kind: 'confirmation-token' });
      } catch (e) {
        report.errors.push(`token mail for withdrawal ${o.r.withdrawalId}: ${(e as Error).message}`);
        return;
      }
      await commitStep(deps.store, { updates: [{ id: o.r.withdrawalId, from: ['sending'], set: { state: 'sent', tokenSentAt: now.toISOString() } }], events: [], outbox: [] }, now);
      report.tokensSent++;
    });
  }
}

/** Step 5: the relayed tokens, each judged once: right and in time confirms; a reuse, another request's, a superseded or a late one is refused; wrong ones count towards the lock. */
export async function readRelays(deps: TokenDeps, now: Date, report: TokenCounters): Promise<void> {
  const cursor = await deps.store.cursor(CURSOR_RELAYS);
  // As for requests: relays committed late, below the cursor, are judged too, and each relay once.
  let after = cursor > RESCAN ? cursor - RESCAN : 0n;
  for (;;) {
    const page = await deps.web.relayedAfter(after, PAGE);
    if (page.length === 0) return;
    after = page[page.length - 1]!.id;
    const judged = await deps.store.relaysJudged(page.filter((t) => t.id <= cursor).map((t) => t.id));
    const relays = page.filter((t) => !judged.has(t.id));
    if (relays.length === 0 && after <= cursor) continue;
    const known = await deps.store.requests([...new Set(relays.map((t) => t.withdrawalId))]);
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
      } else if (r.supersededHashes?.split(' ').some((h) => tokenMatches(h, t.token))) {
        refuse('token-superseded', 'a token of an earlier mail, replaced after that mail was cut off: refused, no strike (the user has a newer link)');
      } else if (r.state === 'sent') {
        const wrong = r.wrongTokens + 1;
        if (wrong >= deps.settings.maxWrongTokens) {
          move({ state: 'locked', wrongTokens: wrong, note: `locked after ${wrong} wrong tokens` });
          c.outbox.push(alertMail('token-locked', 'critical', `coldpool verifier: withdrawal #${r.withdrawalId} locked after ${wrong} wrong tokens`,
            `Someone relayed ${wrong} wrong confirmation tokens for the request of user ${r.user}. It will never be attested; the user must ask again.`, { withdrawalId: r.withdrawalId.toString(), user: r.user, wrongTokens: wrong }));
          report.locked++;
        } else {
          move({ wrongTokens: wrong });
        }
        refuse('token-wrong', `wrong token (${wrong} of ${deps.settings.maxWrongTokens})`);
      } else {
        refuse('token-refused', `a token for a request that is ${r.state}`);
      }
    }
    await deps.store.commit({ ...c, relays: judgedNow, cursors: { [CURSOR_RELAYS]: after > cursor ? after : cursor } }, now);
  }
}

/** Tokens nobody relayed in time: the request is expired (`verifier resend` gives it a new one). */
export async function expireTokens(deps: TokenDeps, now: Date): Promise<void> {
  const sent = await deps.store.inState(['sent'], 100_000);
  const c = emptyCommit();
  for (const r of sent) {
    if (r.tokenExpiresAt === undefined || now.getTime() <= Date.parse(r.tokenExpiresAt)) continue;
    c.updates.push({ id: r.withdrawalId, from: ['sent'], set: { state: 'expired', note: `no confirmation before ${r.tokenExpiresAt}` } });
    c.events.push({ kind: 'token-expired', withdrawalId: r.withdrawalId, user: r.user, detail: `not confirmed before ${r.tokenExpiresAt}` });
  }
  await commitStep(deps.store, c, now);
}

/** `fn` over `items`, at most `limit` at a time; results in the order of `items`. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** `a***@example.com`: the verifier's events say where a token went without copying the address into every log. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return at <= 0 ? '***' : `${email[0]}***${email.slice(at)}`;
}
