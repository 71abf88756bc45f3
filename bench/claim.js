// Claim benchmark (issue 3): addresses handed out per second by the MariaDB
// store with 1, 8 and 32 concurrent connections (one claimer per connection,
// all in this process, each claiming in a loop for a fixed time), every claim
// checked distinct both in this process and in the database afterwards.
// Goal: at least 1,500 claims/s at 32 connections on the two-core machine.
//
// Run: npm run bench:claim
//   BENCH_CLAIM_SECONDS=5  BENCH_CLAIM_CONNECTIONS=1,8,32  BENCH_CLAIM_POOL=150000
//   BENCH_MARIADB=mysql://root@127.0.0.1:3306  (a user that may CREATE/DROP DATABASE)
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import mysql from 'mysql2/promise';
import { openDatabase } from '../dist/store/db.js';

const seconds = Number(process.env.BENCH_CLAIM_SECONDS ?? 5);
const levels = (process.env.BENCH_CLAIM_CONNECTIONS ?? '1,8,32').split(',').map(Number);
const poolSize = Number(process.env.BENCH_CLAIM_POOL ?? 150_000);
const base = new URL(process.env.BENCH_MARIADB ?? 'mysql://root@127.0.0.1:3306');
const root = { host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username), password: decodeURIComponent(base.password) };
const auth = root.password ? `${encodeURIComponent(root.user)}:${encodeURIComponent(root.password)}` : encodeURIComponent(root.user);
const name = `coldpool_bench_claim_${process.pid}`;
const url = (limit) => `mysql://${auth}@${root.host}:${root.port}/${name}?connectionLimit=${limit}`;

// The store trusts its caller to have verified a batch (pool load re-derives
// every address); the claim path does not care what the addresses are.
const fakeAddress = (i) => `tb1q${createHash('sha256').update(`bench/${i}`).digest('hex').slice(0, 38)}`;

const admin = await mysql.createConnection(root);
await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
let failed = false;
try {
  const loader = openDatabase(url(2));
  await loader.migrate();
  let t = performance.now();
  await loader.pool.insertBatch({
    keyId: 'bench', descriptor: 'wpkh(bench)', network: 'testnet', chain: 0, first: 0, count: poolSize,
    digest: createHash('sha256').update('bench').digest('hex'), created: '2026-01-01T00:00:00.000Z',
    addresses: Array.from({ length: poolSize }, (_, i) => fakeAddress(i)),
  });
  await loader.close();
  const [[server]] = await admin.query('SELECT VERSION() AS v');
  console.log(`claim: MariaDB ${server.v}, ${availableParallelism()} cores, node ${process.version}, ${seconds} s per level, pool of ${poolSize.toLocaleString('en')} (loaded in ${((performance.now() - t) / 1000).toFixed(1)} s)`);

  const seen = new Set();
  let total = 0;
  for (const connections of levels) {
    const database = openDatabase(url(connections));
    const store = database.pool;
    // Warm-up: open every connection (and its session settings) before timing.
    await Promise.all(Array.from({ length: connections }, (_, w) => store.claim(`warm-${w}`).then((c) => seen.add(c.address))));
    total += connections;
    let claims = 0;
    let duplicates = 0;
    const end = performance.now() + seconds * 1000;
    t = performance.now();
    await Promise.all(Array.from({ length: connections }, async (_, w) => {
      while (performance.now() < end) {
        const c = await store.claim(`user-${connections}-${w}`);
        if (seen.has(c.address)) duplicates++;
        seen.add(c.address);
        claims++;
      }
    }));
    const rate = claims / ((performance.now() - t) / 1000);
    total += claims;
    await database.close();
    const [[db]] = await admin.query(`SELECT COUNT(*) AS n, COUNT(DISTINCT address) AS d FROM \`${name}\`.addresses WHERE status = 'assigned'`);
    const ok = duplicates === 0 && Number(db.n) === total && Number(db.d) === total && seen.size === total;
    failed ||= !ok;
    console.log(
      `${String(connections).padStart(2)} connections: ${Math.round(rate).toLocaleString('en')} claims/s (${claims.toLocaleString('en')} claims); ` +
        `assigned in the database ${db.n}, distinct ${db.d}, handed out ${total}: ${ok ? 'every claim distinct' : 'DUPLICATE OR LOST CLAIMS'}` +
        (connections === 32 ? `; goal >= 1,500/s ${rate >= 1500 ? 'met' : 'NOT met'}` : ''),
    );
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.end();
}
process.exitCode = failed ? 1 : 0;
