/**
 * `coldpool review` driven in a real pseudo-terminal (tmux), as an operator
 * uses it, on SQLite and on MariaDB (a fresh database per test, dropped after):
 * approve one and reject one with a typed reason; page through 45 requests and
 * open one (user and destination history); "approve all unflagged" with a
 * policy file that flags some. Then the database and the audit log are
 * checked. Needs the built dist/ (npm test builds it); skipped when tmux is
 * missing.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bech32 } from 'bech32';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../src/core/withdrawal-policy.js';
import { requestWithdrawal } from '../src/flows/request-withdrawal.js';
import { openWithdrawalStore } from './support/open-repos.js';
import { ROOT, tempDir } from './support/cli.js';
import { hasTmux, killTmux, tmuxOn, tmuxSocket } from './support/tmux.js';
import { mariadbBackend, sqliteBackend, type Backend } from './support/withdrawal-backends.js';
import { writeCliOperators } from './support/approvers.js';

const socket = tmuxSocket('coldpool-review');
const tmux = (...args: string[]) => tmuxOn(socket, ...args);
const pane = () => tmux('capture-pane', '-p', '-t', 'review', '-S', '-');
/** Only what is on the screen now (the scrollback keeps earlier pages). */
const screen = () => tmux('capture-pane', '-p', '-t', 'review');
const key = (...keys: string[]) => tmux('send-keys', '-t', 'review', ...keys);

async function waitFor(pattern: RegExp, timeoutMs = 20_000, read = pane): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = read();
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; pane:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A distinct testnet P2WPKH address per number. */
const dest = (i: number) => bech32.encode('tb', [0, ...bech32.toWords(Buffer.from(i.toString(16).padStart(40, '0'), 'hex'))]);
const pause = (ms = 300) => new Promise((r) => setTimeout(r, ms));
let carolKey = '';
beforeAll(async () => {
  carolKey = (await writeCliOperators(tempDir('coldpool-review-tty-keys-'), 'testnet', ['carol'])).operators.carol!.args.join(' ');
});
const start = (url: string, extra = '') => {
  const cmd = `cd ${ROOT} && node bin/coldpool.js review --db ${url} --network testnet --operator carol ${carolKey} ${extra}; echo EXIT=$?; sleep 30`;
  tmux('new-session', '-d', '-s', 'review', '-x', '200', '-y', '50', cmd);
};

afterEach(() => killTmux(socket));

