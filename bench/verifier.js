// Verifier benchmark: one verifier (src/verifier/cycle.ts) on MariaDB, its web
// database and its own database both fresh, mail to a real SMTP server on
// 127.0.0.1 (smtp-server, recording what arrives), a clock the bench moves.
//
// Per run: 100,000 users in user_emails, mirrored by a first cycle; then
// 1,000 of them change their email and 1,000 new requests arrive, and the
// next cycle (forceSync) is timed step by step:
//   (a) the email sync of that cycle (100,000 users read, 1,000 changed):
//       goal under 2 s;
//   the same cycle mails 1,000 tokens (reported, no goal);
// then the 1,000 tokens are read from the mail and relayed (the web app's
// INSERT), and the next cycle confirms them:
//   (b) attesting the 1,000 confirmed requests and publishing the
//       attestations (the attest + publish steps): goal under 1 s.
// Medians of BENCH_RUNS runs (default 3), each on fresh databases.
//
// Run: npm run bench:verifier
//   BENCH_RUNS=3  BENCH_VERIFIER_USERS=100000  BENCH_VERIFIER_CHANGES=1000  BENCH_VERIFIER_REQUESTS=1000
//   BENCH_VERIFIER_OUTBOX=1  (also send the notices and alerts; off by default, see below)
//   BENCH_MARIADB=mysql://root@127.0.0.1:3306  (a user that may CREATE/DROP DATABASE)
import { generateKeyPairSync } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { bech32 } from 'bech32';
import mysql from 'mysql2/promise';
import { SMTPServer } from 'smtp-server';
import { keyIdOf, publicKeyHex } from '../dist/core/ed25519.js';
import { NETWORKS } from '../dist/core/network.js';
import { SmtpUserMailer } from '../dist/notify/email.js';
import { openDatabase, openVerifierDatabase } from '../dist/store/db.js';
import { DEFAULT_VERIFIER_SETTINGS, Verifier } from '../dist/verifier/cycle.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const USERS = Number(process.env.BENCH_VERIFIER_USERS ?? 100_000);
const CHANGES = Number(process.env.BENCH_VERIFIER_CHANGES ?? 1_000);
const REQUESTS = Number(process.env.BENCH_VERIFIER_REQUESTS ?? 1_000);
const OUTBOX = process.env.BENCH_VERIFIER_OUTBOX === '1';
const STEPS = ['firstSight', 'recheck', 'syncEmails', 'sendTokens', 'readRelays', 'expire', 'attest', 'publish', 'sendOutbox'];
const base = new URL(process.env.BENCH_MARIADB ?? 'mysql://root@127.0.0.1:3306');
const root = { host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username), password: decodeURIComponent(base.password) };
const auth = root.password ? `${encodeURIComponent(root.user)}:${encodeURIComponent(root.password)}` : encodeURIComponent(root.user);
const urlOf = (name) => `mysql://${auth}@${root.host}:${root.port}/${name}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${Math.round(x)} ms`;
const user = (i) => `user-${String(i).padStart(6, '0')}`;
const dest = (i) => bech32.encode('tb', [0, ...bech32.toWords(Buffer.from(i.toString(16).padStart(40, '0'), 'hex'))]);
// Changed users and requesting users are disjoint, so no request is held by an email change.
const changedUser = (k) => user(Math.floor((k * USERS) / CHANGES));
const requestUser = (k) => user((Math.floor((k * USERS) / REQUESTS) + 1) % USERS);

/** An SMTP server that keeps the confirmation tokens it receives (withdrawal id → token) and counts the rest. */
async function smtpSink() {
  const tokens = new Map();
  let mails = 0;
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    // No reverse DNS of 127.0.0.1 per connection: this machine has no resolver for it, and the wait (~0.1 s) would be the sink's, not the verifier's.
    disableReverseLookup: true,
    onData(stream, _session, cb) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        mails++;
        const text = Buffer.concat(chunks).toString('latin1').replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
        const m = /confirm\?w=(\d+)&t=([A-Za-z0-9_-]+)/.exec(text);
        if (m) tokens.set(m[1], m[2]);
        cb();
      });
    },
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return { tokens, mails: () => mails, port: server.server.address().port, stop: () => new Promise((resolve) => server.close(resolve)) };
}

