import { addToGroup, DEPOSIT, entryFingerprint, entryText, isInternal, isOutpointRef, reconciledTotals, type RefGroup } from '../core/ledger-rules.js';
import type {
  CreditedDeposit, CreditedDeposits, LedgerAlertKind, LedgerCommit, LedgerEntry, LedgerFeed, LedgerFinding, LedgerMirror, MirroredEntry, OutboxMail, VerifierEvent, VerifierStore,
} from '../core/ports.js';
import { alertMail } from './messages.js';

/**
 * Step 6 of the verifier (DESIGN.md "The verifier"): reconcile the web app's
 * published ledger (the coldpool_ledger and coldpool_balances views, schema
 * 011) against the verifier's own mirror of it and its own chain view.
 *
 * Two passes, each a walk of the web ledger by entry_id in pages, every page
 * committed with its cursor in ONE VerifierStore.commit (SIGKILL-safe: a
 * page is mirrored with its findings, alerts and audit entries, or not):
 *
 * - FULL (the first mirror, then every `fullEveryMs`, default hourly): every
 *   entry against the mirror (edited, deleted, new), then every deposit
 *   entry against the chain view, every zero-sum group, every balance;
 * - INCREMENTAL (every other cycle): the entries above the mirrored maximum
 *   minus `rescan` ids (auto-increment ids are taken at INSERT and seen at
 *   COMMIT: an honest late commit lands below the cursor, within the window),
 *   then only the users, refs and deposits those entries touch and the
 *   findings still standing. An edit or deletion of an OLDER entry, or a
 *   balance changed alone, waits for the next full pass: reading 1,000,000
 *   entries every minute would cost more than the hour it saves.
 *
 * The rules (sql/README.md "The ledger views"):
 * - edited: a mirrored entry whose fingerprint differs now;
 * - deleted: a mirrored entry the view no longer lists;
 * - out of order: a NEW entry whose id is below the rescan window (it
 *   appeared after `rescan` higher ids were mirrored: no honest late commit
 *   is that late), or dated (created_at) more than `backdateMs` before the
 *   latest mirrored entry. The first mirror judges no order: that history
 *   predates the verifier;
 * - a deposit entry without a chain deposit of the same amount to the same
 *   user (alerted once the chain view had `settleMs` to see it), a chain
 *   deposit credited to another user, or one ref credited twice;
 * - a zero-sum group (internal entries sharing a ref) not summing to zero
 *   once its latest entry is `settleMs` old;
 * - a balance that is not the sum of the user's mirrored entries, seen with
 *   the same difference in two checks in a row (one check may race an entry
 *   committed between the reads of entries and balances).
 *
 * Every finding is kept (ledger_findings) and alerted once; again only when
 * what it found changes (another edit of the same entry, another
 * difference); it is dropped (an audit entry says so) when it no longer holds.
 */

export interface LedgerSettings {
  readonly fullEveryMs: number;
  readonly settleMs: number;
  readonly backdateMs: number;
  /** Entries per page read and per commit. */
  readonly page: number;
  /** How far below the mirrored maximum every pass reads again (late commits). */
  readonly rescan: bigint;
}

export const DEFAULT_LEDGER_SETTINGS: LedgerSettings = { fullEveryMs: 3_600_000, settleMs: 3_600_000, backdateMs: 600_000, page: 20_000, rescan: 1_000n };

export interface LedgerDeps {
  readonly feed: LedgerFeed;
  readonly mirror: LedgerMirror;
  /** The verifier's chain view; undefined until it is wired: deposit entries are then not checked (the report says so). */
  readonly deposits: CreditedDeposits | undefined;
  readonly settings?: Partial<LedgerSettings>;
}

export interface LedgerReport {
  mode: 'none' | 'full' | 'incremental';
  /** Web entries read, entries newly mirrored. */
  read: number;
  mirrored: number;
  /** Findings alerted this cycle (new or changed), findings that no longer hold. */
  alerted: number;
  resolved: number;
  /** False while no chain view is wired (deposit entries unchecked). */
  depositsChecked: boolean;
  ms: number;
}

const CURSOR_ENTRIES = 'ledger-entries';
const CURSOR_CREATED = 'ledger-created-ms';
const CURSOR_FULL = 'ledger-full-ms';
/** Page commits running at once (see walk). */
const COMMITS_IN_FLIGHT = 2;
/** Alerts per kind per commit before the rest go in one summary alert: 10,000 edited rows are not 10,000 mails. */
const ALERTS_PER_KIND = 20;

