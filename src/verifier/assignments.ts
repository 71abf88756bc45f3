import { childPublicKey, chainNode, p2wpkhAddress, type PublicNode } from '../core/derive.js';
import { parseAccountDescriptor } from '../core/descriptor.js';
import { NETWORKS, parseNetwork, type Network } from '../core/network.js';
import type {
  OutboxMail, PinnedAccount, RecordedAddress, VerificationFeed, VerifierCommit, VerifierEvent, VerifierStore, WebAddress,
} from '../core/ports.js';
import { alertMail } from './messages.js';

/**
 * Step 4 of DESIGN.md "The verifier": the verifier's own record of who holds
 * which address. The web database says which user owns which address; the
 * web host can rewrite that. So the verifier:
 *
 * - pins each pool account's descriptor at first sight (a later change of
 *   the web's text is alerted; addresses keep re-deriving from the pin);
 * - records every address row at first sight, available or assigned, after
 *   RE-DERIVING it at its (chain, idx) from the pinned descriptor: a row that
 *   does not re-derive is alerted and kept apart (never watched, so never
 *   credited); the record holds the DERIVED text, so a later overwrite of
 *   the web text changes nothing the chain view watches;
 * - records the owner once, at first sight of the assignment; any later
 *   change of the web's owner, text or a status moving backwards is alerted
 *   once, with before and after.
 *
 * A pool holds millions of rows: new rows are read by id each cycle (with the
 * late-commit lookback of cycle.ts), new assignments by assigned_at (indexed,
 * with a lookback), and the full compare of every row runs on a slower
 * schedule (`addressCheckEveryMs`, default 10 min), in slices: bulk reads of
 * both sides by id, an in-memory compare, one transaction per slice with
 * the alerts it raised and the web values it saw (so each change is alerted
 * once, even after a SIGKILL).
 */

const PAGE = 5_000;
const SLICE = 10_000;
/** As in cycle.ts: ids are taken at INSERT and seen at COMMIT, so the last ids below the cursor are read again. */
const RESCAN = 1_000n;
/** assigned_at is stamped before the claim commits (and by two clocks on SQLite web apps): read this far back again. */
const ASSIGNED_LOOKBACK_MS = 5 * 60_000;
const CURSOR_ADDRESSES = 'addresses';
const CURSOR_ASSIGNED_MS = 'assigned-ms';
const CURSOR_CHECK_MS = 'address-check-ms';
const STATUS_RANK: Readonly<Record<string, number>> = { available: 0, assigned: 1, used: 2 };

export interface AssignmentReport {
  recorded: number;
  rejected: number;
  changed: number;
  fullCheck: boolean;
}

export class AssignmentRecord {
  private readonly nodes = new Map<string, { node: PublicNode; net: Network }>();
  private accounts = new Map<bigint, PinnedAccount>();

  constructor(private readonly web: VerificationFeed, private readonly store: VerifierStore, private readonly checkEveryMs: number) {}

  /** One pass: accounts and batches, new rows, new assignments, and the full compare when due. Returns how many addresses were recorded. */
  async step(now: Date): Promise<AssignmentReport> {
    const report: AssignmentReport = { recorded: 0, rejected: 0, changed: 0, fullCheck: false };
    await this.pinAccounts(now, report);
    if (this.accounts.size === 0) return report;
    await this.newRows(now, report);
    await this.newAssignments(now, report);
    const last = Number(await this.store.cursor(CURSOR_CHECK_MS));
    if (now.getTime() - last >= this.checkEveryMs) {
      await this.fullCheck(now, report);
      report.fullCheck = true;
    }
    return report;
  }

