/**
 * The air-gapped bundle (`npm run build:offline`, offline/build.mjs):
 * reproducible (two builds, the same bytes), and the bundle copied alone into
 * an empty folder, with no node_modules anywhere above it, run with no
 * network (`unshare -rn`: a new network namespace with only a downed
 * loopback) and with a preload that makes every socket an error, gives
 * byte-for-byte what the package CLI (`bin/coldpool-offline.js` over dist/,
 * native libsecp256k1 and worker threads where they load) gives: `export
 * --json`, `derive` batch files (1,000 addresses, and 5,000, where the
 * package derives on worker threads and the bundle on one), `inspect --json`
 * and a PSBT signed with a trust file and a manifest, and the sign log.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir, type CliResult } from './support/cli.js';
import { approved, buildPayout, manifestText, trustOf, trustText, writeFixtureKeystore } from './support/psbt-fixtures.js';

const BUNDLE = 'coldpool-offline.mjs';
const PASSWORD = 'correct horse battery';
const FIXED_CLOCK = join(ROOT, 'test', 'support', 'fixed-clock.mjs');
const NO_SOCKETS = join(ROOT, 'test', 'support', 'no-sockets.mjs');
const NO_SOCKETS_MARKER = 'NO_SOCKETS: attempted';
// Both programs get both preloads: the same clock, and the same proof of no socket.
const PRELOADS = ['--import', FIXED_CLOCK, '--import', NO_SOCKETS];

const build = async (out: string): Promise<void> => {
  await promisify(execFile)(process.execPath, [join(ROOT, 'offline', 'build.mjs'), '--out', out], { cwd: ROOT });
};
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Why `unshare -rn` cannot run here (no util-linux, no user namespaces), or undefined when it can. */
function unshareUnavailable(): string | undefined {
  const r = spawnSync('unshare', ['-rn', process.execPath, '-e', '0'], { encoding: 'utf8' });
  if (r.error) return `unshare not found (${r.error.message}); it is in util-linux`;
  if (r.status !== 0) return `unshare -rn fails here (${r.stderr.trim() || `exit ${r.status}`}): user or network namespaces not allowed`;
  return undefined;
}
const noUnshare = unshareUnavailable();
if (noUnshare) console.warn(`offline-bundle: the bundle-vs-package tests are skipped: ${noUnshare}`);

/** Every directory from `dir` up to the root that holds a node_modules. */
function nodeModulesAbove(dir: string): string[] {
  const found: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) found.push(join(d, 'node_modules'));
    if (d === parse(d).root) return found;
  }
}

