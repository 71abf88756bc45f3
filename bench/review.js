// Review benchmark: 10,000 pending withdrawal requests on SQLite (and MariaDB
// when COLDPOOL_BENCH_MYSQL names a server URL without a database, e.g.
// mysql://root@127.0.0.1:3306), then what `coldpool review` does: the
// operator's FIRST read (validate, fingerprint, audit every request), page 1,
// then later pages of 20 with every risk flag and the pending totals, and a
// second read that finds nothing new. Run: npm run bench:review
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DEFAULT_POLICY } from '../dist/core/withdrawal-policy.js';
import { openDatabase } from '../dist/store/db.js';
import { bech32 } from 'bech32';

const N = Number(process.env.BENCH_REQUESTS ?? 10_000);
const PAGE = 20;
const dest = (i) => bech32.encode('tb', [0, ...bech32.toWords(Buffer.from(i.toString(16).padStart(40, '0'), 'hex'))]);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function bench(label, url, insertAll) {
  const pool = openDatabase(url);
  await pool.migrate();
  await pool.close();
  await insertAll();
  const database = openDatabase(url, { network: 'testnet' });
  const store = database.withdrawals;
  const page = async (afterId) => {
    const rows = await store.list({ status: 'requested', afterId, limit: PAGE }, DEFAULT_POLICY);
    await store.totals('requested');
    if (rows.length !== PAGE) throw new Error(`page had ${rows.length} rows`);
  };
  // What `coldpool review` does on start: the first read (validate, fingerprint, audit), then page 1.
  let t = performance.now();
  const cpu = process.cpuUsage();
  const seen = await store.observe('bench');
  const observeMs = performance.now() - t;
  const { user, system } = process.cpuUsage(cpu);
  const observeCpuMs = (user + system) / 1000; // this process only: JS work, not the database server's
  await page(undefined);
  const firstScreenMs = performance.now() - t;
  // Later pages (and later starts: the second read finds nothing new).
  const pages = [];
  for (let r = 1; r <= 5; r++) {
    t = performance.now();
    await page(BigInt(r * Math.floor(N / 6)));
    pages.push(performance.now() - t);
  }
  t = performance.now();
  const again = await store.observe('bench');
  const secondReadMs = performance.now() - t;
  await database.close();
  if (seen.seen !== N || again.seen !== 0) throw new Error(`first read saw ${seen.seen}, second ${again.seen}`);
  console.log(`review ${label}: ${N.toLocaleString('en')} pending; FIRST read (validate + fingerprint + audit) ${Math.round(observeMs)} ms (${Math.round(observeCpuMs)} ms CPU here), first screen (first read + page 1 + totals) ${Math.round(firstScreenMs)} ms; later page of ${PAGE} with flags + totals: median ${median(pages).toFixed(1)} ms; second read (nothing new) ${secondReadMs.toFixed(1)} ms`);
}

const dir = mkdtempSync(join(tmpdir(), 'coldpool-bench-review-'));
try {
  const path = join(dir, 'review.db');
  await bench('sqlite', `sqlite:${path}`, async () => {
    const db = new Database(path);
    const ins = db.prepare('INSERT INTO withdrawals (app_id, user_id, destination, amount_sat) VALUES (?, ?, ?, ?)');
    db.transaction(() => { for (let i = 0; i < N; i++) ins.run(`bench-${i}`, `user-${i % 1000}`, dest(i), 10_000 + i); })();
    db.close();
  });
  if (process.env.COLDPOOL_BENCH_MYSQL) {
    const mysql = (await import('mysql2/promise')).default;
    const server = new URL(process.env.COLDPOOL_BENCH_MYSQL);
    const name = `coldpool_bench_review_${process.pid}`;
    const root = await mysql.createConnection({ host: server.hostname, port: Number(server.port || 3306), user: decodeURIComponent(server.username), password: decodeURIComponent(server.password) });
    await root.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    try {
      await bench('mariadb', `${process.env.COLDPOOL_BENCH_MYSQL.replace(/\/$/, '')}/${name}`, async () => {
        for (let k = 0; k < N; k += 1000) {
          const rows = Array.from({ length: Math.min(1000, N - k) }, (_, j) => [`bench-${k + j}`, `user-${(k + j) % 1000}`, dest(k + j), 10_000 + k + j]);
          await root.query(`INSERT INTO \`${name}\`.withdrawals (app_id, user_id, destination, amount_sat) VALUES ?`, [rows]);
        }
      });
    } finally {
      await root.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await root.end();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