  private async pinAccounts(now: Date, report: AssignmentReport): Promise<void> {
    const [web, pinned, batches, known] = [await this.web.poolAccounts(), await this.store.accounts(), await this.web.batches(), await this.store.batchIds()];
    const byId = new Map(pinned.map((a) => [a.id, a]));
    const c = ledgerCommit();
    const pins: PinnedAccount[] = [];
    const webDescriptor: { id: bigint; webDescriptor: string }[] = [];
    for (const a of web) {
      const p = byId.get(a.id);
      if (p === undefined) {
        pins.push({ ...a, pinnedAt: now.toISOString(), webDescriptor: a.descriptor });
        c.events.push({ kind: 'account-pinned', detail: `pool account ${a.id} (${a.network}) pinned: ${a.descriptor}` });
      } else if (p.webDescriptor !== a.descriptor) {
        webDescriptor.push({ id: a.id, webDescriptor: a.descriptor });
        c.outbox.push(alertMail('descriptor-changed', 'critical', `coldpool verifier: the descriptor of pool account ${a.id} changed in the web database`,
          `pinned at first sight (${p.pinnedAt}): ${p.descriptor}\nbefore: ${p.webDescriptor}\nnow:    ${a.descriptor}\n\nThe verifier keeps re-deriving every address from the pinned descriptor. Someone with write access to the web database changed the account: investigate the web host.`,
          { accountId: a.id.toString(), pinned: p.descriptor, before: p.webDescriptor, after: a.descriptor, users: [] }));
        c.events.push({ kind: 'descriptor-changed', detail: `pool account ${a.id}: ${p.webDescriptor} -> ${a.descriptor}` });
        report.changed++;
      }
    }
    const batchAdd = batches.filter((b) => !known.has(b.id) && (byId.has(b.accountId) || pins.some((p) => p.id === b.accountId)));
    if (pins.length + webDescriptor.length + batchAdd.length > 0) await this.store.commit({ ...c, accountPins: pins, accountWebDescriptor: webDescriptor, batchAdd }, now);
    this.accounts = new Map([...pinned, ...pins].map((a) => [a.id, a]));
  }

  /** The address `(account, chain, index)` derives to from the PINNED descriptor, or why it cannot be derived. */
  private derive(w: WebAddress): { address: string } | { problem: string } {
    const account = this.accounts.get(w.accountId);
    if (account === undefined) return { problem: `its pool account ${w.accountId} is not pinned at the verifier` };
    const key = `${w.accountId}/${w.chain}`;
    try {
      let n = this.nodes.get(key);
      if (n === undefined) {
        const net = NETWORKS[parseNetwork(account.network).name];
        n = { node: chainNode(parseAccountDescriptor(account.descriptor, net), w.chain), net };
        this.nodes.set(key, n);
      }
      return { address: p2wpkhAddress(childPublicKey(n.node, w.index), n.net) };
    } catch (e) {
      return { problem: `it cannot be derived at ${w.chain}/${w.index}: ${(e as Error).message}` };
    }
  }

  private async newRows(now: Date, report: AssignmentReport): Promise<void> {
    const cursor = await this.store.cursor(CURSOR_ADDRESSES);
    let after = cursor > RESCAN ? cursor - RESCAN : 0n;
    for (;;) {
      const rows = await this.web.addressesAfter(after, PAGE);
      if (rows.length === 0) return;
      after = rows[rows.length - 1]!.id;
      const c = await this.judgeAll(rows, now, report);
      await this.store.commit({ ...c, cursors: { [CURSOR_ADDRESSES]: after > cursor ? after : cursor } }, now);
    }
  }

  private async newAssignments(now: Date, report: AssignmentReport): Promise<void> {
    const cursor = Number(await this.store.cursor(CURSOR_ASSIGNED_MS));
    let at = new Date(Math.max(0, cursor - ASSIGNED_LOOKBACK_MS));
    let afterId = 0n;
    let newest = cursor;
    for (;;) {
      const rows = await this.web.assignedAfter(at, afterId, PAGE);
      if (rows.length === 0) return;
      const last = rows[rows.length - 1]!;
      at = new Date(last.assignedAt!);
      afterId = last.id;
      for (const r of rows) newest = Math.max(newest, Date.parse(r.assignedAt!));
      const c = await this.judgeAll(rows, now, report);
      await this.store.commit({ ...c, cursors: { [CURSOR_ASSIGNED_MS]: BigInt(newest) } }, now);
      if (rows.length < PAGE) return;
    }
  }

