/**
 * `payout build --qr` with a PSBT needing more QR parts than --qr-max-parts,
 * through the real CLI on SQLite and on MariaDB: refused (USAGE, exit 2)
 * before the store records or locks anything: every row of payouts,
 * payout_inputs, payout_outputs, withdrawals, payout_exclusions and the
 * audit log is as it was, no file is written, and the same build without
 * --qr then goes through (so nothing was left half-locked). Likewise a
 * split build whose second part's file (F-2.psbt) already exists: EXISTS
 * before anything is recorded.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approver, testTrust, writeCliOperators } from './support/approvers.js';
import { approveWithdrawals } from './support/approved-withdrawals.js';
import { runCli, tempDir } from './support/cli.js';
import type { FakeNode } from './support/fake-node.js';
import { fundedPool, startFundedNode } from './support/funded-pool.js';
import type { Cleanup } from './support/pool-fixtures.js';
import { externalAddress } from './support/psbt-fixtures.js';
import { snapshotTables } from './support/table-snapshot.js';

const TABLES = ['payouts', 'payout_inputs', 'payout_outputs', 'withdrawals', 'payout_exclusions', 'audit_log', 'audit_head', 'audit_signatures'];
let node: FakeNode;
let dir: string;
let trustFile: string;
const cleanups: Cleanup[] = [];

beforeAll(async () => {
  node = await startFundedNode();
  dir = tempDir('coldpool-qr-refusal-');
  ({ trustFile } = await writeCliOperators(dir, 'regtest', ['op1'], 1));
});

afterAll(async () => {
  await node.stop();
  for (const c of cleanups.splice(0)) await c();
});

describe.each(['sqlite', 'mariadb'] as const)('payout build --qr too large on %s', (kind) => {
  it('refused before anything is recorded, locked, excluded, audited or written; without --qr the build then succeeds', async () => {
    const url = await fundedPool(kind, node, cleanups);
    // two payable withdrawals, and one approved by a key the build's trust file does not know (left out, were it recorded)
    await approveWithdrawals(url, [0, 1].map((k) => ({ appId: `${kind}-q-${k}`, user: `u${k}`, address: externalAddress(k), amountSat: 120_000n + BigInt(k) })), [approver('op1', testTrust('regtest', 1, ['op1']))]);
    await approveWithdrawals(url, [{ appId: `${kind}-q-x`, user: 'ux', address: externalAddress(2), amountSat: 90_000n }], [approver('op2', testTrust('regtest', 1, ['op2']))]);
    const before = await snapshotTables(url, TABLES);
    expect(before.withdrawals!.length).toBe(3);

    const psbt = join(dir, `${kind}-qr.psbt`);
    const args = ['payout', 'build', '--trust', trustFile, '--fee-rate', '2', '--out', psbt, '--node', node.rpcUrl, '--db', url, '--operator', 'op1', '--json'];
    const refused = await runCli('coldpool', [...args, '--qr', '--qr-max-parts', '1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/the PSBT of payout part 1 of 1 .* is \d+ bytes: too large for QR \(\d+ BBQr parts, at most 1\): use the file/);
    expect(refused.stderr).not.toMatch(/left out|BBQr part 1 of/);
    expect(refused.stdout).toBe('');
    expect(await snapshotTables(url, TABLES)).toEqual(before);
    expect(existsSync(psbt)).toBe(false);
    expect(existsSync(join(dir, `${kind}-qr.manifest.json`))).toBe(false);

    const built = await runCli('coldpool', args);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stderr).toMatch(/left out: withdrawal \d+: /);
    const [rec] = JSON.parse(built.stdout) as { outputs: { amount_sat: string }[] }[];
    expect(rec!.outputs.map((o) => o.amount_sat)).toEqual(['120000', '120001']);
    const after = await snapshotTables(url, TABLES);
    expect(after.payouts!.length).toBe(1);
    expect(after.payout_exclusions!.length).toBe(1);
  }, 60_000);

  it('a split build whose F-2.psbt exists: refused (EXISTS) before anything is recorded; F.psbt not written', async () => {
    const url = await fundedPool(kind, node, cleanups);
    await approveWithdrawals(url, [0, 1].map((k) => ({ appId: `${kind}-e-${k}`, user: `u${k}`, address: externalAddress(k), amountSat: 110_000n + BigInt(k) })), [approver('op1', testTrust('regtest', 1, ['op1']))]);
    const before = await snapshotTables(url, TABLES);
    const psbt = join(dir, `${kind}-exists.psbt`);
    writeFileSync(join(dir, `${kind}-exists-2.psbt`), 'mine\n');
    const args = ['payout', 'build', '--trust', trustFile, '--fee-rate', '2', '--max-outputs', '1', '--out', psbt, '--node', node.rpcUrl, '--db', url, '--operator', 'op1', '--json'];
    const refused = await runCli('coldpool', args);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/exists-2\.psbt already exists; refusing to overwrite it/);
    expect(await snapshotTables(url, TABLES)).toEqual(before);
    expect(existsSync(psbt)).toBe(false);
    const built = await runCli('coldpool', [...args, '--force']);
    expect(built.code, built.stderr).toBe(0);
    expect((JSON.parse(built.stdout) as unknown[]).length).toBe(2);
  }, 60_000);
});
