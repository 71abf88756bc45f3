import { afterAll, describe, expect, it } from 'vitest';
import { parseApprovalContent } from '../src/core/approval.js';
import { verifyAttestation } from '../src/core/attestation.js';
import { tokenHash } from '../src/core/confirmation-token.js';
import { publicKeyFromHex } from '../src/core/ed25519.js';
import { requestWithdrawal } from '../src/flows/request-withdrawal.js';
import { relayConfirmation } from '../src/flows/relay-confirmation.js';
import { checkVerifierAudit, resendToken } from '../src/flows/verifier-status.js';
import { CodedError, isCoded } from '../src/core/errors.js';
import { NETWORKS } from '../src/core/network.js';
import type { VerificationFeed } from '../src/core/ports.js';
import { Verifier, DEFAULT_VERIFIER_SETTINGS } from '../src/verifier/cycle.js';
import { CONFIRM_URL } from './support/verifier-fixture.js';
import { SmtpUserMailer } from '../src/notify/email.js';
import { mariadbBackend, sqliteBackend } from './support/withdrawal-backends.js';
import type { Cleanup } from './support/pool-fixtures.js';
import { verifierFixture, type VerifierFixture } from './support/verifier-fixture.js';

const P2WPKH = 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx';
const HOUR = 3_600_000;