interface Candidate {
  readonly key: string;
  readonly kind: LedgerAlertKind;
  readonly signature: string;
  readonly user: string | undefined;
  readonly detail: string;
  /** Alert now; otherwise kept as a suspect until it settles. */
  readonly alertNow: boolean;
}

/** What one pass collects for the whole-ledger checks (from the mirror's values: the verifier's record of the past). */
interface Aggregates {
  readonly users: Map<string, bigint>;
  readonly groups: Map<string, RefGroup>;
  readonly deposits: Map<string, MirroredEntry[]>;
}

/** What the new entries of a walk touch: the incremental pass checks these only. */
interface Touched {
  readonly users: Set<string>;
  readonly refs: Set<string>;
  /** New deposit entries without a ref (each its own finding). */
  readonly refless: MirroredEntry[];
}

/** One run of the step; the Verifier's cycle calls it once. */
export async function reconcileLedger(d: LedgerDeps, store: VerifierStore, now: Date): Promise<LedgerReport> {
  const t0 = performance.now();
  const s: LedgerSettings = { ...DEFAULT_LEDGER_SETTINGS, ...d.settings };
  const report: LedgerReport = { mode: 'none', read: 0, mirrored: 0, alerted: 0, resolved: 0, depositsChecked: d.deposits !== undefined, ms: 0 };
  const run = new LedgerRun(d, store, s, now, report);
  await run.go();
  report.ms = Math.round(performance.now() - t0);
  return report;
}

class LedgerRun {
  private existing = new Map<string, LedgerFinding>();
  private cursor = 0n;
  private maxCreatedMs = 0;
  private initial = false;
  /** The first mirror's index build, started when its walk ends. */
  private indexing: Promise<void> | undefined;
  private readonly nowIso: string;

  constructor(private readonly d: LedgerDeps, private readonly store: VerifierStore, private readonly s: LedgerSettings, private readonly now: Date, private readonly report: LedgerReport) {
    this.nowIso = now.toISOString();
  }

  async go(): Promise<void> {
    this.cursor = await this.store.cursor(CURSOR_ENTRIES);
    this.maxCreatedMs = Number(await this.store.cursor(CURSOR_CREATED));
    const lastFull = Number(await this.store.cursor(CURSOR_FULL));
    this.initial = lastFull === 0;
    const full = this.initial || this.now.getTime() - lastFull >= this.s.fullEveryMs;
    this.existing = await this.d.mirror.findings();
    const from = full ? 0n : this.cursor > this.s.rescan ? this.cursor - this.s.rescan : 0n;
    const agg: Aggregates = { users: new Map(), groups: new Map(), deposits: new Map() };
    const touched = await this.walk(from, full ? agg : undefined);
    if (touched === undefined) return; // no ledger published: nothing to check, nothing to say
    let failed = true;
    try {
      await this.judge(full, touched, agg);
      failed = false;
    } finally {
      // The first mirror's indexes: never return (or fail) with their build still running.
      await this.indexing?.catch((e: unknown) => {
        if (!failed) throw e;
      });
    }
  }

  private async judge(full: boolean, touched: Touched, agg: Aggregates): Promise<void> {
    this.report.mode = full ? 'full' : 'incremental';
    const judged = new Map<string, Candidate | null>();
    let balances: Map<string, bigint> | undefined;
    let credited: Map<string, CreditedDeposit> | undefined;
    if (full) {
      balances = new Map();
      const published = await this.d.feed.balances((rows) => {
        for (const r of rows) balances!.set(r.user, r.balanceSat);
      });
      if (!published) balances = undefined;
      if (this.d.deposits !== undefined) credited = await this.d.deposits.creditedDeposits();
      // A full pass judges everything: a standing aggregate finding it does not find again no longer holds.
      for (const key of this.existing.keys()) {
        if (key.startsWith('internal:') || key.startsWith('balance:') || (credited !== undefined && key.startsWith('deposit:'))) judged.set(key, null);
      }
    } else {
      // Only what the new entries touch, and what still stands.
      const refs = new Set(touched.refs);
      for (const f of this.existing.values()) {
        if (f.key.startsWith('internal:')) refs.add(f.key.slice('internal:'.length));
        else if (f.key.startsWith('deposit:') && !f.key.startsWith('deposit:entry:')) refs.add(f.key.slice('deposit:'.length));
        else if (f.key.startsWith('balance:')) touched.users.add(f.key.slice('balance:'.length));
      }
      for (const e of [...await this.d.mirror.entriesOfRefs([...refs]), ...touched.refless]) {
        if (e.kind === DEPOSIT) pushTo(agg.deposits, e.ref ?? `entry:${e.entryId}`, e);
        else addToGroup(agg.groups, e);
      }
      for (const u of touched.users) agg.users.set(u, 0n);
      for (const [u, sum] of await this.d.mirror.sumsOf([...touched.users])) agg.users.set(u, sum);
      balances = touched.users.size === 0 ? new Map() : await this.d.feed.balancesOf([...touched.users]);
      if (this.d.deposits !== undefined && agg.deposits.size > 0) credited = await this.d.deposits.creditedDeposits();
    }
    if (credited !== undefined) this.judgeDeposits(agg.deposits, credited, judged);
    this.judgeGroups(agg.groups, judged);
    if (balances !== undefined) this.judgeBalances(agg.users, balances, full, judged);
    await this.commit(judged, {}, full ? { [CURSOR_FULL]: BigInt(this.now.getTime()) } : {});
  }

