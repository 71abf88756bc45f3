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
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { address as btcAddress } from 'bitcoinjs-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NETWORKS, toBitcoinjs } from '../src/core/network.js';
import { parseTrustText } from '../src/core/trust.js';
import { testAccount } from './support/accounts.js';
import { SmtpSink } from './support/alert-sinks.js';
import { writeCliOperators } from './support/approvers.js';
import { runCli, tempDir, type CliResult } from './support/cli.js';
import { FakeNode } from './support/fake-node.js';
import { externalAddress, writeFixtureKeystore } from './support/psbt-fixtures.js';
import { RegtestChain, otherKey, spend } from './support/regtest-chain.js';
import { sqliteBackend } from './support/withdrawal-backends.js';
import { tokenIn } from './support/verifier-fixture.js';

const PASSWORD = 'correct horse battery';
const NET = toBitcoinjs(NETWORKS.regtest);
const raw = sqliteBackend();
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
  keystore = join(dir, 'cold.keystore');
  passwordFile = join(dir, 'pw.txt');
  writeFileSync(passwordFile, `${PASSWORD}\n`);
  await writeFixtureKeystore(keystore, PASSWORD);
  ops = await writeCliOperators(dir, 'regtest', ['op1', 'op2'], 2);
  chain = RegtestChain.create();
  chain.mineEmpty(3);
  node = await new FakeNode(chain).start();
  smtp = await new SmtpSink().start();
}, 30_000);

afterAll(async () => {
  await node.stop();
  await smtp.stop();
  await raw.cleanup();
});

/** The verifier: its own database and key (`verifier init`), its config, and its key in the operators' (and signer's) trust file. */
async function setUpVerifier(webDb: string): Promise<void> {
  const vdb = `sqlite:${join(dir, 'verifier.db')}`;
  const keyFile = join(dir, 'verifier.key');
  const keyPw = join(dir, 'verifier.pw');
  writeFileSync(keyPw, 'verifier key password\n', { mode: 0o600 });
  const init = json<{ id: string; publicKey: string; created: boolean }>(await runCli('coldpool', ['verifier', 'init', '--db', vdb, '--key', keyFile, '--password-file', keyPw, '--json']));
  expect(init.created).toBe(true);
  verifierKeyId = init.id;
  verifierConfig = join(dir, 'verifier.json');
  writeFileSync(verifierConfig, JSON.stringify({
    db: vdb, webDb, key: keyFile, passwordFile: keyPw,
    verifier: { confirmUrl: 'https://shop.example/confirm?w={id}&t={token}' },
    channels: { email: { host: '127.0.0.1', port: smtp.port, from: 'security@shop.example', to: ['ops@shop.example'] }, log: false },
  }));
  // The operator box and the signer share the trust file in this test: one set-verifier serves both.
  const set = json<{ verifier: { key_id: string } }>(await runCli('coldpool', ['trust', 'set-verifier', '--trust', ops.trustFile, '--public-key', init.publicKey, '--json']));
  expect(set.verifier.key_id).toBe(init.id);
  expect(parseTrustText(readFileSync(ops.trustFile, 'utf8')).verifier).toEqual({ publicKey: init.publicKey });
}

const verifierCycle = async () => json<{ attested: number; tokensSent: number; errors: string[] }>(await runCli('coldpool', ['verifier', 'run', '--once', '--json', '--config', verifierConfig]));

