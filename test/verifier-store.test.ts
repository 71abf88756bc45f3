import { afterAll, describe, expect, it } from 'vitest';
import { isCoded } from '../src/core/errors.js';
import type { VerifierDatabase } from '../src/core/ports.js';
import { openVerifierDatabase } from '../src/store/db.js';
import { freshDbUrl, type Cleanup } from './support/pool-fixtures.js';

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