describe.skipIf(!hasTmux).each([sqliteBackend(), mariadbBackend()])('coldpool review in a terminal on $name', (backend: Backend) => {
  afterAll(() => backend.cleanup());

  it('approve one, reject one with a reason, quit; the database and the audit log agree', async () => {
    const url = await backend.fresh();
    const store = openWithdrawalStore(url, { network: 'testnet' });
    for (let i = 1; i <= 3; i++) {
      await requestWithdrawal(store, { appId: `tty-${i}`, user: `user${i}`, address: 'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', amountSat: BigInt(i) * 100_000n });
    }
    await store.close();
    start(url);
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

  it('pages through 45 requests 20 at a time, back again, and opens one: user history and destination history', async () => {
    const url = await backend.fresh();
    const store = openWithdrawalStore(url, { network: 'testnet' });
    for (let i = 1; i <= 45; i++) {
      await requestWithdrawal(store, { appId: `page-${i}`, user: `pager${i % 5}`, address: dest(i % 5), amountSat: 10_000n * BigInt(i) });
    }
    await store.close();
    start(url, '--page-size 20');
    await waitFor(/Pending: 45 requests, 0\.10350000 BTC; page 1\/3/);
    expect(screen()).toMatch(/#1 {2}pager1 {2}0\.00010000 BTC/);
    expect(screen()).toMatch(/#20 {2}pager0/);
    expect(screen()).not.toMatch(/#21 /);
    key(...Array<string>(20).fill('Down'), 'Enter'); // past the 20 rows (the separator is skipped) to "Next page"
    await waitFor(/^\? Pending: 45 requests.*page 2\/3/m, undefined, screen);
    const page2 = screen();
    expect(page2).toMatch(/❯ #21 {2}pager1 {2}0\.00210000 BTC/);
    expect(page2).toMatch(/#40 {2}pager0/);
    expect(page2).not.toMatch(/#20 |#41 /);
    expect(page2).toMatch(/Previous page/);
    key(...Array<string>(20).fill('Down'), 'Enter'); // Next page
    await waitFor(/^\? Pending: 45 requests.*page 3\/3/m, undefined, screen);
    const page3 = screen();
    expect(page3.match(/#\d+ {2}pager/g)).toEqual(['#41  pager', '#42  pager', '#43  pager', '#44  pager', '#45  pager']);
    expect(page3).not.toMatch(/^ {2}Next page$/m); // the menu has none (the answered prompts above still say it)
    key(...Array<string>(5).fill('Down'), 'Enter'); // Previous page (first after the separator on the last page)
    await waitFor(/^\? Pending: 45 requests.*page 2\/3/m, undefined, screen);
    key('Enter'); // open #21
    await waitFor(/Decide on #21/);
    const detail = pane();
    expect(detail).toMatch(/Withdrawal #21 \(app id page-21\)/);
    expect(detail).toMatch(/user {9}pager1/);
    // pager1 always sends to dest(1): #1 #6 #11 #16 #26 #31 #36 #41 are its history and the destination's
    expect(detail).toMatch(/user history \(8 shown, latest last\):/);
    expect(detail).toMatch(new RegExp(`#16 \\S+ 0\\.00160000 BTC → ${dest(1)} requested`));
    expect(detail).toMatch(/destination history \(8 shown\):/);
    expect(detail).toMatch(/#41 \S+ pager1 0\.00410000 BTC requested/);
    key('Down', 'Down', 'Enter'); // Skip
    await waitFor(/^\? Pending: 45 requests.*page 2\/3/m, undefined, screen);
    key(...Array<string>(24).fill('Down'), 'Enter'); // Quit, the last choice of page 2
    await waitFor(/EXIT=0/);
    const rows = await backend.query(url, "SELECT COUNT(*) AS n FROM withdrawals WHERE status = 'requested'");
    expect(String(rows[0]!.n)).toBe('45');
    const audit = await backend.query(url, 'SELECT action FROM audit_log ORDER BY seq');
    expect(audit.map((a) => a.action)).toEqual(['withdrawals.seen']); // looking decides nothing
  });

  it('"approve all unflagged" approves only the requests without a flag (policy limit, first-time destination); DB and audit agree', async () => {
    const url = await backend.fresh();
    const dir = tempDir('coldpool-review-policy-');
    const policyFile = join(dir, 'policy.json');
    writeFileSync(policyFile, JSON.stringify({ maxWithdrawalBtc: '0.01' }));
    const store = openWithdrawalStore(url, { network: 'testnet' });
    const ask = (appId: string, user: string, d: number, amountSat: bigint) => requestWithdrawal(store, { appId, user, address: dest(d), amountSat });
    await ask('u-1', 'alice', 101, 100_000n); // #1 first_time_destination
    await ask('u-2', 'alice', 101, 200_000n); // #2 clean: alice sent there before, other amount
    await ask('u-3', 'alice', 101, 5_000_000n); // #3 over_withdrawal_limit (0.05 > 0.01)
    await ask('u-4', 'bob', 102, 100_000n); // #4 first_time_destination
    await ask('u-5', 'bob', 102, 150_000n); // #5 clean
    await ask('u-6', 'bob', 102, 150_000n); // #6 near_duplicate of #5 (and #5 now has it too)
    await ask('u-7', 'carol', 103, 300_000n); // #7 first_time_destination
    await ask('u-8', 'carol', 103, 400_000n); // #8 clean
    await store.close();
    try {
      start(url, `--policy ${policyFile}`);
      await waitFor(/Pending: 8 requests/, undefined, screen);
      const list = screen();
      expect(list).toMatch(/#2 {2}alice {2}0\.00200000 BTC {2}\S+ \(p2wpkh\) {2}\[no flags\]/);
      expect(list).toMatch(/#3 {2}alice {2}0\.05000000 BTC {2}\S+ \(p2wpkh\) {2}\[over_withdrawal_limit\]/);
      expect(list).toMatch(/#5 {2}bob {2}0\.00150000 BTC {2}\S+ \(p2wpkh\) {2}\[near_duplicate\]/);
      expect(list).toMatch(/#8 {2}carol {2}0\.00400000 BTC {2}\S+ \(p2wpkh\) {2}\[no flags\]/);
      expect(list).toMatch(/6 of 8 flagged/);
      key(...Array<string>(8).fill('Down'), 'Enter'); // "Approve all unflagged", first after the separator
      await waitFor(/Approve 2 unflagged request\(s\), 0\.00600000 BTC in total\?/);
      tmux('send-keys', '-t', 'review', '-l', 'y');
      key('Enter');
      await waitFor(/approved 2 of 2/);
      await waitFor(/Pending: 6 requests/, undefined, screen);
      key(...Array<string>(10).fill('Down'), 'Enter'); // Quit
      await waitFor(/EXIT=0/);
      const rows = await backend.query(url, 'SELECT id, status, reviewer FROM withdrawals ORDER BY id');
      expect(rows.map((r) => `${r.id} ${r.status} ${r.reviewer ?? '-'}`)).toEqual([
        '1 requested -', '2 approved carol', '3 requested -', '4 requested -', '5 requested -', '6 requested -', '7 requested -', '8 approved carol',
      ]);
      const approvals = await backend.query(url, 'SELECT withdrawal_id, operator FROM withdrawal_approvals ORDER BY withdrawal_id');
      expect(approvals.map((a) => `${a.withdrawal_id} ${a.operator}`)).toEqual(['2 carol', '8 carol']);
      const audit = await backend.query(url, 'SELECT actor, action, subject, data FROM audit_log ORDER BY seq');
      expect(audit.map((a) => `${a.actor} ${a.action} ${a.subject}`)).toEqual([
        'carol withdrawals.seen withdrawals',
        'carol withdrawal.approval withdrawal:2', 'carol withdrawal.approved withdrawal:2',
        'carol withdrawal.approval withdrawal:8', 'carol withdrawal.approved withdrawal:8',
      ]);
      expect(JSON.parse(String(audit[1]!.data))).toMatchObject({ flags: [], amountSat: '200000', approvals: 1, required: 1 });
      const check = openWithdrawalStore(url, { network: 'testnet' });
      expect((await check.verifyAudit()).ok).toBe(true);
      await check.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
