import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApprovalContent } from '../src/core/approval.js';
import { verifyAttestation } from '../src/core/attestation.js';
import { keyIdOf, publicKeyFromHex, publicKeyHex } from '../src/core/ed25519.js';
import { relayConfirmation } from '../src/flows/relay-confirmation.js';
import { assignAddresses } from '../src/flows/assign-addresses.js';
import { claimAddress } from '../src/flows/claim-address.js';
import { availableAddresses } from '../src/flows/pool-status.js';
import { HAND_OUT_SQL, SET_ASSIGN_SQL, SET_PICK_SQL } from '../src/store/mysql/pool-store.js';
import { SET_UNHANDED } from '../src/store/set-sql.js';
import { SmtpUserMailer } from '../src/notify/email.js';
import { openDatabase, openVerifierDatabase } from '../src/store/db.js';
import { DEFAULT_VERIFIER_SETTINGS, Verifier } from '../src/verifier/cycle.js';
import { openStore } from './support/open-repos.js';
import { requestWithdrawal } from '../src/flows/request-withdrawal.js';
import { SQL_DIR } from '../src/store/migrate.js';
import { MARIADB_ROOT, createMariaDb, fakeBatch, uniqueName } from './support/pool-fixtures.js';
import { runCli } from './support/cli.js';
import { dropAccounts, grantAccounts, grantsSql } from './support/granted-mariadb.js';
import { SmtpSink } from './support/alert-sinks.js';
import { CONFIRM_URL, RecordingNotifier, tokenIn } from './support/verifier-fixture.js';

/**
 * sql/mysql/grants.sql applied as shipped (only names and passwords swapped
 * for unique test ones): the web account can claim and request withdrawals
 * but cannot touch withdrawal or payout state; the watcher sees counts only;
 * the verifier reads what it checks and inserts attestations, and its own
 * database is its own account's alone.
 */
const PASSWORD = `T3st-${uniqueName('pw')}`;
const USERS = grantAccounts('cp');

let db: Awaited<ReturnType<typeof createMariaDb>>;
/** The verifier's own database (`coldpool_verifier` in grants.sql). */
let vdb: Awaited<ReturnType<typeof createMariaDb>>;

async function connectAs(user: string, database = db.name): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: 3306, user, password: PASSWORD, database });
}

function urlAs(user: string, database = db.name): string {
  return `mysql://${user}:${encodeURIComponent(PASSWORD)}@127.0.0.1:3306/${database}`;
}

async function errnoOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(() => undefined, (e: { code?: string }) => e.code);
}

beforeAll(async () => {
  db = await createMariaDb();
  vdb = await createMariaDb();
  const store = openStore(db.url);
  await store.migrate();
  await store.insertBatch(fakeBatch({ count: 20 }));
  await store.close();
  const root = await mysql.createConnection({ ...MARIADB_ROOT, database: db.name, multipleStatements: true });
  await root.query(grantsSql(db.name, vdb.name, USERS, PASSWORD));
  await root.query("INSERT INTO payouts (status, psbt, fee_sat, fee_rate_sat_kvb, created_at) VALUES ('built', 'cHNidP8=', 1000, 2000, UTC_TIMESTAMP(3))");
  await root.end();
});

afterAll(async () => {
  await dropAccounts(USERS);
  await db.drop();
  await vdb.drop();
});