  /**
   * Walk the web entries above `from` against the mirror, page by page, each
   * page one commit. Returns what the new entries touch, or undefined when the
   * web app publishes no ledger (no view, or an empty one and nothing mirrored).
   */
  private async walk(from: bigint, agg: Aggregates | undefined): Promise<Touched | undefined> {
    const touched: Touched = { users: new Set(), refs: new Set(), refless: [] };
    const lowWater = this.cursor > this.s.rescan ? this.cursor - this.s.rescan : 0n;
    let after = from;
    let next = this.d.feed.entriesAfter(after, this.s.page);
    // The commits of the previous pages still running while this page is read and compared: at most
    // COMMITS_IN_FLIGHT, each on its own connection on MySQL (the server's bulk insert is one thread per
    // statement: with one commit at a time this process waited for it ~40% of a first mirror). Safe out of
    // order: mirror rows are only ever inserted (IGNORE), each page's findings have keys of its own ids,
    // cursors only move up (VerifierStore.commit), and a full pass re-reads from id 0 after a crash.
    const inflight: Promise<void>[] = [];
    const settled = async (): Promise<void> => {
      while (inflight.length > 0) await inflight.shift();
    };
    // The first mirror goes in without the mirror's secondary indexes, built once at the end (store.commit was
    // ~90% of the first full pass with them maintained row by row: bench/README.md "Ledger reconciliation").
    let bulk = false;
    try {
      for (let first = true; ; first = false) {
        const web = await next;
        if (web === undefined || (first && web.length === 0 && this.cursor === 0n)) {
          await settled();
          return undefined;
        }
        if (first && this.initial && this.cursor === 0n) bulk = await this.d.mirror.beginFirstMirror();
        this.report.read += web.length;
        // The mirror's rows of the same id range: (after, last web id], or everything above when this is the last page.
        const upTo = web.length === this.s.page ? web[web.length - 1]!.entryId : undefined;
        // The next page is read while this one is compared and committed (on MySQL another pooled connection; SQLite
        // serializes them): its ids are above this page's, so nothing this page's commit writes changes what it reads.
        if (upTo !== undefined) {
          next = this.d.feed.entriesAfter(upTo, this.s.page);
          next.catch(() => {}); // awaited next iteration; a failure there is thrown there
        }
        const mine: MirroredEntry[] = [];
        for (let m = after; ;) {
          const rows = await this.d.mirror.entriesBetween(m, upTo, this.s.page);
          mine.push(...rows);
          if (rows.length < this.s.page) break;
          m = rows[rows.length - 1]!.entryId;
        }
        const judged = new Map<string, Candidate | null>();
        const inserts: MirroredEntry[] = [];
        let maxId = this.cursor;
        let maxCreated = this.maxCreatedMs;
        // Both lists ascend by entry_id (ORDER BY): one merge, no map of the page. An id the view lists twice
        // counts once, as its last row (what a map by id kept).
        const fresh: LedgerEntry[] = [];
        let i = 0;
        for (const m of mine) {
          let w: LedgerEntry | undefined;
          while (i < web.length && web[i]!.entryId <= m.entryId) {
            const x = web[i++]!;
            if (i < web.length && web[i]!.entryId === x.entryId) continue;
            if (x.entryId === m.entryId) w = x;
            else fresh.push(x);
          }
          if (agg !== undefined) collect(agg, m);
          const fp = w === undefined ? undefined : entryFingerprint(w);
          // The common case, an unchanged entry and no standing finding at all: no key text built for it.
          if (fp === m.fingerprint && this.existing.size === 0) continue;
          const key = `entry:${m.entryId}`;
          if (w === undefined || fp === undefined) {
            judged.set(key, { key, kind: 'ledger-deleted', signature: 'deleted', user: m.user, alertNow: true,
              detail: `entry #${m.entryId} (first seen ${m.firstSeenAt}: ${entryText(m)}) is no longer in coldpool_ledger` });
            continue;
          }
          if (fp !== m.fingerprint) {
            judged.set(key, { key, kind: 'ledger-edited', signature: fp, user: m.user, alertNow: true,
              detail: `entry #${m.entryId} changed after the verifier mirrored it\n  first seen ${m.firstSeenAt}: ${entryText(m)}\n  now: ${entryText(w)}` });
          } else if (this.existing.has(key)) {
            judged.set(key, null);
          }
        }
        for (; i < web.length; i++) if (i + 1 === web.length || web[i + 1]!.entryId !== web[i]!.entryId) fresh.push(web[i]!);
        // What is left of the page is new to the mirror, in id order.
        for (const w of fresh) {
          const createdMs = Date.parse(w.createdAt);
          let late: string | undefined;
          if (!this.initial && w.entryId <= lowWater) late = `its id is below ${this.s.rescan} entries already mirrored (the mirror had up to #${this.cursor})`;
          else if (!this.initial && this.maxCreatedMs > 0 && createdMs < maxCreated - this.s.backdateMs) late = `dated ${w.createdAt}, more than ${Math.round(this.s.backdateMs / 60_000)} min before the latest mirrored entry (${new Date(maxCreated).toISOString()})`;
          // Spelled out, not `{ ...w, … }`: V8's spread copy was ~3.5 µs of the ~20 µs this process spent per entry.
          const e: MirroredEntry = {
            entryId: w.entryId, user: w.user, amountSat: w.amountSat, kind: w.kind, ref: w.ref, createdAt: w.createdAt,
            fingerprint: entryFingerprint(w), firstSeenAt: this.nowIso, late: late !== undefined,
          };
          inserts.push(e);
          if (late !== undefined) {
            judged.set(`order:${w.entryId}`, { key: `order:${w.entryId}`, kind: 'ledger-out-of-order', signature: e.fingerprint, user: w.user, alertNow: true,
              detail: `entry #${w.entryId} appeared out of order: ${late}\n  ${entryText(w)}` });
          }
          if (w.entryId > maxId) maxId = w.entryId;
          if (!Number.isNaN(createdMs) && createdMs > maxCreated) maxCreated = createdMs;
          if (agg !== undefined) collect(agg, e);
          touched.users.add(w.user);
          if (w.ref !== undefined && w.ref !== '' && (w.kind === DEPOSIT || isInternal(w.kind))) touched.refs.add(w.ref);
          else if (w.kind === DEPOSIT) touched.refless.push(e);
        }
        this.report.mirrored += inserts.length;
        // This page commits while the next ones are compared: the mirror rows it writes are all at or below upTo, the
        // next page reads the mirror above it; commit() updates the standing findings before its first await.
        if (inflight.length >= COMMITS_IN_FLIGHT) await inflight.shift();
        const commit = this.commit(judged, { entries: inserts }, { [CURSOR_ENTRIES]: maxId, [CURSOR_CREATED]: BigInt(maxCreated) });
        commit.catch(() => {}); // awaited before a later commit or the return; a failure is thrown there
        inflight.push(commit);
        this.cursor = maxId;
        this.maxCreatedMs = maxCreated;
        if (upTo === undefined) {
          await settled();
          // Built while go() reads the balances and judges (the server sorts, this process judges); go() waits for it.
          if (bulk) {
            this.indexing = this.d.mirror.restoreIndexes();
            this.indexing.catch(() => {});
          }
          return touched;
        }
        after = upTo;
      }
    } catch (e) {
      // Never leave a commit running behind a failed walk (the caller may close the database next).
      await Promise.allSettled(inflight);
      // Best effort: if this fails too, the next read of the mirror (any process) builds them.
      if (bulk) await this.d.mirror.restoreIndexes().catch(() => {});
      throw e;
    }
  }

