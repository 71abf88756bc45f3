import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PoolStore } from '../src/core/ports.js';
import type { Clock, Notifier, WatcherStateStore } from '../src/core/ports.js';
import { Watcher, type TickReport } from '../src/flows/watch.js';
import { EmailNotifier } from '../src/notify/email.js';
import { LogNotifier } from '../src/notify/log.js';
import { WebhookNotifier } from '../src/notify/webhook.js';
import { openDatabase } from '../src/store/db.js';
import { openStore, type Opened } from './support/open-repos.js';
import { SmtpSink, WebhookSink } from './support/alert-sinks.js';
import { MARIADB_ROOT, createMariaDb, fakeBatch, tempSqliteUrl, uniqueName } from './support/pool-fixtures.js';

/**
 * The watcher against real receivers on 127.0.0.1 (an SMTP server, an HTTP
 * webhook) and real databases (a SQLite temp file, a fresh MariaDB database),
 * driven tick by tick with a fake clock: a day passes in a microsecond.
 */
const H = 3_600_000;
const THRESHOLD = 100;

class FakeClock implements Clock {
  t = Date.now();
  now(): Date {
    return new Date(this.t);
  }
  advance(hours: number): void {
    this.t += hours * H;
  }
}

const smtp = new SmtpSink();
const hook = new WebhookSink();
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  await smtp.start();
  await hook.start();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  smtp.mails.length = 0;
  hook.hooks.length = 0;
  hook.status = 200;
  if (smtp.port !== 0) await smtp.start().catch(() => undefined); // a test may have stopped it
});
afterAll(async () => {
  await smtp.stop();
  await hook.stop();
});

/** A pool of 150 receive addresses, 60 claimed: 90 available, below 100. */
async function lowPool(url: string): Promise<Opened<PoolStore>> {
  const store = openStore(url);
  await store.migrate();
  await store.insertBatch(fakeBatch({ first: 0, count: 150 }));
  for (let i = 0; i < 60; i++) await store.claim(`user${i}`);
  return store;
}

interface Rig {
  watcher: Watcher;
  log: Record<string, unknown>[];
  tick(): Promise<TickReport>;
}

/** A watcher process: its own connections, notifiers and memory, as after a restart. */
function startWatcher(url: string, clock: Clock, opts: { smtpPort?: number } = {}): Rig {
  const log: Record<string, unknown>[] = [];
  const database = openDatabase(url, { mustExist: true });
  const pool = database.pool;
  const state: WatcherStateStore = database.watcher;
  const notifiers: Notifier[] = [
    new LogNotifier((line) => log.push(JSON.parse(line) as Record<string, unknown>)),
    new EmailNotifier({
      host: '127.0.0.1', port: opts.smtpPort ?? smtp.port, secure: false, requireTls: false, user: 'alerts', password: 'from-config-file',
      from: 'coldpool@example.test', to: ['ops@example.test'], timeoutMs: 2000,
    }),
    new WebhookNotifier({ url: hook.url, headers: { authorization: 'Bearer t0k3n' }, timeoutMs: 2000 }),
  ];
  const watcher = new Watcher({
    pool, state, notifiers, clock, log: (e) => log.push(e),
    policy: { threshold: THRESHOLD, warning: undefined, repeatMs: 24 * H },
    derive: { keystore: '/media/usb/cold.keystore', count: 10000 },
  });
  cleanups.push(async () => {
    await watcher.idle();
    await Promise.all([database.close(), ...notifiers.map((n) => n.close())]);
  });
  return { watcher, log, tick: () => watcher.tick() };
}

const COMMAND = 'coldpool-offline derive --keystore /media/usb/cold.keystore --from 150 --count 10000 --out batch-000150.csv';

let maria: Awaited<ReturnType<typeof createMariaDb>> | undefined;
afterAll(async () => maria?.drop());

const backends = [
  {
    name: 'sqlite',
    fresh: async () => {
      const t = tempSqliteUrl();
      cleanups.push(t.cleanup);
      return t.url;
    },
  },
  {
    name: 'mariadb',
    fresh: async () => {
      maria ??= await createMariaDb();
      return maria.url;
    },
  },
];

