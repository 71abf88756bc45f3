// Quick claim-rate check of the MariaDB store (issue 3): claims/s at 1, 8 and
// 32 connections, every claim distinct, and how far ahead of the count the
// highest index handed out runs (the recovery gap the slot design costs).
// Usage: npm run build && node bench/claim-quick.js [seconds-per-run]
import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import { MysqlStore } from '../dist/store/mysql-store.js';
import { parseDbUrl } from '../dist/store/db-url.js';

const seconds = Number(process.argv[2] ?? 5);
const root = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
const name = `coldpool_bench_${process.pid}`;
const c = await mysql.createConnection(root);
await c.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
try {
  const count = 300_000;
  const addresses = Array.from({ length: count }, (_, i) => `tb1q${createHash('sha256').update(String(i)).digest('hex').slice(0, 38)}`);
  const batch = { keyId: 'k', descriptor: 'wpkh(bench)', network: 'testnet', chain: 0, first: 0, count, digest: 'd'.repeat(64), created: '2026-01-01T00:00:00.000Z', addresses };
  const loader = new MysqlStore(parseDbUrl(`mysql://root@127.0.0.1:3306/${name}`));
  await loader.migrate();
  let t = performance.now();
  await loader.insertBatch(batch);
  console.log(`insertBatch ${count} rows: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  await loader.close();
  for (const conns of [1, 8, 32, 64]) {
    const store = new MysqlStore(parseDbUrl(`mysql://root@127.0.0.1:3306/${name}?connectionLimit=${conns}`));
    await store.claim('warmup');
    const before = await store.status();
    let n = 0;
    const end = performance.now() + seconds * 1000;
    t = performance.now();
    await Promise.all(Array.from({ length: conns }, async (_, w) => {
      while (performance.now() < end) {
        await store.claim(`u${w}`);
        n++;
      }
    }));
    const rate = n / ((performance.now() - t) / 1000);
    const s = await store.status();
    const [[d]] = await c.query(`SELECT COUNT(*) AS n, COUNT(DISTINCT address) AS d FROM ${name}.addresses WHERE status = 'assigned'`);
    console.log(`${String(conns).padStart(2)} connections: ${Math.round(rate)} claims/s (${n} claims), assigned ${d.n}, distinct ${d.d}, claims lost ${s.assigned - before.assigned - n}, highest index ${s.highestAssignedIndex} vs ${s.assigned} handed out (gap +${s.highestAssignedIndex + 1 - s.assigned})`);
    await store.close();
  }
} finally {
  await c.query(`DROP DATABASE ${name}`);
  await c.end();
}