/** Time each step of the loop as the cycle calls it (they are methods of the instance; the cycle itself is untouched). */
function timeSteps(verifier) {
  const t = Object.fromEntries(STEPS.map((s) => [s, 0]));
  for (const step of STEPS) {
    const original = verifier[step].bind(verifier);
    verifier[step] = async (...args) => {
      const start = performance.now();
      try {
        return await original(...args);
      } finally {
        t[step] += performance.now() - start;
      }
    };
  }
  return { times: t, reset: () => STEPS.forEach((s) => (t[s] = 0)) };
}

async function run(admin, n) {
  const webName = `coldpool_bench_vweb_${process.pid}_${n}`;
  const ownName = `coldpool_bench_vown_${process.pid}_${n}`;
  for (const name of [webName, ownName]) await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  const smtp = await smtpSink();
  const web = openDatabase(urlOf(webName), { network: 'testnet' });
  const own = openVerifierDatabase(urlOf(ownName));
  const mailer = new SmtpUserMailer({ host: '127.0.0.1', port: smtp.port, secure: false, requireTls: false, user: undefined, password: undefined, from: 'verifier@shop.example', to: ['ops@shop.example'], timeoutMs: 10_000 });
  try {
    await web.migrate();
    await own.migrate();
    for (let k = 0; k < USERS; k += 5_000) {
      const rows = Array.from({ length: Math.min(5_000, USERS - k) }, (_, j) => [user(k + j), `${user(k + j)}@mail.example`]);
      await admin.query(`INSERT INTO \`${webName}\`.user_emails (user_id, email) VALUES ?`, [rows]);
    }
    const { privateKey } = generateKeyPairSync('ed25519');
    const clock = { t: Date.parse('2026-12-01T10:00:00.000Z'), now() { return new Date(this.t); } };
    const verifier = new Verifier({
      web: web.verification, network: async () => NETWORKS.testnet, store: own.store, key: { privateKey, id: keyIdOf(publicKeyHex(privateKey)) }, mailer,
      notifiers: [{ channel: 'log', verify: async () => {}, send: async () => {}, close: async () => {} }], clock,
      settings: { ...DEFAULT_VERIFIER_SETTINGS, confirmUrl: 'https://shop.example/confirm?w={id}&t={token}' }, log: () => {},
    });
    const steps = timeSteps(verifier);
    // The notices and alerts of 1,000 email changes (3,000 mails, 500 a cycle) are not what this measures and
    // would add ~100 ms a mail of the sink's own (see below): kept in the outbox unless BENCH_VERIFIER_OUTBOX=1.
    if (!OUTBOX) verifier.sendOutbox = async () => {};

    // The mirror's first sync: 100,000 new users.
    let t = performance.now();
    const first = await verifier.cycle({ forceSync: true });
    const firstSyncMs = performance.now() - t;
    if (first.synced?.added !== USERS || first.errors.length) throw new Error(`first sync: ${JSON.stringify(first)}`);

    // 1,000 emails change, 1,000 requests arrive (the web app's statements, in bulk).
    const changed = Array.from({ length: CHANGES }, (_, k) => changedUser(k));
    await admin.query(`UPDATE \`${webName}\`.user_emails SET email = CONCAT('new-', email) WHERE user_id IN (?)`, [changed]);
    const reqs = Array.from({ length: REQUESTS }, (_, k) => [`bench-${k}`, requestUser(k), dest(k + 1), 10_000 + k]);
    await admin.query(`INSERT INTO \`${webName}\`.withdrawals (app_id, user_id, destination, amount_sat) VALUES ?`, [reqs]);

    clock.t += 60_000;
    steps.reset();
    t = performance.now();
    const second = await verifier.cycle({ forceSync: true });
    const secondMs = performance.now() - t;
    const a = { ...steps.times };
    if (second.synced?.changed !== CHANGES || second.firstSight !== REQUESTS || second.tokensSent !== REQUESTS || second.errors.length) throw new Error(`second cycle: ${JSON.stringify(second)}`);
    if (smtp.tokens.size !== REQUESTS) throw new Error(`${smtp.tokens.size} tokens arrived`);

    // The users click: the web app relays every token (INSERT INTO withdrawal_confirmations, as sql/README.md says).
    await admin.query(`INSERT INTO \`${webName}\`.withdrawal_confirmations (withdrawal_id, token) VALUES ?`, [[...smtp.tokens].map(([id, token]) => [id, token])]);
    clock.t += 60_000;
    steps.reset();
    t = performance.now();
    const third = await verifier.cycle();
    const thirdMs = performance.now() - t;
    const b = { ...steps.times };
    if (third.confirmed !== REQUESTS || third.attested !== REQUESTS || third.published !== REQUESTS || third.errors.length) throw new Error(`third cycle: ${JSON.stringify(third)}`);
    const [[{ n: published }]] = await admin.query(`SELECT COUNT(*) AS n FROM \`${webName}\`.attestations`);
    if (Number(published) !== REQUESTS) throw new Error(`${published} attestations in the web database`);
    const [[{ n: pending }]] = await admin.query(`SELECT COUNT(*) AS n FROM \`${ownName}\`.outbox WHERE sent_at IS NULL`);
    return { firstSyncMs, secondMs, a, thirdMs, b, outboxSent: second.mailsSent + third.mailsSent, outboxPending: Number(pending) };
  } finally {
    await mailer.close();
    await smtp.stop();
    await web.close();
    await own.close();
    for (const name of [webName, ownName]) await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  }
}