  private judgeDeposits(deposits: Map<string, MirroredEntry[]>, credited: Map<string, CreditedDeposit>, judged: Map<string, Candidate | null>): void {
    for (const [ref, list] of deposits) {
      const key = `deposit:${ref}`;
      const ids = list.map((e) => `#${e.entryId}`).join(', ');
      if (list.length > 1) {
        const users = [...new Set(list.map((e) => e.user))];
        judged.set(key, { key, kind: 'ledger-deposit-duplicate', signature: list.map((e) => `${e.entryId}:${e.user}`).join(','), user: users.join(','), alertNow: true,
          detail: `deposit ${ref} is credited ${list.length} times (entries ${ids}) to ${users.length === 1 ? `user ${users[0]}` : `users ${users.join(', ')}`}` });
        continue;
      }
      const e = list[0]!;
      const c = isOutpointRef(e.ref) ? credited.get(ref) : undefined;
      let problem: [string, string, boolean] | undefined;
      if (!isOutpointRef(e.ref)) problem = ['bad-ref', `its ref ${JSON.stringify(e.ref ?? null)} is not txid:vout`, true];
      else if (c === undefined) problem = ['missing', 'the verifier\'s chain view credits no such deposit', this.now.getTime() - Date.parse(e.firstSeenAt) >= this.s.settleMs];
      else if (c.user !== e.user) problem = [`user:${c.user}`, `the chain deposit belongs to user ${c.user}`, true];
      else if (c.amountSat !== e.amountSat) problem = [`amount:${c.amountSat}`, `the chain deposit is ${c.amountSat} sat`, true];
      if (problem === undefined) {
        this.holds(judged, key);
        continue;
      }
      judged.set(key, { key, kind: 'ledger-deposit-unmatched', signature: problem[0], user: e.user, alertNow: problem[2],
        detail: `deposit entry #${e.entryId} credits user ${e.user} with ${e.amountSat} sat for ${e.ref ?? '(no ref)'}, but ${problem[1]}` });
    }
  }

