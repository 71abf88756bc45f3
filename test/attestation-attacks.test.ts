/**
 * Issue 13 on the operator box, through the real `coldpool` CLI on SQLite and
 * on the MariaDB server of the machine: once the trust file names a
 * verifier, `payout build` pays only approved withdrawals whose approved
 * content the verifier attested. Attestation rows are written here by raw
 * SQL, as the verifier (a valid signature) or as an attacker with the web
 * database would (a random signature, another key's, a valid one copied
 * from another withdrawal); only the first kind is paid.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApprovalContent } from '../src/core/approval.js';
import { signAttestation } from '../src/core/attestation.js';
import { keyIdOf, privateKeyFromSeed, publicKeyHex } from '../src/core/ed25519.js';
import { runCli, tempDir, type CliResult } from './support/cli.js';
import type { FakeNode } from './support/fake-node.js';
import { fundedPool, startFundedNode } from './support/funded-pool.js';
import { externalAddress } from './support/psbt-fixtures.js';
import { mariadbBackend, sqliteBackend, type Backend } from './support/withdrawal-backends.js';
import { writeCliOperators } from './support/approvers.js';

const verifierKey = privateKeyFromSeed(Buffer.alloc(32, 0x7a));
const VERIFIER = publicKeyHex(verifierKey);
const VERIFIER_ID = keyIdOf(VERIFIER);
const strangerKey = privateKeyFromSeed(Buffer.alloc(32, 0x7b));

let node: FakeNode;
let dir: string;
let ops: Awaited<ReturnType<typeof writeCliOperators>>;
/** The same operators, and the verifier named: the file `trust set-verifier` wrote. */
let verifiedTrust: string;
const cleanups: (() => Promise<void> | void)[] = [];

const cli = (args: string[]): Promise<CliResult> => runCli('coldpool', args);
const ok = (r: CliResult): string => {
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};

beforeAll(async () => {
  dir = tempDir('coldpool-attestation-attacks-');
  ops = await writeCliOperators(dir, 'regtest', ['op1', 'op2'], 1);
  verifiedTrust = join(dir, 'verified-trust.json');
  copyFileSync(ops.trustFile, verifiedTrust);
  const set = JSON.parse(ok(await cli(['trust', 'set-verifier', '--trust', verifiedTrust, '--public-key', VERIFIER, '--json']))) as unknown;
  expect(set).toEqual({ trust: verifiedTrust, verifier: { public_key: VERIFIER, key_id: VERIFIER_ID } });
  node = await startFundedNode();
});

afterAll(async () => {
  await node.stop();
  for (const c of cleanups.splice(0)) await c();
});

describe('trust set-verifier', () => {
  it('refuses an operator\'s key as the verifier\'s, and trust show names the verifier', async () => {
    const file = join(dir, 'refuse-trust.json');
    copyFileSync(ops.trustFile, file);
    const opKey = (JSON.parse(readFileSync(file, 'utf8')) as { operators: { publicKey: string }[] }).operators[0]!.publicKey;
    const r = await cli(['trust', 'set-verifier', '--trust', file, '--public-key', opKey]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`key ${keyIdOf(opKey)} is already in the trust file as "op1" (an operator): the verifier must have a key of its own`);
    expect((JSON.parse(readFileSync(file, 'utf8')) as { verifier: unknown }).verifier).toBeNull();
    expect(ok(await cli(['trust', 'show', '--trust', verifiedTrust]))).toContain(`verifier   key id ${VERIFIER_ID}  ${VERIFIER}`);
  });
});

