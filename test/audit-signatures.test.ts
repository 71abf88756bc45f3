import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, nextEntry } from '../src/core/audit-chain.js';
import { auditSigner, auditSignatureProblem } from '../src/core/audit-signature.js';
import { DEFAULT_POLICY } from '../src/core/withdrawal-policy.js';
import { signApproval } from '../src/core/approval.js';
import { emptyTrust, operatorById, parseTrust, serializeTrust, withOperator, type Trust } from '../src/core/trust.js';
import { verifyAuditLog } from '../src/flows/audit.js';
import { requestWithdrawal } from '../src/flows/request-withdrawal.js';
import { openDatabase } from '../src/store/db.js';
import { generateOperatorKey, type OperatorKey } from '../src/trust/operator-key.js';
import { runCli, tempDir } from './support/cli.js';
import { mariadbBackend, sqliteBackend, type Backend } from './support/withdrawal-backends.js';
import { writeCliOperators } from './support/approvers.js';

/**
 * The keyed audit log (issue 12, attack 3): a forged decision appended to the
 * log with its hash recomputed verifies as a chain, because sha256 is
 * anyone's to compute. Signed by its author's Ed25519 key, checked against a
 * trust file the database never holds, it does not.
 */
const P2WSH = 'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7';
const dir = tempDir();
const alice = generateOperatorKey('alice');
const bob = generateOperatorKey('bob');
const box = generateOperatorKey('operator-box');
const mallory = generateOperatorKey('mallory');

function trustWith(auditors: OperatorKey[]): Trust {
  const t = withOperator(withOperator(emptyTrust('testnet'), alice), bob);
  return parseTrust({ ...JSON.parse(serializeTrust(t)), auditors: auditors.map((a) => ({ name: a.name, publicKey: a.publicKey, id: a.id })) });
}
const trust = trustWith([box]);
const trustFile = join(dir, 'coldpool-trust.json');

beforeAll(() => writeFileSync(trustFile, serializeTrust(trust)));

/** Two requests, alice's first sight and her approval of the first, written by a handle signing with alice's key. */
async function signedLog(url: string): Promise<void> {
  const db = openDatabase(url, { network: 'testnet', auditSigner: auditSigner(alice.id, alice.privateKey) });
  try {
    await requestWithdrawal(db.withdrawals, { appId: 'w1', user: 'u1', address: P2WSH, amountSat: 100_000n });
    await requestWithdrawal(db.withdrawals, { appId: 'w2', user: 'u2', address: P2WSH, amountSat: 200_000n });
    await db.withdrawals.observe('alice');
    await db.withdrawals.approve(1n, { operator: operatorById(trust, alice.id)!, trust, sign: (c) => signApproval(c, alice.privateKey) }, DEFAULT_POLICY);
  } finally {
    await db.close();
  }
}