  private judgeGroups(groups: Map<string, RefGroup>, judged: Map<string, Candidate | null>): void {
    for (const [ref, g] of groups) {
      if (g.sum === 0n) {
        if (this.existing.size > 0) this.holds(judged, `internal:${ref}`);
        continue;
      }
      const key = `internal:${ref}`;
      judged.set(key, { key, kind: 'ledger-internal-unbalanced', signature: `${g.sum}/${g.count}`, user: undefined,
        alertNow: this.now.getTime() - g.lastSeenMs >= this.s.settleMs,
        detail: `the ${g.count} internal entries of ref ${ref} sum to ${g.sum} sat, not zero: money was made or lost inside the ledger` });
    }
  }

  private judgeBalances(sums: Map<string, bigint>, balances: Map<string, bigint>, full: boolean, judged: Map<string, Candidate | null>): void {
    const users = full ? new Set([...sums.keys(), ...balances.keys()]) : sums.keys();
    for (const user of users) {
      const sum = sums.get(user) ?? 0n;
      const published = balances.get(user);
      const diff = (published ?? 0n) - sum;
      if (diff === 0n) {
        if (this.existing.size > 0) this.holds(judged, `balance:${user}`);
        continue;
      }
      const key = `balance:${user}`;
      const signature = `${diff}`;
      // The same difference in two checks in a row: one check may race an entry committed between the two reads.
      judged.set(key, { key, kind: 'ledger-balance-mismatch', signature, user, alertNow: this.existing.get(key)?.signature === signature,
        detail: `user ${user}: coldpool_balances says ${published === undefined ? '(no row)' : `${published} sat`}, the user's entries sum to ${sum} sat (difference ${diff} sat)` });
    }
  }

  /**
   * `key` found nothing wrong: a standing finding of it no longer holds. Only
   * standing ones are marked: a full pass judges ~550,000 keys, nearly all of
   * them fine and never found.
   */
  private holds(judged: Map<string, Candidate | null>, key: string): void {
    if (this.existing.has(key)) judged.set(key, null);
  }