const admin = await mysql.createConnection(root);
const [[{ v }]] = await admin.query('SELECT VERSION() AS v');
const results = [];
try {
  for (let n = 0; n < RUNS; n++) results.push(await run(admin, n));
} finally {
  await admin.end();
}
const med = (f) => median(results.map(f));
const load = loadavg()[0].toFixed(1);
console.log(`verifier: MariaDB ${v}, ${availableParallelism()} cores, node ${process.version}, load average ${load}; ${USERS.toLocaleString('en')} users, ${CHANGES.toLocaleString('en')} changed, ${REQUESTS.toLocaleString('en')} requests; medians of ${RUNS} runs (each on fresh databases)`);
console.log(`first sync (mirror ${USERS.toLocaleString('en')} new users, whole cycle): ${ms(med((r) => r.firstSyncMs))}`);
console.log(`cycle with ${CHANGES.toLocaleString('en')} email changes and ${REQUESTS.toLocaleString('en')} new requests: ${ms(med((r) => r.secondMs))}`);
for (const s of STEPS) console.log(`  ${s.padEnd(11)} ${ms(med((r) => r.a[s])).padStart(8)}`);
console.log(`cycle confirming, attesting and publishing ${REQUESTS.toLocaleString('en')}: ${ms(med((r) => r.thirdMs))}`);
for (const s of STEPS) console.log(`  ${s.padEnd(11)} ${ms(med((r) => r.b[s])).padStart(8)}`);
const syncMs = med((r) => r.a.syncEmails);
const attestMs = med((r) => r.b.attest + r.b.publish);
console.log(`(a) email sync, ${USERS.toLocaleString('en')} users, ${CHANGES.toLocaleString('en')} changed: ${ms(syncMs)}; goal < 2000 ms: ${syncMs < 2000 ? 'met' : 'MISSED'}`);
console.log(`(b) attest + publish ${REQUESTS.toLocaleString('en')} confirmed requests: ${ms(attestMs)}; goal < 1000 ms: ${attestMs < 1000 ? 'met' : 'MISSED'}`);
console.log(`outbox: ${med((r) => r.outboxSent)} notices/alerts sent in the two cycles, ${med((r) => r.outboxPending)} still queued${OUTBOX ? '' : ' (BENCH_VERIFIER_OUTBOX=1 sends them)'}`);
console.log(`token mails: ${REQUESTS.toLocaleString('en')} in ${ms(med((r) => r.a.sendTokens))} (${(med((r) => r.a.sendTokens) / REQUESTS).toFixed(1)} ms each: hashes committed per batch of 50, up to 4 mails in flight on pooled SMTP connections, one commit per mail sent); runs: ${results.map((r) => `sync ${Math.round(r.a.syncEmails)} / attest+publish ${Math.round(r.b.attest + r.b.publish)}`).join(', ')}`);