describe('the verifier end to end through the CLIs (SQLite)', () => {
  it('request → token mail → relayed → attested → two approvals → build → sign checks attestation → broadcast → confirmed; unconfirmed and edited requests are never paid', async () => {
    const db = `sqlite:${join(dir, 'web.db')}`;
    const batch = join(dir, 'batch.csv');
    ok(await runCli('coldpool-offline', ['derive', '--descriptor', testAccount('regtest').descriptor, '--network', 'regtest', '--from', '0', '--count', '20', '--out', batch]));
    ok(await runCli('coldpool', ['db', 'migrate', '--db', db]));
    ok(await runCli('coldpool', ['pool', 'load', batch, '--db', db]));
    const deposit = String(json(await runCli('coldpool', ['pool', 'claim', '--user', 'alice', '--json', '--db', db])).address);
    const from = chain.height + 1;
    const f = chain.coinbaseUtxos(chain.height)[0]!;
    chain.mine([spend([f], [{ script: btcAddress.toOutputScript(deposit, NET), valueSat: 900_000n }, { key: otherKey(9), valueSat: f.valueSat - 900_000n - 1_000n }])]);
    chain.mineEmpty(1);
    node.setChain(chain);
    ok(await runCli('coldpool', ['chain', 'sync', '--node', node.rpcUrl, '--from-height', String(from), '--db', db]));
    await raw.exec(db, 'INSERT INTO user_emails (user_id, email) VALUES (?, ?), (?, ?)', ['alice', 'alice@mail.example', 'bob', 'bob@mail.example']);
    await setUpVerifier(db);

    const request = async (app: string, user: string, sat: bigint, k: number) =>
      String(json(await runCli('coldpool', ['withdrawals', 'request', '--app-id', app, '--user', user, '--address', externalAddress(k), '--amount-sat', String(sat), '--json', '--db', db])).id);
    const paid = await request('w-paid', 'alice', 150_000n, 0);
    const unconfirmed = await request('w-unconfirmed', 'bob', 120_000n, 1);
    const edited = await request('w-edited', 'alice', 110_000n, 2);

    expect((await verifierCycle()).tokensSent).toBe(3);
    const tokenOf = (id: string) => smtp.mails.map(tokenIn).find((t) => t?.id === BigInt(id))!.token;
    expect(smtp.mails.find((m) => tokenIn(m)?.id === BigInt(paid))!.to).toEqual(['alice@mail.example']);
    ok(await runCli('coldpool', ['withdrawals', 'confirm', paid, '--token', tokenOf(paid), '--db', db]));
    ok(await runCli('coldpool', ['withdrawals', 'confirm', edited, '--token', tokenOf(edited), '--db', db]));
    await raw.exec(db, 'UPDATE withdrawals SET amount_sat = 500000 WHERE id = ?', [BigInt(edited)]);
    expect((await verifierCycle()).attested).toBe(1);
    const status = json<{ states: Record<string, number> }>(await runCli('coldpool', ['verifier', 'status', '--json', '--config', verifierConfig]));
    expect(status.states).toMatchObject({ attested: 1, sent: 1, changed: 1 });

    // The operators approve all three (the edited one as it reads now, with --override-changed); only the attested one is paid.
    ok(await runCli('coldpool', ['withdrawals', 'list', '--db', db, '--operator', 'op1']));
    for (const op of ['op1', 'op2']) ok(await runCli('coldpool', ['withdrawals', 'approve', paid, unconfirmed, '--db', db, ...ops.operators[op]!.args]));
    const psbtFile = join(dir, 'payout.psbt');
    const build = await runCli('coldpool', ['payout', 'build', '--trust', ops.trustFile, '--fee-rate', '2', '--out', psbtFile, '--node', node.rpcUrl, '--db', db, '--operator', 'op1', '--json']);
    const [built] = json<{ unsigned_txid: string; outputs: { withdrawal_id: string }[] }[]>(build);
    expect(built!.outputs.map((o) => o.withdrawal_id)).toEqual([paid]);
    expect(build.stderr).toContain(unconfirmed);
    const manifestFile = join(dir, 'payout.manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { outputs: { attestation?: { key_id: string } }[] };
    expect(manifest.outputs[0]!.attestation?.key_id).toBe(verifierKeyId);

    const signArgs = (out: string, m: string) => ['sign', psbtFile, '--keystore', keystore, '--password-file', passwordFile, '--manifest', m, '--out', out, '--log', join(dir, 'sign.jsonl'), '--trust', ops.trustFile, '--yes', '--json'];
    // A manifest that drops the attestation is refused by the signer.
    const stripped = join(dir, 'stripped.manifest.json');
    const m2 = JSON.parse(readFileSync(manifestFile, 'utf8')) as { outputs: Record<string, unknown>[] };
    delete m2.outputs[0]!.attestation;
    writeFileSync(stripped, JSON.stringify(m2));
    const refused = await runCli('coldpool-offline', [...signArgs(join(dir, 'never.psbt'), stripped), '--new-log']);
    expect(refused.code).toBe(3);
    expect(refused.stderr + refused.stdout).toMatch(/ATTESTATION_MISSING|attestation/i);

    const signedFile = join(dir, 'payout.signed.psbt');
    ok(await runCli('coldpool-offline', [...signArgs(signedFile, manifestFile), '--new-log']));
    ok(await runCli('coldpool', ['payout', 'broadcast', signedFile, '--confirm', built!.unsigned_txid.slice(0, 8), '--node', node.rpcUrl, '--db', db]));
    chain.mine([...node.mempool.values()]);
    node.setChain(chain);
    ok(await runCli('coldpool', ['chain', 'sync', '--node', node.rpcUrl, '--db', db]));
    const [payout] = json<{ status: string; withdrawals: { id: string; status: string }[] }[]>(await runCli('coldpool', ['payout', 'status', '--json', '--db', db, '--operator', 'op1']));
    expect(payout).toMatchObject({ status: 'confirmed', withdrawals: [{ id: paid, status: 'confirmed' }] });
  }, 120_000);
});
