import { afterAll, describe, expect, it } from 'vitest';
import { isCoded } from '../src/core/errors.js';
import type { MirroredEntry, VerifierDatabase } from '../src/core/ports.js';
import { openVerifierDatabase } from '../src/store/db.js';
import { freshDbUrl, type Cleanup } from './support/pool-fixtures.js';
import { mariadbBackend, sqliteBackend } from './support/withdrawal-backends.js';

/**
 * The verifier store's commit writes runs of same-shaped updates as one
 * statement each: every row gets its own value, two updates of one row apply
 * in order, and one row off its guard fails the whole commit naming that row.
 */
describe.each(['sqlite', 'mariadb'] as const)('the verifier store on %s: batched updates', (kind) => {
  const cleanups: Cleanup[] = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const at = new Date('2026-12-01T10:00:00.000Z');

  async function store(n: number): Promise<VerifierDatabase> {
    const db = openVerifierDatabase(await freshDbUrl(kind, cleanups));
    cleanups.push(() => db.close());
    await db.migrate();
    await db.store.commit({
      inserts: Array.from({ length: n }, (_, k) => ({ withdrawalId: BigInt(k + 1), user: `u${k + 1}`, fingerprint: 'f'.repeat(64), content: '{}', firstSeenAt: at.toISOString(), state: 'confirmed' as const, note: undefined })),
      mirrorAdd: Array.from({ length: n }, (_, k) => ({ user: `u${k + 1}`, email: `u${k + 1}@mail.example`, firstSeenAt: at.toISOString(), changedAt: undefined, holdUntil: undefined, missingSince: undefined })),
    }, at);
    return db;
  }

  it('sets each row its own value (and the shared ones once), over more rows than one statement takes', async () => {
    const db = await store(1_200);
    const ids = Array.from({ length: 1_200 }, (_, k) => BigInt(k + 1));
    await db.store.commit({
      updates: ids.map((id) => ({ id, from: ['confirmed' as const], set: { state: 'attested' as const, attestedAt: at.toISOString(), signature: id.toString(16).padStart(128, '0'), note: undefined } })),
      mirrorSet: ids.map((id) => ({ user: `u${id}`, set: { email: `new-${id}@mail.example`, changedAt: at.toISOString(), holdUntil: undefined } })),
    }, at);
    const rows = await db.store.requests(ids);
    for (const id of ids) expect(rows.get(id)).toMatchObject({ state: 'attested', attestedAt: at.toISOString(), signature: id.toString(16).padStart(128, '0') });
    const mirror = await db.store.mirror();
    expect(mirror.get('u1')).toMatchObject({ email: 'new-1@mail.example', changedAt: at.toISOString() });
    expect(mirror.get('u1200')).toMatchObject({ email: 'new-1200@mail.example' });
  });

  it('two updates of one row apply one after the other; a row off its guard fails the commit, naming it, with nothing written', async () => {
    const db = await store(3);
    await db.store.commit({
      updates: [
        { id: 1n, from: ['confirmed'], set: { wrongTokens: 1 } },
        { id: 1n, from: ['confirmed'], set: { wrongTokens: 2 } },
        { id: 2n, from: ['confirmed'], set: { wrongTokens: 5 } },
      ],
    }, at);
    const after = await db.store.requests([1n, 2n]);
    expect(after.get(1n)!.wrongTokens).toBe(2);
    expect(after.get(2n)!.wrongTokens).toBe(5);

    await db.store.commit({ updates: [{ id: 2n, from: ['confirmed'], set: { state: 'attested' } }] }, at);
    const failed = await db.store.commit({
      updates: [1n, 2n, 3n].map((id) => ({ id, from: ['confirmed' as const], set: { state: 'attested' as const, note: 'x' } })),
      events: [{ kind: 'attested', detail: 'should not stay' }],
    }, at).then(() => undefined, (e: unknown) => e);
    expect(isCoded(failed) && failed.code).toBe('STATE_CONFLICT');
    expect((failed as Error).message).toContain('request 2 is attested, expected confirmed');
    const rows = await db.store.requests([1n, 3n]);
    expect(rows.get(1n)!.state).toBe('confirmed');
    expect(rows.get(3n)!.state).toBe('confirmed');
    expect(await db.store.events({ limit: 10 })).toEqual([]);
  });
});

/**
 * The mirror rows of a commit go in through LOAD DATA LOCAL INFILE on MySQL
 * (ledger-mirror.ts) and as INSERTs on SQLite or when LOCAL INFILE is off:
 * every value, whatever text it holds, reads back as it was written, and a
 * row already mirrored is skipped, not replaced.
 */
