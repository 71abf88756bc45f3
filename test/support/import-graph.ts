/**
 * The static import graph of the TypeScript sources, for test/import-graph.
 *
 * Edges are every module specifier TypeScript's own pre-processor finds in a
 * file (`import … from`, `export … from`, `import '…'`, `import type`,
 * dynamic `import('…')`, `require('…')`, so comments and strings in doc
 * examples do not count), plus `new URL('./x.js', import.meta.url)`, the way
 * a worker thread's file is named. Relative `.js` specifiers resolve to the
 * `.ts` file next to them; bare specifiers become package names (`bip39`,
 * `mysql2` for `mysql2/promise`) and Node built-ins are written `node:x`
 * whether or not the source used the prefix.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface ImportGraph {
  /** Source files reached, relative to the root, with `/` separators. */
  readonly files: Set<string>;
  /** Packages and built-ins imported by those files → the files importing them. */
  readonly packages: Map<string, string[]>;
  /** file → the files it imports (to print a path to an offending file). */
  readonly edges: Map<string, string[]>;
  /** Relative specifiers that did not resolve to a file (a broken import is reported, not ignored). */
  readonly unresolved: string[];
}

const WORKER_URL = /new\s+URL\(\s*(['"])(\.{1,2}\/[^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g;

function specifiers(source: string): string[] {
  const info = ts.preProcessFile(source, true, true);
  const out = info.importedFiles.map((f) => f.fileName);
  for (const m of source.matchAll(WORKER_URL)) out.push(m[2]!);
  return out;
}

function resolveRelative(fromFile: string, spec: string): string | undefined {
  const base = resolve(dirname(fromFile), spec);
  const candidates = spec.endsWith('/')
    ? [] // a directory URL such as new URL('../../sql/', …) names data, not code
    : [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), base, `${base}.ts`, resolve(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile() && /\.(m?ts|m?js)$/.test(c));
}

function packageName(spec: string): string {
  if (spec.startsWith('node:')) return spec;
  if (isBuiltin(spec)) return `node:${spec}`;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Walk from `entry` (a path relative to `root`) through every reachable source file. */
export function importGraph(root: string, entry: string): ImportGraph {
  const files = new Set<string>();
  const packages = new Map<string, string[]>();
  const edges = new Map<string, string[]>();
  const unresolved: string[] = [];
  const rel = (abs: string): string => relative(root, abs).split('\\').join('/');
  const queue = [resolve(root, entry)];
  if (!existsSync(queue[0]!)) throw new Error(`import graph: entry ${entry} does not exist under ${root}`);
  while (queue.length > 0) {
    const file = queue.pop()!;
    const name = rel(file);
    if (files.has(name)) continue;
    files.add(name);
    const targets: string[] = [];
    edges.set(name, targets);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = resolveRelative(file, spec);
        if (target) {
          targets.push(rel(target));
          queue.push(target);
        } else if (!spec.endsWith('/')) {
          unresolved.push(`${name}: ${spec}`);
        }
      } else {
        const pkg = packageName(spec);
        packages.set(pkg, [...(packages.get(pkg) ?? []), name]);
      }
    }
  }
  return { files, packages, edges, unresolved };
}

/** One import chain from `entry` to `target`, for a readable failure message. */
export function pathTo(graph: ImportGraph, entry: string, target: string): string[] {
  const prev = new Map<string, string>();
  const seen = new Set([entry]);
  const queue = [entry];
  while (queue.length > 0) {
    const at = queue.shift()!;
    if (at === target) break;
    for (const next of graph.edges.get(at) ?? []) {
      if (!seen.has(next)) { seen.add(next); prev.set(next, at); queue.push(next); }
    }
  }
  const path = [target];
  while (prev.has(path[0]!)) path.unshift(prev.get(path[0]!)!);
  return path[0] === entry ? path : [];
}
