/**
 * The verifier killed (SIGKILL) at random points of its cycle resumes without
 * sending a token twice, losing one, or attesting twice. Real processes: the
 * built `coldpool verifier run --once` is spawned again and again and killed
 * on a SQLite web database and a SQLite verifier database: after a random
 * delay (some 0), the moment the SMTP sink holds its n-th token mail (before
 * it answers: delivered, never recorded as sent) or a little after, or the
 * moment an attestation is signed or published. The sink answers slowly, so
 * delays land inside the token step. Between runs the test relays tokens read
 * from the mails, as the web app would; it ends with clean runs until nothing
 * is left to do, then checks the mails and both databases.
 *
 * The plan of kills comes from a seeded PRNG (CRASH_SEED=<n> replays one; the
 * failing seed is in the test's name); where a delay lands still depends on
 * the machine's timing. CRASH_DEBUG=1 prints each round.
 */
import { spawn } from 'node:child_process';
import Sqlite from 'better-sqlite3';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseApprovalContent } from '../src/core/approval.js';
import { verifyAttestation } from '../src/core/attestation.js';
import { tokenHash } from '../src/core/confirmation-token.js';
import { publicKeyFromHex } from '../src/core/ed25519.js';
import type { Database } from '../src/core/ports.js';
import { relayConfirmation } from '../src/flows/relay-confirmation.js';
import { requestWithdrawal } from '../src/flows/request-withdrawal.js';
import { openDatabase } from '../src/store/db.js';
import { generateOperatorKey, writeOperatorKey } from '../src/trust/operator-key.js';
import { SmtpSink, type Mail } from './support/alert-sinks.js';
import { CHEAP_SCRYPT } from './support/approvers.js';
import { ROOT, runCli, tempDir } from './support/cli.js';
import { sqliteBackend } from './support/withdrawal-backends.js';
import { CONFIRM_URL, tokenIn } from './support/verifier-fixture.js';
import { prng } from './support/prng.js';

const SEED = Number(process.env.CRASH_SEED ?? 20_261_201);
const REQUESTS = 40;
const KILL_ROUNDS = 24;
/** The sink's answer to each mail comes this late: 40 token mails keep a cycle busy ~1.6 s. */
const REPLY_DELAY_MS = 40;
const P2WPKH = 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx';