describe.each([['sqlite', ''], ['mariadb', ''], ['mariadb', 'localInfile=0']] as const)('the ledger mirror on %s %s: rows written as given', (kind, query) => {
  const cleanups: Cleanup[] = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const at = '2026-12-01T10:00:00.000Z';
  const odd = ['tab\there', 'new\nline', 'back\\slash', '\\N', 'cr\rlf', 'nul\0byte', 'ünïcode 🙂', '', 'N'];

  it('stores tabs, newlines, backslashes, \\N, NUL, non-ASCII and empty text exactly; a second write of an id is ignored', async () => {
    const url = await freshDbUrl(kind, cleanups);
    const db = openVerifierDatabase(query === '' ? url : `${url}${url.includes('?') ? '&' : '?'}${query}`);
    cleanups.push(() => db.close());
    await db.migrate();
    const entries = odd.map((text, k) => ({
      entryId: BigInt(k + 1), user: `u-${text}`, amountSat: k % 2 === 0 ? BigInt(k) * 1_000_000_000_000n : -BigInt(k), kind: `k${text}`.slice(0, 32),
      ref: k === 3 ? undefined : `ref-${text}`, createdAt: `2026-12-01T00:00:0${k}.000Z${text}`.slice(0, 32), fingerprint: k.toString(16).padStart(64, '0'),
      firstSeenAt: at, late: k % 3 === 0,
    }));
    await db.store.commit({ ledger: { entries } }, new Date(at));
    await db.store.commit({ ledger: { entries: [{ ...entries[0]!, user: 'someone else', late: !entries[0]!.late }] } }, new Date(at));
    const back = await db.ledger.entriesBetween(0n, undefined, 100);
    expect(back).toEqual(entries);
    expect(await db.ledger.sumsOf(entries.map((e) => e.user))).toEqual(new Map(entries.map((e) => [e.user, e.amountSat])));
  });
});

/**
 * The first mirror goes in without the mirror's secondary indexes
 * (beginFirstMirror), built once after it (restoreIndexes): what is left
 * must be the table `coldpool verifier init` creates, and a verifier killed
 * in between must find its indexes again on the next read (every IN-list
 * read of the mirror says FORCE INDEX on MySQL, which fails without them).
 */
describe.each(['sqlite', 'mariadb'] as const)('the ledger mirror on %s: the first mirror\'s indexes', (kind) => {
  const cleanups: Cleanup[] = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const raw = kind === 'sqlite' ? sqliteBackend() : mariadbBackend();
  const at = '2026-12-01T10:00:00.000Z';
  const entry = (k: number): MirroredEntry => ({
    entryId: BigInt(k), user: `u${k % 3}`, amountSat: BigInt(k), kind: 'trade', ref: `r${k % 2}`, createdAt: at, fingerprint: k.toString(16).padStart(64, '0'), firstSeenAt: at, late: false,
  });
  /** Every index of ledger_entries as the database describes it (name, columns in order, uniqueness). */
  const indexes = async (url: string): Promise<unknown> => kind === 'sqlite'
    ? raw.query(url, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger_entries' ORDER BY name")
    : raw.query(url, "SELECT INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, SUB_PART, INDEX_TYPE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ledger_entries' ORDER BY INDEX_NAME, SEQ_IN_INDEX");
  async function opened(): Promise<{ url: string; db: VerifierDatabase }> {
    const url = await freshDbUrl(kind, cleanups);
    const db = openVerifierDatabase(url);
    cleanups.push(() => db.close());
    await db.migrate();
    return { url, db };
  }

  it('dropped for an empty mirror only, then built again exactly as the schema file makes them', async () => {
    const fresh = await opened();
    const want = await indexes(fresh.url);
    expect(JSON.stringify(want)).toContain('ix_ledger_entries_user');
    expect(JSON.stringify(want)).toContain('ix_ledger_entries_ref');
    const { url, db } = await opened();
    expect(await db.ledger.beginFirstMirror()).toBe(true);
    expect(JSON.stringify(await indexes(url))).not.toContain('ix_ledger_entries');
    await db.store.commit({ ledger: { entries: [1, 2, 3, 4].map(entry) } }, new Date(at));
    await db.ledger.restoreIndexes();
    expect(await indexes(url)).toEqual(want);
    // Not empty any more: nothing is dropped.
    expect(await db.ledger.beginFirstMirror()).toBe(false);
    expect(await indexes(url)).toEqual(want);
    expect(await db.ledger.sumsOf(['u0', 'u1', 'u2'])).toEqual(new Map([['u0', 3n], ['u1', 5n], ['u2', 2n]]));
  });

  it('a verifier killed during its first mirror: the next handle\'s first read builds them, and reads by user and ref work', async () => {
    const { url, db } = await opened();
    expect(await db.ledger.beginFirstMirror()).toBe(true);
    await db.store.commit({ ledger: { entries: [1, 2, 3, 4, 5].map(entry) } }, new Date(at));
    await db.close(); // killed here: restoreIndexes never ran
    expect(JSON.stringify(await indexes(url))).not.toContain('ix_ledger_entries');
    const again = openVerifierDatabase(url);
    cleanups.push(() => again.close());
    expect((await again.ledger.entriesOfRefs(['r1'])).map((e) => e.entryId).sort()).toEqual([1n, 3n, 5n]);
    expect((await again.ledger.entriesOfUsers(['u2'])).map((e) => e.entryId).sort()).toEqual([2n, 5n]);
    const fresh = await opened();
    expect(await indexes(url)).toEqual(await indexes(fresh.url));
  });
});
