/**
 * Issue 13 end to end through the real, built CLIs (`runCli`): a request →
 * the verifier's token mail arrives at a real SMTP server → the test reads
 * the token from that mail → the web side relays it (`withdrawals confirm`)
 * → the verifier attests → two signed approvals → payout build (pays only
 * attested requests: the trust file names the verifier) → the signer checks
 * the attestation and the approvals → broadcast → confirmed. And the
 * refusals end to end: an unconfirmed request and one edited after the
 * verifier saw it are left out of the build, and the signer refuses a
 * manifest that claims an attestation for them.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { address as btcAddress } from 'bitcoinjs-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NETWORKS, toBitcoinjs } from '../src/core/network.js';
import { testAccount } from './support/accounts.js';
import { SmtpSink } from './support/alert-sinks.js';
import { writeCliOperators } from './support/approvers.js';
import { runCli, tempDir, type CliResult } from './support/cli.js';
import { FakeNode } from './support/fake-node.js';
import { externalAddress, fixtureSigner } from './support/psbt-fixtures.js';
import { RegtestChain, otherKey, spend } from './support/regtest-chain.js';
import mysql from 'mysql2/promise';
import { grantedMariaDb } from './support/granted-mariadb.js';
import { setUpCliVerifier, verifierCycle as cliVerifierCycle } from './support/verifier-cli.js';
import { mariadbBackend, sqliteBackend, type Backend } from './support/withdrawal-backends.js';
import { tokenIn } from './support/verifier-fixture.js';

const PASSWORD = 'correct horse battery';
const NET = toBitcoinjs(NETWORKS.regtest);
let node: FakeNode;
let chain: RegtestChain;
let smtp: SmtpSink;
let dir: string;
let keystore: string;
let passwordFile: string;
let ops: Awaited<ReturnType<typeof writeCliOperators>>;
let verifierConfig: string;
let verifierKeyId: string;

function ok(r: CliResult): string {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}
function json<T = Record<string, unknown>>(r: CliResult): T {
  return JSON.parse(ok(r)) as T;
}

beforeAll(async () => {
  dir = tempDir('coldpool-verifier-e2e-');
  ({ keystore, passwordFile } = await fixtureSigner(dir, PASSWORD));
  ops = await writeCliOperators(dir, 'regtest', ['op1', 'op2'], 2);
  chain = RegtestChain.create();
  chain.mineEmpty(3);
  node = await new FakeNode(chain).start();
  smtp = await new SmtpSink().start();
}, 30_000);

afterAll(async () => {
  await node.stop();
  await smtp.stop();
  for (const c of cleanups.splice(0).reverse()) await c();
});

const cleanups: (() => Promise<void> | void)[] = [];

/** Where each party connects: on SQLite one file for all; on MariaDB each through its own account of grants.sql. */
interface Urls {
  readonly operator: string;
  readonly web: string;
  readonly verifierWeb: string;
  readonly verifierOwn: string;
  readonly raw: Backend;
}

async function sqliteUrls(): Promise<Urls> {
  const web = `sqlite:${join(dir, 'web.db')}`;
  return { operator: web, web, verifierWeb: web, verifierOwn: `sqlite:${join(dir, 'verifier.db')}`, raw: sqliteBackend() };
}

/** Two fresh MariaDB databases (the web one migrated) and sql/mysql/grants.sql applied as shipped (test/support/granted-mariadb.ts). */
async function mariadbUrls(): Promise<Urls> {
  const g = await grantedMariaDb(cleanups, 'ce');
  return { operator: g.operator, web: g.web, verifierWeb: g.verifierWeb, verifierOwn: g.verifierOwn, raw: mariadbBackend() };
}

/** The verifier: its own database and key (`verifier init`), its config, and its key in the operators' (and signer's) trust file. */
async function setUpVerifier(webDb: string, vdb: string, name: string): Promise<void> {
  const v = await setUpCliVerifier({ dir, name, webDb, verifierDb: vdb, smtpPort: smtp.port, trustFile: ops.trustFile });
  verifierConfig = v.config;
  verifierKeyId = v.keyId;
}

const verifierCycle = () => cliVerifierCycle(verifierConfig);

