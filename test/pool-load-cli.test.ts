import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolStatus } from '../src/core/ports.js';
import { openStore } from './support/open-repos.js';
import { ROOT, runCli, runInProcess, tempDir, type CliResult } from './support/cli.js';

/**
 * `coldpool pool load` end to end: the built CLI against a real SQLite file
 * and the real MariaDB on the machine (a fresh database per store, dropped
 * afterwards). Batch files come from `coldpool-offline derive`, then are
 * damaged the ways issue 3 lists. Every refusal must name its reason, exit
 * non-zero and leave the pool byte-for-byte as it was (store.dumpDigest()).
 */

// BIP84's test account (abandon … about), mainnet.
const ZPUB = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
// BIP32 test vector 1's master keys: another mainnet account, and a testnet key.
const OTHER_XPUB = 'xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8';
const TPUB = 'tpubD6NzVbkrYhZ4XgiXtGrdW5XDAPFCL9h7we1vwNCpn8tGbBcgfVYjXyhWo4E1xkh56hjod1RhGjxbaTLV3X4FyWuejifB9jusQ46QzG87VKp';

const BASE_COUNT = 2_000;
/** The batch killed half-way: large enough that its insert phase lasts well past the first progress line. */
const BIG_FIRST = BASE_COUNT;
const BIG_COUNT = 30_000;
const MARIADB_ROOT = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };

let dir = '';
const file = (name: string) => join(dir, name);

async function derive(descriptor: string, from: number, count: number, out: string, extra: string[] = []): Promise<void> {
  const r = await runCli('coldpool-offline', ['derive', '--descriptor', descriptor, '--from', String(from), '--count', String(count), '--out', out, ...extra]);
  if (r.code !== 0) throw new Error(`derive failed: ${r.stderr}`);
}

/** Replace the sha256 line by the right one for the (edited) body: only re-derivation can catch the edit then. */
function reseal(text: string): string {
  const body = text.slice(0, text.lastIndexOf('# sha256: '));
  return `${body}# sha256: ${createHash('sha256').update(body).digest('hex')}\n`;
}

function lines(text: string): string[] {
  return text.split('\n');
}

/** Edit the line starting with `prefix`. */
function editLine(text: string, prefix: string, edit: (line: string) => string): string {
  const ls = lines(text);
  const i = ls.findIndex((l) => l.startsWith(prefix));
  if (i < 0) throw new Error(`no line ${prefix}`);
  ls[i] = edit(ls[i]!);
  return ls.join('\n');
}

interface BadFile {
  name: string;
  bytes: () => Buffer | string;
  args?: string[];
  code: number;
  message: RegExp;
}