describe('grants.sql: the web account', () => {
  it('claims through the library, with and without a ref', async () => {
    const store = openStore(`mysql://${USERS.web}:${encodeURIComponent(PASSWORD)}@127.0.0.1:3306/${db.name}`);
    const a = await store.claim('web-user', 'dep-1');
    expect((await store.claim('web-user', 'dep-1')).address).toBe(a.address);
    const b = await store.claim('web-user');
    expect(b.address).not.toBe(a.address);
    expect(await store.countAvailable()).toBe(18);
    await expect(store.migrate()).rejects.toThrow();
    await store.close();
  });

  it('inserts a withdrawal request, which starts as requested', async () => {
    const c = await connectAs(USERS.web);
    await c.query("INSERT INTO withdrawals (app_id, user_id, destination, amount_sat) VALUES ('w-1', 'web-user', 'tb1qexample', 150000)");
    const [rows] = await c.query("SELECT status, amount_sat FROM withdrawals WHERE app_id = 'w-1'");
    expect(rows).toEqual([{ status: 'requested', amount_sat: 150000 }]);
    expect(await errnoOf(c.query("INSERT INTO withdrawals (app_id, user_id, destination, amount_sat, status) VALUES ('w-2', 'u', 'tb1q', 1, 'approved')"))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    await c.end();
  });

  it('requests a withdrawal through the library (the Node door), idempotently, with only the columns it may insert', async () => {
    const handle = openDatabase(`mysql://${USERS.web}:${encodeURIComponent(PASSWORD)}@127.0.0.1:3306/${db.name}`, { network: 'testnet' });
    try {
      const input = { appId: 'lib-1', user: 'web-user', address: 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx', amountSat: 150_000n };
      const first = await requestWithdrawal(handle.withdrawals, input);
      expect(first).toMatchObject({ kind: 'created', withdrawal: { status: 'requested', amountSat: 150_000n } });
      expect(Date.parse(first.withdrawal.createdAt)).toBeGreaterThan(Date.now() - 60_000);
      expect(await requestWithdrawal(handle.withdrawals, input)).toMatchObject({ kind: 'existing', withdrawal: { id: first.withdrawal.id } });
    } finally {
      await handle.close();
    }
  });

  it('cannot change withdrawal or payout state, addresses, or the audit log', async () => {
    const c = await connectAs(USERS.web);
    expect(await errnoOf(c.query("UPDATE withdrawals SET status = 'approved' WHERE app_id = 'w-1'"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE payouts SET status = 'signed'"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('SELECT * FROM payouts'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("INSERT INTO audit_log (at, actor, action, subject, data, prev_hash, hash) VALUES (NOW(), 'a', 'b', 'c', '{}', 'x', 'y')"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("INSERT INTO audit_signatures (seq, key_id, signature) VALUES (1, '0000000000000000', REPEAT('0', 128))"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    // A forged approval or a cleared exclusion needs these tables: the web account cannot touch them.
    expect(await errnoOf(c.query('SELECT * FROM withdrawal_signatures'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("INSERT INTO withdrawal_signatures (withdrawal_id) VALUES (1)"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('DELETE FROM payout_exclusions'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE addresses SET address = 'tb1qattacker' LIMIT 1"))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('DELETE FROM addresses'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    await c.end();
  });
});

describe('grants.sql: watcher and operator', () => {
  it('the watcher reads counts, not addresses', async () => {
    const c = await connectAs(USERS.watcher);
    const [rows] = await c.query('SELECT status, n FROM pool_counts ORDER BY status');
    expect((rows as { status: string }[]).map((r) => r.status)).toEqual(['assigned', 'available']);
    expect(await errnoOf(c.query('SELECT address FROM addresses'))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE addresses SET status = 'available'"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    await c.end();
    const store = openStore(`mysql://${USERS.watcher}:${encodeURIComponent(PASSWORD)}@127.0.0.1:3306/${db.name}`);
    expect(await store.countAvailable()).toBe(18);
    await store.close();
  });

  it('the watcher account runs `pool check` (count, rate, next derive index) and nothing more', async () => {
    const url = `mysql://${USERS.watcher}:${encodeURIComponent(PASSWORD)}@127.0.0.1:3306/${db.name}`;
    const r = await runCli('coldpool', ['pool', 'check', '--db', url, '--threshold', '5', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ available: 18 });
    expect(r.stdout).toContain('--from 20 ');
  });

  it('the operator can move a payout and run migrations', async () => {
    const c = await connectAs(USERS.operator);
    const [r] = await c.query("UPDATE payouts SET status = 'signed' WHERE status = 'built'");
    expect((r as { affectedRows: number }).affectedRows).toBe(1);
    await c.end();
    const store = openStore(`mysql://${USERS.operator}:${encodeURIComponent(PASSWORD)}@127.0.0.1:3306/${db.name}`);
    expect((await store.migrate()).applied).toEqual([]);
    expect((await store.status()).assigned).toBe(2);
    await store.close();
  });
});

describe('grants.sql: the verifier (schema 008)', () => {
  const P2WPKH = 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx';
  let requestId: bigint;

  it('runs a whole cycle through its two accounts; the web app relays through its own', async () => {
    // The web app, as coldpool_web: its user's email, a request, later the relayed token (through the library).
    const asWeb = openDatabase(urlAs(USERS.web));
    // The verifier: the web database as coldpool_verifier, its own as coldpool_verifier_own (which migrates it).
    const asVerifier = openDatabase(urlAs(USERS.verifier));
    const own = openVerifierDatabase(urlAs(USERS.verifierOwn, vdb.name));
    const smtp = await new SmtpSink().start();
    const mailer = new SmtpUserMailer({ host: '127.0.0.1', port: smtp.port, secure: false, requireTls: false, user: undefined, password: undefined, from: 'verifier@shop.example', to: ['ops@shop.example'], timeoutMs: 5_000 });
    try {
      expect((await own.migrate()).version).toBeGreaterThanOrEqual(1);
      // The statements of sql/README.md, as a PHP app runs them. (The library's `requestWithdrawal` sends its own
      // created_at, which this account may not insert: grants.sql leaves the time to the server's clock.)
      const c = await connectAs(USERS.web);
      await c.query("INSERT INTO user_emails (user_id, email) VALUES ('vera', 'vera@mail.example')");
      const [ins] = await c.query('INSERT INTO withdrawals (app_id, user_id, destination, amount_sat) VALUES (?, ?, ?, ?)', ['w-verified', 'vera', P2WPKH, 150_000]);
      requestId = BigInt((ins as { insertId: number }).insertId);
      await c.end();

      const { privateKey } = generateKeyPairSync('ed25519');
      const publicKey = publicKeyHex(privateKey);
      const clock = { t: Date.parse('2026-12-01T10:00:00.000Z'), now() { return new Date(this.t); } };
      const verifier = Verifier.on(asVerifier, own, {
        key: { privateKey, id: keyIdOf(publicKey) }, mailer, notifiers: [new RecordingNotifier()], clock,
        settings: { ...DEFAULT_VERIFIER_SETTINGS, confirmUrl: CONFIRM_URL }, log: () => {},
      });

      // First sight (the network read from pool_accounts), the mirror from the view, the token mailed.
      const first = await verifier.cycle();
      expect(first.errors).toEqual([]);
      expect(first.synced?.users).toBe(1);
      expect(first.tokensSent).toBe(1);
      const mail = smtp.mails.find((m) => m.to.includes('vera@mail.example'));
      const token = mail && tokenIn(mail);
      expect(token?.id).toBe(requestId);

      await relayConfirmation(asWeb.verification, requestId, token!.token);
      clock.t += 60_000;
      const second = await verifier.cycle();
      expect(second.errors).toEqual([]);
      expect(second).toMatchObject({ confirmed: 1, attested: 1, published: 1 });

      // The operator box reads the attestation (it has everything on the database) and it verifies.
      const o = await connectAs(USERS.operator);
      const [rows] = await o.query('SELECT content, signature FROM attestations WHERE withdrawal_id = ?', [requestId]);
      await o.end();
      const list = rows as { content: string; signature: string }[];
      expect(list).toHaveLength(1);
      const content = parseApprovalContent(JSON.parse(list[0]!.content));
      expect(verifyAttestation(content, list[0]!.signature, publicKeyFromHex(publicKey))).toBe(true);
    } finally {
      await mailer.close();
      await smtp.stop();
      await asWeb.close();
      await asVerifier.close();
      await own.close();
    }
  });

  it('the web account owns user_emails and may only insert relayed tokens; it cannot forge attestations or reach the verifier database', async () => {
    const c = await connectAs(USERS.web);
    const [r] = await c.query("UPDATE user_emails SET email = 'vera@mail.example' WHERE user_id = 'vera'");
    expect((r as { affectedRows: number }).affectedRows).toBe(1);
    // Tokens: INSERT of (withdrawal_id, token) only; never read back, changed or deleted.
    expect(await errnoOf(c.query('SELECT * FROM withdrawal_confirmations'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('SELECT token FROM withdrawal_confirmations'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE withdrawal_confirmations SET token = 'x'"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('DELETE FROM withdrawal_confirmations'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("INSERT INTO withdrawal_confirmations (withdrawal_id, token, relayed_at) VALUES (1, 'x', '2020-01-01')"))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    // Attestations: nothing at all.
    expect(await errnoOf(c.query("INSERT INTO attestations (withdrawal_id, key_id, content, signature, attested_at) VALUES (1, '0000000000000000', '{}', REPEAT('0', 128), NOW())"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('SELECT * FROM attestations'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('DELETE FROM attestations'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    // The verifier's own database: not even a connection to it.
    for (const table of ['requests', 'mirror_users', 'cursors', 'outbox', 'events', 'schema_migrations']) {
      expect(await errnoOf(c.query(`SELECT * FROM \`${vdb.name}\`.\`${table}\``))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    }
    expect(await errnoOf(c.query(`INSERT INTO \`${vdb.name}\`.mirror_users (user_id, email, first_seen_at) VALUES ('vera', 'mallory@evil.example', NOW())`))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query(`UPDATE \`${vdb.name}\`.requests SET state = 'confirmed'`))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    await c.end();
    expect(await errnoOf(connectAs(USERS.web, vdb.name))).toBe('ER_DBACCESS_DENIED_ERROR');
  });

  it('the verifier account cannot change attestations, requests or emails, nor read beyond what it checks', async () => {
    const c = await connectAs(USERS.verifier);
    expect(await errnoOf(c.query("UPDATE attestations SET key_id = '0000000000000000'"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('DELETE FROM attestations'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE withdrawals SET status = 'approved'"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("INSERT INTO withdrawals (app_id, user_id, destination, amount_sat) VALUES ('w-v', 'u', 'tb1q', 1)"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('DELETE FROM withdrawals'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE user_emails SET email = 'x@evil.example'"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE coldpool_user_emails SET email = 'x@evil.example'"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("INSERT INTO withdrawal_confirmations (withdrawal_id, token) VALUES (1, 'x')"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    // Reads: the view, not the table behind it; the request columns, not review or payout ones; the account's descriptor
    // (public keys, to re-derive) and the address columns it records at first sight, not the claim's ref or slot.
    const [emails] = await c.query('SELECT user_id, email FROM coldpool_user_emails');
    expect(emails).toEqual([{ user_id: 'vera', email: 'vera@mail.example' }]);
    expect(await errnoOf(c.query('SELECT * FROM user_emails'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('SELECT reviewer FROM withdrawals'))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    await c.query('SELECT id, key_id, descriptor, network, is_primary FROM pool_accounts');
    await c.query('SELECT id, address, account_id, chain, idx, status, user_id, assigned_at FROM addresses');
    await c.query('SELECT id, account_id, chain, first_index, count, created FROM address_batches');
    expect(await errnoOf(c.query('SELECT ref FROM addresses'))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE addresses SET user_id = 'mallory'"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('SELECT * FROM payouts'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('SELECT * FROM withdrawal_signatures'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    // Its hold notes: INSERT only, never read back, changed or deleted.
    expect(await errnoOf(c.query('SELECT * FROM verifier_notes'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE verifier_notes SET note = 'x'"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query('DELETE FROM verifier_notes'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    await c.end();
  });

  it('the watcher has nothing on the verifier tables; the operator account has nothing on the verifier database', async () => {
    const w = await connectAs(USERS.watcher);
    expect(await errnoOf(w.query('SELECT * FROM user_emails'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(w.query('SELECT * FROM coldpool_user_emails'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(w.query('SELECT * FROM withdrawal_confirmations'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(w.query('SELECT * FROM attestations'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(w.query(`SELECT * FROM \`${vdb.name}\`.mirror_users`))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    await w.end();
    expect(await errnoOf(connectAs(USERS.watcher, vdb.name))).toBe('ER_DBACCESS_DENIED_ERROR');
    expect(await errnoOf(connectAs(USERS.operator, vdb.name))).toBe('ER_DBACCESS_DENIED_ERROR');
  });
});

describe('grants.sql: addresses per user (schema 009)', () => {
  beforeAll(async () => {
    const store = openStore(db.url);
    await store.insertBatch(fakeBatch({ first: 20, count: 200 }));
    await store.close();
  });

  it('the web account assigns a set and claims from it through the library, top-up included', async () => {
    const handle = openDatabase(urlAs(USERS.web));
    try {
      const before = await availableAddresses(handle.pool);
      const r = await assignAddresses(handle.pool, 'lib-user', 20);
      expect(r.kind).toBe('assigned');
      expect(r.added).toHaveLength(20);
      expect(await availableAddresses(handle.pool)).toBe(before - 20);
      expect((await assignAddresses(handle.pool, 'lib-user', 20)).kind).toBe('existing');
      expect((await assignAddresses(handle.pool, 'lib-user', 2, { add: true })).set.size).toBe(22);
      const claims = [];
      for (let i = 0; i < 21; i++) claims.push(await claimAddress(handle.pool, 'lib-user', `lib-dep-${i}`));
      expect(claims.map((c) => c.index)).toEqual([...r.added.map((a) => a.index), ...claims.slice(20).map((c) => c.index)]);
      expect(claims.every((c) => c.source === 'set')).toBe(true);
      // Size 22: below 3 left (after the 20th claim) the set is refilled to 22.
      expect(claims[19]!.set).toMatchObject({ remaining: 22, toppedUp: 20 });
      expect(claims[20]!.set).toMatchObject({ remaining: 21, toppedUp: 0 });
      expect((await claimAddress(handle.pool, 'lib-user', 'lib-dep-3')).address).toBe(claims[3]!.address);
      await expect(assignAddresses(handle.pool, 'greedy', 10_000)).rejects.toMatchObject({ code: 'POOL_EMPTY' });
    } finally {
      await handle.close();
    }
  });

  it('the web account runs the documented SQL: assign in one transaction, hand out the next, top up', async () => {
    const readme = readFileSync(`${SQL_DIR}README.md`, 'utf8');
    // The statements below are the ones sql/README.md documents, word for word.
    for (const sql of [SET_PICK_SQL, SET_ASSIGN_SQL, HAND_OUT_SQL]) expect(readme).toContain(sql);
    const c = await connectAs(USERS.web);
    try {
      const assign = async (user: string, n: number): Promise<string[]> => {
        await c.query('START TRANSACTION');
        try {
          await c.execute('INSERT INTO address_sets (user_id, size) VALUES (?, ?)', [user, n]);
          const [picked] = await c.execute(SET_PICK_SQL, [n]);
          const ids = (picked as { id: number }[]).map((r) => r.id);
          if (ids.length < n) throw new Error('pool empty');
          const [done] = await c.query(SET_ASSIGN_SQL, [user, ids]);
          expect((done as { affectedRows: number }).affectedRows).toBe(n);
          await c.query('COMMIT');
          const [rows] = await c.query('SELECT address FROM addresses WHERE id IN (?) ORDER BY idx', [ids]);
          return (rows as { address: string }[]).map((r) => r.address);
        } catch (e) {
          await c.query('ROLLBACK');
          throw e;
        }
      };
      const set = await assign('php-user', 12);
      expect(set).toHaveLength(12);
      const dup = await assign('php-user', 12).then(() => undefined, (e: { code?: string }) => e.code);
      expect(dup).toBe('ER_DUP_ENTRY');
      const handOut = async (user: string, ref: string | null): Promise<string | undefined> => {
        const [h] = await c.execute(HAND_OUT_SQL, [ref, user]);
        if ((h as { affectedRows: number }).affectedRows === 0) return undefined;
        const [rows] = await c.query('SELECT address, idx, assigned_at FROM addresses WHERE id = LAST_INSERT_ID()');
        return (rows as { address: string }[])[0]?.address;
      };
      expect(await handOut('php-user', 'php-dep-1')).toBe(set[0]);
      expect(await handOut('php-user', null)).toBe(set[1]);
      // The top-up of sql/README.md: lock the set's row, count, refill to size when below a tenth.
      for (let i = 2; i < 11; i++) expect(await handOut('php-user', null)).toBe(set[i]);
      await c.query('START TRANSACTION');
      const [[lock]] = await c.execute('SELECT size FROM address_sets WHERE user_id = ? FOR UPDATE', ['php-user']) as unknown as [{ size: number }[]];
      const [[left]] = await c.execute(`SELECT COUNT(*) AS n FROM addresses WHERE user_id = ? AND ${SET_UNHANDED}`, ['php-user']) as unknown as [{ n: number }[]];
      expect([lock!.size, Number(left!.n)]).toEqual([12, 1]);
      const [picked] = await c.execute(SET_PICK_SQL, [lock!.size - Number(left!.n)]);
      await c.query(SET_ASSIGN_SQL, ['php-user', (picked as { id: number }[]).map((r) => r.id)]);
      await c.query('COMMIT');
      // The library sees the same set: the last original address next, then the top-up.
      const store = openStore(urlAs(USERS.web));
      const next = await store.claim('php-user');
      expect(next).toMatchObject({ address: set[11], source: 'set', set: { remaining: 11 } });
      await store.close();
    } finally {
      await c.end();
    }
  });

  it('the web account still cannot change address or idx, take a set back, or backdate one; the watcher is unaffected', async () => {
    const c = await connectAs(USERS.web);
    expect(await errnoOf(c.query("UPDATE addresses SET address = 'tb1qattacker' WHERE user_id = 'php-user'"))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE addresses SET idx = 0 WHERE user_id = 'php-user'"))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE addresses SET batch_id = 1 WHERE user_id = 'php-user'"))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("DELETE FROM address_sets WHERE user_id = 'php-user'"))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("UPDATE address_sets SET user_id = 'x'"))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    expect(await errnoOf(c.query("INSERT INTO address_sets (user_id, size, created_at) VALUES ('x', 1, '2020-01-01')"))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    await c.end();
    const w = await connectAs(USERS.watcher);
    expect(await errnoOf(w.query('SELECT * FROM address_sets'))).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await errnoOf(w.query('SELECT handed_out_at FROM addresses'))).toBe('ER_COLUMNACCESS_DENIED_ERROR');
    await w.end();
    // Set addresses are not available: the watcher's count is what the library counts.
    const asWatcher = openStore(urlAs(USERS.watcher));
    const asRoot = openStore(db.url);
    expect(await asWatcher.countAvailable()).toBe(await asRoot.countAvailable());
    const w2 = await connectAs(USERS.watcher);
    const [rows] = await w2.query("SELECT n FROM pool_counts WHERE status = 'available'");
    await w2.end();
    expect(Number((rows as { n: number }[])[0]!.n)).toBe(await asRoot.countAvailable());
    await asWatcher.close();
    await asRoot.close();
  });
});
