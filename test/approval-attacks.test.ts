/**
 * Issue 12's attacks on the online half, through the real `coldpool` CLI on
 * SQLite and on the MariaDB server of the machine, as someone who can write
 * the withdrawal tables would try them: (a) an approved withdrawal edited
 * after approval, (b) a row inserted already "approved", (c) two approvals
 * with one key, and approval rows forged with a random signature or an
 * unknown key. Each ends the same way: what nobody signed is never built.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type CliResult } from './support/cli.js';
import type { FakeNode } from './support/fake-node.js';
import { fundedPool, startFundedNode } from './support/funded-pool.js';
import { externalAddress } from './support/psbt-fixtures.js';
import { mariadbBackend, sqliteBackend, type Backend } from './support/withdrawal-backends.js';
import { writeCliOperators } from './support/approvers.js';

let node: FakeNode;
let dir: string;
let ops: Awaited<ReturnType<typeof writeCliOperators>>;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  dir = tempDir('coldpool-approval-attacks-');
  ops = await writeCliOperators(dir, 'regtest', ['op1', 'op2', 'op3'], 2);
  node = await startFundedNode();
});

afterAll(async () => {
  await node.stop();
  for (const c of cleanups.splice(0)) await c();
});

const cli = (args: string[]): Promise<CliResult> => runCli('coldpool', args);
const ok = (r: CliResult): string => {
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};

describe.each([sqliteBackend(), mariadbBackend()])('approvals an attacker makes count for nothing, on $name', (backend: Backend) => {
  afterAll(() => backend.cleanup());

  const pool = (): Promise<string> => fundedPool(backend.name, node, cleanups);
  const request = async (db: string, app: string, k: number, sat: bigint): Promise<string> =>
    String((JSON.parse(ok(await cli(['withdrawals', 'request', '--db', db, '--app-id', app, '--user', `u-${app}`, '--address', externalAddress(k), '--amount-sat', String(sat), '--json']))) as { id: string }).id);
  const approve = (db: string, op: string, ...ids: string[]) => cli(['withdrawals', 'approve', ...ids, '--db', db, '--json', ...ops.operators[op]!.args]);
  const build = (db: string, out: string) => cli(['payout', 'build', '--db', db, '--trust', ops.trustFile, '--fee-rate', '2', '--out', join(dir, out), '--node', node.rpcUrl, '--json']);
  const actions = async (db: string, action: string) => (await backend.query(db, 'SELECT subject, data FROM audit_log WHERE action = ? ORDER BY seq', [action])).map((r) => [String(r.subject), JSON.parse(String(r.data)) as Record<string, unknown>] as const);

  it('(a) edited after approval: left out of the build, named on stderr, audited, flagged; the rest is paid as signed', async () => {
    const db = await pool();
    const good = await request(db, 'good', 0, 120_000n);
    const edited = await request(db, 'edited', 1, 130_000n);
    for (const op of ['op1', 'op2']) ok(await approve(db, op, good, edited));
    expect((JSON.parse(ok(await cli(['withdrawals', 'list', '--db', db, '--status', 'approved', '--json']))) as { withdrawals: { id: string }[] }).withdrawals.map((w) => w.id)).toEqual([good, edited]);
    await backend.exec(db, 'UPDATE withdrawals SET amount_sat = ?, destination = ? WHERE id = ?', [990_000, externalAddress(7), edited]);

    const r = await build(db, `a-${backend.name}.psbt`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`left out: withdrawal ${edited}: changed after approval`));
    const [payout] = JSON.parse(r.stdout) as { outputs: { withdrawal_id: string; amount_sat: string }[]; manifest: string }[];
    expect(payout!.outputs.map((o) => [o.withdrawal_id, o.amount_sat])).toEqual([[good, '120000']]);
    const manifest = JSON.parse(readFileSync(payout!.manifest, 'utf8')) as { outputs: { withdrawal_id: string; approval: { signatures: unknown[] } }[] };
    expect(manifest.outputs.map((o) => [o.withdrawal_id, o.approval.signatures.length])).toEqual([[good, 2]]);

    expect((await actions(db, 'withdrawal.left_out')).map(([s, d]) => [s, d.reason])).toEqual([[`withdrawal:${edited}`, 'changed after approval']]);
    const listed = JSON.parse(ok(await cli(['withdrawals', 'list', '--db', db, '--status', 'approved', '--json']))) as { withdrawals: { id: string; flags: { code: string; detail: string }[] }[] };
    expect(listed.withdrawals.map((w) => [w.id, w.flags.map((f) => f.code).filter((c) => c === 'left_out_of_payout')])).toEqual([[edited, ['left_out_of_payout']]]);

    // nothing else left: the next build says so and exits non-zero, writing nothing
    const again = await build(db, `a2-${backend.name}.psbt`);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/nothing left to pay/);
    expect(existsSync(join(dir, `a2-${backend.name}.psbt`))).toBe(false);

    // cancelled, it no longer waits to be paid: the flag goes, the record of the exclusion stays in the audit log
    ok(await cli(['withdrawals', 'cancel', edited, '--reason', 'edited in the database after approval', '--db', db]));
    const cancelled = JSON.parse(ok(await cli(['withdrawals', 'list', '--db', db, '--status', 'cancelled', '--json']))) as { withdrawals: { id: string; flags: { code: string }[] }[] };
    expect(cancelled.withdrawals.map((w) => [w.id, w.flags.some((f) => f.code === 'left_out_of_payout')])).toEqual([[edited, false]]);
  });

  it('(b) a row inserted as "approved" by raw SQL, before any list or review: never built', async () => {
    const db = await pool();
    await backend.exec(db, "INSERT INTO withdrawals (app_id, user_id, destination, amount_sat, status, created_at) VALUES ('sneaky', 'mallory', ?, 150000, 'approved', ?)",
      [externalAddress(3), backend.name === 'sqlite' ? new Date().toISOString() : new Date().toISOString().replace('T', ' ').replace('Z', '')]);
    const [row] = await backend.query(db, "SELECT id FROM withdrawals WHERE app_id = 'sneaky'");
    const r = await build(db, `b-${backend.name}.psbt`);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`left out: withdrawal ${String(row!.id)}: never seen by an operator`));
    expect(r.stderr).toMatch(/nothing left to pay/);
    expect(await backend.query(db, 'SELECT id FROM payouts')).toEqual([]);
    expect((await actions(db, 'withdrawal.left_out')).map(([, d]) => d.reason)).toEqual(['never seen by an operator']);
  });

  it('(c) two approvals with one key are one; forged rows (random signature, unknown key) count for nothing, even on a row forced to "approved"', async () => {
    const db = await pool();
    const id = await request(db, 'twice', 2, 140_000n);
    expect(JSON.parse(ok(await approve(db, 'op1', id)))).toEqual([{ id, status: 'requested', approvals: ['op1'], approvals_required: 2, key_id: ops.operators.op1!.keyId }]);
    const again = await approve(db, 'op1', id);
    expect(again.code).toBe(4);
    expect(again.stdout).toContain(`key ${ops.operators.op1!.keyId} (op1) already approved withdrawal ${id}`);

    const [signed] = await backend.query(db, 'SELECT content FROM withdrawal_signatures WHERE withdrawal_id = ?', [id]);
    const now = backend.name === 'sqlite' ? new Date().toISOString() : new Date().toISOString().replace('T', ' ').replace('Z', '');
    for (const [keyId, name] of [[ops.operators.op3!.keyId, 'op3'], [randomBytes(8).toString('hex'), 'ghost']] as const) {
      await backend.exec(db, 'INSERT INTO withdrawal_signatures (withdrawal_id, key_id, operator, content, signature, signed_at) VALUES (?, ?, ?, ?, ?, ?)',
        [id, keyId, name, String(signed!.content), randomBytes(64).toString('hex'), now]);
    }
    await backend.exec(db, "UPDATE withdrawals SET status = 'approved' WHERE id = ?", [id]);
    const r = await build(db, `c-${backend.name}.psbt`);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`left out: withdrawal ${id}: approvals missing: withdrawal ${id} has 1 of 2 valid approvals`));
    expect(r.stderr).toMatch(/: bad signature/);
    expect(r.stderr).toMatch(/: unknown key/);
    expect(await backend.query(db, 'SELECT id FROM payouts')).toEqual([]);
  });

  it('a key the trust file does not list is refused before any password is asked, naming its id', async () => {
    const db = await pool();
    const id = await request(db, 'stranger', 4, 100_000n);
    const other = await writeCliOperators(dir, 'regtest', ['stranger'], 1, `${backend.name}-x-`);
    const s = other.operators.stranger!;
    const keyArgs = [s.args[0]!, s.args[1]!, s.args[2]!, s.args[3]!];
    const r = await cli(['withdrawals', 'approve', id, '--db', db, ...keyArgs, '--trust', ops.trustFile]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`operator key ${s.keyId} ("stranger"`);
    expect(r.stderr).toContain('is not in trust file');
    expect(await backend.query(db, 'SELECT withdrawal_id FROM withdrawal_signatures')).toEqual([]);
  });
});
