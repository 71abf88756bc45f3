/**
 * The separation DESIGN.md rests on, checked on the import graph of the
 * sources: the online program (`coldpool`) never reaches the key-handling
 * code, and the offline signer (`coldpool-offline`) never reaches the store,
 * chain or notify code, nor anything that opens a socket or a database.
 *
 * Only our own sources are walked (from each program's main.ts); a package
 * counts as imported when one of those files imports it directly.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { importGraph, pathTo, type ImportGraph } from './support/import-graph.js';

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

  it('the CLI imports no store module: only the handle (store/db.ts) and the URL parser (store/db-url.ts)', () => {
    expect(crossings(online, 'src/cli/', ['src/store/'], ['src/store/db.ts', 'src/store/db-url.ts'])).toEqual([]);
  });

  it('flows import no adapter (store, chain, notify): only core and each other', () => {
    const demo = importGraph(ROOT, 'src/demo/run-demo.ts');
    const edges = [...crossings(online, 'src/flows/', ['src/store/', 'src/chain/', 'src/notify/']), ...crossings(demo, 'src/flows/', ['src/store/', 'src/chain/', 'src/notify/'])];
    expect([...new Set(edges)]).toEqual([]);
  });

  it('commands do not import each other: shared groups and options come from cli/online/options.ts', () => {
    const shared = ['main', 'options', 'database', 'db-option', 'withdrawal-context', 'watch-config'].map((n) => `src/cli/online/${n}.ts`);
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
