/**
 * One database handle (src/store/db.ts): every repository on one connection,
 * two handles side by side on two databases, and commands that never create
 * a database file they were only meant to read.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/db.js';
import { runCli } from './support/cli.js';
import { createMariaDb, fakeBatch } from './support/pool-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'coldpool-handle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openDatabase', () => {
  it('two handles on two databases (SQLite and MariaDB) side by side keep their data apart', async () => {
    const maria = await createMariaDb();
    const a = openDatabase(`sqlite:${join(dir, 'a.db')}`);
    const b = openDatabase(maria.url);
    try {
      await Promise.all([a.migrate(), b.migrate()]);
      await a.pool.insertBatch(fakeBatch({ account: 'A', count: 3 }));
      await b.pool.insertBatch(fakeBatch({ account: 'B', count: 5 }));
      const [ca, cb] = await Promise.all([a.pool.claim('u-a'), b.pool.claim('u-b')]);
      expect(await a.pool.countAvailable()).toBe(2);
      expect(await b.pool.countAvailable()).toBe(4);
      expect(ca.address).not.toBe(cb.address);
      // every repository of one handle sees the same database
      expect((await a.watcher.gauge(new Date(0))).claimedSince).toBe(1);
      expect((await b.watcher.gauge(new Date(0))).claimedSince).toBe(1);
      expect(a.label).toBe(`sqlite:${join(dir, 'a.db')}`);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await maria.drop();
    }
  });

  it('SQLite: a pool claim waits for a withdrawal transaction on the same connection instead of joining it', async () => {
    const db = openDatabase(`sqlite:${join(dir, 'serial.db')}`);
    try {
      await db.migrate();
      await db.pool.insertBatch(fakeBatch({ account: 'S', count: 10 }));
      const claims = Array.from({ length: 10 }, (_, i) => db.pool.claim(`u${i}`));
      const audits = Array.from({ length: 10 }, (_, i) => db.audit.audit('test', 'note', `s${i}`, { i }));
      const got = await Promise.all(claims);
      await Promise.all(audits);
      expect(new Set(got.map((c) => c.address)).size).toBe(10);
      expect((await db.audit.verifyAudit()).ok).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('mustExist: a missing SQLite file is UNAVAILABLE naming it, and is not created', async () => {
    const path = join(dir, 'nope', 'missing.db');
    const db = openDatabase(`sqlite:${path}`, { mustExist: true });
    await expect(db.pool.countAvailable()).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining(`no SQLite database at ${path}`) });
    await db.close();
    expect(existsSync(join(dir, 'nope'))).toBe(false);
  });
});

describe('commands never create a database file they did not mean to', () => {
  const cwd = mkdtempSync(join(dir, 'cwd-'));
  it.each([
    ['pool status', ['pool', 'status', '--json']],
    ['pool check', ['pool', 'check', '--json']],
    ['pool claim', ['pool', 'claim', '--user', 'u1']],
    ['withdrawals list', ['withdrawals', 'list', '--json']],
    ['audit verify', ['audit', 'verify', '--json']],
    ['chain status', ['chain', 'status', '--json']],
    ['deposits list', ['deposits', 'list', '--json']],
  ])('`coldpool %s` with the default ./coldpool.db missing: exit 5 naming the file, nothing created', async (_name, args) => {
    const r = await runCli('coldpool', args, { cwd, env: { COLDPOOL_DB: '', XDG_CONFIG_HOME: join(cwd, 'no-config') } });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('no SQLite database at ./coldpool.db');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('`coldpool db migrate` is the command that creates it', async () => {
    const r = await runCli('coldpool', ['db', 'migrate', '--json'], { cwd, env: { COLDPOOL_DB: '', XDG_CONFIG_HOME: join(cwd, 'no-config') } });
    expect(r.code).toBe(0);
    expect(existsSync(join(cwd, 'coldpool.db'))).toBe(true);
  });
});
