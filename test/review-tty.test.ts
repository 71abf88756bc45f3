/**
 * `coldpool review` driven in a real pseudo-terminal (tmux), as an operator
 * uses it: open a request, approve it; open another, reject it with a typed
 * reason; quit. Then the database and the audit log are checked. Needs the
 * built dist/ (npm test builds it); skipped when tmux is missing.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../src/core/withdrawal-policy.js';
import { requestWithdrawal } from '../src/flows/request-withdrawal.js';
import { openWithdrawalStore } from '../src/store/withdrawal-store.js';
import { ROOT } from './support/cli.js';
import { sqliteBackend } from './support/withdrawal-backends.js';

const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const socket = `coldpool-review-${process.pid}-${Date.now()}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const pane = () => tmux('capture-pane', '-p', '-t', 'review', '-S', '-');
const key = (...keys: string[]) => tmux('send-keys', '-t', 'review', ...keys);

async function waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = pane();
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; pane:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const backend = sqliteBackend();
afterAll(() => backend.cleanup());
afterEach(() => {
  try {
    tmux('kill-server');
  } catch {
    // gone with its session
  }
});

describe.skipIf(!hasTmux)('coldpool review in a terminal', () => {
  it('approve one, reject one with a reason, quit; the database and the audit log agree', async () => {
    const url = await backend.fresh();
    const store = openWithdrawalStore(url, { network: 'testnet' });
    for (let i = 1; i <= 3; i++) {
      await requestWithdrawal(store, { appId: `tty-${i}`, user: `user${i}`, address: 'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', amountSat: BigInt(i) * 100_000n });
    }
    await store.close();
    const cmd = `cd ${ROOT} && node bin/coldpool.js review --db ${url} --network testnet --operator carol; echo EXIT=$?; sleep 30`;
    tmux('new-session', '-d', '-s', 'review', '-x', '200', '-y', '50', cmd);
    await waitFor(/Pending: 3 requests, 0\.00600000 BTC/);
    expect(pane()).toMatch(/#1 {2}user1 {2}0\.00100000 BTC/);
    key('Enter'); // open #1
    await waitFor(/Decide on #1/);
    expect(pane()).toMatch(/user history/);
    key('Enter'); // Approve
    await waitFor(/#1: approved/);
    await waitFor(/Pending: 2 requests/);
    key('Enter'); // open #2 (now first)
    await waitFor(/Decide on #2/);
    key('Down', 'Enter'); // Reject
    await waitFor(/Reason for rejecting #2/);
    key('Enter'); // empty reason is refused
    await waitFor(/a reason is required/);
    tmux('send-keys', '-t', 'review', '-l', 'destination not on file');
    key('Enter');
    await waitFor(/#2: rejected/);
    await waitFor(/Pending: 1 requests/);
    for (let i = 0; i < 8; i++) key('Down');
    await new Promise((r) => setTimeout(r, 200));
    key('Enter'); // Quit is the last choice
    await waitFor(/EXIT=0/);

    const rows = await backend.query(url, 'SELECT id, status, reviewer, reason FROM withdrawals ORDER BY id');
    expect(rows.map((r) => [r.status, r.reviewer, r.reason])).toEqual([
      ['approved', 'carol', null], ['rejected', 'carol', 'destination not on file'], ['requested', null, null],
    ]);
    const audit = await backend.query(url, 'SELECT actor, action, subject, data FROM audit_log ORDER BY seq');
    expect(audit.map((a) => `${a.actor} ${a.action} ${a.subject}`)).toEqual([
      'carol withdrawals.seen withdrawals', 'carol withdrawal.approval withdrawal:1', 'carol withdrawal.approved withdrawal:1', 'carol withdrawal.rejected withdrawal:2',
    ]);
    expect(JSON.parse(String(audit[3]!.data))).toMatchObject({ reason: 'destination not on file' });
    const check = openWithdrawalStore(url, { network: 'testnet' });
    expect((await check.verifyAudit()).ok).toBe(true);
    expect((await check.get(3n, DEFAULT_POLICY))!.status).toBe('requested');
    await check.close();
  });
});
