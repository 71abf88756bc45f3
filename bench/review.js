// Review benchmark: 10,000 pending withdrawal requests on SQLite (and MariaDB
// when COLDPOOL_BENCH_MYSQL names a server URL without a database, e.g.
// mysql://root@127.0.0.1:3306), then the operator's first read (fingerprints,
// audit) once, and the time to list one page of 20 with every risk flag, as
// `coldpool review` shows it. Run: npm run bench:review
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DEFAULT_POLICY } from '../dist/core/withdrawal-policy.js';
import { openStore } from '../dist/store/open-store.js';
import { openWithdrawalStore } from '../dist/store/withdrawal-store.js';
import { bech32 } from 'bech32';

const N = Number(process.env.BENCH_REQUESTS ?? 10_000);
const PAGE = 20;
const dest = (i) => bech32.encode('tb', [0, ...bech32.toWords(Buffer.from(i.toString(16).padStart(40, '0'), 'hex'))]);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function bench(label, url, insertAll) {
  const pool = openStore(url);
  await pool.migrate();
  await pool.close();
  await insertAll();
  const store = openWithdrawalStore(url, { network: 'testnet' });
  let t = performance.now();
  const seen = await store.observe('bench');
  const observeMs = performance.now() - t;
  const pages = [];
  for (let r = 0; r < 5; r++) {
    t = performance.now();
    const rows = await store.list({ status: 'requested', afterId: BigInt(r * 2000), limit: PAGE }, DEFAULT_POLICY);
    await store.totals('requested');
    pages.push(performance.now() - t);
    if (rows.length !== PAGE) throw new Error(`page had ${rows.length} rows`);
  }
  await store.close();
  console.log(`review ${label}: ${N.toLocaleString('en')} pending; first read (fingerprint + audit) ${Math.round(observeMs)} ms for ${seen.seen}; list a page of ${PAGE} with flags + totals: median ${median(pages).toFixed(1)} ms`);
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