  /** Every web row against the verifier's record, in slices by id; recorded rows the web no longer has are alerted as deleted. */
  private async fullCheck(now: Date, report: AssignmentReport): Promise<void> {
    let after = 0n;
    for (;;) {
      const rows = await this.web.addressesAfter(after, SLICE);
      const to = rows.length < SLICE ? BigInt(Number.MAX_SAFE_INTEGER) : rows[rows.length - 1]!.id;
      const c = await this.judgeAll(rows, now, report);
      const present = new Set(rows.map((r) => r.id));
      for (const rec of await this.store.addressesBetween(after, to)) {
        if (present.has(rec.id) || rec.webStatus === 'deleted') continue;
        c.addressSet.push({ id: rec.id, set: { webStatus: 'deleted' } });
        this.alert(c, 'address-deleted', rec, `address #${rec.id} ${rec.address} was deleted from the web database`,
          `first owner: ${rec.user ?? '(not assigned)'}\nThe verifier keeps crediting deposits to it to its first owner.`, { before: rec.webStatus, after: 'deleted' });
        report.changed++;
      }
      const last = rows.length < SLICE;
      await this.store.commit({ ...c, ...(last ? { cursors: { [CURSOR_CHECK_MS]: BigInt(now.getTime()) } } : {}) }, now);
      if (last) return;
      after = to;
    }
  }

  private async judgeAll(rows: readonly WebAddress[], now: Date, report: AssignmentReport): Promise<LedgerCommit> {
    const c = ledgerCommit();
    if (rows.length === 0) return c;
    const { recorded, rejected } = await this.store.addressesById(rows.map((r) => r.id));
    for (const w of rows) {
      if (rejected.has(w.id)) continue; // alerted at first sight; never watched
      const rec = recorded.get(w.id);
      if (rec === undefined) this.firstSight(w, now, c, report);
      else this.compare(w, rec, now, c, report);
    }
    return c;
  }

  private firstSight(w: WebAddress, now: Date, c: LedgerCommit, report: AssignmentReport): void {
    const d = this.derive(w);
    const wrong = 'problem' in d ? d.problem : d.address !== w.address ? `account ${w.accountId} derives ${d.address} at ${w.chain}/${w.index}` : undefined;
    if (wrong !== undefined) {
      c.rejectAdd.push({ ...w, reason: wrong });
      const users = w.user === undefined ? [] : [w.user];
      c.outbox.push(alertMail('address-not-derived', 'critical', `coldpool verifier: address #${w.id} ${w.address} does not re-derive from the pool's descriptor`,
        `The web database lists ${w.address} as ${w.status}${w.user ? ` for user ${w.user}` : ''} at ${w.chain}/${w.index}, but ${wrong}.\n\nIt is never credited by the verifier. A foreign address in the pool is handed to whoever claims it next: investigate the web host.`,
        { addressId: w.id.toString(), address: w.address, chain: w.chain, index: w.index, status: w.status, user: w.user ?? null, reason: wrong, users }));
      c.events.push({ kind: 'address-not-derived', user: w.user, detail: `#${w.id} ${w.address} (${w.status}): ${wrong}` });
      report.rejected++;
      return;
    }
    const address = (d as { address: string }).address;
    c.addressAdd.push({
      id: w.id, address, accountId: w.accountId, chain: w.chain, index: w.index, user: w.user, firstSeenAt: now.toISOString(),
      ownerSeenAt: w.user === undefined ? undefined : now.toISOString(), webAddress: w.address, webUser: w.user, webStatus: w.status,
    });
    if (w.user !== undefined) c.events.push({ kind: 'address-assigned', user: w.user, detail: `#${w.id} ${address} recorded for ${w.user} at first sight` });
    report.recorded++;
  }

