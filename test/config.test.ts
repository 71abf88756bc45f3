import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { channelsOf, checkCron, DEFAULT_CRON, DEFAULT_DB_URL, loadConfig, policyOf } from '../src/cli/online/config.js';
import { tempDir } from './support/cli.js';

/**
 * The one configuration: one schema, flags → env → file → defaults, one
 * frozen object. The end-to-end half (one file read alike by approve,
 * pool status and pool check) is in config-cli.test.ts.
 */
const dir = tempDir();
let n = 0;
function configFile(body: unknown): string {
  const file = join(dir, `c${n++}.json`);
  writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
  return file;
}
/** An environment with nothing of coldpool's in it and an empty config folder. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const xdg = join(dir, `xdg${n++}`);
  mkdirSync(join(xdg, 'coldpool'), { recursive: true });
  return { XDG_CONFIG_HOME: xdg, ...extra };
}

describe('loadConfig: the order is flags, then environment, then the file, then defaults', () => {
  const file = configFile({ db: 'sqlite:/file.db', operator: 'file-op', network: 'regtest', threshold: 300, node: 'http://file:1@127.0.0.1:1' });

  it('defaults when nothing is given', () => {
    const c = loadConfig({}, cleanEnv());
    expect(c.file).toBeUndefined();
    expect(c.db).toBe(DEFAULT_DB_URL);
    expect(c.network).toBeUndefined();
    expect(c.operator).toBe(userInfo().username);
    expect(c.policyFile).toBeUndefined();
    expect(c.watch.threshold).toBe(1000);
    expect(c.watch.cron).toBe(DEFAULT_CRON);
    expect(c.node).toEqual({ node: undefined, rpcCookie: undefined, esplora: undefined });
  });

  it('the file over the defaults', () => {
    const c = loadConfig({ config: file }, cleanEnv());
    expect([c.file, c.db, c.operator, c.network, c.watch.threshold, c.node.node]).toEqual([file, 'sqlite:/file.db', 'file-op', 'regtest', 300, 'http://file:1@127.0.0.1:1']);
  });

  it('the environment over the file', () => {
    const env = cleanEnv({ COLDPOOL_DB: 'sqlite:/env.db', COLDPOOL_OPERATOR: 'env-op', COLDPOOL_NETWORK: 'signet', COLDPOOL_WATCH_THRESHOLD: '400', COLDPOOL_ESPLORA: 'http://127.0.0.1:2' });
    const c = loadConfig({ config: file }, env);
    expect([c.db, c.operator, c.network, c.watch.threshold]).toEqual(['sqlite:/env.db', 'env-op', 'signet', 400]);
    // The node is one choice: the environment's Esplora replaces the file's Core node, it is not added to it.
    expect(c.node).toEqual({ node: undefined, rpcCookie: undefined, esplora: 'http://127.0.0.1:2' });
  });

  it('flags over the environment', () => {
    const env = cleanEnv({ COLDPOOL_DB: 'sqlite:/env.db', COLDPOOL_OPERATOR: 'env-op', COLDPOOL_WATCH_THRESHOLD: '400', COLDPOOL_NODE: 'http://env:1@127.0.0.1:3' });
    const c = loadConfig({ config: file, db: 'sqlite:/flag.db', operator: 'flag-op', network: 'testnet', threshold: '500', esplora: 'http://127.0.0.1:4' }, env);
    expect([c.db, c.operator, c.network, c.watch.threshold]).toEqual(['sqlite:/flag.db', 'flag-op', 'testnet', 500]);
    expect(c.node).toEqual({ node: undefined, rpcCookie: undefined, esplora: 'http://127.0.0.1:4' });
  });

  it('config.json in the config folder is read without --config', () => {
    const env = cleanEnv();
    writeFileSync(join(env.XDG_CONFIG_HOME!, 'coldpool', 'config.json'), JSON.stringify({ db: 'sqlite:/home.db' }));
    expect(loadConfig({}, env).db).toBe('sqlite:/home.db');
  });

  it('policy.json in the config folder is the policy when none is named', () => {
    const env = cleanEnv();
    const policy = join(env.XDG_CONFIG_HOME!, 'coldpool', 'policy.json');
    writeFileSync(policy, JSON.stringify({ approvalsRequired: 2 }));
    const c = loadConfig({}, env);
    expect(c.policyFile).toBe(policy);
    expect(policyOf(c).policy.approvalsRequired).toBe(2);
  });
});

describe('loadConfig: one frozen object', () => {
  it('cannot be changed, at any depth', () => {
    const c = loadConfig({ config: configFile({ channels: { webhook: { url: 'http://127.0.0.1:9/h', headers: { a: 'b' } } } }) }, cleanEnv());
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.watch)).toBe(true);
    expect(Object.isFrozen(c.node)).toBe(true);
    expect(Object.isFrozen((c.channels.webhook as { headers: object }).headers)).toBe(true);
    expect(() => { (c as { db: string }).db = 'sqlite:/other.db'; }).toThrow(TypeError);
  });
});

describe('loadConfig: keys', () => {
  it('accepts every command\'s keys in one file', () => {
    const c = loadConfig({
      config: configFile({
        db: 'sqlite:/x.db', network: 'mainnet', operator: 'alice', policy: '/etc/coldpool/policy.json', node: 'http://u:p@127.0.0.1:8332',
        threshold: 1000, warning: 2500, repeat: '24h', cron: '*/5 * * * *', keystore: '/media/usb/cold.keystore', batchCount: 10000,
        failuresBeforeAlert: 3, channels: { log: true },
      }),
    }, cleanEnv());
    expect([c.operator, c.policyFile, c.watch.warning, c.watch.batchCount]).toEqual(['alice', '/etc/coldpool/policy.json', 2500, 10000]);
  });

  it.each([
    [{ operater: 'alice' }, /config .*: unknown key "operater"; expected one of db, network, operator/],
    [{ channels: { email: { hots: 'smtp.example.com' } } }, /unknown key "channels\.email\.hots"/],
    [{ channels: { webhook: { url: 'http://127.0.0.1:1', header: {} } } }, /unknown key "channels\.webhook\.header"/],
    [{ channels: { pager: {} } }, /unknown channel "pager"/],
  ])('refuses an unknown key with its path: %j', (body, message) => {
    expect(() => loadConfig({ config: configFile(body) }, cleanEnv())).toThrow(message);
  });

  it.each([
    ['a number where a name belongs', { operator: 42 }, /config .*: "operator" expected a name of 1\.\.190 printable characters, got 42/],
    ['an unknown network', { network: 'moonnet' }, /config .*: "network" expected one of mainnet, testnet, signet, regtest, got "moonnet"/],
    ['an empty db', { db: '' }, /config .*: "db" expected a database URL/],
    ['a threshold in words', { threshold: 'lots' }, /config .*: "threshold" expected an integer >= 1, got "lots"/],
    ['a repeat without a unit it knows', { repeat: '2w' }, /config .*: "repeat" expected a duration/],
    ['channels as a list', { channels: [] }, /"channels" expected an object/],
  ])('refuses %s, naming the file and the key', (_, body, message) => {
    let err: unknown;
    try {
      loadConfig({ config: configFile(body) }, cleanEnv());
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe('INVALID_INPUT');
    expect((err as Error).message).toMatch(message);
  });

  it('a bad flag is a usage error naming the flag; a bad environment value names the environment', () => {
    expect(() => loadConfig({ operator: ' bob' }, cleanEnv())).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('"--operator" expected a name') }));
    expect(() => loadConfig({ network: 'x' }, cleanEnv())).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('"--network" expected one of') }));
    expect(() => loadConfig({}, cleanEnv({ COLDPOOL_NETWORK: 'x' }))).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/^environment: "network"/) }));
    expect(() => loadConfig({}, cleanEnv({ COLDPOOL_WATCH_THRESHOLD: '1e3' }))).toThrow(/^environment: "threshold" expected an integer >= 1, got "1e3"/);
  });

  it('a config file named by --config must exist; the default one may be absent', () => {
    expect(() => loadConfig({ config: join(dir, 'nope.json') }, cleanEnv())).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(loadConfig({}, cleanEnv()).file).toBeUndefined();
  });

  it('is not JSON / not an object', () => {
    expect(() => loadConfig({ config: configFile('{"db": ') }, cleanEnv())).toThrow(/not valid JSON/);
    expect(() => loadConfig({ config: configFile('[1]') }, cleanEnv())).toThrow(/expected a JSON object/);
  });
});

