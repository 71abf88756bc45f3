import type { OutboxMail, RequestUpdate, VerifierEvent, VerifierRequest, VerifierStore, WithdrawalRecord } from '../core/ports.js';
import { contentText, fingerprint } from '../core/withdrawal-rules.js';
import { changedAlert } from './messages.js';

/**
 * What every step of the verifier's loop shares: the decisions a step
 * gathers before it commits them in one transaction, the commit, and the
 * re-check of a request against its first sight.
 */

/** Web statuses after which there is nothing left to attest. */
export const CLOSED: ReadonlySet<string> = new Set(['rejected', 'cancelled', 'invalid', 'failed']);
/** Rows read from the web database per page. */
export const PAGE = 1_000;
/** How far below its cursor the verifier reads again for rows committed late (ids are taken before commit). */
export const RESCAN = 1_000n;

export interface MutableCommit {
  updates: RequestUpdate[];
  events: VerifierEvent[];
  outbox: OutboxMail[];
  cursors?: Record<string, bigint>;
}

export function emptyCommit(): MutableCommit {
  return { updates: [], events: [], outbox: [] };
}

/** Commit a step's decisions in one transaction; nothing to commit, no transaction. */
export async function commitStep(store: VerifierStore, c: MutableCommit, now: Date): Promise<void> {
  if (c.updates.length + c.events.length + c.outbox.length + Object.keys(c.cursors ?? {}).length === 0) return;
  await store.commit(c, now);
}

/** A request as it stands now against its first sight; true when it may go on. */
export function judgeCurrent(r: VerifierRequest, w: WithdrawalRecord | undefined, c: MutableCommit, report: { changed: number }): boolean {
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

