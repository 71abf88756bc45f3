import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownVersion } from '../src/store/migrate.js';
import { openStore } from './support/open-repos.js';
import { ROOT, runCli, tempDir } from './support/cli.js';
import { createMariaDb, fakeBatch, freshDbUrl, type Cleanup } from './support/pool-fixtures.js';

/**
 * `coldpool db migrate`, `pool status`, `pool claim` end to end through the
 * built bin/coldpool.js (npm test builds first), on SQLite and MariaDB.
 */
const dir = tempDir('coldpool-pool-cli-');
let maria: Awaited<ReturnType<typeof createMariaDb>>;

beforeAll(async () => {
  maria = await createMariaDb();
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await maria.drop();
});

const json = (text: string) => JSON.parse(text) as Record<string, unknown>;

describe.each(['sqlite', 'mariadb'])('coldpool db/pool commands on %s', (kind) => {
  const url = () => (kind === 'sqlite' ? `sqlite:${join(dir, 'pool.db')}` : maria.url);

  it('db migrate --json applies every file once, then nothing', async () => {
    const latest = knownVersion(kind === 'sqlite' ? 'sqlite' : 'mysql');
    const first = await runCli('coldpool', ['db', 'migrate', '--db', url(), '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(json(first.stdout)).toMatchObject({ applied: Array.from({ length: latest }, (_, i) => i + 1), version: latest });
    // --db before the command, and COLDPOOL_DB, work the same.
    const again = await runCli('coldpool', ['--db', url(), 'db', 'migrate', '--json']);
    expect(json(again.stdout)).toMatchObject({ applied: [], version: latest });
    const env = await runCli('coldpool', ['db', 'migrate'], { env: { COLDPOOL_DB: url() } });
    expect(env.code).toBe(0);
    expect(env.stdout).toMatch(/is current \(version \d+\)/);
  });

  it('pool status --json and pool claim --json', async () => {
    const store = openStore(url());
    await store.insertBatch(fakeBatch({ count: 3 }));
    await store.close();
    const claim = await runCli('coldpool', ['pool', 'claim', '--user', 'u1', '--ref', 'dep-1', '--json', '--db', url()]);
    expect(claim.code, claim.stderr).toBe(0);
    const c = json(claim.stdout);
    expect(c).toMatchObject({ user: 'u1', ref: 'dep-1', reused: false });
    expect(c.address).toMatch(/^tb1q/);
    const retry = await runCli('coldpool', ['pool', 'claim', '--user', 'u1', '--ref', 'dep-1', '--json', '--db', url()]);
    expect(json(retry.stdout)).toMatchObject({ address: c.address, reused: true });
    const plain = await runCli('coldpool', ['pool', 'claim', '--user', 'u2', '--db', url()]);
    expect(plain.stdout.trim()).toMatch(/^tb1q[0-9a-f]{38}$/);

    const status = await runCli('coldpool', ['pool', 'status', '--json', '--db', url()]);
    expect(status.code, status.stderr).toBe(0);
    const s = json(status.stdout);
    expect(s).toMatchObject({ available: 1, assigned: 2, used: 0, nextIndex: 3, highestUsedIndex: null });
    expect((s.batches as unknown[])[0]).toMatchObject({ first: 0, count: 3, assigned: 2 });
    expect(typeof (s.batches as { id: unknown }[])[0]!.id).toBe('string');
    expect((s.recovery as { advice: string }).advice).toMatch(/gap limit to at least \d+/);
    const text = await runCli('coldpool', ['pool', 'status', '--db', url()]);
    expect(text.stdout).toMatch(/next index to derive: 3/);

    await runCli('coldpool', ['pool', 'claim', '--user', 'u3', '--db', url()]);
    const empty = await runCli('coldpool', ['pool', 'claim', '--user', 'u4', '--json', '--db', url()]);
    expect(empty.code).toBe(4);
    expect(json(empty.stderr)).toMatchObject({ error: { code: 'POOL_EMPTY' } });
  });
});

describe('coldpool errors', () => {
  it('an unreachable MySQL is exit 5 naming host:port/db, without the password', async () => {
    const r = await runCli('coldpool', ['pool', 'status', '--db', 'mysql://coldpool_web:hunter2-secret@127.0.0.1:1/coldpool']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('127.0.0.1:1/coldpool');
    expect(r.stderr).not.toContain('hunter2');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a bad --db is a usage error that hides the password', async () => {
    const r = await runCli('coldpool', ['pool', 'status', '--db', 'postgres://u:hunter2-secret@h/db']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('hunter2');
  });
});

describe('the library', () => {
  it("is importable as 'coldpool' and claims from a Node web app", async () => {
    const store = openStore(maria.url);
    await store.migrate();
    await store.insertBatch(fakeBatch({ account: 'L', count: 2 }), { addAccount: true });
    await store.close();
    const script = `const { openDatabase, claimAddress, availableAddresses, assignAddresses } = await import('coldpool');
      if (typeof assignAddresses !== 'function') throw new Error('assignAddresses is not exported');
      const db = openDatabase(${JSON.stringify(maria.url)});
      const c = await claimAddress(db.pool, 'web-1', 'lib-ref-1');
      console.log(JSON.stringify({ address: c.address, reused: c.reused, left: await availableAddresses(db.pool) }));
      await db.close();`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT }).toString()) as Record<string, unknown>;
    expect(out).toMatchObject({ reused: false, left: 1 });
  });
});

describe.each(['sqlite', 'mariadb'])('coldpool pool assign / claim with sets on %s', (kind) => {
  let url = '';
  const cleanups: Cleanup[] = [];
  beforeAll(async () => {
    url = kind === 'sqlite' ? `sqlite:${join(dir, 'sets.db')}` : await freshDbUrl('mariadb', cleanups);
    const store = openStore(url);
    await store.migrate();
    await store.insertBatch(fakeBatch({ count: 30 }));
    await store.close();
  });
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('assigns a set (--json, text), reports it again, adds with --add; claim hands out its next address', async () => {
    const first = await runCli('coldpool', ['pool', 'assign', '--user', 'u1', '--count', '10', '--json', '--db', url]);
    expect(first.code, first.stderr).toBe(0);
    const a = json(first.stdout) as { kind: string; added: { address: string; index: number }[]; unhanded: unknown[]; size: number; handedOut: number; user: string };
    expect(a).toMatchObject({ user: 'u1', kind: 'assigned', size: 10, handedOut: 0 });
    expect(a.added.map((x) => x.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(a.unhanded).toEqual(a.added);
    const again = await runCli('coldpool', ['pool', 'assign', '--user', 'u1', '--count', '10', '--db', url]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim().split('\n')).toEqual(a.added.map((x) => x.address));
    expect(again.stderr).toMatch(/already has a set \(nothing assigned; --add for more\)/);
    const claim = await runCli('coldpool', ['pool', 'claim', '--user', 'u1', '--ref', 'd1', '--json', '--db', url]);
    expect(claim.code, claim.stderr).toBe(0);
    expect(json(claim.stdout)).toMatchObject({ address: a.added[0]!.address, index: 0, source: 'set', reused: false, set: { remaining: 9, toppedUp: 0 } });
    const retry = await runCli('coldpool', ['pool', 'claim', '--user', 'u1', '--ref', 'd1', '--json', '--db', url]);
    expect(json(retry.stdout)).toMatchObject({ address: a.added[0]!.address, reused: true, source: null, set: null });
    const text = await runCli('coldpool', ['pool', 'claim', '--user', 'u1', '--db', url]);
    expect(text.stdout.trim()).toBe(a.added[1]!.address);
    expect(text.stderr).toMatch(/claimed from the user's set: index 1 .*set: 8 left/);
    const add = await runCli('coldpool', ['pool', 'assign', '--user', 'u1', '--count', '5', '--add', '--json', '--db', url]);
    expect(json(add.stdout)).toMatchObject({ kind: 'added', size: 15, handedOut: 2 });
    expect((json(add.stdout).unhanded as unknown[]).length).toBe(13);
    // A user without a set: the pool, as before.
    const plain = await runCli('coldpool', ['pool', 'claim', '--user', 'u2', '--json', '--db', url]);
    expect(json(plain.stdout)).toMatchObject({ source: 'pool', set: null });
    const status = await runCli('coldpool', ['pool', 'status', '--json', '--db', url]);
    expect(json(status.stdout)).toMatchObject({ available: 14, assigned: 16 });
  });

  it('a bad --count is USAGE (exit 2); a set the pool cannot fill is POOL_EMPTY (exit 4) naming what is left, nothing assigned', async () => {
    for (const bad of ['0', 'abc', '1.5', '10001', '-3']) {
      const r = await runCli('coldpool', ['pool', 'assign', '--user', 'u3', '--count', bad, '--json', '--db', url]);
      expect(r.code, `${bad}: ${r.stderr}`).toBe(2);
      expect(json(r.stderr)).toMatchObject({ error: { code: 'USAGE', message: expect.stringMatching(/"--count" expected an integer 1\.\.10000/) as unknown } });
    }
    const empty = await runCli('coldpool', ['pool', 'assign', '--user', 'u3', '--json', '--db', url]);
    expect(empty.code).toBe(4);
    const e = json(empty.stderr) as { error: { code: string; message: string; hint: string } };
    expect(e.error.code).toBe('POOL_EMPTY');
    expect(e.error.message).toMatch(/a set of 100 addresses for user "u3" needs 100 available addresses, the pool has 14/);
    expect(e.error.hint).toMatch(/coldpool pool load/);
    const text = await runCli('coldpool', ['pool', 'assign', '--user', 'u3', '--db', url]);
    expect(text.code).toBe(4);
    expect(text.stderr).toMatch(/POOL_EMPTY|the pool has 14/);
    const status = await runCli('coldpool', ['pool', 'status', '--json', '--db', url]);
    expect(json(status.stdout)).toMatchObject({ available: 14 });
    const missing = await runCli('coldpool', ['pool', 'assign', '--db', url]);
    expect(missing.code).toBe(2);
  });
});
