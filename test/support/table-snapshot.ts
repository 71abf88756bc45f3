/**
 * Every row of some tables, read straight from the database file or server
 * (not through the stores under test), as comparable text: what a refusal
 * must leave exactly as it was.
 */
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { parseDbUrl } from '../../src/store/db-url.js';

const text = (rows: unknown[]): string[] => rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.toISOString() : v)));

/** `table` → its rows each as JSON, sorted. */
export async function snapshotTables(url: string, tables: readonly string[]): Promise<Record<string, string[]>> {
  const target = parseDbUrl(url);
  const out: Record<string, string[]> = {};
  if (target.dialect === 'sqlite') {
    const db = new Database(target.path, { readonly: true });
    try {
      for (const t of tables) out[t] = text(db.prepare(`SELECT * FROM ${t}`).all()).sort();
    } finally {
      db.close();
    }
    return out;
  }
  const c = await mysql.createConnection({ host: target.host, port: target.port, user: target.user, password: target.password, database: target.database, supportBigNumbers: true, bigNumberStrings: true });
  try {
    for (const t of tables) out[t] = text((await c.query(`SELECT * FROM ${t}`))[0] as unknown[]).sort();
  } finally {
    await c.end();
  }
  return out;
}