  private compare(w: WebAddress, rec: RecordedAddress, now: Date, c: LedgerCommit, report: AssignmentReport): void {
    const set: Record<string, unknown> = {};
    if (w.address !== rec.webAddress) {
      set.webAddress = w.address;
      this.alert(c, 'address-text-changed', rec, `the text of address #${rec.id} changed in the web database`,
        `before: ${rec.webAddress}\nnow:    ${w.address}\nderived at ${rec.chain}/${rec.index}: ${rec.address} (what the verifier watches and credits; the new text is never credited)`,
        { before: rec.webAddress, after: w.address, webUser: w.user ?? null });
      report.changed++;
    }
    if ((w.user ?? null) !== (rec.webUser ?? null)) {
      set.webUser = w.user;
      if (rec.user === undefined && rec.webUser === undefined) {
        // First sight of the assignment: this owner is the one every deposit to the address is credited to.
        set.user = w.user;
        set.ownerSeenAt = now.toISOString();
        c.events.push({ kind: 'address-assigned', user: w.user, detail: `#${rec.id} ${rec.address} recorded for ${w.user}` });
      } else {
        this.alert(c, 'address-reassigned', rec, `address #${rec.id} ${rec.address} was given to ${w.user ?? 'nobody'} in the web database; its owner is ${rec.user ?? 'nobody'}`,
          `first owner (the verifier's record): ${rec.user ?? '(none)'}\nweb before: ${rec.webUser ?? '(none)'}\nweb now:    ${w.user ?? '(none)'}\n\nDeposits to it stay credited to ${rec.user ?? 'nobody'}. Someone with write access to the web database reassigned it: investigate the web host.`,
          { before: rec.webUser ?? null, after: w.user ?? null, webUser: w.user ?? null });
        report.changed++;
      }
    }
    const was = STATUS_RANK[rec.webStatus] ?? -1;
    const is = STATUS_RANK[w.status] ?? -1;
    if (w.status !== rec.webStatus) {
      set.webStatus = w.status;
      if (is < was || is < 0) {
        this.alert(c, 'address-status-back', rec, `the status of address #${rec.id} ${rec.address} moved back from ${rec.webStatus} to ${w.status} in the web database`,
          `A status only moves forward (available, assigned, used). An address put back as available is handed out again.`, { before: rec.webStatus, after: w.status, webUser: w.user ?? null });
        report.changed++;
      }
    }
    if (Object.keys(set).length > 0) c.addressSet.push({ id: rec.id, set });
  }

  private alert(c: LedgerCommit, kind: 'address-reassigned' | 'address-text-changed' | 'address-status-back' | 'address-deleted', rec: RecordedAddress, what: string, text: string,
    facts: Record<string, unknown>): void {
    const users = [...new Set([rec.user, rec.webUser, facts.webUser as string | undefined | null].filter((u): u is string => typeof u === 'string'))];
    c.outbox.push(alertMail(kind, 'critical', `coldpool verifier: ${what}`, text,
      { addressId: rec.id.toString(), address: rec.address, user: rec.user ?? null, firstOwner: rec.user ?? null, ...facts, users }));
    c.events.push({ kind, user: rec.user, detail: `#${rec.id} ${rec.address}: ${JSON.stringify(facts.before ?? null)} -> ${JSON.stringify(facts.after ?? null)}` });
  }
}

interface LedgerCommit {
  outbox: OutboxMail[];
  events: VerifierEvent[];
  addressAdd: RecordedAddress[];
  addressSet: { id: bigint; set: NonNullable<VerifierCommit['addressSet']>[number]['set'] }[];
  rejectAdd: (WebAddress & { reason: string })[];
}

function ledgerCommit(): LedgerCommit {
  return { outbox: [], events: [], addressAdd: [], addressSet: [], rejectAdd: [] };
}