describe.each([['SQLite', sqliteUrls], ['MariaDB with the real grants', mariadbUrls]] as const)('the verifier end to end through the CLIs (%s)', (name, urlsOf) => {
  it('request → token mail → relayed → attested → two approvals → build → sign checks attestation → broadcast → confirmed; unconfirmed and edited requests are never paid', async () => {
    const urls = await urlsOf();
    const tag = name.slice(0, 6);
    const db = urls.operator;
    const batch = join(dir, `${tag}-batch.csv`);
    ok(await runCli('coldpool-offline', ['derive', '--descriptor', testAccount('regtest').descriptor, '--network', 'regtest', '--from', '0', '--count', '20', '--out', batch]));
    ok(await runCli('coldpool', ['db', 'migrate', '--db', db]));
    ok(await runCli('coldpool', ['pool', 'load', batch, '--db', db]));
    const deposit = String(json(await runCli('coldpool', ['pool', 'claim', '--user', 'alice', '--json', '--db', urls.web])).address);
    const from = chain.height + 1;
    const f = chain.coinbaseUtxos(chain.height)[0]!;
    chain.mine([spend([f], [{ script: btcAddress.toOutputScript(deposit, NET), valueSat: 900_000n }, { key: otherKey(9), valueSat: f.valueSat - 900_000n - 1_000n }])]);
    chain.mineEmpty(1);
    node.setChain(chain);
    ok(await runCli('coldpool', ['chain', 'sync', '--node', node.rpcUrl, '--from-height', String(from), '--db', db]));
    // The web app writes its users' emails (through its own account on MariaDB).
    await execAs(urls, urls.web, 'INSERT INTO user_emails (user_id, email) VALUES (?, ?), (?, ?)', ['alice', 'alice@mail.example', 'bob', 'bob@mail.example']);
    await setUpVerifier(urls.verifierWeb, urls.verifierOwn, tag);

    const request = async (app: string, user: string, sat: bigint, k: number) =>
      String(json(await runCli('coldpool', ['withdrawals', 'request', '--app-id', app, '--user', user, '--address', externalAddress(k), '--amount-sat', String(sat), '--json', '--db', urls.web, '--network', 'regtest'])).id);
    const paid = await request('w-paid', 'alice', 150_000n, 0);
    const unconfirmed = await request('w-unconfirmed', 'bob', 120_000n, 1);
    const edited = await request('w-edited', 'alice', 110_000n, 2);

    expect((await verifierCycle()).tokensSent).toBe(3);
    const first = smtp.mails.length - 3;
    const tokenOf = (id: string) => smtp.mails.slice(first).map(tokenIn).find((t) => t?.id === BigInt(id))!.token;
    expect(smtp.mails.slice(first).find((m) => tokenIn(m)?.id === BigInt(paid))!.to).toEqual(['alice@mail.example']);
    ok(await runCli('coldpool', ['withdrawals', 'confirm', paid, '--token', tokenOf(paid), '--db', urls.web]));
    ok(await runCli('coldpool', ['withdrawals', 'confirm', edited, '--token', tokenOf(edited), '--db', urls.web]));
    // The attacker edits a confirmed request (test surgery as root: on MariaDB the web account cannot; on SQLite anyone with the file can).
    await urls.raw.exec(db, 'UPDATE withdrawals SET amount_sat = 500000 WHERE id = ?', [BigInt(edited)]);
    expect((await verifierCycle()).attested).toBe(1);
    const status = json<{ states: Record<string, number> }>(await runCli('coldpool', ['verifier', 'status', '--json', '--config', verifierConfig]));
    expect(status.states).toMatchObject({ attested: 1, sent: 1, changed: 1 });

    // The operators approve all three (the edited one as it reads now, with --override-changed); only the attested one is paid.
    ok(await runCli('coldpool', ['withdrawals', 'list', '--db', db, '--operator', 'op1']));
    for (const op of ['op1', 'op2']) ok(await runCli('coldpool', ['withdrawals', 'approve', paid, unconfirmed, '--db', db, ...ops.operators[op]!.args]));
    const psbtFile = join(dir, `${tag}-payout.psbt`);
    const build = await runCli('coldpool', ['payout', 'build', '--trust', ops.trustFile, '--fee-rate', '2', '--out', psbtFile, '--node', node.rpcUrl, '--db', db, '--operator', 'op1', '--json']);
    const [built] = json<{ unsigned_txid: string; outputs: { withdrawal_id: string }[] }[]>(build);
    expect(built!.outputs.map((o) => o.withdrawal_id)).toEqual([paid]);
    expect(build.stderr).toContain(unconfirmed);
    const manifestFile = join(dir, `${tag}-payout.manifest.json`);
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { outputs: { attestation?: { key_id: string } }[] };
    expect(manifest.outputs[0]!.attestation?.key_id).toBe(verifierKeyId);

    const signArgs = (out: string, m: string) => ['sign', psbtFile, '--keystore', keystore, '--password-file', passwordFile, '--manifest', m, '--out', out, '--log', join(dir, `${tag}-sign.jsonl`), '--trust', ops.trustFile, '--yes', '--json'];
    // A manifest that drops the attestation is refused by the signer.
    const stripped = join(dir, `${tag}-stripped.manifest.json`);
    const m2 = JSON.parse(readFileSync(manifestFile, 'utf8')) as { outputs: Record<string, unknown>[] };
    delete m2.outputs[0]!.attestation;
    writeFileSync(stripped, JSON.stringify(m2));
    const refused = await runCli('coldpool-offline', [...signArgs(join(dir, `${tag}-never.psbt`), stripped), '--new-log']);
    expect(refused.code).toBe(3);
    expect(refused.stderr + refused.stdout).toMatch(/ATTESTATION_MISSING|attestation/i);

    const signedFile = join(dir, `${tag}-payout.signed.psbt`);
    ok(await runCli('coldpool-offline', [...signArgs(signedFile, manifestFile), ...(existsSync(join(dir, `${tag}-sign.jsonl`)) ? [] : ['--new-log'])]));
    ok(await runCli('coldpool', ['payout', 'broadcast', signedFile, '--confirm', built!.unsigned_txid.slice(0, 8), '--node', node.rpcUrl, '--db', db]));
    chain.mine([...node.mempool.values()]);
    node.setChain(chain);
    ok(await runCli('coldpool', ['chain', 'sync', '--node', node.rpcUrl, '--db', db]));
    const [payout] = json<{ status: string; withdrawals: { id: string; status: string }[] }[]>(await runCli('coldpool', ['payout', 'status', '--json', '--db', db, '--operator', 'op1']));
    expect(payout).toMatchObject({ status: 'confirmed', withdrawals: [{ id: paid, status: 'confirmed' }] });
  }, 120_000);
});

/** One statement as the account the URL names (on MariaDB); on SQLite there are no accounts. */
async function execAs(urls: Urls, url: string, sql: string, params: unknown[]): Promise<void> {
  if (urls.raw.name === 'sqlite') return void (await urls.raw.exec(url, sql, params));
  const u = new URL(url);
  const c = await mysql.createConnection({ host: u.hostname, port: Number(u.port), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: u.pathname.slice(1) });
  try {
    await c.query(sql, params);
  } finally {
    await c.end();
  }
}
