/**
 * sql/mysql/grants.sql applied as shipped to fresh test databases, only the
 * database names, account names and passwords swapped for unique ones, so
 * test files running in parallel never share an account. Used wherever a
 * test must run as the real least-privilege accounts.
 */
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { SQL_DIR } from '../../src/store/migrate.js';
import { runCli } from './cli.js';
import { MARIADB_ROOT, createMariaDb, uniqueName, type Cleanup } from './pool-fixtures.js';

export interface GrantAccounts {
  readonly web: string;
  readonly watcher: string;
  readonly operator: string;
  readonly verifier: string;
  readonly verifierOwn: string;
}

/** Unique account names for one test file, `<prefix>w_…`, `<prefix>o_…`; short enough for MariaDB's 80-character user names. */
export function grantAccounts(prefix: string): GrantAccounts {
  const suffix = uniqueName('g').slice(2);
  return { web: `${prefix}w_${suffix}`, watcher: `${prefix}a_${suffix}`, operator: `${prefix}o_${suffix}`, verifier: `${prefix}v_${suffix}`, verifierOwn: `${prefix}vo_${suffix}` };
}

/** The text of grants.sql for `database` (and the verifier's own `verifierDatabase`), these accounts and one password. */
export function grantsSql(database: string, verifierDatabase: string, users: GrantAccounts, password: string): string {
  return readFileSync(`${SQL_DIR}mysql/grants.sql`, 'utf8')
    .replaceAll('`coldpool`.', `\`${database}\`.`)
    .replaceAll('`coldpool_verifier`', `\`${verifierDatabase}\``)
    .replaceAll("'coldpool_web'", `'${users.web}'`)
    .replaceAll("'coldpool_watcher'", `'${users.watcher}'`)
    .replaceAll("'coldpool_operator'", `'${users.operator}'`)
    .replaceAll("'coldpool_verifier_own'", `'${users.verifierOwn}'`)
    .replaceAll("'coldpool_verifier'", `'${users.verifier}'`)
    .replace(/CHANGE_ME_\w+_password/g, password);
}

/** Drop the accounts (after the test file's last test). */
export async function dropAccounts(users: GrantAccounts): Promise<void> {
  const c = await mysql.createConnection(MARIADB_ROOT);
  try {
    for (const u of Object.values(users)) await c.query(`DROP USER IF EXISTS '${u}'@'%'`);
  } finally {
    await c.end();
  }
}

export interface GrantedDatabases {
  /** The web database's and the verifier's own database's names. */
  readonly name: string;
  readonly verifierName: string;
  readonly users: GrantAccounts;
  readonly password: string;
  /** URLs as each party connects: the operator box, the web app, the verifier on the web database and on its own. */
  readonly operator: string;
  readonly web: string;
  readonly verifierWeb: string;
  readonly verifierOwn: string;
}

/**
 * Two fresh MariaDB databases (the web one migrated by `coldpool db migrate`,
 * the verifier's own empty) and grants.sql applied; their removal and the
 * accounts' go on `cleanups`.
 */
export async function grantedMariaDb(cleanups: Cleanup[], prefix = 'cp'): Promise<GrantedDatabases> {
  const web = await createMariaDb();
  const own = await createMariaDb();
  const users = grantAccounts(prefix);
  cleanups.push(web.drop, own.drop, () => dropAccounts(users));
  const password = `T3st-${uniqueName('pw')}`;
  const migrated = await runCli('coldpool', ['db', 'migrate', '--db', web.url]);
  if (migrated.code !== 0) throw new Error(`db migrate failed: ${migrated.stderr}`);
  const root = await mysql.createConnection({ ...MARIADB_ROOT, multipleStatements: true });
  try {
    await root.query(grantsSql(web.name, own.name, users, password));
  } finally {
    await root.end();
  }
  const as = (user: string, db: string) => `mysql://${user}:${encodeURIComponent(password)}@127.0.0.1:3306/${db}`;
  return {
    name: web.name, verifierName: own.name, users, password,
    operator: as(users.operator, web.name), web: as(users.web, web.name), verifierWeb: as(users.verifier, web.name), verifierOwn: as(users.verifierOwn, own.name),
  };
}
