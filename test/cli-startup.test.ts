/**
 * What the online program loads before it runs a command. `pool load` (the
 * 10,000-address load has a one-second goal, node start-up included) and
 * `pool claim` (run per deposit request by web apps that shell out) must not
 * pay for the modules of the commands they are not: bitcoinjs-lib (payouts,
 * chain), node-cron and nodemailer (the watcher), the prompts library (review),
 * qrcode, and mysql2 when the database is SQLite. main.ts defines only the
 * command on the command line, and those commands import their heavy parts
 * when they run; this test holds both in place.
 *
 * The real CLI runs with a module hook (`node --import`) that records every
 * import the process resolves.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from './support/cli.js';

const HOOK = pathToFileURL(join(ROOT, 'test', 'support', 'record-loads.mjs')).href;
const ZPUB = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
/** Packages no pool command needs at start-up (mysql2: not on SQLite). */
const HEAVY = ['bitcoinjs-lib', 'bip32', 'node-cron', 'nodemailer', '@inquirer/prompts', 'qrcode', 'mysql2'];

let dir = '';
let db = '';
let runs = 0;

/** Run `coldpool ARGS` under the hook: its exit code and the packages it imported. */
async function packagesLoadedBy(args: readonly string[]): Promise<{ code: number | null; stderr: string; packages: Set<string> }> {
  const log = join(dir, `loads-${++runs}.txt`);
  const r = await runCli('coldpool', args, { env: { NODE_OPTIONS: `--import ${HOOK}`, COLDPOOL_TEST_LOADS: log } });
  const packages = new Set<string>();
  for (const url of readFileSync(log, 'utf8').split('\n')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m) packages.add(m[1]!);
  }
  return { code: r.code, stderr: r.stderr, packages };
}

beforeAll(async () => {
  dir = tempDir('coldpool-startup-');
  db = `sqlite:${join(dir, 'pool.db')}`;
  const derive = await runCli('coldpool-offline', ['derive', '--descriptor', ZPUB, '--from', '0', '--count', '50', '--out', join(dir, 'batch.csv')]);
  expect(derive.code).toBe(0);
  expect((await runCli('coldpool', ['db', 'migrate', '--db', db])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('what a command loads before it runs', () => {
  it('the hook sees what a command imports: `--help` defines every command but opens no database, `payout broadcast` loads bitcoinjs-lib', async () => {
    const help = await packagesLoadedBy(['--help']);
    expect(help.code).toBe(0);
    for (const pkg of ['commander', 'node-cron']) expect(help.packages).toContain(pkg);
    // The store loads with the first command that opens a database (cli/online/database.ts), never for help.
    expect(help.packages).not.toContain('better-sqlite3');
    const broadcast = await packagesLoadedBy(['payout', 'broadcast', join(dir, 'missing.psbt'), '--db', db]);
    expect(broadcast.code).not.toBe(0);
    expect(broadcast.packages).toContain('bitcoinjs-lib');
  });

  it.each([
    { command: 'pool load', args: () => ['pool', 'load', join(dir, 'batch.csv'), '--db', db], needs: ['commander', 'better-sqlite3', 'bech32'] },
    { command: 'pool claim', args: () => ['--db', db, 'pool', 'claim', '--user', 'u1'], needs: ['commander', 'better-sqlite3'] },
    { command: 'pool status', args: () => ['pool', 'status', '--db', db, '--json'], needs: ['commander', 'better-sqlite3'] },
  ])('`coldpool $command` loads what it needs and none of the other commands\' packages', async ({ args, needs }) => {
    const r = await packagesLoadedBy(args());
    expect(r.stderr).not.toMatch(/^error/m);
    expect(r.code).toBe(0);
    for (const pkg of needs) expect(r.packages).toContain(pkg);
    expect(HEAVY.filter((pkg) => r.packages.has(pkg))).toEqual([]);
  });
});