describe('what only some commands read', () => {
  it('the policy file is read by policyOf, not by loadConfig: a missing one fails only where it is used', () => {
    const c = loadConfig({ config: configFile({ policy: join(dir, 'missing-policy.json') }) }, cleanEnv());
    expect(() => policyOf(c)).toThrow(expect.objectContaining({ code: 'NOT_FOUND', message: expect.stringContaining('missing-policy.json cannot be read') }));
  });

  it('channel secrets are read by channelsOf only', () => {
    const c = loadConfig({ config: configFile({ channels: { email: { host: 'h', from: 'a@b', to: 'c@d', passwordFile: join(dir, 'no-secret') } } }) }, cleanEnv());
    expect(() => channelsOf(c, {})).toThrow(/"channels\.email\.passwordFile" .*no-secret cannot be read/);
  });

  it('the cron expression is checked by the scheduling commands, naming where it came from', async () => {
    const c = loadConfig({ config: configFile({ cron: '61 * * * *' }) }, cleanEnv());
    await expect(checkCron(c, false, {})).rejects.toThrow(/config .*: "cron" expected a cron expression/);
    const f = loadConfig({ cron: 'banana' }, cleanEnv());
    await expect(checkCron(f, true, {})).rejects.toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(await checkCron(loadConfig({}, cleanEnv()), false, {})).toBe(DEFAULT_CRON);
  });
});

