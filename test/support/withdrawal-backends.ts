/**
 * The two real databases of the withdrawal tests: a SQLite temp file and a
 * fresh MariaDB database (127.0.0.1:3306, root) per call, migrated; plus raw
 * SQL for the "third door" and for tampering, and an in-process CLI runner.
 */
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { main } from '../../src/cli/online/main.js';
import type { Output } from '../../src/cli/output.js';
import { openStore } from './open-repos.js';
import { MARIADB_ROOT, tempSqliteUrl, uniqueName } from './pool-fixtures.js';

export interface Backend {
  readonly name: 'sqlite' | 'mariadb';
  /** A fresh, migrated database; dropped by cleanup(). */
  fresh(): Promise<string>;
  /** Run one raw statement (test-only surgery, the raw-SQL door); returns affected rows. */
  exec(url: string, sql: string, params?: unknown[]): Promise<number>;
  query(url: string, sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

export function sqliteBackend(): Backend {
  const cleanups: (() => void)[] = [];
  const open = (url: string) => {
    const db = new Database(url.slice('sqlite:'.length));
    db.defaultSafeIntegers(true);
    return db;
  };
  return {
    name: 'sqlite',
    fresh: async () => {
      const t = tempSqliteUrl();
      cleanups.push(t.cleanup);
      const s = openStore(t.url);
      await s.migrate();
      await s.close();
      return t.url;
    },
    exec: async (url, sql, params = []) => {
      const db = open(url);
      try {
        return db.prepare(sql).run(...params).changes;
      } finally {
        db.close();
      }
    },
    query: async (url, sql, params = []) => {
      const db = open(url);
      try {
        return db.prepare(sql).all(...params) as Record<string, unknown>[];
      } finally {
        db.close();
      }
    },
    cleanup: async () => cleanups.splice(0).forEach((c) => c()),
  };
}

export function mariadbBackend(): Backend {
  const names: string[] = [];
  const conn = (url: string) => mysql.createConnection({ ...MARIADB_ROOT, database: new URL(url).pathname.slice(1), supportBigNumbers: true, bigNumberStrings: true, timezone: 'Z' });
  return {
    name: 'mariadb',
    fresh: async () => {
      const name = uniqueName('coldpool_w');
      names.push(name);
      const c = await mysql.createConnection(MARIADB_ROOT);
      await c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      await c.end();
      const url = `mysql://root@127.0.0.1:3306/${name}`;
      const s = openStore(url);
      await s.migrate();
      await s.close();
      return url;
    },
    exec: async (url, sql, params = []) => {
      const c = await conn(url);
      try {
        const [r] = await c.query(sql, params);
        return (r as { affectedRows: number }).affectedRows;
      } finally {
        await c.end();
      }
    },
    query: async (url, sql, params = []) => {
      const c = await conn(url);
      try {
        const [rows] = await c.query(sql, params);
        return rows as Record<string, unknown>[];
      } finally {
        await c.end();
      }
    },
    cleanup: async () => {
      const c = await mysql.createConnection(MARIADB_ROOT);
      for (const n of names.splice(0)) await c.query(`DROP DATABASE IF EXISTS \`${n}\``);
      await c.end();
    },
  };
}

/** Run `coldpool` in-process (the real commander program) and capture what it prints. */
export async function runOnline(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out: Output = {
    data: (t) => void (stdout += t.endsWith('\n') ? t : `${t}\n`),
    say: (t) => void (stderr += t.endsWith('\n') ? t : `${t}\n`),
    interactive: false,
  };
  const code = await main(args, out);
  return { code, stdout, stderr };
}
