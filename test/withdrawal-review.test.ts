import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH, entryHash, type AuditEntry } from '../src/core/audit-chain.js';
import { isCoded } from '../src/core/errors.js';
import { DEFAULT_POLICY, parsePolicy } from '../src/core/withdrawal-policy.js';
import type { WithdrawalStore } from '../src/core/ports.js';
import { WITHDRAWAL_STATUSES, WITHDRAWAL_TRANSITIONS, assertMove, canMove } from '../src/core/withdrawal-state.js';
import { requestWithdrawal } from '../src/flows/request-withdrawal.js';
import { openWithdrawalStore, type Opened } from './support/open-repos.js';
import { tempDir } from './support/cli.js';
import { mariadbBackend, runOnline, sqliteBackend, type Backend } from './support/withdrawal-backends.js';
import { approver, writeCliOperators } from './support/approvers.js';

const P2WSH = 'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7';
const P2TR = 'tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c';

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => undefined, (e: unknown) => e);
}

describe('state table', () => {
  it('random move sequences never leave the table (property)', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...WITHDRAWAL_STATUSES), { maxLength: 30 }), (targets) => {
      let s: (typeof WITHDRAWAL_STATUSES)[number] = 'requested';
      for (const to of targets) {
        let moved = true;
        try {
          assertMove(1n, s, to);
        } catch (e) {
          if (!isCoded(e, 'STATE_CONFLICT')) throw e;
          moved = false;
        }
        expect(moved).toBe(canMove(s, to));
        if (moved) s = to;
      }
    }));
  });
  it('the arrows are the issue\'s', () => {
    expect(WITHDRAWAL_TRANSITIONS).toEqual({
      requested: ['approved', 'rejected', 'invalid', 'cancelled'], approved: ['in_payout', 'cancelled', 'confirmed'], in_payout: ['broadcast', 'approved'],
      broadcast: ['confirmed', 'failed', 'approved'], rejected: [], invalid: [], confirmed: [], failed: [], cancelled: [],
    });
  });
});

