/**
 * The separation DESIGN.md rests on, checked on the import graph of the
 * sources: the online program (`coldpool`) never reaches the key-handling
 * code, and the offline signer (`coldpool-offline`) never reaches the store,
 * chain or notify code, nor anything that opens a socket or a database.
 *
 * Only our own sources are walked (from each program's main.ts); a package
 * counts as imported when one of those files imports it directly.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { importGraph, pathTo, type ImportGraph } from './support/import-graph.js';
import { repositoryUses } from './support/repository-uses.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Rule {
  /** Directories (relative to the root, ending in /) no reachable file may lie in. */
  readonly forbiddenDirs: readonly string[];
  /** Packages or built-ins no reachable file may import. */
  readonly forbiddenPackages: readonly string[];
}

const ONLINE: Rule = {
  forbiddenDirs: ['src/keys/'],
  // bip39 turns a mnemonic into a seed: only the signer may hold one.
  forbiddenPackages: ['bip39'],
};

const OFFLINE: Rule = {
  forbiddenDirs: ['src/store/', 'src/chain/', 'src/notify/'],
  forbiddenPackages: [
    'node:net', 'node:http', 'node:https', 'node:http2', 'node:tls', 'node:dgram', 'node:dns',
    'mysql2', 'better-sqlite3', 'nodemailer',
  ],
};

/** Every breach of `rule`, each with the import chain that leads to it. */
function violations(graph: ImportGraph, entry: string, rule: Rule): string[] {
  const out: string[] = [];
  for (const file of graph.files) {
    const dir = rule.forbiddenDirs.find((d) => file.startsWith(d));
    if (dir) out.push(`reaches ${dir}: ${pathTo(graph, entry, file).join(' -> ')}`);
  }
  for (const pkg of rule.forbiddenPackages) {
    for (const file of graph.packages.get(pkg) ?? []) out.push(`imports ${pkg}: ${pathTo(graph, entry, file).join(' -> ')}`);
  }
  for (const u of graph.unresolved) out.push(`unresolved import ${u}`);
  return out;
}

describe('import graph of the two programs', () => {
  const programs = [
    { program: 'coldpool (online)', entry: 'src/cli/online/main.ts', rule: ONLINE },
    { program: 'coldpool-offline (signer)', entry: 'src/cli/offline/main.ts', rule: OFFLINE },
  ];

  it.each(programs)('$program: walks from $entry through its commands into core', ({ entry }) => {
    const graph = importGraph(ROOT, entry);
    expect(graph.files.has(entry)).toBe(true);
    expect([...graph.files].some((f) => f.startsWith('src/core/'))).toBe(true);
    expect(graph.packages.has('commander')).toBe(true);
  });

  it.each(programs)('$program: nothing forbidden is reachable', ({ entry, rule }) => {
    expect(violations(importGraph(ROOT, entry), entry, rule)).toEqual([]);
  });

  it('operator keys and the trust file (src/trust) reach neither src/keys nor the store: both programs may import them', () => {
    const online = importGraph(ROOT, 'src/cli/online/main.ts');
    expect(online.files.has('src/trust/operator-key.ts')).toBe(true);
    // the signer reads its own trust file and checks approvals with it
    const offline = importGraph(ROOT, 'src/cli/offline/main.ts');
    for (const f of ['src/trust/trust-file.ts', 'src/core/trust.ts', 'src/core/approval.ts', 'src/core/output-approvals.ts']) expect(offline.files.has(f), f).toBe(true);
    for (const entry of ['src/trust/operator-key.ts', 'src/trust/trust-file.ts']) {
      const graph = importGraph(ROOT, entry);
      expect(violations(graph, entry, ONLINE)).toEqual([]);
      expect(violations(graph, entry, OFFLINE)).toEqual([]);
    }
  });

  it('the signer reaches src/keys and its derivation worker (the walker sees what it must)', () => {
    const graph = importGraph(ROOT, 'src/cli/offline/main.ts');
    expect([...graph.files].some((f) => f.startsWith('src/keys/'))).toBe(true);
    expect(graph.files.has('src/flows/derive-worker.ts')).toBe(true); // named by new URL(…, import.meta.url)
    expect(graph.packages.has('bip39')).toBe(true);
  });
});

/** Every edge from a file under `from` to a file under one of `to`, except the allowed targets. */
function crossings(graph: ImportGraph, from: string, to: readonly string[], allowed: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const [file, targets] of graph.edges) {
    if (!file.startsWith(from)) continue;
    for (const t of targets) if (to.some((d) => t.startsWith(d)) && !allowed.includes(t)) out.push(`${file} -> ${t}`);
  }
  return out.sort();
}

