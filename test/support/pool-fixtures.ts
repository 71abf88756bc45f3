import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { VerifiedBatch } from '../../src/core/ports.js';

/**
 * Test fixtures for the pool stores: fake but well-formed batches (the store
 * trusts its caller to have verified them), a SQLite temp file, and a fresh
 * MariaDB database per test file on the machine's server (127.0.0.1:3306,
 * root without password), dropped afterwards.
 */
export const MARIADB_ROOT = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };

export function fakeAddress(account: string, chain: number, index: number): string {
  return `tb1q${createHash('sha256').update(`${account}/${chain}/${index}`).digest('hex').slice(0, 38)}`;
}

export function fakeBatch(opts: { account?: string; chain?: 0 | 1; first?: number; count: number; network?: 'testnet' | 'regtest' | 'mainnet'; tweak?: (a: string[]) => void }): VerifiedBatch {
  const account = opts.account ?? 'A';
  const chain = opts.chain ?? 0;
  const first = opts.first ?? 0;
  const addresses = Array.from({ length: opts.count }, (_, k) => fakeAddress(account, chain, first + k));
  opts.tweak?.(addresses);
  const digest = createHash('sha256').update(JSON.stringify([account, chain, first, addresses])).digest('hex');
  return {
    keyId: createHash('sha256').update(`key ${account}`).digest('hex'),
    descriptor: `wpkh([00000000/84h/1h/0h]tpubFAKE${account}/<0;1>/*)#fake${account}`,
    network: opts.network ?? 'testnet',
    chain,
    first,
    count: opts.count,
    digest,
    created: '2026-11-29T15:00:00.000Z',
    addresses,
  };
}

export function tempSqliteUrl(): { url: string; path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'coldpool-test-'));
  const path = join(dir, 'pool.db');
  return { url: `sqlite:${path}`, path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A fresh database `coldpool_t_<random>` with the schema's collation; drop() removes it. */
export async function createMariaDb(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = uniqueName('coldpool_t');
  const root = await mysql.createConnection(MARIADB_ROOT);
  await root.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await root.end();
  return {
    name,
    url: `mysql://root@127.0.0.1:3306/${name}?connectionLimit=80`,
    drop: async () => {
      const c = await mysql.createConnection(MARIADB_ROOT);
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}

/** What a test file must undo after its last test. */
export type Cleanup = () => Promise<void> | void;

/** A fresh, empty database of `kind`: a SQLite temp file or a new MariaDB database; its removal goes on `cleanups`. */
export async function freshDbUrl(kind: 'sqlite' | 'mariadb', cleanups: Cleanup[]): Promise<string> {
  if (kind === 'sqlite') {
    const t = tempSqliteUrl();
    cleanups.push(t.cleanup);
    return t.url;
  }
  const db = await createMariaDb();
  cleanups.push(db.drop);
  return db.url;
}
