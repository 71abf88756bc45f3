import { createHash } from 'node:crypto';
import { CodedError } from './errors.js';

/**
 * The audit log as an append-only hash chain. Each entry's hash is sha256 over
 * a canonical serialisation of (seq, at, actor, action, subject, data,
 * prev_hash), and prev_hash is the hash of the entry before it (64 zeros for
 * the first). Editing, deleting or reordering any row breaks the chain at that
 * row; rewriting the whole chain from some row on is caught by comparing with
 * an exported copy (`coldpool audit export`, `audit verify --against`).
 */
export interface AuditFields {
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  /** Canonical JSON text (see canonicalJson), exactly as stored. */
  readonly data: string;
}

export interface AuditEntry extends AuditFields {
  readonly seq: bigint;
  readonly prevHash: string;
  readonly hash: string;
  /** The key that signed `hash` (audit-signature.ts), absent on an unsigned entry. Outside the hash: the signature covers it. */
  readonly keyId?: string | undefined;
  readonly signature?: string | undefined;
}

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level and bigints as strings: one text per value. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/** The hash of one entry. */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const text = JSON.stringify([e.seq.toString(), e.at, e.actor, e.action, e.subject, e.data, e.prevHash]);
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The entry that follows `head` (undefined: the chain is empty). */
export function nextEntry(head: { seq: bigint; hash: string } | undefined, fields: AuditFields): AuditEntry {
  const base = { ...fields, seq: (head?.seq ?? 0n) + 1n, prevHash: head?.hash ?? GENESIS_HASH };
  return { ...base, hash: entryHash(base) };
}

export type ChainProblem = 'edited' | 'deleted' | 'out_of_order' | 'inserted' | 'truncated';

export type ChainVerdict =
  | { readonly ok: true; readonly count: number; readonly lastSeq: bigint; readonly lastHash: string }
  | { readonly ok: false; readonly count: number; readonly seq: bigint; readonly problem: ChainProblem; readonly message: string };

/**
 * Walk the chain in seq order and name the first entry that is wrong. Feed
 * entries with `push`, then `end(head)` where head is what the store recorded
 * as the chain's last entry (catches deleting the last rows).
 */
export class ChainVerifier {
  private expectedSeq = 1n;
  private prevHash = GENESIS_HASH;
  private count = 0;
  private failure: ChainVerdict | undefined;
  private readonly recent: AuditEntry[] = [];

  push(e: AuditEntry): void {
    if (this.failure) return;
    this.count++;
    const recomputed = entryHash(e);
    if (e.seq > this.expectedSeq) {
      return this.fail(this.expectedSeq, 'deleted', `audit entry ${this.expectedSeq} is missing (deleted): entry ${e.seq} follows entry ${this.expectedSeq - 1n}`);
    }
    if (recomputed !== e.hash) {
      const moved = this.movedFrom(e);
      if (moved !== undefined) return this.fail(e.seq, 'out_of_order', `audit entry ${e.seq} is out of order: it was written as entry ${moved}`);
      return this.fail(e.seq, 'edited', `audit entry ${e.seq} was edited: its hash does not match its content (${e.action} ${e.subject} by ${e.actor} at ${e.at})`);
    }
    if (e.prevHash !== this.prevHash) {
      return this.fail(e.seq, this.count === 1 ? 'deleted' : 'out_of_order', `audit entry ${e.seq} does not follow entry ${e.seq - 1n}: its prev_hash ${e.prevHash.slice(0, 12)}… is not ${this.prevHash.slice(0, 12)}… (an entry before it was deleted, inserted or moved)`);
    }
    this.prevHash = e.hash;
    this.expectedSeq = e.seq + 1n;
    this.recent.push(e);
    if (this.recent.length > 64) this.recent.shift();
  }

  /** Was this row's hash written under another seq (the seq column was swapped)? */
  private movedFrom(e: AuditEntry): bigint | undefined {
    for (let d = 1n; d <= 64n; d++) {
      for (const seq of [e.seq - d, e.seq + d]) {
        if (seq >= 1n && entryHash({ ...e, seq }) === e.hash) return seq;
      }
    }
    return undefined;
  }

  private fail(seq: bigint, problem: ChainProblem, message: string): void {
    this.failure = { ok: false, count: this.count, seq, problem, message };
  }

  end(head?: { seq: bigint; hash: string }): ChainVerdict {
    if (this.failure) return this.failure;
    const lastSeq = this.expectedSeq - 1n;
    if (head && head.seq > lastSeq) {
      return { ok: false, count: this.count, seq: lastSeq + 1n, problem: 'truncated', message: `audit entries ${lastSeq + 1n}..${head.seq} are missing (deleted): the chain head records entry ${head.seq}` };
    }
    if (head && head.seq < lastSeq) {
      return { ok: false, count: this.count, seq: head.seq + 1n, problem: 'inserted', message: `audit entries ${head.seq + 1n}..${lastSeq} were appended outside coldpool: the chain head records entry ${head.seq}` };
    }
    if (head && head.seq === lastSeq && head.hash !== this.prevHash) {
      return { ok: false, count: this.count, seq: lastSeq, problem: 'edited', message: `audit entry ${lastSeq} does not match the chain head recorded with it` };
    }
    return { ok: true, count: this.count, lastSeq, lastHash: this.prevHash };
  }
}