  /** One commit: the ledger rows, the findings' changes with their alerts and audit entries, the cursors. */
  private async commit(judged: Map<string, Candidate | null>, ledger: LedgerCommit, cursors: Record<string, bigint>): Promise<void> {
    const findingsSet: LedgerFinding[] = [];
    const findingsDrop: string[] = [];
    const events: VerifierEvent[] = [];
    const toAlert: Candidate[] = [];
    for (const [key, c] of judged) {
      const ex = this.existing.get(key);
      if (c === null) {
        if (ex === undefined) continue;
        findingsDrop.push(key);
        this.existing.delete(key);
        if (ex.state === 'open') {
          events.push({ kind: 'ledger-resolved', user: ex.user, detail: `${key} (${ex.kind}) no longer holds` });
          this.report.resolved++;
        }
        continue;
      }
      const same = ex !== undefined && ex.kind === c.kind && ex.signature === c.signature;
      if (same && (ex.state === 'open' || !c.alertNow)) continue;
      const f: LedgerFinding = {
        key, kind: c.kind, state: c.alertNow ? 'open' : 'suspect', signature: c.signature, user: c.user, detail: c.detail,
        firstSeenAt: same ? ex.firstSeenAt : this.nowIso, changedAt: this.nowIso,
      };
      findingsSet.push(f);
      this.existing.set(key, f);
      if (f.state === 'open') {
        toAlert.push(c);
        events.push({ kind: c.kind, user: c.user?.includes(',') ? undefined : c.user, detail: c.detail });
      }
    }
    const outbox = alertsFor(toAlert);
    this.report.alerted += toAlert.length;
    const commit = { ...ledger, findingsSet, findingsDrop };
    if ((commit.entries?.length ?? 0) + findingsSet.length + findingsDrop.length + Object.keys(cursors).length === 0) return;
    await this.store.commit({ ledger: commit, outbox, events, cursors }, this.now);
  }
}

function pushTo<K, V>(m: Map<K, V[]>, key: K, v: V): void {
  const list = m.get(key);
  if (list === undefined) m.set(key, [v]);
  else list.push(v);
}

function collect(agg: Aggregates, e: MirroredEntry): void {
  agg.users.set(e.user, (agg.users.get(e.user) ?? 0n) + e.amountSat);
  if (e.kind === DEPOSIT) pushTo(agg.deposits, e.ref ?? `entry:${e.entryId}`, e);
  else addToGroup(agg.groups, e);
}

const TITLES: Readonly<Record<LedgerAlertKind, string>> = {
  'ledger-edited': 'a past ledger entry was edited',
  'ledger-deleted': 'a past ledger entry was deleted',
  'ledger-out-of-order': 'a ledger entry was inserted out of order',
  'ledger-deposit-unmatched': 'a deposit entry has no matching chain deposit',
  'ledger-deposit-duplicate': 'one chain deposit is credited more than once',
  'ledger-balance-mismatch': 'a published balance is not the sum of its entries',
  'ledger-internal-unbalanced': 'internal ledger entries do not sum to zero',
};

function alertsFor(found: readonly Candidate[]): OutboxMail[] {
  const out: OutboxMail[] = [];
  const byKind = new Map<LedgerAlertKind, Candidate[]>();
  for (const c of found) pushTo(byKind, c.kind, c);
  for (const [kind, list] of byKind) {
    for (const c of list.slice(0, ALERTS_PER_KIND)) {
      out.push(alertMail(kind, 'critical', `coldpool verifier: ${TITLES[kind]} (${c.key})`,
        `${c.detail}\n\nSomeone with write access to the web database changed the ledger, or the web app broke its rules (sql/README.md "The ledger views"): investigate the web host.`,
        { finding: c.key, ...(c.user === undefined ? {} : { user: c.user }) }));
    }
    const rest = list.slice(ALERTS_PER_KIND);
    if (rest.length > 0) {
      out.push(alertMail(kind, 'critical', `coldpool verifier: ${TITLES[kind]}, ${rest.length} more`,
        `${rest.length} more findings of this kind in the same pass (each is in the verifier's audit log):\n${rest.slice(0, 50).map((c) => `  ${c.key}`).join('\n')}${rest.length > 50 ? '\n  …' : ''}`,
        { findings: rest.length }));
    }
  }
  return out;
}

/**
 * Each user's reconciled internal total (core/ledger-rules.ts
 * countsAsReconciled), from the verifier's mirror: what the balance before
 * attestation adds to "chain deposits minus attested withdrawals" when a
 * ledger is published. Users without internal entries are absent.
 */
export async function reconciledInternal(mirror: LedgerMirror, users: readonly string[]): Promise<Map<string, bigint>> {
  const own = (await mirror.entriesOfUsers(users)).filter((e) => isInternal(e.kind));
  const refs = [...new Set(own.flatMap((e) => (e.ref === undefined || e.ref === '' ? [] : [e.ref])))];
  // A group counts only whole: every entry sharing the ref, whoever's it is.
  const all = new Map<bigint, MirroredEntry>();
  for (const e of own) all.set(e.entryId, e);
  for (const e of await mirror.entriesOfRefs(refs)) if (isInternal(e.kind)) all.set(e.entryId, e);
  return reconciledTotals([...all.values()], new Set(users));
}
