/**
 * The audit flows (src/flows/audit.ts) on a real SQLite file: the live chain
 * alone, against an export of itself, against an export of another chain, and
 * a broken live chain, for which the export is not even read.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../src/core/audit-chain.js';
import type { Database } from '../src/core/ports.js';
import { auditEntries, verifyAuditLog } from '../src/flows/audit.js';
import { openDatabase } from '../src/store/db.js';
import { sqliteBackend } from './support/withdrawal-backends.js';

const backend = sqliteBackend();
afterAll(() => backend.cleanup());

async function withDb(fn: (db: Database, url: string) => Promise<void>): Promise<void> {
  const url = await backend.fresh();
  const db = openDatabase(url, { network: 'testnet' });
  try {
    await fn(db, url);
  } finally {
    await db.close();
  }
}

async function all(entries: AsyncIterable<AuditEntry>): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of entries) out.push(e);
  return out;
}

describe('audit flows', () => {
  it('auditEntries streams the chain in seq order; verifyAuditLog checks it alone, then against an export of itself', async () => {
    await withDb(async (db) => {
      for (const s of ['a', 'b', 'c']) await db.audit.audit('op1', 'note', s, { s });
      const exported = await all(auditEntries(db.audit));
      expect(exported.map((e) => `${e.seq} ${e.subject}`)).toEqual(['1 a', '2 b', '3 c']);

      const alone = await verifyAuditLog(db.audit);
      expect(alone).toEqual({ live: { ok: true, count: 3, lastSeq: 3n, lastHash: exported[2]!.hash }, against: undefined });

      await db.audit.audit('op1', 'note', 'd', {}); // the live chain may grow after the export
      const check = await verifyAuditLog(db.audit, exported);
      expect(check.live.ok && check.live.count).toBe(4);
      expect(check.against).toEqual({ ok: true, count: 3, lastSeq: 3n, lastHash: exported[2]!.hash });
    });
  });

  it('against an export of another chain (each valid on its own): rewritten at the first entry', async () => {
    let other: AuditEntry[] = [];
    await withDb(async (db) => {
      await db.audit.audit('op2', 'note', 'elsewhere', {});
      other = await all(auditEntries(db.audit));
    });
    await withDb(async (db) => {
      await db.audit.audit('op1', 'note', 'here', {});
      const check = await verifyAuditLog(db.audit, other);
      expect(check.live.ok).toBe(true);
      expect(check.against).toMatchObject({ ok: false, seq: 1n, problem: 'rewritten' });
    });
  });

  it('a broken live chain is reported and the export is not read', async () => {
    await withDb(async (db, url) => {
      for (const s of ['a', 'b']) await db.audit.audit('op1', 'note', s, {});
      await backend.exec(url, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1");
      let read = false;
      async function* untouched(): AsyncIterable<AuditEntry> {
        read = true;
        yield* [];
      }
      const check = await verifyAuditLog(db.audit, untouched());
      expect(check.live).toMatchObject({ ok: false, seq: 1n, problem: 'edited' });
      expect(check.against).toBeUndefined();
      expect(read).toBe(false);
    });
  });
});