/** What an attacker with write access does: append an entry after the head, with a correct hash, and move the head. */
async function forge(backend: Backend, url: string, fields: { actor: string; action: string; subject: string; data: Record<string, unknown> }, sign?: OperatorKey): Promise<bigint> {
  const [head] = await backend.query(url, 'SELECT seq, hash FROM audit_head WHERE id = 1');
  const prev = { seq: BigInt(String(head!.seq)), hash: String(head!.hash) };
  const e = nextEntry(prev, { at: new Date().toISOString(), ...fields, data: canonicalJson(fields.data) });
  const signature = sign ? auditSigner(sign.id, sign.privateKey).sign(e.hash) : null;
  const at = backend.name === 'sqlite' ? e.at : e.at.replace('T', ' ').replace('Z', '');
  await backend.exec(url, 'INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [String(e.seq), at, e.actor, e.action, e.subject, e.data, e.prevHash, e.hash]);
  if (sign) await backend.exec(url, 'INSERT INTO audit_signatures (seq, key_id, signature) VALUES (?, ?, ?)', [String(e.seq), sign.id, signature]);
  await backend.exec(url, 'UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1', [String(e.seq), e.hash]);
  return e.seq;
}

async function check(url: string, t: Trust = trust) {
  const db = openDatabase(url, { mustExist: true });
  try {
    return await verifyAuditLog(db.audit, undefined, t);
  } finally {
    await db.close();
  }
}

describe.each([sqliteBackend(), mariadbBackend()])('signed audit entries on $name', (backend) => {
  afterAll(() => backend.cleanup());

  it('every entry written through a handle with a signer is signed by that key, and verifies', async () => {
    const url = await backend.fresh();
    await signedLog(url);
    const rows = await backend.query(url, 'SELECT s.key_id, s.signature FROM audit_log l LEFT JOIN audit_signatures s ON s.seq = l.seq ORDER BY l.seq');
    expect(rows.length).toBeGreaterThan(1);
    for (const r of rows) expect([r.key_id, String(r.signature).length]).toEqual([alice.id, 128]);
    const v = await check(url);
    expect(v.live.ok).toBe(true);
    expect(v.signatures).toEqual({ ok: true, count: rows.length });
  });

  it('attack 3: a forged approval with its hash recomputed passes the chain check, and fails the signature check naming it', async () => {
    const url = await backend.fresh();
    await signedLog(url);
    const seq = await forge(backend, url, { actor: 'bob', action: 'withdrawal.approved', subject: 'withdrawal:2', data: { from: 'requested', to: 'approved' } });
    const v = await check(url);
    expect(v.live.ok).toBe(true); // the hash chain alone is fooled
    expect(v.signatures).toMatchObject({ ok: false, seq, problem: 'missing signature' });
    expect(v.signatures!.ok === false && v.signatures!.message).toBe(`audit entry ${seq} (withdrawal.approved withdrawal:2 by bob) is not signed`);
  });

  it.each([
    ['signed by a key the trust file does not list', mallory, 'bob', 'unknown key'],
    ['a decision signed by a program key', box, 'bob', 'not its operator'],
    ['a decision signed by another operator', alice, 'bob', 'not its operator'],
  ] as const)('a forged decision %s is named', async (_, key, actor, problem) => {
    const url = await backend.fresh();
    await signedLog(url);
    const seq = await forge(backend, url, { actor, action: 'withdrawal.approved', subject: 'withdrawal:2', data: {} }, key);
    expect(await check(url).then((v) => v.signatures)).toMatchObject({ ok: false, seq, problem });
  });

  it('a signature copied onto another entry, or altered, is a bad signature', async () => {
    const url = await backend.fresh();
    await signedLog(url);
    const [first] = await backend.query(url, 'SELECT signature FROM audit_signatures WHERE seq = 1');
    await backend.exec(url, 'UPDATE audit_signatures SET signature = ? WHERE seq = 2', [String(first!.signature)]);
    expect(await check(url).then((v) => v.signatures)).toMatchObject({ ok: false, seq: 2n, problem: 'bad signature' });
  });
});

describe('the signature rule, entry by entry', () => {
  it('a program key may sign what the program writes, not a decision', () => {
    const signer = auditSigner(box.id, box.privateKey);
    const e = nextEntry(undefined, { at: '2026-12-03T00:00:00.000Z', actor: 'operator-box', action: 'payout.confirmed', subject: 'payout:1', data: '{}' });
    expect(auditSignatureProblem({ ...e, keyId: box.id, signature: signer.sign(e.hash) }, trust)).toBeUndefined();
    const d = nextEntry(undefined, { at: '2026-12-03T00:00:00.000Z', actor: 'operator-box', action: 'withdrawal.rejected', subject: 'withdrawal:1', data: '{}' });
    expect(auditSignatureProblem({ ...d, keyId: box.id, signature: signer.sign(d.hash) }, trust)?.problem).toBe('not its operator');
  });

  it('an audit signature is not an approval signature: the messages have different prefixes', async () => {
    const { APPROVAL_DOMAIN } = await import('../src/core/approval.js');
    const { AUDIT_DOMAIN } = await import('../src/core/audit-signature.js');
    expect(AUDIT_DOMAIN).not.toBe(APPROVAL_DOMAIN);
  });

  it('a trust file refuses a program key that is also an operator\'s', () => {
    expect(() => trustWith([alice])).toThrow(/auditors\[0\]/);
  });
});

describe.each([sqliteBackend(), mariadbBackend()])('coldpool audit verify --trust (the real CLI) on $name', (backend) => {
  afterAll(() => backend.cleanup());

  it('exit 0 on a signed log; exit 3 naming the forged entry, with --json', async () => {
    const url = await backend.fresh();
    await signedLog(url);
    const ok = await runCli('coldpool', ['audit', 'verify', '--db', url, '--trust', trustFile, '--json']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, signed: { trust: trustFile } });
    // Without --trust the forged entry passes: that is the attack.
    const seq = await forge(backend, url, { actor: 'bob', action: 'withdrawal.approved', subject: 'withdrawal:2', data: {} });
    expect((await runCli('coldpool', ['audit', 'verify', '--db', url])).code).toBe(0);
    const r = await runCli('coldpool', ['audit', 'verify', '--db', url, '--trust', trustFile, '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, seq: String(seq), problem: 'missing signature' });
    expect(r.stderr).toContain(`audit entry ${seq} (withdrawal.approved withdrawal:2 by bob) is not signed`);
  });

  it('the operator commands sign what they write with the operator\'s key: approve, reject, list with --key verify; list without a key writes an unsigned entry that verify names', async () => {
    const url = await backend.fresh();
    const ops = await writeCliOperators(dir, 'testnet', ['alice', 'bob'], 2, `cli-${backend.name}-`);
    const db = openDatabase(url, { network: 'testnet' });
    for (const appId of ['c1', 'c2']) await requestWithdrawal(db.withdrawals, { appId, user: 'u', address: P2WSH, amountSat: 50_000n });
    await db.close();
    const run = (args: string[]) => runCli('coldpool', [...args, '--db', url, '--network', 'testnet']);
    const alice = ops.operators.alice!.args;
    const bob = ops.operators.bob!.args;
    expect((await run(['withdrawals', 'list', ...alice])).code).toBe(0);
    for (const r of [await run(['withdrawals', 'approve', '1', ...alice]), await run(['withdrawals', 'approve', '1', ...bob]),
      await run(['withdrawals', 'reject', '2', '--reason', 'no', ...bob])]) expect([r.code, r.stderr]).toEqual([0, '']);
    const ok = await run(['audit', 'verify', '--trust', ops.trustFile, '--json']);
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    expect(JSON.parse(ok.stdout).signed.entries).toBeGreaterThanOrEqual(5);
    const rows = await backend.query(url, "SELECT l.actor, s.key_id FROM audit_log l JOIN audit_signatures s ON s.seq = l.seq WHERE l.action = 'withdrawal.rejected'");
    expect(rows).toEqual([{ actor: 'bob', key_id: ops.operators.bob!.keyId }]);
    // A request first seen by a list run without a key: its entry is unsigned, and named.
    const db2 = openDatabase(url, { network: 'testnet' });
    await requestWithdrawal(db2.withdrawals, { appId: 'c3', user: 'u', address: P2WSH, amountSat: 50_000n });
    await db2.close();
    expect((await run(['withdrawals', 'list'])).code).toBe(0);
    const bad = await run(['audit', 'verify', '--trust', ops.trustFile]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/audit entry \d+ \(withdrawals\.seen withdrawals by .*\) is not signed/);
  });

  it('a program key added with `trust add-auditor` signs what an unattended list writes; an operator\'s key is refused as an auditor', async () => {
    const url = await backend.fresh();
    const ops = await writeCliOperators(dir, 'testnet', ['alice', 'operator-box'], 1, `aud-${backend.name}-`);
    // writeCliOperators listed both as operators; rebuild the file with the box as an auditor only.
    const t = JSON.parse(readFileSync(ops.trustFile, 'utf8')) as { operators: { name: string }[]; approvals: { required: number } };
    t.operators = t.operators.filter((o) => o.name === 'alice');
    writeFileSync(ops.trustFile, JSON.stringify(t));
    const boxKey = ops.operators['operator-box']!.args[1]!;
    const added = await runCli('coldpool', ['trust', 'add-auditor', '--trust', ops.trustFile, '--key', boxKey]);
    expect([added.code, added.stderr]).toEqual([0, `updated ${ops.trustFile}: added auditor "operator-box" (key id ${ops.operators['operator-box']!.keyId})\n`]);
    const again = await runCli('coldpool', ['trust', 'add-auditor', '--trust', ops.trustFile, '--key', ops.operators.alice!.args[1]!]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already in the trust file \(alice/);
    const db = openDatabase(url, { network: 'testnet' });
    await requestWithdrawal(db.withdrawals, { appId: 'b1', user: 'u', address: P2WSH, amountSat: 50_000n });
    await db.close();
    expect((await runCli('coldpool', ['withdrawals', 'list', '--db', url, '--network', 'testnet', ...ops.operators['operator-box']!.args])).code).toBe(0);
    const v = await runCli('coldpool', ['audit', 'verify', '--db', url, '--trust', ops.trustFile]);
    expect([v.code, v.stderr]).toEqual([0, '']);
    const rows = await backend.query(url, 'SELECT l.actor, s.key_id FROM audit_log l JOIN audit_signatures s ON s.seq = l.seq');
    expect(rows).toEqual([{ actor: 'operator-box', key_id: ops.operators['operator-box']!.keyId }]);
  });
});
