// Ledger reconciliation benchmark (verifier step 6, src/verifier/ledger.ts):
// a web ledger of 1,000,000 entries over 100,000 users on MariaDB (one
// deposit per user, the rest trades in zero-sum pairs, fees to a house
// account, withdrawals), balances published, chain deposits through the fake
// port. Measured: the FULL pass of the first mirror (read every entry,
// fingerprint, mirror, check every deposit, group and balance), then ONE
// incremental cycle after 1,000 new entries. Goals: full < 10 s, incremental
// < 0.5 s. Run: npm run bench:ledger
// (COLDPOOL_BENCH_MYSQL=mysql://root@127.0.0.1:3306 by default;
// BENCH_ENTRIES / BENCH_USERS to size it).
import { readdirSync, readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { openDatabase, openVerifierDatabase } from '../dist/store/db.js';
import { reconcileLedger } from '../dist/verifier/ledger.js';

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 1_000_000);
const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const NEW = 1_000;
const server = new URL(process.env.COLDPOOL_BENCH_MYSQL ?? 'mysql://root@127.0.0.1:3306');
const base = (process.env.COLDPOOL_BENCH_MYSQL ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
const webName = `coldpool_bench_ledger_web_${process.pid}`;
const ownName = `coldpool_bench_ledger_own_${process.pid}`;
const txid = (n) => n.toString(16).padStart(64, '0');
const user = (u) => `user-${String(u).padStart(6, '0')}`;

// A seeded PRNG (mulberry32): the same ledger on every run.
let seed = 42;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const root = await mysql.createConnection({ host: server.hostname, port: Number(server.port || 3306), user: decodeURIComponent(server.username), password: decodeURIComponent(server.password), multipleStatements: false });
for (const n of [webName, ownName]) await root.query(`CREATE DATABASE \`${n}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
try {
  const web = openDatabase(`${base}/${webName}`);
  await web.migrate();
  const own = openVerifierDatabase(`${base}/${ownName}`);
  await own.migrate();

  // ---- the ledger, written as fast as MariaDB takes it (not measured) ----
  const balances = new Map();
  const credited = new Map();
  let nextId = 1;
  let ref = 0;
  const t0 = Date.parse('2026-12-01T00:00:00.000Z');
  const rows = [];
  const flush = async (force) => {
    if (rows.length < 10_000 && !(force && rows.length > 0)) return;
    await root.query(`INSERT INTO \`${webName}\`.ledger_entries (entry_id, user_id, amount_sat, kind, ref, created_at) VALUES ?`, [rows.splice(0)]);
  };
  const add = async (u, amount, kind, r) => {
    const id = nextId++;
    balances.set(u, (balances.get(u) ?? 0n) + amount);
    rows.push([id, u, amount.toString(), kind, r, new Date(t0 + id * 10).toISOString().replace('T', ' ').slice(0, 23)]);
    await flush(false);
  };
  const activity = async () => {
    const a = user(Math.floor(rand() * USERS));
    const x = rand();
    if (x < 0.7) {
      const b = user(Math.floor(rand() * USERS));
      const amount = BigInt(1 + Math.floor(rand() * 10_000));
      const r = `trade-${ref++}`;
      await add(a, -amount, 'trade', r);
      await add(b, amount, 'trade', r);
    } else if (x < 0.85) {
      const r = `fee-${ref++}`;
      await add(a, -50n, 'fee', r);
      await add('house', 50n, 'fee', r);
    } else {
      await add(a, -BigInt(1 + Math.floor(rand() * 5_000)), 'withdrawal', String(ref++));
    }
  };
  const genStart = performance.now();
  for (let u = 0; u < USERS; u++) {
    const amount = BigInt(1_000_000 + Math.floor(rand() * 1_000_000));
    credited.set(`${txid(u + 1)}:0`, { user: user(u), amountSat: amount, height: 100 + (u % 1000) });
    await add(user(u), amount, 'deposit', `${txid(u + 1)}:0`);
  }
  while (nextId <= ENTRIES) await activity();
  await flush(true);
  const writeBalances = async () => {
    await root.query(`DELETE FROM \`${webName}\`.ledger_balances`);
    const all = [...balances].map(([u, b]) => [u, b.toString()]);
    for (let k = 0; k < all.length; k += 10_000) await root.query(`INSERT INTO \`${webName}\`.ledger_balances (user_id, balance_sat) VALUES ?`, [all.slice(k, k + 10_000)]);
  };
  await writeBalances();
  const entries = nextId - 1;
  console.log(`ledger: ${entries.toLocaleString('en')} entries over ${USERS.toLocaleString('en')} users written in ${Math.round(performance.now() - genStart)} ms (not measured)`);

  // Where the time goes: every call into the two databases, timed (wall, this process waiting included).
  const phases = {};
  const timed = (name, obj) => new Proxy(obj, {
    get(target, prop) {
      const v = target[prop];
      if (typeof v !== 'function') return v;
      return async (...args) => {
        const t = performance.now();
        try { return await v.apply(target, args); } finally { phases[`${name}.${String(prop)}`] = (phases[`${name}.${String(prop)}`] ?? 0) + performance.now() - t; }
      };
    },
  });
  const deps = { feed: timed('web', web.ledger), mirror: timed('mirror', own.ledger), deposits: { creditedDeposits: async () => credited } };
  const store = timed('store', own.store);
  let now = new Date('2026-12-02T00:00:00.000Z');
  // The server's CPU too, when it runs on this machine (both share its cores): utime + stime of mariadbd/mysqld.
  const serverPid = ['127.0.0.1', 'localhost', '::1'].includes(server.hostname)
    ? readdirSync('/proc').find((d) => /^\d+$/.test(d) && ['mariadbd', 'mysqld'].includes(readFileSync(`/proc/${d}/comm`, 'utf8').trim()))
    : undefined;
  const serverCpuMs = () => {
    if (serverPid === undefined) return undefined;
    const f = readFileSync(`/proc/${serverPid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // clock ticks (USER_HZ 100)
  };
  const step = async (label) => {
    const serverCpu = serverCpuMs();
    const cpu = process.cpuUsage();
    const t = performance.now();
    for (const k of Object.keys(phases)) delete phases[k];
    // BENCH_MARKS=1: the step's span on the monotonic clock (µs), to cut a --cpu-prof profile to it.
    if (process.env.BENCH_MARKS) console.log(`mark ${label} start ${process.hrtime.bigint() / 1000n}`);
    const r = await reconcileLedger(deps, store, now);
    if (process.env.BENCH_MARKS) console.log(`mark ${label} end ${process.hrtime.bigint() / 1000n}`);
    const ms = performance.now() - t;
    const { user: us, system } = process.cpuUsage(cpu);
    const serverSpent = serverCpu === undefined ? '' : `, ${Math.round(serverCpuMs() - serverCpu)} ms server CPU`;
    console.log(`ledger ${label}: ${Math.round(ms)} ms (${Math.round((us + system) / 1000)} ms CPU here${serverSpent}); mode ${r.mode}, read ${r.read.toLocaleString('en')}, mirrored ${r.mirrored.toLocaleString('en')}, alerted ${r.alerted}`);
    const spent = Object.entries(phases).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${Math.round(v)}`);
    console.log(`  time in database calls (ms): ${spent.join(', ')}; the rest (compare, fingerprints, judging) ${Math.round(ms - Object.values(phases).reduce((a, b) => a + b, 0))}`);
    if (r.alerted !== 0) throw new Error('an honest ledger alerted');
    return r;
  };
  await step(`FULL (first mirror of ${entries.toLocaleString('en')})`);

  // ---- one cycle later: 1,000 new entries ----
  now = new Date(now.getTime() + 60_000);
  while (nextId <= entries + NEW) await activity();
  await flush(true);
  await writeBalances();
  await step(`INCREMENTAL (${(nextId - 1 - entries).toLocaleString('en')} new)`);
  now = new Date(now.getTime() + 60_000);
  await step('INCREMENTAL (nothing new)');
  now = new Date(now.getTime() + 2 * 3_600_000);
  await step('FULL again (mirror present, nothing new)');
  await web.close();
  await own.close();
} finally {
  for (const n of [webName, ownName]) await root.query(`DROP DATABASE IF EXISTS \`${n}\``);
  await root.end();
}
