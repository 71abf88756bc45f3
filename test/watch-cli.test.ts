import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from './support/open-repos.js';
import { ROOT, runCli, tempDir } from './support/cli.js';
import { SmtpSink, WebhookSink, closedPort, waitFor } from './support/alert-sinks.js';
import { fakeBatch } from './support/pool-fixtures.js';

/**
 * `coldpool pool check` and `coldpool watch` as an operator and systemd run
 * them: the built CLI as a child process (`npm test` builds dist/ first).
 */
const dir = tempDir();
const env = { XDG_CONFIG_HOME: join(dir, 'xdg'), COLDPOOL_DB: undefined };

/** A migrated SQLite pool with `count` receive addresses loaded and `claimed` of them handed out. */
async function pool(name: string, count: number, claimed: number): Promise<string> {
  const url = `sqlite:${join(dir, `${name}.db`)}`;
  const store = openStore(url);
  await store.migrate();
  await store.insertBatch(fakeBatch({ first: 0, count }));
  for (let i = 0; i < claimed; i++) await store.claim(`u${i}`);
  await store.close();
  return url;
}

function configFile(name: string, config: unknown): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  return file;
}

describe.concurrent('coldpool pool check (real CLI)', () => {
  it('exit 0 at or above the threshold, with rate, days left and the next command', async () => {
    const url = await pool('ok', 1200, 100);
    const r = await runCli('coldpool', ['pool', 'check', '--db', url, '--keystore', '/media/usb/cold.keystore'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^status +OK$/m);
    expect(r.stdout).toMatch(/^available +1100 receive addresses \(threshold 1000\)$/m);
    expect(r.stdout).toMatch(/^claims\/day +2400\.0 \(last 1\.0 h, since the first batch\)$/m); // 100 claims in the pool's first hour
    expect(r.stdout).toMatch(/^days left +less than a day \(11\.0 h\)$/m);
    expect(r.stdout).toContain('coldpool-offline derive --keystore /media/usb/cold.keystore --from 1200 --count 10000 --out batch-001200.csv');
  });

  it('exit 0 at the warning level, saying WARNING', async () => {
    const url = await pool('warn', 1200, 100);
    const r = await runCli('coldpool', ['pool', 'check', '--db', url, '--warn', '2000', '--json'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'warning', available: 1100, threshold: 1000, warning: 2000, next_index: 1200 });
  });

  it('exit 6 below the threshold; --json has the facts on stdout and the error on stderr', async () => {
    const url = await pool('low', 1000, 50);
    const r = await runCli('coldpool', ['pool', 'check', '--db', url, '--json'], { env });
    expect(r.code).toBe(6);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      status: 'critical', available: 950, threshold: 1000, next_index: 1000,
      next_command: 'coldpool-offline derive --keystore cold.keystore --from 1000 --count 10000 --out batch-001000.csv',
      load_command: 'coldpool pool load batch-001000.csv',
    });
    expect(out.days_left).toBeGreaterThan(0);
    expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'POOL_LOW', message: '950 receive addresses left, below the threshold 1000' });
    const plain = await runCli('coldpool', ['pool', 'check', '--db', url, '--threshold', '900'], { env });
    expect(plain.code).toBe(0);
  });

  it('exit 5 when the database cannot be reached', async () => {
    const port = await closedPort();
    const r = await runCli('coldpool', ['pool', 'check', '--db', `mysql://root@127.0.0.1:${port}/coldpool`], { env });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^error: cannot reach the database mysql:\/\/root@127\.0\.0\.1:\d+\/coldpool: ECONNREFUSED/);
  });

  it('exit 2 for a non-numeric --threshold', async () => {
    const r = await runCli('coldpool', ['pool', 'check', '--db', 'sqlite::memory:', '--threshold', '1e3'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: "threshold" expected an integer >= 1, got "1e3"');
  });
});

describe.concurrent('coldpool watch: bad configuration is a clear error at startup', () => {
  let smtpPort = 0;
  beforeAll(async () => {
    smtpPort = await closedPort();
  });

  it.each([
    { description: 'unknown channel', config: { channels: { pager: { to: 'x' } } }, args: [], code: 3, error: /: unknown channel "pager"; expected one of email, webhook, log/ },
    { description: 'malformed cron expression (flag)', config: {}, args: ['--cron', '*/5 * * *  banana'], code: 2, error: /"cron" expected a cron expression like "\*\/5 \* \* \* \*".*got "\*\/5 \* \* \*  banana"/ },
    { description: 'malformed cron expression (file)', config: { cron: '61 * * * *' }, args: [], code: 3, error: /config .*\.json: "cron" expected a cron expression/ },
    { description: 'non-numeric threshold (flag)', config: {}, args: ['--threshold', 'lots'], code: 2, error: /"threshold" expected an integer >= 1, got "lots"/ },
    { description: 'non-numeric threshold (file)', config: { threshold: '1k' }, args: [], code: 3, error: /config .*\.json: "threshold" expected an integer >= 1, got "1k"/ },
    { description: 'warning not above the threshold', config: { threshold: 1000, warning: 500 }, args: [], code: 2, error: /"warning" expected a count above the threshold 1000, got 500/ },
    { description: 'unknown key (a typo)', config: { treshold: 5 }, args: [], code: 3, error: /unknown key "treshold"/ },
    { description: 'not JSON', config: '{"threshold": 1000,', args: [], code: 3, error: /not valid JSON/ },
    { description: 'webhook without a URL', config: { channels: { webhook: {} } }, args: [], code: 3, error: /"channels\.webhook\.url" expected a non-empty string/ },
    { description: 'missing --config file', config: undefined, args: ['--config', '/nonexistent/coldpool.json'], code: 2, error: /config file \/nonexistent\/coldpool\.json cannot be read/ },
    {
      description: 'unreachable SMTP host at startup',
      config: 'SMTP',
      args: [],
      code: 3,
      error: /channel "email" does not work: email channel: cannot reach the SMTP server smtp:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/,
    },
  ])('$description → exit $code', async ({ description, config, args, code, error }) => {
    const body = config === 'SMTP'
      ? { channels: { email: { host: '127.0.0.1', port: smtpPort, from: 'coldpool@example.test', to: ['ops@example.test'], timeoutMs: 2000 } } }
      : config;
    const cfgArgs = body === undefined ? [] : ['--config', configFile(description.replace(/\W+/g, '-'), body)];
    const r = await runCli('coldpool', ['watch', '--db', `sqlite:${join(dir, 'never.db')}`, ...cfgArgs, ...args], { env, timeoutMs: 15_000 });
    expect(r.stderr).toMatch(error);
    expect(r.stderr).toMatch(/^error: /);
    expect(r.code).toBe(code);
    expect(r.stdout).toBe(''); // nothing started
  });
});

