/** `--db URL` / COLDPOOL_DB parsing (store/db-url): what each form means, and refusals that name what was wrong. */
import { describe, expect, it } from 'vitest';
import { isCoded } from '../src/core/errors.js';
import { parseDbUrl, redact } from '../src/store/db-url.js';

describe('parseDbUrl', () => {
  it.each([
    ['sqlite:./coldpool.db', { dialect: 'sqlite', path: './coldpool.db', label: 'sqlite:./coldpool.db' }],
    ['sqlite:///var/lib/coldpool/pool.db', { dialect: 'sqlite', path: '/var/lib/coldpool/pool.db' }],
    ['mysql://web:s3cr%40t@db.internal:3307/coldpool', {
      dialect: 'mysql', host: 'db.internal', port: 3307, user: 'web', password: 's3cr@t', database: 'coldpool',
      connectionLimit: 10, localInfile: true, socketPath: undefined, label: 'mysql://web@db.internal:3307/coldpool',
    }],
    ['mariadb://root@localhost/coldpool?socket=/run/mysqld/mysqld.sock&connectionLimit=1&localInfile=0', {
      dialect: 'mysql', host: 'localhost', port: 3306, socketPath: '/run/mysqld/mysqld.sock', connectionLimit: 1, localInfile: false,
      label: 'mysql://root@localhost/coldpool (socket /run/mysqld/mysqld.sock)',
    }],
  ])('%s', (url, expected) => {
    expect(parseDbUrl(url)).toMatchObject(expected);
  });

  it.each([
    ['postgres://u@h/db', /use sqlite:PATH or mysql:/],
    ['sqlite:', /needs a file path/],
    ['mysql://u:pw@h/', /must be a database name/],
    ['mysql://:pw@h/db', /must name a user/],
    ['mysql://u:pw@h/db?connectionLimit=0', /"connectionLimit" expected an integer 1\.\.1000/],
    ['mysql://u:pw@h/db?localInfile=yes', /"localInfile" expected 0 or 1/],
  ])('refuses %s with a usage error naming what was wrong, never the password', (url, hint) => {
    let error: unknown;
    try {
      parseDbUrl(url);
    } catch (e) {
      error = e;
    }
    expect(isCoded(error, 'USAGE')).toBe(true);
    const e = error as Error & { hint?: string };
    expect(`${e.message} ${e.hint ?? ''}`).toMatch(hint);
    expect(e.message).not.toContain('pw@');
  });

  it('redact hides a password, and only that', () => {
    expect(redact('mysql://web:secret@h:3306/db')).toBe('mysql://web:***@h:3306/db');
    expect(redact('mysql://web@h/db')).toBe('mysql://web@h/db');
  });
});