describe.each(['sqlite', 'mariadb'] as const)('the verifier on %s', (kind) => {
  const cleanups: Cleanup[] = [];
  const raw = kind === 'sqlite' ? sqliteBackend() : mariadbBackend();
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(users: Record<string, string> = { alice: 'alice@mail.example', bob: 'bob@mail.example' }): Promise<VerifierFixture> {
    const f = await verifierFixture(kind, cleanups);
    cleanups.push(() => f.close());
    for (const [u, e] of Object.entries(users)) await raw.exec(f.webUrl, 'INSERT INTO user_emails (user_id, email) VALUES (?, ?)', [u, e]);
    return f;
  }
  const request = async (f: VerifierFixture, appId: string, user: string, amountSat = 150_000n) =>
    (await requestWithdrawal(f.web.withdrawals, { appId, user, address: P2WPKH, amountSat })).withdrawal.id;
  const attestations = (f: VerifierFixture) => raw.query(f.webUrl, 'SELECT withdrawal_id, key_id, content, signature FROM attestations ORDER BY withdrawal_id');
  const stateOf = async (f: VerifierFixture, id: bigint) => (await f.vdb.store.requests([id])).get(id)?.state;

  it('request → token mailed to the mirrored address → relayed → attested and published once; the token stored only as its hash', async () => {
    const f = await setup();
    const id = await request(f, 'w-1', 'alice');
    const r1 = await f.verifier.cycle();
    expect(r1).toMatchObject({ firstSight: 1, tokensSent: 1 });
    const mails = f.mailsTo('alice@mail.example');
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain('0.00150000 BTC');
    const token = f.tokenFromMail(id)!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await f.vdb.store.requests([id])).get(id)!.tokenHash).toBe(tokenHash(token));

    // Before the click, no table of the web database holds the token; after it, only the relayed row.
    const webDump = async () => {
      let text = '';
      const tables = kind === 'sqlite'
        ? (await raw.query(f.webUrl, "SELECT name FROM sqlite_master WHERE type = 'table'")).map((r) => String(r.name))
        : (await raw.query(f.webUrl, 'SHOW TABLES')).map((r) => String(Object.values(r)[0]));
      for (const t of tables) text += JSON.stringify(await raw.query(f.webUrl, `SELECT * FROM ${t}`), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      return text;
    };
    expect(await webDump()).not.toContain(token);
    await relayConfirmation(f.web.verification, id, token);
    expect((await webDump()).split(token)).toHaveLength(2);
    const r2 = await f.verifier.cycle();
    expect(r2).toMatchObject({ confirmed: 1, attested: 1, published: 1 });
    const rows = await attestations(f);
    expect(rows).toHaveLength(1);
    const content = parseApprovalContent(JSON.parse(String(rows[0]!.content)));
    expect(content.withdrawalId).toBe(id);
    expect(verifyAttestation(content, String(rows[0]!.signature), publicKeyFromHex(f.publicKey))).toBe(true);

    // Another cycle attests nothing twice; the token appears in no log line and nowhere in the verifier database.
    await f.verifier.cycle();
    expect(await attestations(f)).toHaveLength(1);
    expect(f.logLines.join('\n')).not.toContain(token);
    const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
    let dump = '';
    for (const table of ['requests', 'audit_log', 'outbox', 'mirror_users', 'cursors']) dump += JSON.stringify(await raw.query(f.verifierUrl, `SELECT * FROM ${table}`), big);
    expect(dump).toContain(tokenHash(token));
    // Every decision is in the verifier's signed audit chain; an edited entry is caught.
    const key = { id: f.keyId, publicKey: publicKeyFromHex(f.publicKey) };
    const audit = await checkVerifierAudit(f.vdb.store, key);
    expect(audit).toMatchObject({ chain: { ok: true }, unsigned: 0, badSignature: 0 });
    expect((await f.vdb.store.events({ withdrawalId: id, limit: 100 })).map((e) => e.kind)).toEqual(['first-sight', 'token-issued', 'confirmed', 'attested']);
    await raw.exec(f.verifierUrl, "UPDATE audit_log SET data = REPLACE(data, 'signed by', 'forged by') WHERE action = 'attested'");
    expect((await checkVerifierAudit(f.vdb.store, key)).chain).toMatchObject({ ok: false, problem: 'edited' });
    expect(dump).not.toContain(token);
  });

  it('refusals: no token, a wrong token, a reused token, an expired token, the token of another request', async () => {
    const f = await setup();
    const none = await request(f, 'w-none', 'alice');
    const wrong = await request(f, 'w-wrong', 'alice');
    const reused = await request(f, 'w-reused', 'bob');
    const expired = await request(f, 'w-expired', 'bob');
    const other = await request(f, 'w-other', 'bob');
    await f.verifier.cycle();
    const t = (id: bigint) => f.tokenFromMail(id)!;

    await relayConfirmation(f.web.verification, wrong, `${t(wrong).slice(0, -1)}${t(wrong).endsWith('A') ? 'B' : 'A'}`);
    await relayConfirmation(f.web.verification, reused, t(reused));
    await relayConfirmation(f.web.verification, other, t(reused)); // another request's token
    await f.verifier.cycle();
    expect(await stateOf(f, reused)).toBe('attested');
    await relayConfirmation(f.web.verification, reused, t(reused)); // once more: refused, nothing new
    f.clock.t += HOUR + 1_000;
    await relayConfirmation(f.web.verification, expired, t(expired)); // relayed after an hour
    const report = await f.verifier.cycle();
    expect(report.refused).toBeGreaterThanOrEqual(2);

    expect(await stateOf(f, none)).toBe('expired');
    expect(await stateOf(f, wrong)).toBe('expired');
    expect(await stateOf(f, expired)).toBe('expired');
    expect(await stateOf(f, other)).toBe('expired');
    expect((await attestations(f)).map((r) => BigInt(String(r.withdrawal_id)))).toEqual([reused]);
    const kinds = (await f.vdb.store.events({ limit: 1000 })).map((e) => `${e.withdrawalId}:${e.kind}`);
    expect(kinds).toContain(`${wrong}:token-wrong`);
    expect(kinds).toContain(`${reused}:token-reused`);
    expect(kinds).toContain(`${other}:token-wrong`);
    expect(kinds).toContain(`${expired}:token-expired`);
  });

  it('repeated wrong tokens lock the request and alert the operators', async () => {
    const f = await setup();
    const id = await request(f, 'w-lock', 'alice');
    await f.verifier.cycle();
    const right = f.tokenFromMail(id)!;
    for (let k = 0; k < 5; k++) await relayConfirmation(f.web.verification, id, `guess-${k}`);
    await relayConfirmation(f.web.verification, id, right); // too late: locked
    const report = await f.verifier.cycle();
    expect(report.locked).toBe(1);
    expect(await stateOf(f, id)).toBe('locked');
    expect(await attestations(f)).toHaveLength(0);
    expect(f.alerts.alerts.map((a) => a.kind)).toContain('token-locked');
  });

  it('a request edited after first sight is never attested, and the change is alerted', async () => {
    const f = await setup();
    const before = await request(f, 'w-edit-1', 'alice');
    const after = await request(f, 'w-edit-2', 'alice');
    await f.verifier.cycle();
    // edited before the click, and edited between the click and the attestation
    await raw.exec(f.webUrl, 'UPDATE withdrawals SET amount_sat = 990000 WHERE id = ?', [before]);
    await relayConfirmation(f.web.verification, before, f.tokenFromMail(before)!);
    await relayConfirmation(f.web.verification, after, f.tokenFromMail(after)!);
    await raw.exec(f.webUrl, `UPDATE withdrawals SET destination = ? WHERE id = ?`, ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', after]);
    await f.verifier.cycle();
    expect(await stateOf(f, before)).toBe('changed');
    expect(await stateOf(f, after)).toBe('changed');
    expect(await attestations(f)).toHaveLength(0);
    expect(f.alerts.alerts.filter((a) => a.kind === 'request-changed')).toHaveLength(2);
  });

  it('an email changed 1 h ago holds the user 24 h from when the verifier noticed; old and new address told once', async () => {
    const f = await setup();
    await f.verifier.cycle(); // first sync: the mirror learns alice's address
    await raw.exec(f.webUrl, 'UPDATE user_emails SET email = ? WHERE user_id = ?', ['mallory@evil.example', 'alice']);
    await f.verifier.cycle({ forceSync: true });
    f.clock.t += HOUR;
    const id = await request(f, 'w-held', 'alice');
    await f.verifier.cycle();
    // The token goes to the address mirrored now (the new one), but nothing is attested during the hold.
    expect(f.tokenFromMail(id)).toBeDefined();
    await relayConfirmation(f.web.verification, id, f.tokenFromMail(id)!);
    const report = await f.verifier.cycle();
    expect(report.held).toBe(1);
    expect(await stateOf(f, id)).toBe('confirmed');
    expect(await attestations(f)).toHaveLength(0);
    const notices = (to: string) => f.mailsTo(to).filter((m) => /email address of your account changed/.test(m.subject));
    expect(notices('alice@mail.example')).toHaveLength(1);
    expect(notices('mallory@evil.example')).toHaveLength(1);
    expect(f.alerts.alerts.filter((a) => a.kind === 'email-changed')).toHaveLength(1);
    // 24 h after it was noticed (23 h after now), the hold ends and the request is attested.
    f.clock.t += 23 * HOUR + 1_000;
    await f.verifier.cycle();
    expect(await stateOf(f, id)).toBe('attested');
  });

  it('a modified_at-style edit of the web side cannot shorten the hold: the stamp is the verifier\'s clock', async () => {
    const f = await setup();
    await f.verifier.cycle();
    await raw.exec(f.webUrl, 'UPDATE user_emails SET email = ? WHERE user_id = ?', ['new-bob@mail.example', 'bob']);
    await f.verifier.cycle({ forceSync: true });
    const m = (await f.vdb.store.mirrorOf(['bob'])).get('bob')!;
    expect(m.changedAt).toBe(new Date(f.clock.t).toISOString());
    expect(m.holdUntil).toBe(new Date(f.clock.t + 24 * HOUR).toISOString());
  });

  it('a forged attestation row in the web database is not the verifier\'s: the real one is still published beside it', async () => {
    const f = await setup();
    const id = await request(f, 'w-forged', 'alice');
    await f.verifier.cycle();
    await raw.exec(f.webUrl, 'INSERT INTO attestations (withdrawal_id, key_id, content, signature, attested_at) VALUES (?, ?, ?, ?, ?)',
      [id, f.keyId, '{}', 'ab'.repeat(64), '2026-12-01 10:00:00.000']);
    expect(await stateOf(f, id)).toBe('sent');
    await relayConfirmation(f.web.verification, id, f.tokenFromMail(id)!);
    await f.verifier.cycle();
    const rows = await attestations(f);
    expect(rows).toHaveLength(2);
    const valid = rows.filter((r) => {
      try {
        return verifyAttestation(parseApprovalContent(JSON.parse(String(r.content))), String(r.signature), publicKeyFromHex(f.publicKey));
      } catch {
        return false;
      }
    });
    expect(valid).toHaveLength(1);
  });

  it('a request of a user the mirror does not know waits for the sync, which runs at once', async () => {
    const f = await setup({});
    await f.verifier.cycle();
    const id = await request(f, 'w-new-user', 'carol');
    await f.verifier.cycle();
    expect(await stateOf(f, id)).toBe('waiting');
    await raw.exec(f.webUrl, 'INSERT INTO user_emails (user_id, email) VALUES (?, ?)', ['carol', 'carol@mail.example']);
    await f.verifier.cycle();
    expect(await stateOf(f, id)).toBe('sent');
    expect(f.mailsTo('carol@mail.example')).toHaveLength(1);
  });

  it('an expired request gets a new token only by `resend`; the old token stays dead, the new one confirms; a locked one is never re-opened', async () => {
    const f = await setup();
    const id = await request(f, 'w-resend', 'alice');
    const locked = await request(f, 'w-locked', 'bob');
    await f.verifier.cycle();
    const old = f.tokenFromMail(id)!;
    for (let k = 0; k < 5; k++) await relayConfirmation(f.web.verification, locked, `nope-${k}`);
    f.clock.t += HOUR + 1;
    await f.verifier.cycle();
    expect(await stateOf(f, id)).toBe('expired');
    await resendToken(f.vdb.store, id, 'alice-support', f.clock.now());
    await expect(resendToken(f.vdb.store, locked, 'x', f.clock.now())).rejects.toSatisfy((e: unknown) => isCoded(e, 'STATE_CONFLICT'));
    await f.verifier.cycle();
    const fresh = f.tokenFromMail(id)!;
    expect(fresh).not.toBe(old);
    expect(f.mailsTo('alice@mail.example').at(-1)!.text).toContain('replaces any earlier link');
    await relayConfirmation(f.web.verification, id, old);
    await f.verifier.cycle();
    expect(await stateOf(f, id)).toBe('sent');
    await relayConfirmation(f.web.verification, id, fresh);
    await f.verifier.cycle();
    expect(await stateOf(f, id)).toBe('attested');
  });

  it('a web database it cannot read: nothing attested, one alert for the whole outage, one when it reads again', async () => {
    const f = await setup();
    let down = false;
    const real = f.web.verification;
    const flaky = new Proxy(real, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (down) throw new CodedError('UNAVAILABLE', 'cannot reach the web database (test)');
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as VerificationFeed;
    const mailer = new SmtpUserMailer({ host: '127.0.0.1', port: f.smtp.port, secure: false, requireTls: false, user: undefined, password: undefined, from: 'v@shop.example', to: ['ops@shop.example'], timeoutMs: 5_000 });
    cleanups.push(() => mailer.close());
    const v = new Verifier({
      web: flaky, network: async () => NETWORKS.testnet, store: f.vdb.store, key: { privateKey: f.key, id: f.keyId }, mailer, notifiers: [f.alerts], clock: f.clock,
      settings: { ...DEFAULT_VERIFIER_SETTINGS, confirmUrl: CONFIRM_URL }, log: () => {},
    });
    const id = await request(f, 'w-down', 'alice');
    down = true;
    for (let k = 0; k < 3; k++) expect((await v.cycle()).errors.length).toBeGreaterThan(0);
    expect(f.alerts.alerts.filter((a) => a.kind === 'web-unavailable')).toHaveLength(1);
    down = false;
    await v.cycle();
    await v.cycle();
    expect(f.alerts.alerts.filter((a) => a.kind === 'web-recovered')).toHaveLength(1);
    expect(await stateOf(f, id)).toBe('sent');
  });

  it('a request and a relay committed late, below what was already read, are still seen and judged once', async () => {
    const f = await setup();
    const a = await request(f, 'w-late-a', 'alice');
    await f.verifier.cycle();
    // A web worker took id a+1 first but commits after a+2 was read: here, a+2 is inserted with its id, then a+1.
    await raw.exec(f.webUrl, 'INSERT INTO withdrawals (id, app_id, user_id, destination, amount_sat) VALUES (?, ?, ?, ?, ?)', [a + 2n, 'w-late-c', 'bob', P2WPKH, 130_000]);
    await f.verifier.cycle();
    await raw.exec(f.webUrl, 'INSERT INTO withdrawals (id, app_id, user_id, destination, amount_sat) VALUES (?, ?, ?, ?, ?)', [a + 1n, 'w-late-b', 'bob', P2WPKH, 120_000]);
    const r = await f.verifier.cycle();
    expect(r.firstSight).toBe(1);
    expect(await stateOf(f, a + 1n)).toBe('sent');
    // The same with relays: a relay row with a lower id than one already judged.
    await relayConfirmation(f.web.verification, a, 'wrong-first');
    const wrongId = (await raw.query(f.webUrl, 'SELECT MAX(id) AS id FROM withdrawal_confirmations'))[0]!.id;
    await raw.exec(f.webUrl, 'INSERT INTO withdrawal_confirmations (id, withdrawal_id, token) VALUES (?, ?, ?)', [BigInt(String(wrongId)) + 2n, a + 2n, f.tokenFromMail(a + 2n)!]);
    await f.verifier.cycle();
    await raw.exec(f.webUrl, 'INSERT INTO withdrawal_confirmations (id, withdrawal_id, token) VALUES (?, ?, ?)', [BigInt(String(wrongId)) + 1n, a + 1n, f.tokenFromMail(a + 1n)!]);
    await f.verifier.cycle();
    await f.verifier.cycle();
    expect(await stateOf(f, a + 1n)).toBe('attested');
    expect(await stateOf(f, a + 2n)).toBe('attested');
    expect((await f.vdb.store.requests([a])).get(a)!.wrongTokens).toBe(1); // judged once, not once per cycle
    expect((await f.vdb.store.events({ withdrawalId: a + 1n, limit: 100 })).filter((e) => e.kind === 'first-sight')).toHaveLength(1);
  });

  it('a mail cut off by a crash: the next cycle mails a new token; the old one is refused as superseded, no strike', async () => {
    const f = await setup();
    const id = await request(f, 'w-cut', 'alice');
    await f.verifier.cycle();
    const old = f.tokenFromMail(id)!;
    // As if the process died after the mail left and before 'sent' was recorded.
    await raw.exec(f.verifierUrl, "UPDATE requests SET state = 'sending' WHERE withdrawal_id = ?", [id]);
    await f.verifier.cycle();
    const fresh = f.tokenFromMail(id)!;
    expect(fresh).not.toBe(old);
    await relayConfirmation(f.web.verification, id, old);
    await f.verifier.cycle();
    const r = (await f.vdb.store.requests([id])).get(id)!;
    expect(r).toMatchObject({ state: 'sent', wrongTokens: 0, tokensIssued: 2 });
    expect((await f.vdb.store.events({ withdrawalId: id, limit: 100 })).map((e) => e.kind)).toContain('token-superseded');
    await relayConfirmation(f.web.verification, id, fresh);
    await f.verifier.cycle();
    expect(await stateOf(f, id)).toBe('attested');
  });
});