/** COUNT(*) of a SQLite database written by another process; undefined while it holds the lock. */
function rowCount(url: string, sql: string): number | undefined {
  const db = new Sqlite(url.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
  try {
    return Number((db.prepare(sql).get() as { n: number }).n);
  } catch {
    return undefined;
  } finally {
    db.close();
  }
}

/** The CLI's environment without the caller's COLDPOOL_* settings: only the config file speaks. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COLDPOOL_')));
}

/** How a run ends: killed `ms` after it started, or `afterMs` after the sink received its `nth` token mail (0: before the sink answers). */
type Kill = { readonly kind: 'delay'; readonly ms: number } | { readonly kind: 'mail'; readonly nth: number; readonly afterMs: number }
  /** The moment a row count grows (polled): an attestation signed in the verifier's database, or published in the web one. */
  | { readonly kind: 'watch'; readonly what: 'attested' | 'published' };

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe('the verifier killed (SIGKILL) at random points of its cycle', () => {
  const cleanups: (() => unknown)[] = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it(`resumes without sending a token twice, losing one, or attesting twice (seed ${SEED})`, async () => {
    const rng = prng(SEED);
    const raw = sqliteBackend();
    const dir = tempDir('coldpool-verifier-crash-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const webUrl = `sqlite:${join(dir, 'web.db')}`;
    const verifierUrl = `sqlite:${join(dir, 'verifier.db')}`;

    // The web side: schema, users with addresses, 40 requests.
    const web: Database = openDatabase(webUrl, { network: 'testnet' });
    cleanups.push(() => web.close());
    await web.migrate();
    const users = ['alice', 'bob', 'carol', 'dave', 'erin'];
    for (const u of users) await raw.exec(webUrl, 'INSERT INTO user_emails (user_id, email) VALUES (?, ?)', [u, `${u}@mail.example`]);
    const ids: bigint[] = [];
    for (let k = 0; k < REQUESTS; k++) {
      ids.push((await requestWithdrawal(web.withdrawals, { appId: `crash-${k}`, user: users[k % users.length]!, address: P2WPKH, amountSat: 100_000n + BigInt(k) })).withdrawal.id);
    }

    // The slow sink; `killOnMail` lets a round kill the verifier the moment a token mail is in, before the reply.
    let killOnMail: ((mail: Mail) => void) | undefined;
    const smtp = await new SmtpSink({ replyDelayMs: REPLY_DELAY_MS, onMail: (m) => killOnMail?.(m) }).start();
    cleanups.push(() => smtp.stop());

    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, 'crash test verifier password\n', { mode: 0o600 });
    const keyFile = join(dir, 'verifier.key');
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({
      db: verifierUrl, webDb: webUrl, network: 'testnet', key: keyFile, passwordFile,
      verifier: { confirmUrl: CONFIRM_URL },
      channels: { email: { host: '127.0.0.1', port: smtp.port, from: 'verifier@shop.example', to: ['ops@shop.example'] }, log: false },
    }));
    // The key is made here with cheap scrypt parameters (the file states them), so each run starts in a fraction of a
    // second instead of spending it unlocking the key; `verifier init` keeps an existing key and prints its public key.
    await writeOperatorKey(keyFile, generateOperatorKey('verifier'), 'crash test verifier password', { scrypt: CHEAP_SCRYPT });
    const init = await runCli('coldpool', ['verifier', 'init', '--config', config, '--key', keyFile, '--json'], { env: cleanEnv() });
    if (init.code !== 0) throw new Error(`verifier init: exit ${init.code}\n${init.stderr}`);
    const verifierKey = JSON.parse(init.stdout) as { publicKey: string; id: string };

    /** One `verifier run --once`, SIGKILLed as `kill` says (undefined: left to finish). */
    const run = (kill?: Kill): Promise<Run> => new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'coldpool.js'), 'verifier', 'run', '--once', '--json', '--config', config], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timers: NodeJS.Timeout[] = [];
      const killNow = () => child.kill('SIGKILL');
      const later = (ms: number) => void timers.push(setTimeout(killNow, ms));
      later(kill?.kind === 'delay' ? kill.ms : 20_000);
      if (kill?.kind === 'mail') {
        let seen = 0;
        killOnMail = (m) => {
          if (tokenIn(m) === undefined || ++seen !== kill.nth) return;
          if (kill.afterMs === 0) killNow();
          else later(kill.afterMs);
        };
      }
      let poll: NodeJS.Timeout | undefined;
      if (kill?.kind === 'watch') {
        const count = kill.what === 'published' ? () => rowCount(webUrl, 'SELECT COUNT(*) AS n FROM attestations')
          : () => rowCount(verifierUrl, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'attested'");
        const start = count();
        poll = setInterval(() => {
          const n = count();
          if (n !== undefined && start !== undefined && n > start) killNow();
        }, 1);
      }
      child.on('error', reject);
      child.on('close', (code, signal) => {
        for (const t of timers) clearTimeout(t);
        clearInterval(poll);
        killOnMail = undefined;
        resolve({ code, signal, stdout, stderr });
      });
    });

    const lastToken = (id: bigint): string | undefined => {
      const found = smtp.mails.map(tokenIn).filter((t) => t?.id === id);
      return found[found.length - 1]?.token;
    };
    const tokensOf = (id: bigint): string[] => smtp.mails.map(tokenIn).filter((t) => t?.id === id).map((t) => t!.token);
    const relayed = new Set<string>();
    const relay = async (id: bigint, token: string): Promise<void> => {
      relayed.add(token);
      await relayConfirmation(web.verification, id, token);
    };

    /** Tokens the next run will mail: requests not seen yet, and those seen but not (or not surely) mailed. */
    const pending = async (): Promise<number> => {
      const [seen] = await raw.query(verifierUrl, 'SELECT COUNT(*) AS n FROM requests').catch(() => [{ n: 0 }]);
      const [open] = await raw.query(verifierUrl, "SELECT COUNT(*) AS n FROM requests WHERE state IN ('waiting', 'new', 'sending')").catch(() => [{ n: 0 }]);
      return REQUESTS - Number(seen!.n) + Number(open!.n);
    };
    // Round 1 kills at the third token mail, deterministically: that request's token was delivered but never recorded as sent.
    // The others, drawn from the seed: a delay from the start (some 0: before the cycle begins), the moment the n-th
    // token mail is in (before 'sent' is recorded), or a little after it (between two tokens; after the last one of
    // the run, inside the relays, the attestations, the publication).
    const draw = async (): Promise<Kill> => {
      // Three draws every round, whatever is used, so one seed gives one sequence (the pending count depends on timing).
      const [r, u, v] = [rng(), rng(), rng()];
      if (r < 0.1) return { kind: 'delay', ms: 0 };
      if (r < 0.35) return { kind: 'delay', ms: Math.floor(u * 1_500) };
      const p = await pending();
      // Nothing to mail: kill right after an attestation is signed (before it is published), right after one is
      // published (before that is recorded), or near the end of a whole run's length (the start-up is most of it).
      if (p === 0) return u < 0.35 ? { kind: 'watch', what: 'attested' } : u < 0.7 ? { kind: 'watch', what: 'published' } : { kind: 'delay', ms: Math.floor(lastWholeRunMs * (0.75 + 0.3 * v)) };
      const nth = r < 0.9 || p > 8 ? 1 + Math.floor(u * Math.min(p, 8)) : p;
      return { kind: 'mail', nth, afterMs: r < 0.5 ? 0 : Math.floor(v * (REPLY_DELAY_MS + 60)) };
    };
    const runs: Run[] = [];
    let lastWholeRunMs = 400;
    let cutOff: bigint | undefined;
    for (let round = 0; round < KILL_ROUNDS; round++) {
      const kill: Kill = round === 0 ? { kind: 'mail', nth: 3, afterMs: 0 } : await draw();
      const before = smtp.mails.length;
      const t0 = Date.now();
      runs.push(await run(kill));
      if (runs[runs.length - 1]!.signal === null && smtp.mails.length === before) lastWholeRunMs = Date.now() - t0;
      if (process.env.CRASH_DEBUG) {
        const states = await raw.query(verifierUrl, "SELECT state || CASE WHEN state = 'attested' AND published_at IS NULL THEN '-unpublished' ELSE '' END AS s, COUNT(*) AS n FROM requests GROUP BY 1");
        console.info(`round ${round}: ${JSON.stringify(kill)}, ${Date.now() - t0} ms, ${smtp.mails.length - before} mail(s), ${runs[runs.length - 1]!.signal ?? runs[runs.length - 1]!.code}; ${states.map((x) => `${x.s} ${x.n}`).join(', ')}`);
      }
      if (round === 0) {
        cutOff = tokenIn(smtp.mails[before + 2]!)?.id;
        expect(cutOff, 'the third mail of the first run is a token mail').toBeDefined();
      }
      // Between runs the web app relays what users clicked: a third of the newest tokens not relayed yet, so confirmed
      // requests keep arriving for the later rounds; never the cut-off request's (kept for the end).
      for (const id of ids) {
        const t = lastToken(id);
        if (t === undefined || relayed.has(t) || id === cutOff || rng() < 0.67) continue;
        await relay(id, t);
      }
    }
    const killed = runs.filter((r) => r.signal === 'SIGKILL').length;
    expect(killed, `seed ${SEED}: most rounds were killed mid-run`).toBeGreaterThanOrEqual(KILL_ROUNDS / 2);

    const vstate = async (id: bigint) => (await raw.query(verifierUrl, 'SELECT * FROM requests WHERE withdrawal_id = ?', [id]))[0];

    // The cut-off request: the next run mailed it a NEW token; its first token, relayed now, confirms nothing.
    const cut = cutOff!;
    const finished = await run();
    expect(finished.code, finished.stderr).toBe(0);
    const cutTokens = tokensOf(cut);
    expect(cutTokens.length, `seed ${SEED}: request ${cut} got a new token after the cut-off`).toBeGreaterThanOrEqual(2);
    await relay(cut, cutTokens[0]!);
    expect((await run()).code).toBe(0);
    const afterOld = await vstate(cut);
    expect(afterOld?.state, 'an older token does not confirm').toBe('sent');
    // The verifier's decisions are entries of its signed audit chain: subject withdrawal:ID, the detail in data.
    const events = async (kind: string) => (await raw.query(verifierUrl, 'SELECT seq, subject, data FROM audit_log WHERE action = ? ORDER BY seq', [kind]))
      .map((r) => ({ withdrawal_id: String(r.subject).replace(/^withdrawal:/, ''), detail: (JSON.parse(String(r.data)) as { detail: string }).detail }));
    if (process.env.CRASH_DEBUG) console.info(JSON.stringify(await raw.query(verifierUrl, 'SELECT action, data FROM audit_log WHERE subject = ? ORDER BY seq', [`withdrawal:${cut}`])), cutTokens.length, JSON.stringify(await vstate(cut), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    // Refused as superseded (the verifier remembers it issued that token), not counted as a wrong guess.
    expect((await events('token-superseded')).some((e) => BigInt(String(e.withdrawal_id)) === cut)).toBe(true);
    expect(Number(afterOld?.wrong_tokens)).toBe(0);
    // Its newest token goes through the web host's real door, `withdrawals confirm`, read from stdin as a web app would pass it.
    const newest = cutTokens[cutTokens.length - 1]!;
    const door = await runCli('coldpool', ['withdrawals', 'confirm', String(cut), '--token', '-', '--db', webUrl, '--network', 'testnet', '--json'], { input: newest, env: cleanEnv() });
    expect(door.code, door.stderr).toBe(0);
    relayed.add(newest);

    // Clean runs until quiescent, relaying each request's newest token not relayed yet.
    let quiet = 0;
    for (let k = 0; k < 10 && quiet < 2; k++) {
      for (const id of ids) {
        const t = lastToken(id);
        if (t !== undefined && !relayed.has(t)) await relay(id, t);
      }
      const r = await run();
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as Record<string, number>;
      const busy = report.firstSight! + report.tokensSent! + report.confirmed! + report.attested! + report.published! + report.mailsSent!;
      quiet = busy === 0 ? quiet + 1 : 0;
    }
    expect(quiet, 'the verifier became quiescent').toBe(2);

    // ---- the invariants ----------------------------------------------------
    const tokenMails = smtp.mails.map(tokenIn).filter((t) => t !== undefined);
    const values = tokenMails.map((t) => t!.token);
    expect(new Set(values).size, 'no token value appears in two mails').toBe(values.length);

    const rows = new Map((await raw.query(verifierUrl, 'SELECT * FROM requests')).map((r) => [BigInt(String(r.withdrawal_id)), r]));
    const relays = new Map((await raw.query(webUrl, 'SELECT id, withdrawal_id, token FROM withdrawal_confirmations')).map((r) => [String(r.id), r]));
    const attestations = await raw.query(webUrl, 'SELECT withdrawal_id, key_id, content, signature FROM attestations ORDER BY withdrawal_id');
    const attestedEvents = await events('attested');
    const confirmedEvents = await events('confirmed');
    const publicKey = publicKeyFromHex(verifierKey.publicKey);
    const reissued: bigint[] = [];
    for (const id of ids) {
      const r = rows.get(id)!;
      const mine = tokensOf(id);
      expect(mine.length, `request ${id} got at least one mail`).toBeGreaterThanOrEqual(1);
      expect(Number(r.tokens_issued)).toBeGreaterThanOrEqual(mine.length);
      if (Number(r.tokens_issued) > 1) reissued.push(id);
      // exactly one working token: the last one mailed is the one whose hash the verifier holds
      expect(String(r.token_hash), `request ${id}: its last mailed token is the working one`).toBe(tokenHash(mine[mine.length - 1]!));
      expect(r.state, `request ${id}`).toBe('attested');
      expect(r.published_at).not.toBeNull();
      // confirmed once, and by the relay of the last mailed token (never by an older one)
      const confirmed = confirmedEvents.filter((e) => BigInt(String(e.withdrawal_id)) === id);
      expect(confirmed, `request ${id} confirmed once`).toHaveLength(1);
      const relayId = /relay #(\d+)/.exec(String(confirmed[0]!.detail))![1]!;
      expect(String(relays.get(relayId)!.token)).toBe(mine[mine.length - 1]);
      // attested once: one event in the verifier database, one row in the web database, and it verifies
      expect(attestedEvents.filter((e) => BigInt(String(e.withdrawal_id)) === id), `request ${id} attested once`).toHaveLength(1);
      const published = attestations.filter((a) => BigInt(String(a.withdrawal_id)) === id);
      expect(published, `request ${id}: one attestation row`).toHaveLength(1);
      expect(String(published[0]!.key_id)).toBe(verifierKey.id);
      const content = parseApprovalContent(JSON.parse(String(published[0]!.content)));
      expect(content.withdrawalId).toBe(id);
      expect(verifyAttestation(content, String(published[0]!.signature), publicKey)).toBe(true);
    }
    expect(attestations).toHaveLength(REQUESTS);
    expect(reissued, 'the cut-off request was issued a new token').toContain(cut);
    console.info(`verifier crash test, seed ${SEED}: ${runs.length} rounds, ${killed} killed mid-run, ${tokenMails.length} token mails for ${REQUESTS} requests, ` +
      `${reissued.length} request(s) issued more than one token (${reissued.join(', ')})`);
  }, 60_000);
});