// ---- exported copies ----------------------------------------------------------

/** One line of `coldpool audit export` (JSON, seq as a string, snake_case hashes), newline included. */
export function exportLine(e: AuditEntry): string {
  const signed = e.keyId === undefined ? {} : { key_id: e.keyId, signature: e.signature };
  return `${JSON.stringify({ seq: e.seq.toString(), at: e.at, actor: e.actor, action: e.action, subject: e.subject, data: e.data, prev_hash: e.prevHash, hash: e.hash, ...signed })}\n`;
}

/**
 * Parse one line of an export back into an entry (INVALID_INPUT naming the line when it is not one).
 *
 * @example
 * parseExportLine(exportLine(entry), 1) // deep-equals entry
 */
export function parseExportLine(text: string, lineNo: number, source = 'export'): AuditEntry {
  const bad = (what: string) => new CodedError('INVALID_INPUT', `${source} line ${lineNo}: expected an audit entry (a JSON object from \`coldpool audit export\`), ${what}`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad(`got invalid JSON ${JSON.stringify(text.slice(0, 40))}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(`got ${JSON.stringify(text.slice(0, 40))}`);
  const o = v as Record<string, unknown>;
  for (const k of ['seq', 'at', 'actor', 'action', 'subject', 'data', 'prev_hash', 'hash']) {
    if (typeof o[k] !== 'string') throw bad(`"${k}" is missing or not a string`);
  }
  if (!/^[1-9]\d{0,18}$/.test(o.seq as string)) throw bad(`"seq" expected a positive integer, got ${JSON.stringify(o.seq)}`);
  for (const k of ['key_id', 'signature']) {
    if (o[k] !== undefined && typeof o[k] !== 'string') throw bad(`"${k}" is not a string`);
  }
  return {
    seq: BigInt(o.seq as string), at: o.at as string, actor: o.actor as string, action: o.action as string, subject: o.subject as string,
    data: o.data as string, prevHash: o.prev_hash as string, hash: o.hash as string,
    ...(o.key_id === undefined ? {} : { keyId: o.key_id as string, signature: o.signature as string | undefined }),
  };
}

export type ExportProblem = 'export_broken' | 'rewritten' | 'missing';

export type ExportVerdict =
  | { readonly ok: true; readonly count: number; readonly lastSeq: bigint; readonly lastHash: string }
  | { readonly ok: false; readonly count: number; readonly seq: bigint; readonly problem: ExportProblem; readonly message: string };

const FIELDS = ['at', 'actor', 'action', 'subject', 'data', 'prevHash', 'hash'] as const;

/**
 * Compare the live chain with an export taken earlier (and kept elsewhere):
 * every exported entry must still be in the live chain, identical, at the
 * same seq; the live chain may have grown since. A chain rewritten with every
 * hash recomputed still verifies on its own, but not against the copy: the
 * first seq that differs is named ("rewritten"), as is the first exported
 * entry the live chain no longer has ("missing"). The export is checked as a
 * chain too ("export_broken": the copy itself was altered or cut in the middle).
 *
 * @example
 * const v = await compareWithExport(store.auditEntries(), readExport('audit-2024-06.jsonl'));
 * if (!v.ok) console.error(`seq ${v.seq}: ${v.message}`);
 */
export async function compareWithExport(live: AsyncIterable<AuditEntry>, exported: AsyncIterable<AuditEntry> | Iterable<AuditEntry>): Promise<ExportVerdict> {
  const copy = new ChainVerifier();
  const it = live[Symbol.asyncIterator]();
  let difference: ExportVerdict | undefined;
  let count = 0;
  let last: AuditEntry | undefined;
  let lastLive: bigint = 0n;
  for await (const x of exported) {
    copy.push(x);
    count++;
    last = x;
    if (difference) continue; // keep reading: a broken copy outranks a difference
    let l: AuditEntry | undefined;
    do {
      const n = await it.next();
      l = n.done ? undefined : n.value;
      if (l) lastLive = l.seq;
    } while (l && l.seq < x.seq); // entries before the copy's first (a copy of a later part)
    if (!l || l.seq > x.seq) {
      difference = { ok: false, count, seq: x.seq, problem: 'missing', message: `audit entry ${x.seq} of the export is missing from the live chain (${l ? `it jumps to ${l.seq}` : `which ends at ${lastLive}`})` };
      continue;
    }
    const changed = FIELDS.filter((f) => l![f] !== x[f]);
    if (changed.length > 0) {
      difference = {
        ok: false, count, seq: x.seq, problem: 'rewritten',
        message: `audit entry ${x.seq} differs from the export (${changed.join(', ')}): the live chain was rewritten from entry ${x.seq} on (exported ${x.action} ${x.subject} by ${x.actor}, hash ${x.hash.slice(0, 12)}…; live ${l.action} ${l.subject} by ${l.actor}, hash ${l.hash.slice(0, 12)}…)`,
      };
    }
  }
  await it.return?.();
  const own = copy.end();
  if (!own.ok) return { ok: false, count, seq: own.seq, problem: 'export_broken', message: `the export itself is broken (${own.problem}): ${own.message}` };
  if (difference) return difference;
  return { ok: true, count, lastSeq: last?.seq ?? 0n, lastHash: last?.hash ?? GENESIS_HASH };
}
