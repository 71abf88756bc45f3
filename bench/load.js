// `coldpool pool load` benchmark (issue 3): the whole load of a batch file of
// 10,000 and 1,000,000 receive addresses into MariaDB and SQLite through the
// real CLI (node start-up, sha256, parse, re-derivation of every address,
// insert, commit), with the insert phase timed on its own (the CLI's
// insert_seconds) and compared, in the same run and on the same server, with
// the fastest raw import of the same rows into an identical table:
//   - MariaDB: LOAD DATA LOCAL INFILE (one statement, one transaction);
//   - SQLite:  one prepared INSERT per row in one transaction.
// Goals: insert phase within 2x of LOAD DATA; whole load of 10,000 under 1 s.
//
// Run: npm run bench:load
//   BENCH_LOAD_SIZES=10000,1000000  BENCH_LOAD_STORES=mariadb,sqlite  BENCH_RUNS=3 (runs of sizes <= 100,000)
//   BENCH_MARIADB=mysql://root@127.0.0.1:3306  (a user that may CREATE/DROP DATABASE)
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { ecBackend } from '../dist/core/ec-add.js';
import { openDatabase } from '../dist/store/db.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// BIP84's test account (mnemonic "abandon … about"): public, never funded on purpose.
const ZPUB = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
const sizes = (process.env.BENCH_LOAD_SIZES ?? '10000,1000000').split(',').map(Number);
const stores = (process.env.BENCH_LOAD_STORES ?? 'mariadb,sqlite').split(',');
const smallRuns = Number(process.env.BENCH_RUNS ?? 3);
const mariaBase = new URL(process.env.BENCH_MARIADB ?? 'mysql://root@127.0.0.1:3306');
const mariaRoot = { host: mariaBase.hostname, port: Number(mariaBase.port || 3306), user: decodeURIComponent(mariaBase.username), password: decodeURIComponent(mariaBase.password) };

const dir = mkdtempSync(join(tmpdir(), 'coldpool-bench-load-'));
const fmt = (s) => `${s.toFixed(2)} s`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function run(program, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin', `${program}.js`), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${program} ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

/** A fresh, migrated pool; returns its URL and a drop function. */
async function freshPool(kind, tag) {
  if (kind === 'sqlite') {
    const d = mkdtempSync(join(dir, 'sqlite-'));
    const url = `sqlite:${join(d, 'pool.db')}`;
    const store = openDatabase(url);
    await store.migrate();
    await store.close();
    return { url, path: join(d, 'pool.db'), drop: async () => rmSync(d, { recursive: true, force: true }) };
  }
  const name = `coldpool_bench_load_${process.pid}_${tag}`;
  const c = await mysql.createConnection(mariaRoot);
  await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await c.end();
  const auth = mariaRoot.password ? `${encodeURIComponent(mariaRoot.user)}:${encodeURIComponent(mariaRoot.password)}` : encodeURIComponent(mariaRoot.user);
  const url = `mysql://${auth}@${mariaRoot.host}:${mariaRoot.port}/${name}`;
  const store = openDatabase(url);
  await store.migrate();
  await store.close();
  return {
    url, name,
    drop: async () => {
      const k = await mysql.createConnection(mariaRoot);
      await k.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await k.end();
    },
  };
}

/** Write the rows the store inserted (address, batch_id, account_id, chain, idx, slot) as TSV, ordered by idx. */
async function rowsFile(path, rows) {
  const out = createWriteStream(path);
  let buf = '';
  for (const r of rows) {
    buf += `${r.address}\t${r.batch_id}\t${r.account_id}\t${r.chain}\t${r.idx}\t${r.slot ?? '\\N'}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise((res) => out.once('drain', res));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise((res, rej) => out.end((e) => (e ? rej(e) : res())));
}

/** LOAD DATA LOCAL INFILE of the same rows into `addresses_raw`, a copy of `addresses` (same columns, keys and indexes). */
async function loadDataBaseline(pool, count) {
  const c = await mysql.createConnection({ ...mariaRoot, database: pool.name, charset: 'UTF8MB4_BIN', infileStreamFactory: (p) => createReadStream(p) });
  try {
    const [rows] = await c.query('SELECT address, batch_id, account_id, chain, idx, slot FROM addresses ORDER BY idx');
    if (rows.length !== count) throw new Error(`pool holds ${rows.length} rows, expected ${count}`);
    const tsv = join(dir, `rows-${pool.name}.tsv`);
    await rowsFile(tsv, rows);
    await c.query('CREATE TABLE addresses_raw LIKE addresses');
    const t = performance.now();
    const [r] = await c.query({
      sql: `LOAD DATA LOCAL INFILE ? INTO TABLE addresses_raw CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' (address, batch_id, account_id, chain, idx, slot)`,
      values: [tsv],
    });
    const seconds = (performance.now() - t) / 1000;
    if (r.affectedRows !== count) throw new Error(`LOAD DATA inserted ${r.affectedRows}, expected ${count}`);
    rmSync(tsv);
    return seconds;
  } finally {
    await c.end();
  }
}

