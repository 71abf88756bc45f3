/**
 * examples/php (issue 15): the PHP web app, as separate PHP processes, on a
 * real MariaDB through the web account of sql/mysql/grants.sql as shipped:
 * 64 signups at once each get their own set; a request twice is stored once;
 * bad requests are refused with the operator tool's own reasons (the PHP
 * address and amount rules cross-checked against src/core on the BIP173/350
 * vectors); the web account's raw SQL cannot approve, re-amount, attest or
 * touch the audit log; and the requests the PHP app queued go all the way
 * through the real CLIs (verifier token relayed through the PHP app's HTTP
 * endpoint, two operator approvals, payout build, offline sign, broadcast,
 * chain sync) to `confirmed`, which the PHP app then shows.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { address as btcAddress } from 'bitcoinjs-lib';
import bs58check from 'bs58check';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBtc, parseSat } from '../src/core/amount.js';
import { AddressError, parseAddress } from '../src/core/address.js';
import { CodedError } from '../src/core/errors.js';
import { NETWORKS, toBitcoinjs, type NetworkName } from '../src/core/network.js';
import { SmtpSink } from './support/alert-sinks.js';
import { writeCliOperators } from './support/approvers.js';
import { regtestBatch } from './support/chain-fixtures.js';
import { ROOT, cliJson as json, cliOk as ok, runCli, tempDir } from './support/cli.js';
import { FakeNode } from './support/fake-node.js';
import { grantedMariaDb, type GrantedDatabases } from './support/granted-mariadb.js';
import { openStore } from './support/open-repos.js';
import { MARIADB_ROOT, type Cleanup } from './support/pool-fixtures.js';
import { externalAddress, writeFixtureKeystore } from './support/psbt-fixtures.js';
import { RegtestChain, otherKey, spend } from './support/regtest-chain.js';
import { segwitVectors } from './support/segwit-vectors.js';
import { tokenIn } from './support/verifier-fixture.js';
import { setUpCliVerifier, verifierCycle } from './support/verifier-cli.js';

const PHP_DIR = join(ROOT, 'examples/php');
const CONTRACT = join(PHP_DIR, 'tests/contract-test.php');
const probe = spawnSync('php', ['-m'], { encoding: 'utf8' });
const hasPhp = probe.status === 0 && /^pdo_mysql$/m.test(probe.stdout);
const SET_SIZE = 4;
const USERS = 64;
const NET = toBitcoinjs(NETWORKS.regtest);

const cleanups: Cleanup[] = [];
let db: GrantedDatabases;
let env: Record<string, string>;
let dir: string;

interface Reply { status: number; body: Record<string, unknown> & { error?: { code: string; reason?: string; message: string } } }

/** One PHP process: `contract-test.php ARGS` with the web account's configuration in its environment, stdin `input`. */
function php(args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    // No stdin pipe for a command that reads none: PHP may exit before a write to it lands (EPIPE).
    const child = spawn('php', [CONTRACT, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: [input === '' ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`php ${args.join(' ')}: exit ${code}\n${stderr}${stdout}`))));
    if (input !== '') {
      child.stdin!.on('error', () => {}); // the exit code and stderr tell what went wrong
      child.stdin!.end(input);
    }
  });
}

/** One route of the app (examples/php/src/App.php) in its own PHP process. */
async function call(method: string, path: string, body?: unknown): Promise<Reply> {
  return JSON.parse(await php(['call', method, path, ...(body === undefined ? [] : [JSON.stringify(body)])])) as Reply;
}