/** Bad batch files, derived from the base batch (index 0..1999 of ZPUB, already loaded when they are tried). */
const badFiles: BadFile[] = [
  { name: 'an empty file', bytes: () => '', code: 3, message: /batch file: the file is empty/ },
  { name: 'garbage bytes', bytes: () => randomBytes(4096), code: 3, message: /not a coldpool batch file/ },
  {
    name: 'a file truncated mid-line',
    bytes: () => {
      const b = readFileSync(file('next.csv'));
      let cut = Math.floor(b.length / 2);
      while (b[cut - 1] === 0x0a) cut++;
      return b.subarray(0, cut);
    },
    code: 3,
    message: /does not end with a newline: it is truncated/,
  },
  {
    name: 'a file truncated at a line end',
    bytes: () => {
      const b = readFileSync(file('next.csv'));
      return b.subarray(0, b.indexOf(0x0a, Math.floor(b.length / 2)) + 1);
    },
    code: 3,
    message: /the last line must be "# sha256: <64 hex>", got "\d+,[a-z0-9]+": the file is truncated/,
  },
  {
    name: 'one address edited',
    bytes: () => editLine(readFileSync(file('next.csv'), 'utf8'), `${BASE_COUNT + 500},`, (l) => l.slice(0, -1) + (l.endsWith('q') ? 'p' : 'q')),
    code: 3,
    message: /sha256 mismatch: the file says [0-9a-f]{16}…, its content gives [0-9a-f]{16}…; it was edited or damaged/,
  },
  {
    name: 'one address edited, sha256 line recomputed',
    bytes: () => reseal(editLine(readFileSync(file('next.csv'), 'utf8'), `${BASE_COUNT + 500},`, (l) => l.slice(0, -1) + (l.endsWith('q') ? 'p' : 'q'))),
    code: 3,
    message: new RegExp(`index ${BASE_COUNT + 500}: address bc1q[a-z0-9]+ is not the account's address at that index \\(re-derived bc1q[a-z0-9]+\\)`),
  },
  {
    name: 'one row removed, sha256 line recomputed',
    bytes: () => reseal(lines(readFileSync(file('next.csv'), 'utf8')).filter((l) => !l.startsWith(`${BASE_COUNT + 100},`)).join('\n')),
    code: 3,
    message: new RegExp(`the header says count ${BASE_COUNT} but the file has ${BASE_COUNT - 1} rows`),
  },
  {
    name: 'the header count raised by one (sha256 line recomputed)',
    bytes: () => reseal(editLine(readFileSync(file('next.csv'), 'utf8'), '# count: ', () => `# count: ${BASE_COUNT + 1}`)),
    code: 3,
    message: new RegExp(`the header says count ${BASE_COUNT + 1} but the file has ${BASE_COUNT} rows`),
  },
  {
    name: 'the sha256 line changed',
    bytes: () => editLine(readFileSync(file('next.csv'), 'utf8'), '# sha256: ', () => `# sha256: ${'ab'.repeat(32)}`),
    code: 3,
    message: /sha256 mismatch: the file says abababababababab…/,
  },
  {
    name: 'the sha256 line mangled',
    bytes: () => editLine(readFileSync(file('next.csv'), 'utf8'), '# sha256: ', (l) => l.slice(0, 40)),
    code: 3,
    message: /the last line must be "# sha256: <64 hex>", got "# sha256: [0-9a-f]+": the file is truncated or its digest line was changed/,
  },
  {
    name: 'non-contiguous indexes (two rows swapped, sha256 line recomputed)',
    bytes: () => {
      const ls = lines(readFileSync(file('next.csv'), 'utf8'));
      const i = ls.findIndex((l) => l.startsWith(`${BASE_COUNT + 10},`));
      [ls[i], ls[i + 1]] = [ls[i + 1]!, ls[i]!];
      return reseal(ls.join('\n'));
    },
    code: 3,
    message: new RegExp(`row 11: expected index ${BASE_COUNT + 10}, got "${BASE_COUNT + 11}": indexes must be contiguous`),
  },
  {
    name: 'a format version from the future (sha256 line recomputed)',
    bytes: () => reseal(editLine(readFileSync(file('next.csv'), 'utf8'), '# format: ', () => '# format: 2')),
    code: 3,
    message: /format "2" is not supported \(this program reads format 1\)/,
  },
  {
    name: 'the wrong network',
    bytes: () => readFileSync(file('testnet.csv')),
    code: 3,
    message: /the file is for testnet but the pool holds mainnet addresses/,
  },
  {
    name: 'another account\'s batch',
    bytes: () => readFileSync(file('other.csv')),
    code: 3,
    message: /its descriptor is another account than the one the pool is pinned to \(pool wpkh\(\[?xpub6CatWdiZ.*\)#[a-z0-9]{8}, file wpkh\(xpub661MyMwAqRbc.*\)#[a-z0-9]{8}\); nothing was loaded$/,
  },
  {
    name: 'another account\'s descriptor over the pool account\'s addresses, with --add-account',
    bytes: () => {
      const other = lines(readFileSync(file('other.csv'), 'utf8')).find((l) => l.startsWith('# descriptor: '))!;
      return reseal(editLine(readFileSync(file('next.csv'), 'utf8'), '# descriptor: ', () => other));
    },
    args: ['--add-account'],
    code: 3,
    message: new RegExp(`index ${BASE_COUNT}: address .* is not the account's address at that index`),
  },
  {
    name: 'a descriptor with a wrong checksum (sha256 line recomputed)',
    bytes: () => reseal(editLine(readFileSync(file('next.csv'), 'utf8'), '# descriptor: ', (l) => l.replace(/#[a-z0-9]{8}$/, '#aaaaaaaa'))),
    code: 3,
    message: /the descriptor does not parse for mainnet: "descriptor" checksum mismatch/,
  },
  {
    name: 'a change-chain batch (sha256 line recomputed)',
    bytes: () => reseal(editLine(readFileSync(file('next.csv'), 'utf8'), '# chain: ', () => '# chain: 1')),
    code: 3,
    message: /chain 1 \(change\) addresses are never handed out/,
  },
  {
    name: 'a range overlapping the loaded batch',
    bytes: () => readFileSync(file('overlap.csv')),
    code: 3,
    message: new RegExp(`overlaps loaded batch #1 \\(0\\.\\.${BASE_COUNT - 1}\\): index ${BASE_COUNT / 2} is already loaded`),
  },
  {
    name: 'the loaded range in another file (new creation time, sha256 line recomputed)',
    bytes: () => reseal(editLine(readFileSync(file('base.csv'), 'utf8'), '# created: ', () => '# created: 2030-01-01T00:00:00.000Z')),
    code: 3,
    message: new RegExp(`overlaps loaded batch #1 \\(0\\.\\.${BASE_COUNT - 1}\\): index 0 is already loaded`),
  },
];

beforeAll(async () => {
  dir = tempDir('coldpool-load-');
  await Promise.all([
    derive(ZPUB, 0, BASE_COUNT, file('base.csv')),
    derive(ZPUB, BASE_COUNT, BASE_COUNT, file('next.csv')),
    derive(ZPUB, BASE_COUNT / 2, BASE_COUNT, file('overlap.csv')),
    derive(TPUB, 0, 100, file('testnet.csv'), ['--network', 'testnet']),
    derive(OTHER_XPUB, 0, 100, file('other.csv')),
  ]);
  await derive(ZPUB, BIG_FIRST, BIG_COUNT, file('big.csv'));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Backend {
  readonly name: string;
  url: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
}

const sqliteDir = { path: '' };
const sqlite: Backend = {
  name: 'sqlite',
  url: '',
  async setup() {
    sqliteDir.path = tempDir('coldpool-load-db-');
    this.url = `sqlite:${join(sqliteDir.path, 'pool.db')}`;
  },
  async teardown() {
    rmSync(sqliteDir.path, { recursive: true, force: true });
  },
};

const mariaName = `coldpool_load_${randomBytes(5).toString('hex')}`;
const mariadb: Backend = {
  name: 'mariadb',
  url: `mysql://root@127.0.0.1:3306/${mariaName}`,
  async setup() {
    const c = await mysql.createConnection(MARIADB_ROOT);
    await c.query(`CREATE DATABASE \`${mariaName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await c.end();
  },
  async teardown() {
    const c = await mysql.createConnection(MARIADB_ROOT);
    await c.query(`DROP DATABASE IF EXISTS \`${mariaName}\``);
    await c.end();
  },
};

/** The pool as the tests compare it: the store's digest over every row, and the counts. */
async function snapshot(url: string): Promise<{ digest: string; status: Pick<PoolStatus, 'available' | 'assigned' | 'used' | 'nextIndex'> & { batches: number } }> {
  const store = openStore(url);
  try {
    const s = await store.status();
    return { digest: await store.dumpDigest(), status: { available: s.available, assigned: s.assigned, used: s.used, nextIndex: s.nextIndex, batches: s.batches.length } };
  } finally {
    await store.close();
  }
}

const load = (url: string, path: string, args: string[] = []): Promise<CliResult> => runCli('coldpool', ['pool', 'load', path, '--db', url, ...args]);

/** The error line(s) of a refusal, without the hint. */
function errorLines(stderr: string): string[] {
  return stderr.trim().split('\n').filter((l) => l !== '' && !l.startsWith('hint: '));
}

/**
 * Start `coldpool pool load` with --progress lines and SIGKILL it as soon as
 * it reports its first inserted slice: the transaction is open, rows are
 * written, nothing is committed.
 */
function loadAndKillWhileInserting(url: string, path: string): Promise<CliResult & { killedAt: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'coldpool.js'), 'pool', 'load', path, '--db', url, '--progress', 'lines'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killedAt = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /^insert (\d+)\/(\d+)$/m.exec(stderr);
      if (m && !killedAt) {
        killedAt = m[0];
        child.kill('SIGKILL');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, killedAt });
    });
  });
}

describe.each([sqlite, mariadb])('coldpool pool load on $name', (backend) => {
  beforeAll(async () => {
    await backend.setup();
    const store = openStore(backend.url);
    await store.migrate();
    await store.close();
  });
  afterAll(() => backend.teardown());

  it('--dry-run on a fresh pool verifies the file, says what it would do, and writes nothing', async () => {
    const before = await snapshot(backend.url);
    const r = await load(backend.url, file('base.csv'), ['--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`dry run: ${file('base.csv')} is valid; would load ${BASE_COUNT} addresses (index 0..${BASE_COUNT - 1}); nothing was written\n`);
    expect(r.stderr).toMatch(/^it would pin the pool to mainnet account wpkh\(xpub6CatWdiZ/);
    expect(await snapshot(backend.url)).toEqual(before);
    expect(before.status).toEqual({ available: 0, assigned: 0, used: 0, nextIndex: 0, batches: 0 });
  });

  it('loads a batch, pinning the pool to its account', async () => {
    const r = await load(backend.url, file('base.csv'), ['--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    const sha256 = /# sha256: ([0-9a-f]{64})/.exec(readFileSync(file('base.csv'), 'utf8'))![1];
    expect(json).toMatchObject({
      result: 'loaded', batch_id: '1', inserted: BASE_COUNT, network: 'mainnet', chain: 0, first: 0, last: BASE_COUNT - 1,
      count: BASE_COUNT, sha256, account: 'pinned', dry_run: false,
    });
    expect((await snapshot(backend.url)).status).toEqual({ available: BASE_COUNT, assigned: 0, used: 0, nextIndex: BASE_COUNT, batches: 1 });
  });

  it('loading the same file again is a no-op that says so, and so is its --dry-run', async () => {
    const before = await snapshot(backend.url);
    const again = await load(backend.url, file('base.csv'));
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('already loaded (batch #1), nothing to do\n');
    const dry = await load(backend.url, file('base.csv'), ['--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ result: 'would-skip', batch_id: '1', inserted: 0, dry_run: true });
    expect(await snapshot(backend.url)).toEqual(before);
  });

  it('--dry-run of the next batch changes nothing', async () => {
    const before = await snapshot(backend.url);
    const r = await load(backend.url, file('next.csv'), ['--dry-run', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'would-load', batch_id: null, first: BASE_COUNT, count: BASE_COUNT, account: 'same', dry_run: true });
    expect(await snapshot(backend.url)).toEqual(before);
  });

  it.each(badFiles)('refuses $name with its reason and leaves the pool unchanged', async ({ name, bytes, args, code, message }) => {
    const path = file(`bad-${backend.name}-${name.replace(/[^a-z0-9]+/gi, '-')}.csv`);
    writeFileSync(path, bytes());
    const before = await snapshot(backend.url);
    // In-process: the same main() and exit-code table as bin/coldpool.js, without a Node start-up per case.
    const r = await runInProcess('coldpool', ['pool', 'load', path, '--db', backend.url, ...(args ?? [])]);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(code);
    const errors = errorLines(r.stderr);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: /);
    expect(errors[0]).toMatch(message);
    expect(await snapshot(backend.url)).toEqual(before);
  });

  it('refuses with --json as a JSON error naming the code', async () => {
    const r = await load(backend.url, file('other.csv'), ['--json']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'REFUSED', message: expect.stringMatching(/another account/) } });
  });

  // The big file is re-derived on worker threads (the in-process table above
  // derives inline), and re-derivation starts from the file's own descriptor
  // before the pool's accounts are read: a refusal must still be the right one.
  it.each([
    {
      name: 'an address near the end edited (sha256 line recomputed)',
      bytes: () => {
        const index = BIG_FIRST + BIG_COUNT - 7;
        const swapIn = lines(readFileSync(file('base.csv'), 'utf8')).find((l) => l.startsWith('5,'))!.slice(2);
        return reseal(editLine(readFileSync(file('big.csv'), 'utf8'), `${index},`, () => `${index},${swapIn}`));
      },
      args: [],
      message: new RegExp(`^error: batch file: index ${BIG_FIRST + BIG_COUNT - 7}: address ${'bc1q'}\\w+ is not the account's address at that index`),
    },
    {
      name: 'another account\'s descriptor over the pool account\'s addresses: the account refusal, not a re-derived address',
      bytes: () => {
        const other = lines(readFileSync(file('other.csv'), 'utf8')).find((l) => l.startsWith('# descriptor: '))!;
        return reseal(editLine(readFileSync(file('big.csv'), 'utf8'), '# descriptor: ', () => other));
      },
      args: [],
      message: /^error: batch file: its descriptor is another account than the one the pool is pinned to/,
    },
    {
      name: 'the same with --add-account: the first re-derived address',
      bytes: () => {
        const other = lines(readFileSync(file('other.csv'), 'utf8')).find((l) => l.startsWith('# descriptor: '))!;
        return reseal(editLine(readFileSync(file('big.csv'), 'utf8'), '# descriptor: ', () => other));
      },
      args: ['--add-account'],
      message: new RegExp(`^error: batch file: index ${BIG_FIRST}: address .* is not the account's address at that index`),
    },
  ])('refuses a big batch with $name, through the real CLI', async ({ name, bytes, args, message }) => {
    const path = file(`big-bad-${backend.name}-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}.csv`);
    writeFileSync(path, bytes());
    const before = await snapshot(backend.url);
    const r = await load(backend.url, path, args);
    // One assertion, so a failure shows how the process ended and what it said.
    expect({ code: r.code, signal: r.signal, stdout: r.stdout, errors: errorLines(r.stderr) })
      .toEqual({ code: 3, signal: null, stdout: '', errors: [expect.stringMatching(message)] });
    expect(await snapshot(backend.url)).toEqual(before);
  });

  it('a load killed half-way through its insert leaves no partial batch; running it again completes it', async () => {
    const before = await snapshot(backend.url);
    const killed = await loadAndKillWhileInserting(backend.url, file('big.csv'));
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.killedAt).toMatch(new RegExp(`^insert \\d+/${BIG_COUNT}$`));
    expect(killed.stderr).toMatch(new RegExp(`^verify ${BIG_COUNT}/${BIG_COUNT}$`, 'm'));
    expect(killed.stdout).toBe('');
    expect(await snapshot(backend.url)).toEqual(before);

    const again = await load(backend.url, file('big.csv'));
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    // MariaDB does not hand the killed transaction's batch id out again, so the id is not asserted.
    expect(again.stdout).toMatch(new RegExp(`^loaded ${BIG_COUNT} addresses \\(index ${BIG_FIRST}\\.\\.${BIG_FIRST + BIG_COUNT - 1}\\) as batch #\\d+\n$`));
    expect((await snapshot(backend.url)).status).toEqual({
      available: BASE_COUNT + BIG_COUNT, assigned: 0, used: 0, nextIndex: BIG_FIRST + BIG_COUNT, batches: 2,
    });
  });

  it('adds a second account only with --add-account', async () => {
    const r = await load(backend.url, file('other.csv'), ['--add-account']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^loaded 100 addresses \(index 0\.\.99\) as batch #\d+\n$/);
    expect(r.stderr).toMatch(/^added a second account to the pool: wpkh\(xpub661MyMwAqRbc/);
  });

  it('a file that does not exist is a usage error', async () => {
    const r = await load(backend.url, file('missing.csv'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: batch file ".*missing\.csv" not found/);
  });
});

describe('coldpool pool load without a usable database', () => {
  it('exits 5 when MariaDB cannot be reached', async () => {
    const r = await load('mysql://root@127.0.0.1:1/coldpool', file('base.csv'));
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^error: cannot reach the database mysql:\/\/root@127\.0\.0\.1:1\/coldpool: ECONNREFUSED/);
  });

  it('exits 4 on a database that was never migrated', async () => {
    const d = tempDir('coldpool-load-nomig-');
    writeFileSync(join(d, 'pool.db'), '');
    const r = await load(`sqlite:${join(d, 'pool.db')}`, file('base.csv'));
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/is not migrated .*\nhint: run `coldpool db migrate` first/);
    rmSync(d, { recursive: true, force: true });
  });

  it('exits 5 naming the file, and creates nothing, when the SQLite file does not exist', async () => {
    const d = tempDir('coldpool-load-nofile-');
    const r = await load(`sqlite:${join(d, 'missing', 'pool.db')}`, file('base.csv'));
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`no SQLite database at ${join(d, 'missing', 'pool.db')}`);
    expect(existsSync(join(d, 'missing'))).toBe(false);
    rmSync(d, { recursive: true, force: true });
  });
});
