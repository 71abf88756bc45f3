import { ledgers, type UserLedger } from '../verifier/balances.js';
import type { KeyObject } from 'node:crypto';
import { verify } from 'node:crypto';
import { auditMessage } from '../core/audit-signature.js';
import type { ChainVerdict } from '../core/audit-chain.js';
import { CodedError } from '../core/errors.js';
import type { LedgerMirror, PendingMail, VerifierEvent, VerifierRequest, VerifierState, VerifierStore } from '../core/ports.js';

/** What `coldpool verifier status` shows: the verifier's own database only. */
export interface VerifierOverview {
  readonly states: Readonly<Record<string, number>>;
  readonly users: number;
  readonly held: number;
  readonly pendingMail: number;
  /** ISO time of the last email sync, or undefined before the first. */
  readonly lastEmailSync: string | undefined;
  /** Requests not attested and not closed (at most 200), oldest first. */
  readonly open: readonly VerifierRequest[];
  readonly events: readonly (VerifierEvent & { id: bigint; at: string })[];
}

const NOT_DONE: readonly VerifierState[] = ['waiting', 'new', 'sending', 'sent', 'confirmed', 'changed', 'locked', 'expired', 'unpayable'];

export async function verifierOverview(store: VerifierStore): Promise<VerifierOverview> {
  const counts = await store.counts();
  const lastSync = await store.cursor('email-sync-ms');
  return {
    ...counts,
    lastEmailSync: lastSync === 0n ? undefined : new Date(Number(lastSync)).toISOString(),
    open: await store.inState(NOT_DONE, 200),
    events: await store.events({ limit: 20 }),
  };
}

/** One request at the verifier with every event about it, or undefined when it never saw it. */
export async function verifierRequest(store: VerifierStore, id: bigint): Promise<{ request: VerifierRequest; events: (VerifierEvent & { id: bigint; at: string })[] } | undefined> {
  const request = (await store.requests([id])).get(id);
  if (!request) return undefined;
  return { request, events: await store.events({ withdrawalId: id, limit: 1000 }) };
}

/**
 * Give an expired request a new token on the next cycle (`coldpool verifier
 * resend ID`): the user did not click in time. Only an expired request:
 * a locked one (too many wrong tokens) or a changed one must be asked for
 * again by the user, so that a web host cannot buy itself more guesses.
 */
export async function resendToken(store: VerifierStore, id: bigint, actor: string, now: Date): Promise<VerifierRequest> {
  const r = (await store.requests([id])).get(id);
  if (!r) throw new CodedError('NOT_FOUND', `withdrawal ${id} was never seen by this verifier`, { hint: 'the verifier sees a request on its next cycle' });
  if (r.state !== 'expired') {
    throw new CodedError('STATE_CONFLICT', `withdrawal ${id} is ${r.state} at the verifier; only an expired request gets a new token`, {
      hint: r.state === 'locked' || r.state === 'changed' ? 'the user must ask for the withdrawal again (a new request)' : 'nothing to do: the verifier handles it on its next cycle',
    });
  }
  await store.commit({
    updates: [{ id, from: ['expired'], set: { state: 'new', note: `new token asked by ${actor}` } }],
    events: [{ kind: 'resend', withdrawalId: id, user: r.user, detail: `a new token asked by ${actor}` }],
  }, now);
  return { ...r, state: 'new' };
}

/** The verifier's audit chain checked, and with its public key, every entry's signature. */
export interface VerifierAuditCheck {
  readonly chain: ChainVerdict;
  /** Entries without a signature, or by another key, or whose signature does not verify (undefined: no key given). */
  readonly unsigned: number | undefined;
  readonly badSignature: number | undefined;
}

export async function checkVerifierAudit(store: VerifierStore, key: { id: string; publicKey: KeyObject } | undefined): Promise<VerifierAuditCheck> {
  let unsigned = 0;
  let badSignature = 0;
  const chain = await store.verifyAudit((e) => {
    if (!key) return;
    if (e.keyId === undefined || e.signature === undefined) unsigned++;
    else if (e.keyId !== key.id || !verify(null, auditMessage(e.hash), key.publicKey, Buffer.from(e.signature, 'hex'))) badSignature++;
  });
  return { chain, unsigned: key ? unsigned : undefined, badSignature: key ? badSignature : undefined };
}

/** One user's balance at the verifier with its entries, and every alert the verifier raised about the user. */
export interface VerifierLedgerRow extends UserLedger {
  readonly alerts: readonly PendingMail[];
}

/**
 * `coldpool verifier ledger`: every user's ledger (balances.ts: the one place
 * the balance is computed) and the operators' alerts naming the user (an
 * alert's facts list the users it is about: first owner and new one of a
 * reassigned address, the user of a held request, …).
 */
export async function verifierLedger(store: VerifierStore, user?: string, mirror?: LedgerMirror): Promise<VerifierLedgerRow[]> {
  const books = await ledgers(store, user === undefined ? undefined : [user], mirror);
  const about = new Map<string, PendingMail[]>();
  for (const a of await store.alerts()) {
    const named = new Set<string>();
    const users = a.facts.users;
    if (Array.isArray(users)) for (const u of users) if (typeof u === 'string') named.add(u);
    if (typeof a.facts.user === 'string') named.add(a.facts.user);
    for (const u of named) about.set(u, [...(about.get(u) ?? []), a]);
  }
  const names = user === undefined ? [...new Set([...books.keys(), ...about.keys()])].sort() : [user];
  const out: VerifierLedgerRow[] = [];
  for (const u of names) {
    const l = books.get(u) ?? { user: u, deposits: [], debits: [], creditedSat: 0n, pendingDebitSat: 0n, confirmedDebitSat: 0n, internalSat: 0n, balanceSat: 0n };
    if (user === undefined && l.deposits.length + l.debits.length === 0 && l.internalSat === 0n && !about.has(u)) continue; // listed: a user with only reconciled internal entries
    out.push({ ...l, alerts: about.get(u) ?? [] });
  }
  return out;
}