describe('loadConfig: the verifier\'s settings', () => {
  it('defaults: 1 h token, 24 h hold, hourly sync, 5 wrong tokens; its own database when "db" is not given', () => {
    const c = loadConfig({}, cleanEnv());
    expect(c.verifier).toMatchObject({ webDb: undefined, confirmUrl: undefined, tokenTtlMs: 3_600_000, holdMs: 86_400_000, emailSyncMs: 3_600_000, maxWrongTokens: 5 });
    expect(c.dbDefaulted).toBe(true);
    expect(loadConfig({ db: 'sqlite:/v.db' }, cleanEnv()).dbDefaulted).toBe(false);
  });

  it('file, then env, then flag; a bad value names its key, an unknown key in "verifier" is refused', () => {
    const file = configFile({ webDb: 'sqlite:/web.db', verifier: { confirmUrl: 'https://shop.example/c?w={id}&t={token}', tokenTtl: '30m', hold: '48h', maxWrongTokens: 3 } });
    const c = loadConfig({ config: file }, cleanEnv({ COLDPOOL_HOLD: '12h' }));
    expect(c.verifier).toMatchObject({ webDb: 'sqlite:/web.db', tokenTtlMs: 1_800_000, holdMs: 43_200_000, maxWrongTokens: 3 });
    expect(loadConfig({ config: file, hold: '1h' }, cleanEnv({ COLDPOOL_HOLD: '12h' })).verifier.holdMs).toBe(3_600_000);
    expect(() => loadConfig({ config: configFile({ verifier: { confirmUrl: 'https://shop.example/c?w={id}' } }) }, cleanEnv())).toThrow(/"confirmUrl" expected a link template with \{id\} and \{token\}/);
    expect(() => loadConfig({ confirmUrl: 'ftp://x/{id}/{token}' }, cleanEnv())).toThrow(/http\(s\) URL/);
    expect(() => loadConfig({ config: configFile({ verifier: { holdd: '1h' } }) }, cleanEnv())).toThrow(/unknown key "verifier.holdd"/);
  });

  it('addressCheck: the full compare of the address rows every 10 min unless said; file, env, flag; a bad duration names it', () => {
    expect(loadConfig({}, cleanEnv()).verifier.addressCheckMs).toBe(600_000);
    const file = configFile({ verifier: { addressCheck: '30m' } });
    expect(loadConfig({ config: file }, cleanEnv()).verifier.addressCheckMs).toBe(1_800_000);
    expect(loadConfig({ config: file }, cleanEnv({ COLDPOOL_ADDRESS_CHECK: '1h' })).verifier.addressCheckMs).toBe(3_600_000);
    expect(loadConfig({ config: file, addressCheck: '5m' }, cleanEnv({ COLDPOOL_ADDRESS_CHECK: '1h' })).verifier.addressCheckMs).toBe(300_000);
    expect(() => loadConfig({ config: configFile({ verifier: { addressCheck: 'often' } }) }, cleanEnv())).toThrow(/addressCheck/);
  });
});