describe('layers: the CLI reaches data through one door, flows through ports only', () => {
  const online = importGraph(ROOT, 'src/cli/online/main.ts');

  it('the walker sees the CLI\'s edges into the store (the check below can fail)', () => {
    expect(crossings(online, 'src/cli/', ['src/store/'])).toContain('src/cli/online/database.ts -> src/store/db.ts');
  });

  it('the CLI imports no store module but the handle (store/db.ts): the configuration owns the URL, the handle parses it', () => {
    expect(crossings(online, 'src/cli/', ['src/store/'], ['src/store/db.ts'])).toEqual([]);
  });

  it('one configuration: no file of the online program but cli/online/config.ts reads COLDPOOL_* or config.json', () => {
    // Code without comments; a read is `env.COLDPOOL_…`, `process.env.X` or the file name as a literal
    // (help texts that name the variables are not reads). COLDPOOL_DEBUG (stack traces) is not configuration.
    const reads = (f: string): boolean => /\benv\.COLDPOOL_(?!DEBUG\b)|\bprocess\.env\.(?!COLDPOOL_DEBUG\b)\w|\benv\[|'config\.json'/
      .test(readFileSync(join(ROOT, f), 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, ''));
    expect(reads('src/cli/online/config.ts')).toBe(true);
    expect([...online.files].filter((f) => f !== 'src/cli/online/config.ts' && reads(f))).toEqual([]);
  });

  it('the CLI opens the database in one place: only cli/online/database.ts (withDatabase) imports store/db.ts', () => {
    expect([...new Set(crossings(online, 'src/cli/', ['src/store/db.ts']))]).toEqual(['src/cli/online/database.ts -> src/store/db.ts']);
  });

  it('no CLI file uses a repository itself (db.pool.claim, store.observe, …): commands call flows, flows call repositories', () => {
    const { uses, repositories } = repositoryUses(ROOT, 'src/cli/');
    // the ports the check looks for are Database's properties; a new repository is covered without touching this test
    expect(repositories).toEqual(['AuditLog', 'ChainStore', 'LedgerFeed', 'LedgerMirror', 'PayoutStore', 'PoolStore', 'VerificationFeed', 'VerifierStore', 'WatcherStateStore', 'WithdrawalStore']);
    expect(uses).toEqual([]);
  }, 60_000);

  it('flows import no adapter (store, chain, notify): only core and each other (every file of src/flows, reached or not)', () => {
    const flows = readdirSync(join(ROOT, 'src/flows')).filter((f) => f.endsWith('.ts')).map((f) => `src/flows/${f}`);
    expect(flows.length).toBeGreaterThan(5);
    const edges = flows.flatMap((f) => crossings(importGraph(ROOT, f), 'src/flows/', ['src/store/', 'src/chain/', 'src/notify/']));
    expect([...new Set(edges)]).toEqual([]);
  });

  it('commands do not import each other: shared groups and options come from cli/online/options.ts and config.ts', () => {
    const shared = ['main', 'options', 'database', 'config', 'withdrawal-context', 'payout-files'].map((n) => `src/cli/online/${n}.ts`);
    const commandFiles = [...online.files].filter((f) => f.startsWith('src/cli/online/') && !shared.includes(f));
    expect(commandFiles.length).toBeGreaterThan(10);
    const edges = commandFiles.flatMap((f) => (online.edges.get(f) ?? []).filter((t) => commandFiles.includes(t)).map((t) => `${f} -> ${t}`));
    expect(edges).toEqual([]);
  });

  it('core imports nothing outside core', () => {
    expect(crossings(online, 'src/core/', ['src/store/', 'src/chain/', 'src/notify/', 'src/flows/', 'src/cli/', 'src/keys/', 'src/demo/'])).toEqual([]);
  });
});

describe('the walker catches a forbidden import (fixture graph in a temp dir)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coldpool-import-graph-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  write('src/core/ok.ts', "import { x } from './leaf.js';\nexport const ok = x;\n");
  write('src/core/leaf.ts', "export const x = 1;\n// import { seed } from '../keys/seed.js'; (a comment is not an import)\n");
  write('src/keys/seed.ts', "import * as bip39 from 'bip39';\nexport const seed = bip39;\n");
  write('src/store/db.ts', "import mysql from 'mysql2/promise';\nexport const db = mysql;\n");
  write('src/flows/worker.ts', "import net from 'net';\nexport const n = net;\n");
  write('src/cli/online/clean.ts', "import { ok } from '../../core/ok.js';\nexport const clean = ok;\n");
  write('src/cli/online/main.ts', "import { ok } from '../../core/ok.js';\nexport async function load() {\n  return import('./helper.js');\n}\nexport const m = ok;\n");
  write('src/cli/online/helper.ts', "export * from '../../keys/seed.js';\n");
  write('src/cli/offline/main.ts', [
    "import type { Db } from '../../store/db.js';",
    "import { fileURLToPath } from 'node:url';",
    "export const worker = fileURLToPath(new URL('../../flows/worker.js', import.meta.url));",
    "export type D = Db;",
    '',
  ].join('\n'));
  write('src/cli/offline/broken.ts', "import { gone } from './missing.js';\nexport const b = gone;\n");

  it('online: a dynamic import that re-exports src/keys is found, with its chain and bip39', () => {
    const graph = importGraph(dir, 'src/cli/online/main.ts');
    expect(violations(graph, 'src/cli/online/main.ts', ONLINE)).toEqual([
      'reaches src/keys/: src/cli/online/main.ts -> src/cli/online/helper.ts -> src/keys/seed.ts',
      'imports bip39: src/cli/online/main.ts -> src/cli/online/helper.ts -> src/keys/seed.ts',
    ]);
  });

  it('online: a clean entry passes, and a commented-out import is not an edge', () => {
    expect(violations(importGraph(dir, 'src/cli/online/clean.ts'), 'src/cli/online/clean.ts', ONLINE)).toEqual([]);
  });

  it('offline: a type-only import of src/store and a worker file that imports net are both found', () => {
    const graph = importGraph(dir, 'src/cli/offline/main.ts');
    expect(violations(graph, 'src/cli/offline/main.ts', OFFLINE).sort()).toEqual([
      'imports mysql2: src/cli/offline/main.ts -> src/store/db.ts',
      'imports node:net: src/cli/offline/main.ts -> src/flows/worker.ts',
      'reaches src/store/: src/cli/offline/main.ts -> src/store/db.ts',
    ]);
  });

  it('an import that does not resolve is reported, not skipped', () => {
    const graph = importGraph(dir, 'src/cli/offline/broken.ts');
    expect(violations(graph, 'src/cli/offline/broken.ts', OFFLINE)).toEqual(['unresolved import src/cli/offline/broken.ts: ./missing.js']);
  });
});