interface Daemon {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  stderr: string;
  stop(): Promise<number | null>;
}

/** Start `coldpool watch` as systemd would; stop() sends SIGTERM and resolves with the exit code. */
function daemon(args: string[]): Daemon {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'coldpool.js'), 'watch', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const d: Daemon = {
    child,
    lines: [],
    stderr: '',
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('close', (c) => resolve(c));
      child.kill('SIGTERM');
    }),
  };
  let buf = '';
  child.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      d.lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
  });
  child.stderr!.on('data', (b: Buffer) => (d.stderr += b.toString()));
  const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
  child.once('close', () => clearTimeout(kill));
  return d;
}

describe('coldpool watch as a process', () => {
  const smtp = new SmtpSink();
  const hook = new WebhookSink();
  beforeAll(async () => {
    await smtp.start();
    await hook.start();
  });
  afterAll(async () => {
    await smtp.stop();
    await hook.stop();
  });

  it('alerts by mail, webhook and log on the first check, stops cleanly on SIGTERM, and a restart sends nothing new', async () => {
    const url = await pool('daemon', 1000, 10);
    const config = configFile('daemon', {
      keystore: '/media/usb/cold.keystore',
      channels: {
        email: { host: '127.0.0.1', port: smtp.port, user: 'alerts', password: 'in-the-file-only', from: 'coldpool@example.test', to: ['ops@example.test'] },
        webhook: { url: hook.url },
      },
    });
    const args = ['--db', url, '--config', config, '--cron', '*/1 * * * * *'];
    const first = daemon(args);
    await waitFor(() => first.lines.some((l) => l.event === 'delivered' && l.channel === 'email'), 10_000, 'the first alert');
    await waitFor(() => hook.hooks.length === 1, 5000, 'the webhook');
    expect(await first.stop()).toBe(0);
    expect(first.stderr).toBe('');
    expect(first.lines[0]).toMatchObject({ event: 'started', cron: '*/1 * * * * *', threshold: 1000, channels: ['log', 'email', 'webhook'] });
    expect(JSON.stringify(first.lines)).not.toContain('in-the-file-only');
    const alert = first.lines.find((l) => l.event === 'alert')!;
    expect(alert).toMatchObject({ kind: 'low', level: 'critical', available: 990, threshold: 1000, next_command: 'coldpool-offline derive --keystore /media/usb/cold.keystore --from 1000 --count 10000 --out batch-001000.csv' });
    expect(first.lines.at(-1)).toMatchObject({ event: 'stopped', signal: 'SIGTERM' });
    expect(smtp.mails.map((m) => m.subject)).toEqual(['coldpool CRITICAL: 990 receive addresses left, below 1000']);

    const second = daemon(args);
    await waitFor(() => second.lines.filter((l) => l.event === 'check').length >= 2, 10_000, 'two checks after the restart');
    expect(await second.stop()).toBe(0);
    expect(second.lines.filter((l) => l.event === 'alert')).toEqual([]);
    expect(smtp.mails).toHaveLength(1);
    expect(hook.hooks).toHaveLength(1);
  });

  it('database down: keeps running, logs every failed check, and tells the working channels', async () => {
    const port = await closedPort();
    const config = configFile('dbdown', { failuresBeforeAlert: 2, channels: { webhook: { url: hook.url } } });
    const before = hook.hooks.length;
    const d = daemon(['--db', `mysql://root@127.0.0.1:${port}/coldpool`, '--config', config, '--cron', '*/1 * * * * *']);
    await waitFor(() => hook.hooks.length > before, 10_000, 'the "cannot reach the database" webhook');
    await waitFor(() => d.lines.filter((l) => l.event === 'database-unavailable').length >= 3, 5000, 'a third failed check');
    expect(d.child.exitCode).toBeNull();
    expect(await d.stop()).toBe(0);
    expect(hook.hooks[before]!.body).toMatchObject({ kind: 'watcher-unavailable', component: 'database' });
    expect(hook.hooks[before]!.body.text).toMatch(/^coldpool watcher cannot reach the database \(2 failures in a row\)/);
    expect(d.lines.find((l) => l.event === 'database-unavailable')?.error).toMatch(/ECONNREFUSED/);
  });
});