/** SQLite has no LOAD DATA: the raw import is one prepared INSERT per row in one transaction, into a copy of `addresses`. */
function sqliteBaseline(pool, count) {
  const db = new Database(pool.path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('cache_size = -131072'); // the 128 MiB page cache the store's insertBatch uses
    const ddl = db.prepare("SELECT sql FROM sqlite_master WHERE tbl_name = 'addresses' AND sql IS NOT NULL ORDER BY type DESC").all().map((r) => r.sql);
    for (const s of ddl) db.exec(s.replace(/\baddresses\b/, 'addresses_raw').replace(/\bix_addresses_/, 'ix_addresses_raw_').replace(/ IF NOT EXISTS/, ''));
    const rows = db.prepare('SELECT address, batch_id, account_id, chain, idx, slot FROM addresses ORDER BY idx').raw().all();
    if (rows.length !== count) throw new Error(`pool holds ${rows.length} rows, expected ${count}`);
    const insert = db.prepare('INSERT INTO addresses_raw (address, batch_id, account_id, chain, idx, slot) VALUES (?, ?, ?, ?, ?, ?)');
    const t = performance.now();
    db.transaction(() => {
      for (const r of rows) insert.run(...r);
    }).immediate();
    return (performance.now() - t) / 1000;
  } finally {
    db.close();
  }
}

console.log(`load: ${availableParallelism()} cores, node ${process.version}, ec backend ${ecBackend}; times are medians of ${smallRuns} runs for sizes <= 100,000, one run above`);
const files = {};
for (const size of sizes) {
  const t = performance.now();
  files[size] = join(dir, `batch-${size}.csv`);
  await run('coldpool-offline', ['derive', '--descriptor', ZPUB, '--from', '0', '--count', String(size), '--out', files[size]]);
  console.log(`(derived the ${size.toLocaleString('en')}-address file in ${fmt((performance.now() - t) / 1000)}, not counted below)`);
}

const results = [];
try {
  for (const kind of stores) {
    for (const size of sizes) {
      const runs = size <= 100_000 ? smallRuns : 1;
      const samples = [];
      for (let r = 0; r < runs; r++) {
        const pool = await freshPool(kind, `${size}_${r}`);
        try {
          const t = performance.now();
          const json = JSON.parse(await run('coldpool', ['pool', 'load', files[size], '--db', pool.url, '--json', '--progress', 'none']));
          const total = (performance.now() - t) / 1000;
          if (json.result !== 'loaded' || json.inserted !== size) throw new Error(`unexpected result ${JSON.stringify(json)}`);
          const raw = kind === 'mariadb' ? await loadDataBaseline(pool, size) : sqliteBaseline(pool, size);
          samples.push({ total, verify: json.verify_seconds, insert: json.insert_seconds, raw });
        } finally {
          await pool.drop();
        }
      }
      const m = (k) => median(samples.map((s) => s[k]));
      const row = { store: kind, size, total: m('total'), verify: m('verify'), insert: m('insert'), raw: m('raw') };
      results.push(row);
      const baseline = kind === 'mariadb' ? 'LOAD DATA LOCAL INFILE' : 'raw prepared INSERTs';
      console.log(
        `${kind.padEnd(7)} ${size.toLocaleString('en').padStart(9)} addresses: whole load ${fmt(row.total)} (verify ${fmt(row.verify)}, insert ${fmt(row.insert)}); ` +
          `${baseline} ${fmt(row.raw)}; insert / baseline ${(row.insert / row.raw).toFixed(2)}x`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const ten = results.filter((r) => r.size === 10_000);
for (const r of ten) console.log(`goal: whole load of 10,000 under 1 s on ${r.store}: ${r.total < 1 ? 'met' : 'NOT met'} (${fmt(r.total)}, node start-up included)`);
for (const r of results.filter((x) => x.store === 'mariadb')) console.log(`goal: insert within 2x of LOAD DATA at ${r.size.toLocaleString('en')}: ${r.insert <= 2 * r.raw ? 'met' : 'NOT met'} (${(r.insert / r.raw).toFixed(2)}x)`);