describe.each([sqliteBackend(), mariadbBackend()])('with a verifier in the trust file, on $name', (backend: Backend) => {
  afterAll(() => backend.cleanup());

  const pool = (): Promise<string> => fundedPool(backend.name, node, cleanups);
  const request = async (db: string, app: string, k: number, sat: bigint): Promise<string> =>
    String((JSON.parse(ok(await cli(['withdrawals', 'request', '--db', db, '--app-id', app, '--user', `u-${app}`, '--address', externalAddress(k), '--amount-sat', String(sat), '--json']))) as { id: string }).id);
  const approve = (db: string, ...ids: string[]) => cli(['withdrawals', 'approve', ...ids, '--db', db, '--json', ...ops.operators.op1!.args]);
  const build = (db: string, out: string, trust = verifiedTrust) => cli(['payout', 'build', '--db', db, '--trust', trust, '--fee-rate', '2', '--out', join(dir, out), '--node', node.rpcUrl, '--json']);
  const now = () => (backend.name === 'sqlite' ? new Date().toISOString() : new Date().toISOString().replace('T', ' ').replace('Z', ''));
  /** The content the operators signed (as stored with the approval). */
  const signedContent = async (db: string, id: string): Promise<string> => String((await backend.query(db, 'SELECT content FROM withdrawal_signatures WHERE withdrawal_id = ?', [id]))[0]!.content);
  const attest = (db: string, id: string, keyId: string, content: string, signature: string) =>
    backend.exec(db, 'INSERT INTO attestations (withdrawal_id, key_id, content, signature, attested_at) VALUES (?, ?, ?, ?, ?)', [id, keyId, content, signature, now()]);
  const realSignature = (content: string) => signAttestation(parseApprovalContent(JSON.parse(content)), verifierKey);

  it('pays the attested, leaves out the unattested and every forged row (random, another key, copied), audited; shows each state in list/show', async () => {
    const db = await pool();
    const good = await request(db, 'good', 0, 120_000n);
    const none = await request(db, 'none', 1, 130_000n);
    const random = await request(db, 'random', 2, 140_000n);
    const stranger = await request(db, 'stranger', 3, 150_000n);
    const copied = await request(db, 'copied', 4, 160_000n);
    ok(await approve(db, good, none, random, stranger, copied));
    const goodContent = await signedContent(db, good);
    await attest(db, good, VERIFIER_ID, goodContent, realSignature(goodContent));
    await attest(db, random, VERIFIER_ID, await signedContent(db, random), randomBytes(64).toString('hex'));
    const strangerContent = await signedContent(db, stranger);
    await attest(db, stranger, keyIdOf(strangerKey), strangerContent, signAttestation(parseApprovalContent(JSON.parse(strangerContent)), strangerKey));
    // the verifier's real attestation of `good`, copied to `copied` with its own content text
    await attest(db, copied, VERIFIER_ID, await signedContent(db, copied), realSignature(goodContent));

    const listed = JSON.parse(ok(await cli(['withdrawals', 'list', '--db', db, '--status', 'approved', '--trust', verifiedTrust, '--json']))) as { withdrawals: { id: string; attestation: { state: string; verifier: string | null } }[] };
    expect(listed.withdrawals.map((w) => [w.id, w.attestation.state])).toEqual([[good, 'attested'], [none, 'missing'], [random, 'invalid'], [stranger, 'invalid'], [copied, 'invalid']]);
    expect(listed.withdrawals[0]!.attestation.verifier).toBe(VERIFIER_ID);
    const plain = JSON.parse(ok(await cli(['withdrawals', 'list', '--db', db, '--status', 'approved', '--trust', ops.trustFile, '--json']))) as { withdrawals: { attestation: { state: string } }[] };
    expect(new Set(plain.withdrawals.map((w) => w.attestation.state))).toEqual(new Set(['no-verifier']));
    const table = await cli(['withdrawals', 'list', '--db', db, '--status', 'approved', '--trust', verifiedTrust]);
    expect(table.stdout).toMatch(/ATTESTED/);
    expect(table.stderr).toContain(`withdrawal ${random}: INVALID attestation row (forged?)`);
    const shown = ok(await cli(['withdrawals', 'show', good, '--db', db, '--trust', verifiedTrust]));
    expect(shown).toContain(`attestation  attested by verifier ${VERIFIER_ID}`);
    expect(ok(await cli(['withdrawals', 'show', none, '--db', db, '--trust', verifiedTrust]))).toContain('attestation  not attested yet');

    const r = await build(db, `v-${backend.name}.psbt`);
    expect(r.code, r.stderr).toBe(0);
    const [payout] = JSON.parse(r.stdout) as { outputs: { withdrawal_id: string }[]; manifest: string }[];
    expect(payout!.outputs.map((o) => o.withdrawal_id)).toEqual([good]);
    const manifest = JSON.parse(readFileSync(payout!.manifest, 'utf8')) as { outputs: { withdrawal_id: string; approval: unknown; attestation: unknown }[] };
    expect(manifest.outputs.map((o) => [o.withdrawal_id, o.attestation])).toEqual([[good, { key_id: VERIFIER_ID, signature: realSignature(goodContent) }]]);
    expect(r.stderr).toMatch(new RegExp(`left out: withdrawal ${none}: not attested: withdrawal ${none} has no attestation by verifier ${VERIFIER_ID} yet`));
    for (const id of [random, stranger, copied]) expect(r.stderr).toMatch(new RegExp(`left out: withdrawal ${id}: not attested: withdrawal ${id} has 1 attestation row\\(s\\), none valid under verifier ${VERIFIER_ID} \\(forged or edited\\?\\)`));
    expect(r.stderr).toContain(`signed by key ${keyIdOf(strangerKey)}, not the trusted verifier ${VERIFIER_ID}`);
    const audited = (await backend.query(db, "SELECT subject, data FROM audit_log WHERE action = 'withdrawal.left_out' ORDER BY seq")).map((x) => [String(x.subject), (JSON.parse(String(x.data)) as { reason: string }).reason]);
    expect(audited).toEqual([none, random, stranger, copied].map((id) => [`withdrawal:${id}`, 'not attested']));
    const excluded = (await backend.query(db, 'SELECT withdrawal_id, reason FROM payout_exclusions ORDER BY withdrawal_id')).map((x) => [String(x.withdrawal_id), String(x.reason)]);
    expect(excluded).toEqual([none, random, stranger, copied].map((id) => [id, 'not attested']));

    // nothing attested left: exit 3, nothing built; the verifier attests one, the next build pays it
    const again = await build(db, `v2-${backend.name}.psbt`);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/nothing left to pay/);
    const noneContent = await signedContent(db, none);
    await attest(db, none, VERIFIER_ID, noneContent, realSignature(noneContent));
    const third = await build(db, `v3-${backend.name}.psbt`);
    expect(third.code, third.stderr).toBe(0);
    expect((JSON.parse(third.stdout) as { outputs: { withdrawal_id: string }[] }[])[0]!.outputs.map((o) => o.withdrawal_id)).toEqual([none]);
  });

  it('without a verifier in the trust file nothing changes: unattested approved withdrawals are paid, no attestation in the manifest', async () => {
    const db = await pool();
    const id = await request(db, 'plain', 0, 110_000n);
    ok(await approve(db, id));
    const r = await build(db, `p-${backend.name}.psbt`, ops.trustFile);
    expect(r.code, r.stderr).toBe(0);
    const [payout] = JSON.parse(r.stdout) as { manifest: string }[];
    const manifest = JSON.parse(readFileSync(payout!.manifest, 'utf8')) as { outputs: Record<string, unknown>[] };
    expect(manifest.outputs.map((o) => [o.withdrawal_id, 'attestation' in o])).toEqual([[id, false]]);
  });
});