async function rootQuery<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = await mysql.createConnection({ ...MARIADB_ROOT, database: db.name });
  try {
    return (await c.query(sql, params))[0] as T[];
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  if (!hasPhp) return;
  dir = tempDir('coldpool-php-');
  db = await grantedMariaDb(cleanups, 'ph');
  // The pool: real regtest receive addresses (the keys RegtestChain signs with), loaded by the operator box.
  const store = openStore(db.operator);
  await store.insertBatch(regtestBatch(0, USERS * SET_SIZE + 40));
  await store.close();
  const passwordFile = join(dir, 'web-db.password');
  writeFileSync(passwordFile, `${db.password}\n`, { mode: 0o600 });
  env = {
    COLDPOOL_DB_HOST: '127.0.0.1', COLDPOOL_DB_PORT: '3306', COLDPOOL_DB_NAME: db.name, COLDPOOL_DB_USER: db.users.web,
    COLDPOOL_DB_PASSWORD_FILE: passwordFile, COLDPOOL_NETWORK: 'regtest', COLDPOOL_SET_SIZE: String(SET_SIZE),
  };
}, 30_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!hasPhp)('examples/php on MariaDB through the web account of grants.sql', () => {
  it('runs only statements sql/README.md documents, word for word (whitespace aside)', async () => {
    const flat = (t: string) => t.replace(/\s+/g, ' ');
    const readme = flat(readFileSync(join(ROOT, 'sql/README.md'), 'utf8'));
    const statements = JSON.parse(await php(['statements'])) as Record<string, string>;
    expect(Object.keys(statements).length).toBeGreaterThan(15);
    expect(Object.entries(statements).filter(([, sql]) => !readme.includes(flat(sql)))).toEqual([]);
  });

  it(`${USERS} PHP processes sign up ${USERS} new users at once: each gets a set of its own, no address in two sets`, async () => {
    const replies = await Promise.all(Array.from({ length: USERS }, (_, k) => call('POST', '/signup', { user: `user-${k}`, email: `user-${k}@mail.example` })));
    const given = new Map<string, string>();
    replies.forEach((r, k) => {
      expect(r).toMatchObject({ status: 201, body: { kind: 'assigned', size: SET_SIZE } });
      const set = r.body.unhanded as { address: string }[];
      expect(set).toHaveLength(SET_SIZE);
      for (const a of set) {
        expect(given.get(a.address)).toBeUndefined();
        given.set(a.address, `user-${k}`);
      }
    });
    const rows = await rootQuery<{ address: string; user_id: string; status: string }>('SELECT address, user_id, status FROM addresses WHERE user_id IS NOT NULL');
    expect(new Map(rows.map((r) => [r.address, r.user_id]))).toEqual(given);
    expect(await rootQuery('SELECT COUNT(*) AS n FROM address_sets')).toEqual([{ n: USERS }]);
    // A retried signup gets the same set back, nothing written.
    const again = await call('POST', '/signup', { user: 'user-7', email: 'user-7@mail.example' });
    expect(again).toMatchObject({ status: 200, body: { kind: 'existing', unhanded: replies[7]!.body.unhanded } });
  });

  it('a claim hands out the next address of the user\'s set; the same ref gives the same address; the set is topped up when low', async () => {
    const set = (await call('GET', '/addresses?user=user-3')).body.unhanded as { address: string; index: number }[];
    const first = await call('POST', '/address', { user: 'user-3', ref: 'deposit-3-a' });
    expect(first).toMatchObject({ status: 200, body: { address: set[0]!.address, reused: false, source: 'set' } });
    expect((await call('POST', '/address', { user: 'user-3', ref: 'deposit-3-a' })).body).toMatchObject({ address: set[0]!.address, reused: true });
    expect((await call('POST', '/address', { user: 'user-4', ref: 'deposit-3-a' })).body.error).toMatchObject({ code: 'STATE_CONFLICT', reason: 'ref_other_user' });
    for (const a of set.slice(1)) expect((await call('POST', '/address', { user: 'user-3' })).body.address).toBe(a.address);
    // The set was used down to 0 (< 1, a tenth of 4): topped up to 4 again from the pool.
    expect(((await call('GET', '/addresses?user=user-3')).body.unhanded as unknown[]).length).toBe(SET_SIZE);
    // A user without a set claims from the pool.
    expect((await call('POST', '/address', { user: 'walk-in' })).body).toMatchObject({ source: 'pool', reused: false });
  });

  it('a withdrawal request sent twice with the same app id is stored once; the app id with other content is refused', async () => {
    const input = { app_id: 'php-twice', user: 'user-1', address: externalAddress(5), amount_btc: '0.0012' };
    const first = await call('POST', '/withdrawals', input);
    expect(first).toMatchObject({ status: 201, body: { kind: 'created', withdrawal: { status: 'requested', amount_sat: 120_000, user: 'user-1' } } });
    const second = await call('POST', '/withdrawals', { ...input, amount_btc: undefined, amount_sat: 120_000 });
    expect(second).toMatchObject({ status: 200, body: { kind: 'existing', withdrawal: { id: (first.body.withdrawal as { id: string }).id } } });
    expect(await rootQuery("SELECT COUNT(*) AS n FROM withdrawals WHERE app_id = 'php-twice'")).toEqual([{ n: 1 }]);
    expect((await call('POST', '/withdrawals', { ...input, amount_btc: '0.5' })).body.error).toMatchObject({ code: 'STATE_CONFLICT', reason: 'app_id_reused' });
  });

  it('bad requests are refused with the documented code and reason, and nothing is stored', async () => {
    const good = { app_id: 'php-bad', user: 'user-2', address: externalAddress(6), amount_sat: 100_000 };
    const [before] = await rootQuery<{ n: number }>('SELECT COUNT(*) AS n FROM withdrawals');
    const cases: [Record<string, unknown>, number, string, string][] = [
      [{ address: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' }, 400, 'NETWORK_MISMATCH', 'address_network'],
      [{ address: `${externalAddress(6).slice(0, -1)}${externalAddress(6).endsWith('q') ? 'p' : 'q'}` }, 400, 'INVALID_INPUT', 'address_checksum'],
      [{ amount_sat: 0 }, 400, 'INVALID_INPUT', 'amount_zero'],
      [{ amount_sat: -5 }, 400, 'INVALID_INPUT', 'amount_sign'],
      [{ amount_sat: 1.5 }, 400, 'INVALID_INPUT', 'amount_not_a_number'],
      [{ amount_sat: undefined, amount_btc: '0.000000001' }, 400, 'INVALID_INPUT', 'amount_too_precise'],
      [{ amount_sat: 293 }, 400, 'INVALID_INPUT', 'amount_below_dust'],
      [{ user: 'nobody' }, 404, 'NOT_FOUND', 'user_unknown'],
      [{ user: ' user-2' }, 400, 'INVALID_INPUT', 'user_invalid'],
      [{ app_id: '' }, 400, 'INVALID_INPUT', 'app_id_invalid'],
    ];
    for (const [change, status, code, reason] of cases) {
      const r = await call('POST', '/withdrawals', { ...good, ...change });
      expect([JSON.stringify(change), r.status, r.body.error?.code, r.body.error?.reason]).toEqual([JSON.stringify(change), status, code, reason]);
      expect(r.body.error?.message).toMatch(/^"(address|amount_sat|amount_btc|user|app_id)"/);
    }
    expect(await rootQuery('SELECT COUNT(*) AS n FROM withdrawals')).toEqual([before]);
    expect((await call('GET', '/withdrawals/1?user=user-2')).body.error).toMatchObject({ code: 'NOT_FOUND' });
    expect((await call('GET', '/confirm?w=abc&t=x')).body.error).toMatchObject({ code: 'INVALID_INPUT', reason: 'withdrawal_invalid' });
  });

  it('the PHP address and amount rules agree with src/core on the BIP173/BIP350 vectors, base58 and amount edge cases', async () => {
    const netOf = (a: string): NetworkName => (/^bcrt1/i.test(a) ? 'regtest' : /^tb1/i.test(a) ? 'testnet' : 'mainnet');
    const b58 = (version: number, fill: number) => bs58check.encode(Buffer.concat([Buffer.from([version]), Buffer.alloc(20, fill)]));
    const addresses = [
      ...['bip-0173-segwit-address-vectors.mediawiki', 'bip-0350-segwit-address-vectors.mediawiki'].flatMap((f) => {
        const v = segwitVectors(f as 'bip-0173-segwit-address-vectors.mediawiki');
        return [...v.valid, ...v.invalid].map((x) => x.address);
      }),
      b58(0x00, 1), b58(0x05, 2), b58(0x6f, 3), b58(0xc4, 4), b58(0x30, 5), `${b58(0x00, 1).slice(0, -1)}1`, bs58check.encode(Buffer.alloc(10, 1)),
      'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', 'BC1QW508d6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', 'ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9', '', 'not an address', externalAddress(0),
    ].flatMap((address) => [{ address, network: netOf(address) }, { address, network: 'regtest' as NetworkName }]);
    const node = addresses.map(({ address, network }) => {
      try {
        const d = parseAddress(address, NETWORKS[network]);
        return { type: d.type, dust_sat: Number(d.dustSat) };
      } catch (e) {
        if (!(e instanceof AddressError)) throw e;
        return { code: e.code, reason: e.reason };
      }
    });
    expect(JSON.parse(await php(['addresses'], JSON.stringify(addresses)))).toEqual(node);

    const amounts = [
      ...['0.0015', '1', '1.', '.5', '0', '0.00000001', '0.000000001', '-1', '+1', '1e-3', '21000000', '21000000.00000001', '1,5', ' 1', '0000000001'].map((btc) => ({ btc })),
      ...['1', '0', '-1', '1e3', '2100000000000000', '2100000000000001', '99999999999999999999', '1.0', 'abc'].map((sat) => ({ sat })),
      { sat: 150_000 }, { sat: 0 }, { sat: -3 },
    ];
    const nodeAmounts = amounts.map((a) => {
      try {
        return { sat: Number('btc' in a ? parseBtc(a.btc) : parseSat(a.sat)) };
      } catch (e) {
        if (!(e instanceof CodedError)) throw e;
        return { code: e.code, reason: e.context.reason };
      }
    });
    expect(JSON.parse(await php(['amounts'], JSON.stringify(amounts)))).toEqual(nodeAmounts);
  });

  it('the web account cannot approve, sign, re-amount, attest, mark paid, or touch the audit log (SQL permission errors)', async () => {
    const [w] = await rootQuery<{ id: number }>("SELECT id FROM withdrawals WHERE app_id = 'php-twice'");
    const id = w!.id;
    const attacks: [string, number][] = [
      [`UPDATE withdrawals SET status = 'approved' WHERE id = ${id}`, 1142],
      [`UPDATE withdrawals SET amount_sat = 1 WHERE id = ${id}`, 1142],
      [`UPDATE withdrawals SET destination = 'bcrt1qattacker' WHERE id = ${id}`, 1142],
      [`DELETE FROM withdrawals WHERE id = ${id}`, 1142],
      ["INSERT INTO withdrawals (app_id, user_id, destination, amount_sat, status) VALUES ('forged', 'user-1', 'bcrt1q', 1000, 'approved')", 1143],
      [`INSERT INTO withdrawal_approvals (withdrawal_id, operator, approved_at) VALUES (${id}, 'op1', UTC_TIMESTAMP(3))`, 1142],
      [`INSERT INTO withdrawal_signatures (withdrawal_id, key_id, operator, content, signature, signed_at) VALUES (${id}, '0000000000000000', 'op1', '{}', REPEAT('0', 128), UTC_TIMESTAMP(3))`, 1142],
      [`INSERT INTO withdrawal_seen (withdrawal_id, fingerprint, content, seen_at, seen_by) VALUES (${id}, REPEAT('0', 64), '[]', UTC_TIMESTAMP(3), 'op1')`, 1142],
      [`INSERT INTO attestations (withdrawal_id, key_id, content, signature, attested_at) VALUES (${id}, '0000000000000000', '{}', REPEAT('0', 128), UTC_TIMESTAMP(3))`, 1142],
      ["INSERT INTO audit_log (at, actor, action, subject, data, prev_hash, hash) VALUES (UTC_TIMESTAMP(3), 'op1', 'approve', 'w', '{}', REPEAT('0', 64), REPEAT('1', 64))", 1142],
      ["UPDATE audit_log SET data = '{}'", 1142],
      ['DELETE FROM audit_log', 1142],
      ["UPDATE audit_head SET hash = REPEAT('0', 64)", 1142],
      ["INSERT INTO payouts (status, psbt, fee_sat, fee_rate_sat_kvb, created_at) VALUES ('signed', 'cHNidP8=', 1, 1, UTC_TIMESTAMP(3))", 1142],
      ["UPDATE addresses SET address = 'bcrt1qattacker' LIMIT 1", 1143],
      ['SELECT token FROM withdrawal_confirmations', 1142],
      ['DELETE FROM address_sets', 1142],
    ];
    const results = JSON.parse(await php(['attack'], JSON.stringify(attacks.map(([sql]) => sql)))) as { errno: number; error?: string }[];
    expect(results.map((r, k) => [attacks[k]![0], r.errno])).toEqual(attacks);
    expect(await rootQuery('SELECT status, amount_sat FROM withdrawals WHERE id = ?', [id])).toEqual([{ status: 'requested', amount_sat: 120_000 }]);
  });

  describe('and on to the chain', () => {
    let node: FakeNode;
    let smtp: SmtpSink;
    let server: ChildProcess | undefined;
    beforeAll(async () => {
      const chain = RegtestChain.create();
      chain.mineEmpty(3);
      node = await new FakeNode(chain).start();
      smtp = await new SmtpSink().start();
    });
    afterAll(async () => {
      server?.kill();
      await node?.stop();
      await smtp?.stop();
    });

    it('the PHP app\'s requests: verifier token relayed through its HTTP endpoint → attested → two approvals → build → sign → broadcast → confirmed, shown by the PHP app', async () => {
      const keystore = join(dir, 'cold.keystore');
      const passwordFile = join(dir, 'cold.pw');
      writeFileSync(passwordFile, 'correct horse battery\n');
      await writeFixtureKeystore(keystore, 'correct horse battery');
      const ops = await writeCliOperators(dir, 'regtest', ['op1', 'op2'], 2);
      const verifier = await setUpCliVerifier({ dir, name: 'php', webDb: db.verifierWeb, verifierDb: db.verifierOwn, smtpPort: smtp.port, trustFile: ops.trustFile });

      // A deposit to the address the PHP app gave user-1, on the chain and synced by the operator box.
      const deposit = String((await call('POST', '/address', { user: 'user-1', ref: 'deposit-1' })).body.address);
      const chain = RegtestChain.create();
      chain.mineEmpty(3);
      const f = chain.coinbaseUtxos(chain.height)[0]!;
      chain.mine([spend([f], [{ script: btcAddress.toOutputScript(deposit, NET), valueSat: 900_000n }, { key: otherKey(9), valueSat: f.valueSat - 901_000n }])]);
      chain.mineEmpty(1);
      node.setChain(chain);
      ok(await runCli('coldpool', ['chain', 'sync', '--node', node.rpcUrl, '--from-height', '1', '--db', db.operator]));

      // The web app serves HTTP; the requests go in through it.
      const port = await freePort();
      server = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', join(PHP_DIR, 'public')], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
      const http = async (method: string, path: string, body?: unknown): Promise<Reply> => {
        const r = await fetch(`http://127.0.0.1:${port}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
        return { status: r.status, body: (await r.json()) as Reply['body'] };
      };
      await waitFor(() => http('GET', '/withdrawals?user=user-1').then(() => true, () => false));
      const paid = String(((await http('POST', '/withdrawals', { app_id: 'php-paid', user: 'user-1', address: externalAddress(0), amount_sat: 150_000 })).body.withdrawal as { id: string }).id);
      const unconfirmed = String(((await http('POST', '/withdrawals', { app_id: 'php-unconfirmed', user: 'user-2', address: externalAddress(1), amount_btc: '0.0011' })).body.withdrawal as { id: string }).id);

      // The verifier mails every request's user (3: php-twice too); only user-1 clicks, through the PHP app.
      expect((await verifierCycle(verifier.config)).tokensSent).toBe(3);
      const token = smtp.mails.filter((m) => m.to.includes('user-1@mail.example')).map(tokenIn).find((t) => t?.id === BigInt(paid))!.token;
      expect(await http('GET', `/confirm?w=${paid}&t=${encodeURIComponent(token)}`)).toEqual({ status: 202, body: { relayed: true, message: 'thank you, your confirmation was passed on' } });
      expect((await verifierCycle(verifier.config)).attested).toBe(1);

      // The operators approve both; only the attested one is paid.
      ok(await runCli('coldpool', ['withdrawals', 'list', '--db', db.operator, '--operator', 'op1']));
      for (const op of ['op1', 'op2']) ok(await runCli('coldpool', ['withdrawals', 'approve', paid, unconfirmed, '--db', db.operator, ...ops.operators[op]!.args]));
      expect((await http('GET', `/withdrawals/${unconfirmed}?user=user-2`)).body).toMatchObject({ status: 'approved', amount_sat: 110_000 });
      const psbt = join(dir, 'php-payout.psbt');
      const build = await runCli('coldpool', ['payout', 'build', '--trust', ops.trustFile, '--fee-rate', '2', '--out', psbt, '--node', node.rpcUrl, '--db', db.operator, '--operator', 'op1', '--json']);
      const [built] = json<{ unsigned_txid: string; outputs: { withdrawal_id: string }[] }[]>(build);
      expect(built!.outputs.map((o) => o.withdrawal_id)).toEqual([paid]);
      const signed = join(dir, 'php-payout.signed.psbt');
      const log = join(dir, 'php-sign.jsonl');
      ok(await runCli('coldpool-offline', ['sign', psbt, '--keystore', keystore, '--password-file', passwordFile, '--manifest', join(dir, 'php-payout.manifest.json'), '--out', signed, '--log', log, '--trust', ops.trustFile, ...(existsSync(log) ? [] : ['--new-log']), '--yes', '--json']));
      ok(await runCli('coldpool', ['payout', 'broadcast', signed, '--confirm', built!.unsigned_txid.slice(0, 8), '--node', node.rpcUrl, '--db', db.operator]));
      chain.mine([...node.mempool.values()]);
      node.setChain(chain);
      ok(await runCli('coldpool', ['chain', 'sync', '--node', node.rpcUrl, '--db', db.operator]));
      const [payout] = json<{ status: string; txid: string }[]>(await runCli('coldpool', ['payout', 'status', '--json', '--db', db.operator, '--operator', 'op1']));
      expect(payout).toMatchObject({ status: 'confirmed', txid: built!.unsigned_txid });

      // What the user sees in the PHP app.
      expect((await http('GET', `/withdrawals/${paid}?user=user-1`)).body).toMatchObject({ id: paid, status: 'confirmed', amount_sat: 150_000, destination: externalAddress(0) });
      expect((await http('GET', `/withdrawals/${paid}?user=user-2`)).status).toBe(404);
      const list = (await http('GET', '/withdrawals?user=user-1')).body.withdrawals as { app_id: string; status: string }[];
      expect(list.map((w) => [w.app_id, w.status])).toEqual([['php-paid', 'confirmed'], ['php-twice', 'requested']]);
    }, 60_000);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(ready: () => Promise<boolean>, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (await ready()) return;
  throw new Error('the PHP server did not answer within 5 s');
}

if (!hasPhp) {
  describe('examples/php', () => {
    it.skip('skipped: `php` with the pdo_mysql module is not installed (apt-get install php-cli php-mysql; .ci/run installs them)', () => {});
  });
}
