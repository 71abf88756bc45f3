import { CodedError, show } from '../core/errors.js';

/**
 * Where the pool lives, parsed from `--db URL` or `COLDPOOL_DB`:
 *
 * - `sqlite:PATH`, also `sqlite://PATH`
 * - `mysql://user:pass@host:port/db` (MySQL 8 / MariaDB 10.6+)
 * - `mysql://user@localhost/db?socket=/run/mysqld/mysqld.sock` (Debian's
 *   MariaDB lets root in through the unix socket only)
 * - `?connectionLimit=N` (pool size, default 10); `?localInfile=0`: never
 *   offer the server `LOAD DATA LOCAL INFILE` (pool load then INSERTs; it
 *   does too when the server refuses it, MySQL 8's default)
 *
 * The password is kept out of `label`, which is what messages show.
 */
export type DbTarget =
  | { readonly dialect: 'sqlite'; readonly path: string; readonly label: string }
  | {
      readonly dialect: 'mysql';
      readonly host: string;
      readonly port: number;
      readonly socketPath: string | undefined;
      readonly user: string;
      readonly password: string;
      readonly database: string;
      /** Pool size (`?connectionLimit=N`), default 10. */
      readonly connectionLimit: number;
      /** Offer the server LOAD DATA LOCAL INFILE (batch rows only); `?localInfile=0` turns it off. */
      readonly localInfile: boolean;
      readonly label: string;
    };

/**
 * @example
 * parseDbUrl('mysql://coldpool_web:secret@db.internal:3306/coldpool')
 * // { dialect: 'mysql', host: 'db.internal', port: 3306, label: 'mysql://coldpool_web@db.internal:3306/coldpool', … }
 */
export function parseDbUrl(url: string): DbTarget {
  const text = url.trim();
  if (text.startsWith('sqlite:')) {
    const path = text.slice('sqlite:'.length).replace(/^\/\/(?=\/|\.)/, '');
    if (path === '') throw usage(text, 'sqlite:PATH needs a file path, e.g. sqlite:./coldpool.db');
    return { dialect: 'sqlite', path, label: `sqlite:${path}` };
  }
  if (text.startsWith('mysql://') || text.startsWith('mariadb://')) return parseMysqlUrl(text);
  throw usage(redact(text), 'use sqlite:PATH or mysql://user:pass@host:port/db');
}

function parseMysqlUrl(text: string): DbTarget {
  let u: URL;
  try {
    u = new URL(text.replace(/^mariadb:/, 'mysql:'));
  } catch {
    throw usage(redact(text), 'expected mysql://user:pass@host:port/db');
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(database)) throw usage(redact(text), 'the path must be a database name, e.g. mysql://user:pass@127.0.0.1:3306/coldpool');
  const user = decodeURIComponent(u.username);
  if (user === '') throw usage(redact(text), 'the URL must name a user, e.g. mysql://coldpool_web:pass@host/coldpool');
  const port = u.port === '' ? 3306 : Number(u.port);
  const socketPath = u.searchParams.get('socket') ?? undefined;
  const limitText = u.searchParams.get('connectionLimit');
  const connectionLimit = limitText === null ? 10 : Number(limitText);
  if (!Number.isInteger(connectionLimit) || connectionLimit < 1 || connectionLimit > 1000) {
    throw usage(redact(text), '"connectionLimit" expected an integer 1..1000');
  }
  const localInfileText = u.searchParams.get('localInfile') ?? '1';
  if (localInfileText !== '0' && localInfileText !== '1') throw usage(redact(text), '"localInfile" expected 0 or 1');
  const host = u.hostname.replace(/^\[|\]$/g, '') || 'localhost';
  const where = socketPath ? `${host}/${database} (socket ${socketPath})` : `${host}:${port}/${database}`;
  return {
    dialect: 'mysql',
    host,
    port,
    socketPath,
    user,
    password: decodeURIComponent(u.password),
    database,
    connectionLimit,
    localInfile: localInfileText === '1',
    label: `mysql://${user}@${where}`,
  };
}

/** The URL with any password replaced by `***`, safe for messages and logs. */
export function redact(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@]*@/i, '$1:***@');
}

function usage(shown: string, hint: string): CodedError {
  return new CodedError('USAGE', `"--db" expected sqlite:PATH or mysql://user:pass@host:port/db, got ${show(shown)}`, { hint });
}