/** `node [preloads] coldpool-offline.mjs …` in its own folder, in a network namespace of its own. */
function runBundle(dir: string, args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-rn', process.execPath, ...PRELOADS, BUNDLE, ...args], {
      cwd: dir, env: { PATH: process.env.PATH, HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The package CLI, `node [preloads] bin/coldpool-offline.js …`, in its own folder. */
function runPackage(dir: string, args: readonly string[]): Promise<CliResult> {
  return runCli('coldpool-offline', args, { cwd: dir, env: { NODE_OPTIONS: PRELOADS.join(' ') } });
}

describe('offline bundle: reproducible build', () => {
  it('two builds into two folders give the same bytes, and SHA256SUMS that sha256sum -c accepts', async () => {
    const [a, b] = [tempDir('coldpool-bundle-a-'), tempDir('coldpool-bundle-b-')];
    await Promise.all([build(a), build(join(b, 'deeper'))]); // a different depth: no output path leaks into the bytes
    const digest = sha256(join(a, BUNDLE));
    expect(sha256(join(b, 'deeper', BUNDLE))).toBe(digest);
    expect(readFileSync(join(a, 'SHA256SUMS'), 'utf8')).toBe(`${digest}  ${BUNDLE}\n`);
    const check = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: a, encoding: 'utf8' });
    expect(check.stdout).toBe(`${BUNDLE}: OK\n`);
    expect(readdirSync(a).sort()).toEqual(['SHA256SUMS', BUNDLE]);
    const text = readFileSync(join(a, BUNDLE), 'utf8');
    expect(text).not.toContain(ROOT); // no absolute path of the checkout
    expect(text).not.toMatch(/\.node["']/); // no native addon to load
  });
});

describe.skipIf(noUnshare !== undefined)('offline bundle alone, no network, no node_modules: the same bytes as the package CLI', () => {
  let bundleDir: string; // the bundle alone, then its inputs
  let packageDir: string; // the same inputs, for bin/coldpool-offline.js

  beforeAll(async () => {
    const built = tempDir('coldpool-bundle-build-');
    await build(built);
    bundleDir = tempDir('coldpool-bundle-run-');
    packageDir = tempDir('coldpool-bundle-pkg-');
    copyFileSync(join(built, BUNDLE), join(bundleDir, BUNDLE));

    // The same input files, at the same relative names, in both folders.
    const inputs = tempDir('coldpool-bundle-inputs-');
    await writeFixtureKeystore(join(inputs, 'cold.keystore'), PASSWORD);
    writeFileSync(join(inputs, 'pw.txt'), `${PASSWORD}\n`);
    const payout = buildPayout({ inputs: [200_000n, 150_000n, 90_000n] });
    writeFileSync(join(inputs, 'payout.psbt'), `${payout.psbt.toBase64()}\n`);
    writeFileSync(join(inputs, 'payout.manifest.json'), manifestText(approved(payout)));
    writeFileSync(join(inputs, 'coldpool-trust.json'), trustText(trustOf(['alice', 'bob'], 2)));
    for (const f of readdirSync(inputs)) {
      copyFileSync(join(inputs, f), join(bundleDir, f));
      copyFileSync(join(inputs, f), join(packageDir, f));
    }
  });

  it('runs from a folder outside the repository with no node_modules in it or any parent', () => {
    expect(bundleDir.startsWith(tmpdir())).toBe(true);
    expect(bundleDir.startsWith(ROOT)).toBe(false);
    expect(nodeModulesAbove(bundleDir)).toEqual([]);
  });

  it('the no-sockets preload does catch a connection (so its silence below means something)', async () => {
    const probe = join(bundleDir, 'probe');
    mkdirSync(probe);
    writeFileSync(join(probe, 'connect.mjs'), "import { connect } from 'node:net';\ntry { connect(9, '127.0.0.1'); } catch {}\n");
    const r = spawnSync(process.execPath, [...PRELOADS, 'connect.mjs'], { cwd: probe, encoding: 'utf8' });
    expect(r.stderr).toContain(`${NO_SOCKETS_MARKER} net.connect`);
  });

  /** The same command in both; both succeed, print the same stdout, and open no socket. */
  async function both(args: readonly string[]): Promise<{ bundle: CliResult; pkg: CliResult }> {
    const [bundle, pkg] = await Promise.all([runBundle(bundleDir, args), runPackage(packageDir, args)]);
    for (const [who, r] of [['bundle', bundle], ['package', pkg]] as const) {
      expect(r.stderr, `${who}: ${args.join(' ')}`).not.toContain(NO_SOCKETS_MARKER);
      expect(r.code, `${who}: ${args.join(' ')}\n${r.stderr}`).toBe(0);
    }
    return { bundle, pkg };
  }

  it('export --json: the same account descriptors', async () => {
    const { bundle, pkg } = await both(['export', '--keystore', 'cold.keystore', '--password-file', 'pw.txt', '--json']);
    expect(bundle.stdout).toBe(pkg.stdout);
    expect(JSON.parse(bundle.stdout)).toHaveProperty('network', 'regtest');
  });

  it('derive: the same batch files of 1,000 and of 5,000 addresses (the package on worker threads, the bundle on one)', async () => {
    for (const [from, count] of [[0, 1_000], [20_000, 5_000]] as const) {
      const out = `batch-${from}.csv`;
      await both(['derive', '--keystore', 'cold.keystore', '--password-file', 'pw.txt', '--from', String(from), '--count', String(count), '--out', out]);
      const bytes = readFileSync(join(bundleDir, out));
      expect(bytes.equals(readFileSync(join(packageDir, out))), out).toBe(true);
      expect(bytes.toString().split('\n').filter((l) => /^\d+,/.test(l))).toHaveLength(count);
    }
  });

  it('inspect --json and sign --trust --manifest: the same review, the same signed PSBT, the same sign log', async () => {
    const review = await both(['inspect', 'payout.psbt', '--keystore', 'cold.keystore', '--password-file', 'pw.txt', '--manifest', 'payout.manifest.json', '--trust', 'coldpool-trust.json', '--json']);
    expect(review.bundle.stdout).toBe(review.pkg.stdout);

    const { bundle, pkg } = await both([
      'sign', 'payout.psbt', '--keystore', 'cold.keystore', '--password-file', 'pw.txt', '--manifest', 'payout.manifest.json',
      '--trust', 'coldpool-trust.json', '--log', 'sign-log.jsonl', '--new-log', '--out', 'signed.psbt', '--yes', '--json',
    ]);
    expect(bundle.stdout).toBe(pkg.stdout);
    expect(JSON.parse(bundle.stdout)).toMatchObject({ signed: true, inputs_signed: 3 });
    const signed = readFileSync(join(bundleDir, 'signed.psbt'));
    expect(signed.equals(readFileSync(join(packageDir, 'signed.psbt')))).toBe(true);
    expect(readFileSync(join(bundleDir, 'sign-log.jsonl'), 'utf8')).toBe(readFileSync(join(packageDir, 'sign-log.jsonl'), 'utf8'));
  });
});
