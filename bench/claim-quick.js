// Quick claim-rate check of the MariaDB store (issue 3): claims/s at 1, 8 and
// 32 connections through MysqlStore.claim, every claim distinct, and how far
// the highest index handed out runs ahead of the number handed out (the
// recovery gap the slot design costs). For comparison, in the same run: the
// hot-spot pattern (one UPDATE … ORDER BY slot, idx LIMIT 1 that every
// claimer aims at the same first row) and SELECT … FOR UPDATE SKIP LOCKED.
// Usage: npm run build && COUNT=100000 node bench/claim-quick.js [seconds-per-run]
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import mysql from 'mysql2/promise';
import { CLAIM_ANY_SLOT_SQL, CLAIM_READBACK_SQL } from '../dist/store/mysql/pool-store.js';
import { openDatabase } from '../dist/store/db.js';

const seconds = Number(process.argv[2] ?? 5);
const count = Number(process.env.COUNT ?? 100_000);
const root = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
const name = `coldpool_bench_${process.pid}`;
const url = (conns) => `mysql://root@127.0.0.1:3306/${name}?connectionLimit=${conns}`;
const baseName = `${name}_baseline`;
const c = await mysql.createConnection(root);
await c.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
await c.query(`CREATE DATABASE ${baseName} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);

async function timed(conns, claimOnce) {
  let n = 0;
  let retried = 0;
  const t = performance.now();
  const end = t + seconds * 1000;
  await Promise.all(Array.from({ length: conns }, async (_, w) => {
    while (performance.now() < end) {
      try {
        await claimOnce(w);
        n++;
      } catch (e) {
        if (e.errno !== 1213 && e.errno !== 1205) throw e;
        retried++;
      }
    }
  }));
  return { n, rate: Math.round(n / ((performance.now() - t) / 1000)), retried };
}

async function rawPool(conns) {
  const pool = mysql.createPool({ ...root, database: baseName, connectionLimit: conns, charset: 'UTF8MB4_BIN', supportBigNumbers: true, bigNumberStrings: true, multipleStatements: true });
  pool.pool.on('connection', (x) => x.query('SET NAMES utf8mb4 COLLATE utf8mb4_bin, SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', () => {}));
  return pool;
}

try {
  const addresses = Array.from({ length: count }, (_, i) => `tb1q${createHash('sha256').update(String(i)).digest('hex').slice(0, 38)}`);
  const batch = { keyId: 'k', descriptor: 'wpkh(bench)', network: 'testnet', chain: 0, first: 0, count, digest: 'd'.repeat(64), created: '2026-01-01T00:00:00.000Z', addresses };
  const loader = openDatabase(url(1));
  await loader.migrate();
  const t = performance.now();
  await loader.pool.insertBatch(batch);
  console.log(`insertBatch ${count} rows: ${((performance.now() - t) / 1000).toFixed(1)} s; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  await loader.close();
  // The baselines run on their own copy, so they do not move the store's recovery gap.
  const baseLoader = openDatabase(`mysql://root@127.0.0.1:3306/${baseName}`);
  await baseLoader.migrate();
  await baseLoader.insertBatch(batch);
  await baseLoader.close();
  for (const conns of [1, 8, 32]) {
    const db = openDatabase(url(conns));
    const store = db.pool;
    await store.claim('warmup');
    const before = await store.status();
    const r = await timed(conns, (w) => store.claim(`u${w}`));
    const s = await store.status();
    const [[d]] = await c.query(`SELECT COUNT(*) AS n, COUNT(DISTINCT address) AS d FROM ${name}.addresses WHERE status = 'assigned'`);
    console.log(`store.claim ${String(conns).padStart(2)} conns: ${r.rate} claims/s (${r.n}); assigned ${d.n}, distinct ${d.d}, lost ${s.assigned - before.assigned - r.n}; highest index ${s.highestAssignedIndex} for ${s.assigned} handed out (+${s.highestAssignedIndex + 1 - s.assigned})`);
    await db.close();
    if (conns === 1) continue;
    const pool = await rawPool(conns);
    // Same statements and round trips as the store, but every claimer aims at the first available row.
    const hot = await timed(conns, () => pool.query(`${CLAIM_ANY_SLOT_SQL};\n${CLAIM_READBACK_SQL}`, ['u', null]));
    const skip = await timed(conns, async () => {
      const conn = await pool.getConnection();
      try {
        await conn.query('START TRANSACTION');
        const [rows] = await conn.query("SELECT id FROM addresses WHERE status = 'available' AND slot IS NOT NULL ORDER BY slot, idx LIMIT 1 FOR UPDATE SKIP LOCKED");
        if (rows.length === 1) await conn.query("UPDATE addresses SET status = 'assigned', user_id = 'u', assigned_at = UTC_TIMESTAMP(3) WHERE id = ?", [rows[0].id]);
        await conn.query('COMMIT');
      } catch (e) {
        await conn.query('ROLLBACK');
        throw e;
      } finally {
        conn.release();
      }
    });
    console.log(`  same run, ${conns} conns: hot-spot single UPDATE ${hot.rate}/s (${hot.retried} deadlocks), SELECT … FOR UPDATE SKIP LOCKED + UPDATE ${skip.rate}/s`);
    await pool.end();
  }
} finally {
  await c.query(`DROP DATABASE ${name}`);
  await c.query(`DROP DATABASE ${baseName}`);
  await c.end();
}
