import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownVersion } from '../src/store/migrate.js';
import { openStore } from './support/open-repos.js';
import { ROOT, runCli, tempDir } from './support/cli.js';
import { createMariaDb, fakeBatch } from './support/pool-fixtures.js';

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
    const script = `const { openDatabase, claimAddress, availableAddresses } = await import('coldpool');
      const db = openDatabase(${JSON.stringify(maria.url)});
      const c = await claimAddress(db.pool, 'web-1', 'lib-ref-1');
      console.log(JSON.stringify({ address: c.address, reused: c.reused, left: await availableAddresses(db.pool) }));
      await db.close();`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT }).toString()) as Record<string, unknown>;
    expect(out).toMatchObject({ reused: false, left: 1 });
  });
});