describe.each(backends)('watcher on $name with real SMTP and webhook receivers', ({ fresh }) => {
  it('alerts once with its contents, stays quiet within the interval and across a restart, repeats after it, and sends a recovery notice', async () => {
    const url = await fresh();
    const store = await lowPool(url);
    cleanups.push(() => store.close());
    const clock = new FakeClock();

    const first = startWatcher(url, clock);
    const r1 = await first.tick();
    expect(r1).toMatchObject({ ok: true, available: 90, level: 'critical', sent: 'low' });
    expect([...r1.delivered].sort()).toEqual(['email', 'log', 'webhook']);

    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail.to).toEqual(['ops@example.test']);
    expect(mail.subject).toBe('coldpool CRITICAL: 90 receive addresses left, below 100');
    expect(mail.text).toContain('available:    90');
    expect(mail.text).toContain('threshold:    100');
    expect(mail.text).toMatch(/days left: +(less than a day|\d+\.\d days)/);
    expect(mail.text).toContain(`  ${COMMAND}\n`);

    expect(hook.hooks).toHaveLength(1);
    const body = hook.hooks[0]!.body;
    expect(hook.hooks[0]!.headers.authorization).toBe('Bearer t0k3n');
    expect(body).toMatchObject({ kind: 'low', level: 'critical', available: 90, threshold: 100, next_index: 150, next_command: COMMAND });
    expect(typeof body.days_left).toBe('number');
    expect(body.claims_per_day).toBeGreaterThan(0);
    expect(body.text).toContain(COMMAND);
    expect(first.log.filter((e) => e.event === 'alert')).toMatchObject([{ kind: 'low', available: 90, threshold: 100, next_command: COMMAND }]);

    clock.advance(1);
    expect((await first.tick()).sent).toBeUndefined();

    // A restart (new process: new connections, empty memory) two hours later sends nothing new.
    const second = startWatcher(url, clock);
    clock.advance(1);
    const restarted = await second.tick();
    expect(restarted).toMatchObject({ ok: true, available: 90, level: 'critical' });
    expect(restarted.sent).toBeUndefined();
    clock.advance(21.9);
    expect((await second.tick()).sent).toBeUndefined();
    expect(smtp.mails).toHaveLength(1);
    expect(hook.hooks).toHaveLength(1);

    // 24 h after the first alert: repeated.
    clock.advance(0.1);
    expect((await second.tick()).sent).toBe('repeat');
    expect(smtp.mails.map((m) => m.subject)).toEqual([mail.subject, 'coldpool CRITICAL: 90 receive addresses left, below 100 (still)']);
    expect(hook.hooks.map((h) => h.body.kind)).toEqual(['low', 'repeat']);

    // A new batch lifts it back: one recovery notice, on every channel.
    await store.insertBatch(fakeBatch({ first: 150, count: 200 }));
    clock.advance(0.1);
    const third = startWatcher(url, clock);
    expect(await third.tick()).toMatchObject({ ok: true, available: 290, level: 'ok', sent: 'recovered' });
    expect(smtp.mails[2]!.subject).toBe('coldpool: address pool recovered: 290 available (threshold 100)');
    expect(smtp.mails[2]!.text).toContain('--from 350 --count 10000 --out batch-000350.csv');
    expect(hook.hooks[2]!.body).toMatchObject({ kind: 'recovered', level: 'ok', available: 290 });
    clock.advance(48);
    expect((await third.tick()).sent).toBeUndefined();
    expect(smtp.mails).toHaveLength(3);
    expect(hook.hooks).toHaveLength(3);
  });
});

