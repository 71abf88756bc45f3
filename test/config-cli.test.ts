import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requestWithdrawal } from '../src/flows/request-withdrawal.js';
import { runCli, tempDir } from './support/cli.js';
import { openStore, openWithdrawalStore } from './support/open-repos.js';
import { fakeBatch } from './support/pool-fixtures.js';
import { writeCliOperators, type CliOperator } from './support/approvers.js';

/**
 * One config.json, as a new operator writes it from the help texts, read
 * alike by every command (the real CLI, spawned). Before the one
 * configuration, `"operator"` made `pool check` fail with `unknown key`, and
 * `"db"` was ignored by `pool status` and `withdrawals list`, which then
 * created an empty ./coldpool.db in the current folder.
 */
const P2WSH = 'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7';
const dir = tempDir();
const dbPath = join(dir, 'pool.db');
const cwd = join(dir, 'cwd');
const xdg = join(dir, 'xdg');
/** The environment of an operator with nothing but the config file: no COLDPOOL_* set. */
const env = { XDG_CONFIG_HOME: xdg, COLDPOOL_DB: '', COLDPOOL_OPERATOR: '', COLDPOOL_POLICY: '', COLDPOOL_NETWORK: '' };

let carol: CliOperator;

function writeConfig(body: unknown): void {
  writeFileSync(join(xdg, 'coldpool', 'config.json'), JSON.stringify(body));
}

beforeAll(async () => {
  mkdirSync(cwd);
  mkdirSync(join(xdg, 'coldpool'), { recursive: true });
  const pool = openStore(`sqlite:${dbPath}`);
  await pool.migrate();
  await pool.insertBatch(fakeBatch({ first: 0, count: 40 }));
  await pool.close();
  const store = openWithdrawalStore(`sqlite:${dbPath}`, { network: 'testnet' });
  for (const appId of ['w1', 'w2']) await requestWithdrawal(store, { appId, user: 'alice', address: P2WSH, amountSat: 100_000n });
  await store.close();
  writeFileSync(join(dir, 'policy.json'), JSON.stringify({ approvalsRequired: 2 }));
  carol = (await writeCliOperators(dir, 'testnet', ['carol'])).operators.carol!;
  // paths may come from the file; the key's password never does
  writeConfig({ db: `sqlite:${dbPath}`, operator: 'carol', policy: join(dir, 'policy.json'), network: 'testnet', threshold: 50, keystore: '/media/usb/cold.keystore', key: carol.args[1], passwordFile: carol.args[3], trust: carol.args[5] });
});

describe('one config.json shared by approve, pool status and pool check', () => {
  it('withdrawals approve takes the operator, the policy and the database from it', async () => {
    const r = await runCli('coldpool', ['withdrawals', 'approve', '1', '--json', '--password-file', carol.args[3]!], { cwd, env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // policy.json asks two approvals: one by carol's key (the file's key and trust file) leaves it requested.
    expect(JSON.parse(r.stdout)).toEqual([{ id: '1', status: 'requested', approvals: ['carol'], approvals_required: 2, key_id: carol.keyId }]);
  });

  it('pool status reads the same database', async () => {
    const r = await runCli('coldpool', ['pool', 'status', '--json'], { cwd, env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ available: 40 });
  });

  it('pool check reads the same database and the file\'s threshold (40 < 50: exit 6)', async () => {
    const r = await runCli('coldpool', ['pool', 'check', '--json'], { cwd, env });
    expect(r.code).toBe(6);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'critical', available: 40, threshold: 50, next_command: expect.stringContaining('/media/usb/cold.keystore') });
  });

  it('withdrawals list reads the same database; a flag still wins over the file', async () => {
    const r = await runCli('coldpool', ['withdrawals', 'list', '--json', '--status', 'all'], { cwd, env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).withdrawals.map((w: { app_id: string }) => w.app_id)).toEqual(['w1', 'w2']);
    const other = join(dir, 'other.db');
    const f = await runCli('coldpool', ['withdrawals', 'list', '--db', `sqlite:${other}`], { cwd, env });
    expect(f.code).toBe(5);
    expect(f.stderr).toContain(`no SQLite database at ${other}`);
    expect(existsSync(other)).toBe(false);
  });

  it('nothing was created in the current folder by any of them', () => {
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe('a key no command knows is refused by every command, naming it and the file; nothing changes', () => {
  const commands: string[][] = [
    ['db', 'migrate'], ['pool', 'status'], ['pool', 'check'], ['pool', 'claim', '--user', 'u1'], ['pool', 'load', join(dir, 'batch.csv')],
    ['watch'], ['withdrawals', 'list'], ['withdrawals', 'approve', '2'], ['withdrawals', 'reject', '2', '--reason', 'r'],
    ['withdrawals', 'cancel', '2', '--reason', 'r'], ['withdrawals', 'request', '--app-id', 'w3', '--user', 'u', '--address', P2WSH, '--amount-sat', '1000'],
    ['audit', 'verify'], ['audit', 'export', '--out', join(dir, 'export.jsonl')], ['chain', 'status'], ['deposits', 'list'],
    ['chain', 'sync', '--esplora', 'http://127.0.0.1:9'], ['payout', 'status'], ['payout', 'build', '--fee-rate', '5', '--out', join(dir, 'p.psbt'), '--esplora', 'http://127.0.0.1:9'],
    ['payout', 'bump', '1', '--fee-rate', '5', '--out', join(dir, 'b.psbt'), '--esplora', 'http://127.0.0.1:9'],
  ];
  it.each(commands.map((args) => [args.join(' '), args] as const))('coldpool %s', async (_, args) => {
    const cfg = join(dir, `typo-${args.join('-').replace(/\W+/g, '_')}.json`);
    writeFileSync(cfg, JSON.stringify({ db: `sqlite:${dbPath}`, operater: 'carol' }));
    const r = await runCli('coldpool', ['--config', cfg, ...args], { cwd, env });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`config ${cfg}: unknown key "operater"`);
    expect(r.stdout).toBe('');
    expect(readdirSync(dir).filter((f) => /^(p|b)\.psbt|export\.jsonl|^batch/.test(f))).toEqual([]);
  });

  it('the pool and the queue are as they were', async () => {
    const r = await runCli('coldpool', ['pool', 'status', '--json'], { cwd, env });
    expect(JSON.parse(r.stdout)).toMatchObject({ available: 40 });
    const w = await runCli('coldpool', ['withdrawals', 'list', '--json', '--status', 'all'], { cwd, env });
    expect(JSON.parse(w.stdout).withdrawals.map((x: { status: string }) => x.status)).toEqual(['requested', 'requested']);
  });
});