describe.each([sqliteBackend(), mariadbBackend()])('review and audit on $name', (backend: Backend) => {
  afterAll(() => backend.cleanup());
  const open = async (): Promise<{ url: string; store: Opened<WithdrawalStore> }> => {
    const url = await backend.fresh();
    return { url, store: openWithdrawalStore(url, { network: 'testnet' }) };
  };
  const seq = (n: number) => (backend.name === 'sqlite' ? BigInt(n) : n);

  it('approve, reject (reason required), wrong-state moves name the current state; each decision audited in order', async () => {
    const { store } = await open();
    try {
      const a = (await requestWithdrawal(store, { appId: 'a', user: 'alice', address: P2WSH, amountSat: 100_000n })).withdrawal.id;
      const b = (await requestWithdrawal(store, { appId: 'b', user: 'bob', address: P2TR, amountSat: 200_000n })).withdrawal.id;
      await store.observe('op1');
      expect((await store.approve(a, approver('op1'), DEFAULT_POLICY)).status).toBe('approved');
      expect(isCoded(await errorOf(store.reject(b, 'op1', '  ')), 'USAGE')).toBe(true);
      expect((await store.reject(b, 'op1', 'unknown destination')).status).toBe('rejected');
      const e = await errorOf(store.reject(a, 'op2', 'late'));
      expect(isCoded(e, 'STATE_CONFLICT') && (e as Error).message).toBe('withdrawal 1 is approved, not requested; approved → rejected is not allowed');
      expect((await store.move(a, 'in_payout', 'op1', { payout: 7 })).status).toBe('in_payout');
      expect((await store.move(a, 'approved', 'op1', { reason: 'payout abandoned' })).status).toBe('approved');
      expect(isCoded(await errorOf(store.move(b, 'approved', 'op1')), 'STATE_CONFLICT')).toBe(true);
      const actions = [];
      for await (const x of store.auditEntries()) actions.push(`${x.seq} ${x.actor} ${x.action} ${x.subject}`);
      expect(actions).toEqual([
        '1 op1 withdrawals.seen withdrawals', '2 op1 withdrawal.approval withdrawal:1', '3 op1 withdrawal.approved withdrawal:1',
        '4 op1 withdrawal.rejected withdrawal:2', '5 op1 withdrawal.in_payout withdrawal:1', '6 op1 withdrawal.approved withdrawal:1',
      ]);
      expect((await store.verifyAudit()).ok).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('policy: flags, blocking limits, blocked address; two approvals need two different operators', async () => {
    const { store } = await open();
    const policy = parsePolicy(JSON.stringify({ maxWithdrawalBtc: '0.01', maxUserDailyBtc: '0.015', minWithdrawalSat: 1000, blockedAddresses: [P2TR], approvalsRequired: 2 }));
    try {
      const big = (await requestWithdrawal(store, { appId: 'big', user: 'u1', address: P2WSH, amountSat: 2_000_000n })).withdrawal.id;
      const blocked = (await requestWithdrawal(store, { appId: 'blk', user: 'u2', address: P2TR, amountSat: 100_000n })).withdrawal.id;
      const fine = (await requestWithdrawal(store, { appId: 'ok', user: 'u3', address: P2WSH, amountSat: 100_000n })).withdrawal.id;
      const dup = (await requestWithdrawal(store, { appId: 'ok2', user: 'u3', address: P2WSH, amountSat: 100_000n })).withdrawal.id;
      await store.observe('op1');
      const flags = async (id: bigint) => (await store.get(id, policy))!.flags.map((f) => f.code);
      expect(await flags(big)).toEqual(['over_withdrawal_limit', 'over_user_24h_limit', 'first_time_destination', 'shared_destination']);
      expect(await flags(blocked)).toEqual(['blocked_address', 'first_time_destination']);
      expect(await flags(fine)).toEqual(['first_time_destination', 'shared_destination', 'near_duplicate']);
      expect(await flags(dup)).toEqual(['shared_destination', 'near_duplicate']);
      expect(isCoded(await errorOf(store.approve(big, approver('op1'), policy)), 'REFUSED')).toBe(true);
      expect(isCoded(await errorOf(store.approve(blocked, approver('op1'), policy)), 'REFUSED')).toBe(true);
      expect((await store.approve(fine, approver('op1'), policy)).status).toBe('requested');
      const twice = await errorOf(store.approve(fine, approver('op1'), policy));
      expect(isCoded(twice, 'STATE_CONFLICT') && /already approved/.test((twice as Error).message)).toBe(true);
      expect((await store.get(fine, policy))!.status).toBe('requested');
      expect(await store.approve(fine, approver('op2'), policy)).toMatchObject({ status: 'approved', approvals: ['op1', 'op2'] });
    } finally {
      await store.close();
    }
  });

  it('a request edited in the database after first sight is flagged, refused without --override-changed, and the override is audited', async () => {
    const { url, store } = await open();
    try {
      const id = (await requestWithdrawal(store, { appId: 'edit-me', user: 'alice', address: P2WSH, amountSat: 100_000n })).withdrawal.id;
      await store.observe('op1');
      expect((await store.get(id, DEFAULT_POLICY))!.flags.map((f) => f.code)).not.toContain('changed_since_first_seen');
      await backend.exec(url, 'UPDATE withdrawals SET destination = ? WHERE id = ?', [P2TR, String(id)]);
      expect((await store.get(id, DEFAULT_POLICY))!.flags.map((f) => f.code)).toContain('changed_since_first_seen');
      const cli = await runOnline(['withdrawals', 'list', '--db', url, '--network', 'testnet', '--operator', 'op1', '--json']);
      expect(JSON.parse(cli.stdout).withdrawals[0].flags.map((f: { code: string }) => f.code)).toContain('changed_since_first_seen');
      const { operators } = await writeCliOperators(mkdtempSync(join(tmpdir(), 'coldpool-review-keys-')), 'testnet', ['op1']);
      const key = operators.op1!.args;
      const refused = await runOnline(['withdrawals', 'approve', String(id), '--db', url, '--network', 'testnet', ...key]);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(/changed since the operator tool first saw it/);
      const ok = await runOnline(['withdrawals', 'approve', String(id), '--db', url, '--network', 'testnet', ...key, '--override-changed', '--json']);
      expect(ok.code, ok.stderr).toBe(0);
      const audit = await backend.query(url, "SELECT actor, data FROM audit_log WHERE action = 'withdrawal.override_changed'");
      expect(audit.length).toBe(1);
      expect(audit[0]!.actor).toBe('op1');
      expect(JSON.parse(String(audit[0]!.data)).now).toContain(P2TR);
      expect(JSON.parse(String(audit[0]!.data)).seen).toContain(P2WSH);
    } finally {
      await store.close();
    }
  });

  it('`withdrawals cancel ID --reason R`: requested and approved become cancelled (reason stored, audited); paid-out or final states refuse with exit 4', async () => {
    const { url, store } = await open();
    try {
      for (let i = 1; i <= 4; i++) await requestWithdrawal(store, { appId: `c${i}`, user: `u${i}`, address: P2WSH, amountSat: 100_000n });
      await store.observe('op1');
      await store.approve(2n, approver('op1'), DEFAULT_POLICY);
      await store.reject(3n, 'op1', 'no');
      await store.approve(4n, approver('op1'), DEFAULT_POLICY);
      await store.move(4n, 'in_payout', 'op1', { payout: 1 });
    } finally {
      await store.close();
    }
    const cancel = (id: string, ...more: string[]) => runOnline(['withdrawals', 'cancel', id, '--db', url, '--network', 'testnet', '--operator', 'op2', ...more]);
    const one = await cancel('1', '--reason', 'user withdrew it', '--json');
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual({ id: '1', status: 'cancelled' });
    expect((await cancel('2', '--reason', 'address reported stolen')).stdout).toBe('withdrawal 2: cancelled\n');
    const rejected = await cancel('3', '--reason', 'late');
    expect(rejected.code).toBe(4);
    expect(rejected.stderr).toMatch(/withdrawal 3 is rejected; rejected → cancelled is not allowed/);
    const paying = await cancel('4', '--reason', 'late');
    expect(paying.code).toBe(4);
    expect(paying.stderr).toMatch(/withdrawal 4 is in_payout; in_payout → cancelled is not allowed/);
    expect((await cancel('1', '--reason', 'again')).code).toBe(4);
    expect((await cancel('2', '--reason', '   ')).code).toBe(2);
    expect((await cancel('2')).code).toBe(2);
    expect((await cancel('99', '--reason', 'x')).code).toBe(2); // NOT_FOUND is a usage error
    const rows = await backend.query(url, 'SELECT id, status, reviewer, reason FROM withdrawals ORDER BY id');
    expect(rows.map((r) => `${r.id} ${r.status} ${r.reviewer} ${r.reason}`)).toEqual([
      '1 cancelled op2 user withdrew it', '2 cancelled op2 address reported stolen', '3 rejected op1 no', '4 in_payout op1 null',
    ]);
    const audit = await backend.query(url, "SELECT actor, subject, data FROM audit_log WHERE action = 'withdrawal.cancelled' ORDER BY seq");
    expect(audit.map((a) => [a.actor, a.subject, JSON.parse(String(a.data))])).toEqual([
      ['op2', 'withdrawal:1', { from: 'requested', to: 'cancelled', reason: 'user withdrew it' }],
      ['op2', 'withdrawal:2', { from: 'approved', to: 'cancelled', reason: 'address reported stolen' }],
    ]);
    expect((await runOnline(['audit', 'verify', '--db', url])).code).toBe(0);
  });

  describe('audit tampering is caught and named by `audit verify`', () => {
    const build = async () => {
      const { url, store } = await open();
      for (let i = 0; i < 4; i++) await requestWithdrawal(store, { appId: `t${i}`, user: `u${i}`, address: P2WSH, amountSat: 100_000n });
      await store.observe('op1');
      for (let i = 1n; i <= 3n; i++) await store.approve(i, approver('op1'), DEFAULT_POLICY);
      await store.reject(4n, 'op1', 'no');
      await store.close();
      const ok = await runOnline(['audit', 'verify', '--db', url, '--json']);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, entries: 8 });
      return url;
    };
    const verify = async (url: string) => {
      const r = await runOnline(['audit', 'verify', '--db', url, '--json']);
      expect(r.code).toBe(3);
      return JSON.parse(r.stdout) as { seq: string; problem: string; message: string };
    };
    it('editing a row\'s data', async () => {
      const url = await build();
      await backend.exec(url, "UPDATE audit_log SET data = REPLACE(data, '100000', '900000') WHERE seq = ?", [seq(2)]);
      expect(await verify(url)).toMatchObject({ seq: '2', problem: 'edited' });
    });
    it('editing a row\'s actor', async () => {
      const url = await build();
      await backend.exec(url, "UPDATE audit_log SET actor = 'mallory' WHERE seq = ?", [seq(5)]);
      expect(await verify(url)).toMatchObject({ seq: '5', problem: 'edited' });
    });
    it('deleting a row in the middle', async () => {
      const url = await build();
      await backend.exec(url, 'DELETE FROM audit_log WHERE seq = ?', [seq(4)]);
      expect(await verify(url)).toMatchObject({ seq: '4', problem: 'deleted' });
    });
    it('deleting the last row', async () => {
      const url = await build();
      await backend.exec(url, 'DELETE FROM audit_log WHERE seq = ?', [seq(8)]);
      expect(await verify(url)).toMatchObject({ seq: '8', problem: 'truncated' });
    });
    it('swapping two rows (reordering)', async () => {
      const url = await build();
      await backend.exec(url, 'UPDATE audit_log SET seq = 100 WHERE seq = ?', [seq(6)]);
      await backend.exec(url, 'UPDATE audit_log SET seq = 6 WHERE seq = ?', [seq(7)]);
      await backend.exec(url, 'UPDATE audit_log SET seq = 7 WHERE seq = 100');
      const v = await verify(url);
      expect(v).toMatchObject({ seq: '6', problem: 'out_of_order' });
      expect(v.message).toMatch(/written as entry 7/);
    });
    it('export writes every entry as a JSON line', async () => {
      const url = await build();
      const r = await runOnline(['audit', 'export', '--db', url]);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { seq: string; hash: string; prev_hash: string });
      expect(lines.map((l) => l.seq)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
      expect(lines[1]!.prev_hash).toBe(lines[0]!.hash);
    });

    describe('`audit verify --against` an earlier export', () => {
      const dirs: string[] = [];
      afterAll(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
      const exportTo = async (url: string) => {
        const dir = tempDir('coldpool-audit-export-');
        dirs.push(dir);
        const file = join(dir, 'audit.jsonl');
        const r = await runOnline(['audit', 'export', '--db', url, '--out', file]);
        expect(r.code, r.stderr).toBe(0);
        return file;
      };
      const against = async (url: string, file: string) => {
        const r = await runOnline(['audit', 'verify', '--db', url, '--against', file, '--json']);
        return { code: r.code, stderr: r.stderr, json: JSON.parse(r.stdout || 'null') as { ok: boolean; seq?: string; problem?: string; message?: string; entries: number; against?: { entries: number; last_seq: string } } };
      };
      /** What someone with write access to the database can do: change entry `from`, recompute every hash after it, move the head. */
      const rewrite = async (url: string, from: bigint, change: (e: AuditEntry) => AuditEntry) => {
        const s = openWithdrawalStore(url, { network: 'testnet' });
        const entries: AuditEntry[] = [];
        for await (const e of s.auditEntries()) entries.push(e);
        await s.close();
        let prev: AuditEntry | undefined;
        for (const original of entries) {
          let e = original;
          if (e.seq >= from) {
            const base = { ...(e.seq === from ? change(e) : e), prevHash: prev?.hash ?? GENESIS_HASH };
            e = { ...base, hash: entryHash(base) };
            await backend.exec(url, 'UPDATE audit_log SET actor = ?, data = ?, prev_hash = ?, hash = ? WHERE seq = ?', [e.actor, e.data, e.prevHash, e.hash, seq(Number(e.seq))]);
          }
          prev = e;
        }
        await backend.exec(url, 'UPDATE audit_head SET hash = ? WHERE id = 1', [prev!.hash]);
      };
      const plainVerify = async (url: string) => (await runOnline(['audit', 'verify', '--db', url, '--json'])).code;

      it('the live chain grew since the export: ok, and says how much of it the export covers', async () => {
        const url = await build();
        const file = await exportTo(url);
        const s = openWithdrawalStore(url, { network: 'testnet' });
        await requestWithdrawal(s, { appId: 'later', user: 'u9', address: P2WSH, amountSat: 100_000n });
        await s.observe('op2');
        await s.approve(5n, approver('op2'), DEFAULT_POLICY);
        await s.close();
        const r = await against(url, file);
        expect(r.code, r.stderr).toBe(0);
        expect(r.json).toMatchObject({ ok: true, entries: 11, against: { entries: 8, last_seq: '8' } });
      });
      it('rewritten from the start with every hash recomputed: verifies on its own, not against the export, which names entry 1', async () => {
        const url = await build();
        const file = await exportTo(url);
        await rewrite(url, 1n, (e) => ({ ...e, actor: 'mallory' }));
        expect(await plainVerify(url)).toBe(0);
        const r = await against(url, file);
        expect(r.code).toBe(3);
        expect(r.json).toMatchObject({ ok: false, seq: '1', problem: 'rewritten' });
        expect(r.json.message).toMatch(/audit entry 1 differs from the export \(actor, hash\): the live chain was rewritten from entry 1 on/);
        expect(r.stderr).toMatch(/audit chain broken: against .*audit\.jsonl: audit entry 1 differs/);
      });
      it('one decision in the middle rewritten (reason), the rest re-hashed: names entry 8', async () => {
        const url = await build();
        const file = await exportTo(url);
        await rewrite(url, 8n, (e) => ({ ...e, data: e.data.replace('"no"', '"duplicate"') }));
        expect(await plainVerify(url)).toBe(0);
        expect((await against(url, file)).json).toMatchObject({ ok: false, seq: '8', problem: 'rewritten', message: expect.stringMatching(/\(data, hash\)/) });
      });
      it('the last entries deleted and the head moved back: the first missing one is named', async () => {
        const url = await build();
        const file = await exportTo(url);
        const [six] = await backend.query(url, 'SELECT hash FROM audit_log WHERE seq = ?', [seq(6)]);
        await backend.exec(url, 'DELETE FROM audit_log WHERE seq > ?', [seq(6)]);
        await backend.exec(url, 'UPDATE audit_head SET seq = 6, hash = ? WHERE id = 1', [six!.hash]);
        expect(await plainVerify(url)).toBe(0);
        expect((await against(url, file)).json).toMatchObject({ ok: false, seq: '7', problem: 'missing', message: expect.stringMatching(/which ends at 6/) });
      });
      it('an altered export is refused as export_broken (the copy is checked as a chain too); a file that is not an export names its line', async () => {
        const url = await build();
        const file = await exportTo(url);
        const lines = readFileSync(file, 'utf8').split('\n');
        lines[2] = lines[2]!.replace('op1', 'op9');
        writeFileSync(file, lines.join('\n'));
        expect((await against(url, file)).json).toMatchObject({ ok: false, seq: '3', problem: 'export_broken' });
        writeFileSync(file, `${lines[0]}\nnot json\n`);
        const r = await runOnline(['audit', 'verify', '--db', url, '--against', file]);
        expect(r.code).toBe(3);
        expect(r.stderr).toMatch(/audit\.jsonl line 2: expected an audit entry/);
      });
    });
  });
});

describe('races on MariaDB (separate connections)', () => {
  const backend = mariadbBackend();
  afterAll(() => backend.cleanup());

  it('two operators approving / rejecting the same request at once: exactly one wins, the other gets STATE_CONFLICT naming the state', async () => {
    const url = await backend.fresh();
    const web = openWithdrawalStore(url, { network: 'testnet' });
    const ids: bigint[] = [];
    for (let i = 0; i < 20; i++) ids.push((await requestWithdrawal(web, { appId: `r${i}`, user: `u${i}`, address: P2WSH, amountSat: 10_000n + BigInt(i) })).withdrawal.id);
    await web.observe('setup');
    await web.close();
    const op1 = openWithdrawalStore(url, { network: 'testnet' });
    const op2 = openWithdrawalStore(url, { network: 'testnet' });
    try {
      for (const [k, id] of ids.entries()) {
        const results = await Promise.allSettled([
          op1.approve(id, approver('alice'), DEFAULT_POLICY),
          k % 2 === 0 ? op2.approve(id, approver('bob'), DEFAULT_POLICY) : op2.reject(id, 'bob', 'looks wrong'),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(won.length).toBe(1);
        expect(lost.length).toBe(1);
        expect(isCoded(lost[0]!.reason, 'STATE_CONFLICT')).toBe(true);
        expect((lost[0]!.reason as Error).message).toMatch(/^withdrawal \d+ is (approved|rejected), not requested/);
      }
      expect((await op1.verifyAudit()).ok).toBe(true);
      const rows = await backend.query(url, "SELECT COUNT(*) AS n FROM withdrawals WHERE status IN ('approved', 'rejected')");
      expect(rows[0]!.n).toBe('20');
    } finally {
      await op1.close();
      await op2.close();
    }
  });

  it('two operators reading 3,000 new requests at once: each request fingerprinted and audited exactly once, bad rows marked invalid once', async () => {
    const url = await backend.fresh();
    const N = 3000;
    const rows = Array.from({ length: N }, (_, i) => [`many-${i}`, `u${i % 50}`, i % 1000 === 7 ? 'bc1qnotvalid' : P2WSH, 10_000 + i]);
    await backend.exec(url, 'INSERT INTO withdrawals (app_id, user_id, destination, amount_sat) VALUES ?', [rows]);
    const s1 = openWithdrawalStore(url, { network: 'testnet' });
    const s2 = openWithdrawalStore(url, { network: 'testnet' });
    try {
      const [a, b] = await Promise.all([s1.observe('alice'), s2.observe('bob')]);
      expect(a.seen + b.seen).toBe(N);
      expect([...a.invalid, ...b.invalid].map((x) => Number(x.id)).sort((x, y) => x - y)).toEqual([8, 1008, 2008]);
      expect((await s1.observe('alice')).seen).toBe(0);
      const seen = await backend.query(url, 'SELECT withdrawal_id, fingerprint, seen_by FROM withdrawal_seen');
      expect(seen.length).toBe(N);
      const audited = new Map<string, string>();
      for await (const e of s1.auditEntries()) {
        if (e.action !== 'withdrawals.seen') continue;
        for (const [id, fp] of Object.entries(JSON.parse(e.data).fingerprints as Record<string, string>)) {
          expect(audited.has(id)).toBe(false);
          audited.set(id, fp);
        }
      }
      expect(audited.size).toBe(N);
      for (const r of seen) expect(audited.get(String(r.withdrawal_id))).toBe(r.fingerprint);
      const invalidAudit = await backend.query(url, "SELECT subject FROM audit_log WHERE action = 'withdrawal.invalid' ORDER BY subject");
      expect(invalidAudit.map((r) => r.subject)).toEqual(['withdrawal:1008', 'withdrawal:2008', 'withdrawal:8']);
      expect((await s1.verifyAudit()).ok).toBe(true);
    } finally {
      await s1.close();
      await s2.close();
    }
  });

  it('two approvals required: one operator approving twice at once does not reach approved; two operators at once do', async () => {
    const url = await backend.fresh();
    const policy = parsePolicy('{"approvalsRequired": 2}');
    const web = openWithdrawalStore(url, { network: 'testnet' });
    const a = (await requestWithdrawal(web, { appId: 'two-a', user: 'u', address: P2WSH, amountSat: 50_000n })).withdrawal.id;
    const b = (await requestWithdrawal(web, { appId: 'two-b', user: 'v', address: P2TR, amountSat: 60_000n })).withdrawal.id;
    await web.observe('setup');
    await web.close();
    const s1 = openWithdrawalStore(url, { network: 'testnet' });
    const s2 = openWithdrawalStore(url, { network: 'testnet' });
    try {
      const same = await Promise.allSettled([s1.approve(a, approver('alice'), policy), s2.approve(a, approver('alice'), policy)]);
      expect(same.filter((r) => r.status === 'fulfilled').length).toBe(1);
      expect(isCoded((same.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason, 'STATE_CONFLICT')).toBe(true);
      expect((await s1.get(a, policy))!.status).toBe('requested');
      const two = await Promise.all([s1.approve(b, approver('alice'), policy), s2.approve(b, approver('bob'), policy)]);
      expect(two.map((r) => r.status).sort()).toEqual(['approved', 'requested']);
      expect((await s1.get(b, policy))!.status).toBe('approved');
      expect((await s1.verifyAudit()).ok).toBe(true);
    } finally {
      await s1.close();
      await s2.close();
    }
  });
});