describe('the repository check catches a use however the repository is reached (fixture tree in a temp dir)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coldpool-repo-uses-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  write('src/core/ports.ts', [
    'export interface PoolStore { readonly label: string; claim(user: string): Promise<string>; status(): Promise<number> }',
    'export interface AuditLog { verify(): Promise<boolean> }',
    'export interface LogStore extends AuditLog { readonly label: string }',
    'export interface Database { readonly label: string; readonly dialect: string; readonly pool: PoolStore; readonly log: LogStore; migrate(): Promise<void> }',
    '',
  ].join('\n'));
  write('src/flows/claim.ts', "import type { PoolStore } from '../core/ports.js';\nexport const claim = (pool: PoolStore, user: string) => pool.claim(user);\n");
  write('src/cli/online/direct.ts', [
    "import type { Database, LogStore, PoolStore } from '../../core/ports.js';",
    'export const direct = (db: Database) => db.pool.claim("u");',
    'export const aliased = (db: Database) => { const store = db.pool; return store.status(); };',
    'export const passed = (db: Database, fn: (s: PoolStore) => Promise<number>) => fn(db.pool).then(() => db.pool["claim"]("v"));',
    'export const destructured = ({ pool }: Database) => { const { claim, label } = pool; return [claim, label]; };',
    'export const inherited = (log: LogStore) => log.verify();',
    '',
  ].join('\n'));
  write('src/cli/online/clean.ts', [
    "import type { Database } from '../../core/ports.js';",
    "import { claim } from '../../flows/claim.js';",
    '// db.pool.claim("in a comment") is no use',
    'export const clean = async (db: Database) => `${await claim(db.pool, "u")} ${db.pool.label} ${db.label} ${db.dialect}`;',
    'export const migrate = (db: Database) => db.migrate();',
    '',
  ].join('\n'));

  it('direct, aliased, element, destructured and inherited uses are found; a flow call, label and the handle\'s own methods are not', () => {
    expect(repositoryUses(dir, 'src/cli/')).toEqual({
      repositories: ['LogStore', 'PoolStore'],
      uses: [
        'src/cli/online/direct.ts:2: db.pool.claim',
        'src/cli/online/direct.ts:3: store.status',
        'src/cli/online/direct.ts:4: db.pool.["claim"]',
        'src/cli/online/direct.ts:5: { claim, label }.claim',
        'src/cli/online/direct.ts:6: log.verify',
      ],
    });
  }, 60_000);
});