describe('watcher when things fail (SQLite unless said)', () => {
  it('SMTP down: the webhook alert still goes out, the mail is retried, the operator hears about SMTP, and the mail arrives once SMTP is back', async () => {
    const t = tempSqliteUrl();
    cleanups.push(t.cleanup);
    const store = await lowPool(t.url);
    cleanups.push(() => store.close());
    await smtp.stop();
    const clock = new FakeClock();
    const w = startWatcher(t.url, clock);

    const r1 = await w.tick();
    expect(r1).toMatchObject({ ok: true, sent: 'low', failed: ['email'] });
    expect([...r1.delivered].sort()).toEqual(['log', 'webhook']);
    expect(hook.hooks.map((h) => h.body.kind)).toEqual(['low']);
    expect(w.log.find((e) => e.event === 'delivery-failed')).toMatchObject({ channel: 'email', alert: 'low', attempt: 1 });
    expect(w.watcher.pendingDeliveries).toBe(1);

    // Two more failed attempts (3 in a row): the channels that work are told.
    for (let i = 0; i < 2; i++) {
      clock.advance(5 / 60);
      expect((await w.tick()).ok).toBe(true);
    }
    expect(hook.hooks.map((h) => h.body.kind)).toEqual(['low', 'watcher-unavailable']);
    expect(hook.hooks[1]!.body.text).toMatch(/^coldpool watcher cannot reach the email \(3 failures in a row\)/);
    expect(w.log.filter((e) => e.event === 'alert').map((e) => e.kind)).toEqual(['low', 'watcher-unavailable']);

    await smtp.start();
    clock.advance(5 / 60);
    await w.tick();
    expect(smtp.mails.map((m) => m.subject)).toEqual(['coldpool CRITICAL: 90 receive addresses left, below 100']);
    expect(hook.hooks.map((h) => h.body.kind)).toEqual(['low', 'watcher-unavailable', 'watcher-recovered']);
    expect(w.watcher.pendingDeliveries).toBe(0);
  });

  it('webhook answering HTTP 500 is a failed delivery, retried until it answers 200', async () => {
    const t = tempSqliteUrl();
    cleanups.push(t.cleanup);
    const store = await lowPool(t.url);
    cleanups.push(() => store.close());
    hook.status = 500;
    const clock = new FakeClock();
    const w = startWatcher(t.url, clock);
    expect(await w.tick()).toMatchObject({ sent: 'low', failed: ['webhook'] });
    expect(w.log.find((e) => e.event === 'delivery-failed')?.error).toMatch(/answered HTTP 500/);
    hook.status = 200;
    clock.advance(0.1);
    await w.tick();
    expect(hook.hooks.map((h) => h.body.kind)).toEqual(['low']);
    expect(smtp.mails).toHaveLength(1);
  });

  it('SQLite path unreachable: the watcher keeps ticking, logs each failure, and reports it on the channels after 3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coldpool-test-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    const clock = new FakeClock();
    const w = startWatcher(`sqlite:${join(dir, 'not-a-dir', 'pool.db')}`, clock);
    for (let i = 0; i < 4; i++) {
      const r = await w.tick();
      expect(r.ok).toBe(false);
      clock.advance(5 / 60);
    }
    expect(w.log.filter((e) => e.event === 'database-unavailable').map((e) => e.failures)).toEqual([1, 2, 3, 4]);
    expect(hook.hooks.map((h) => h.body.kind)).toEqual(['watcher-unavailable']);
    expect(smtp.mails.map((m) => m.subject)).toEqual(['coldpool watcher cannot reach the database (3 failures in a row)']);
  });

  it('MariaDB down then back: "cannot reach the database" after 3 failures, then "reaches it again" and the low alert', async () => {
    const name = uniqueName('coldpool_t');
    const url = `mysql://root@127.0.0.1:3306/${name}`;
    const root = await mysql.createConnection(MARIADB_ROOT);
    cleanups.push(async () => {
      await root.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await root.end();
    });
    const clock = new FakeClock();
    const w = startWatcher(url, clock);
    for (let i = 0; i < 3; i++) {
      expect(await w.tick()).toMatchObject({ ok: false });
      clock.advance(5 / 60);
    }
    expect(w.log.filter((e) => e.event === 'database-unavailable')).toHaveLength(3);
    expect(w.log[0]).toMatchObject({ event: 'database-unavailable', code: 'UNAVAILABLE' });
    expect(hook.hooks.map((h) => h.body.kind)).toEqual(['watcher-unavailable']);

    await root.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    const store = await lowPool(url);
    cleanups.push(() => store.close());
    expect(await w.tick()).toMatchObject({ ok: true, sent: 'low', available: 90 });
    expect(hook.hooks.map((h) => h.body.kind)).toEqual(['watcher-unavailable', 'watcher-recovered', 'low']);
  });

  it('two watchers on one database: only one of them sends', async () => {
    const t = tempSqliteUrl();
    cleanups.push(t.cleanup);
    const store = await lowPool(t.url);
    cleanups.push(() => store.close());
    const clock = new FakeClock();
    const [a, b] = [startWatcher(t.url, clock), startWatcher(t.url, clock)];
    const reports = await Promise.all([a.tick(), b.tick()]);
    expect(reports.filter((r) => r.sent === 'low')).toHaveLength(1);
    expect(hook.hooks).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
  });
});
