#!/usr/bin/env node
// Builds the air-gapped signer as ONE file that runs with plain `node` and no
// node_modules: offline/dist/coldpool-offline.mjs, and SHA256SUMS beside it.
//
//   node offline/build.mjs [--out DIR]      (npm run build:offline)
//
// Reproducible: the same commit gives the same bytes on any machine and in
// any checkout directory. esbuild is pinned exactly (package.json), paths in
// the output are relative to the repository, and nothing time- or
// machine-dependent is written (no banner date, no source map, no metafile).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = 'coldpool-offline.mjs';

/** Node built-ins that open sockets: the signer must import none of them. */
const NETWORK_MODULES = ['net', 'tls', 'http', 'https', 'http2', 'dgram', 'dns', 'dns/promises', 'inspector'];

const { values } = parseArgs({ options: { out: { type: 'string' } }, strict: true });
const outDir = resolve(values.out ?? resolve(root, 'offline', 'dist'));

/**
 * Swaps what cannot work inside a bundle:
 * - src/core/secp256k1-libraries.ts loads its libraries with `require` from
 *   node_modules (and the native addon first): replaced by
 *   offline/shims/secp256k1-libraries.ts, tiny-secp256k1 only;
 * - src/flows/derive-worker-file.ts names a worker file beside the bundle:
 *   replaced by offline/shims/derive-worker-file.ts, none (derive runs on
 *   the main thread, so the bundle never runs a file its checksum misses);
 * - tiny-secp256k1's wasm_loader.js reads secp256k1.wasm from beside itself:
 *   replaced by the same loader over the wasm bytes embedded in the bundle;
 * - bin/coldpool-offline.js imports the compiled dist/: pointed at src/, so
 *   the bundle never depends on a stale or missing `npm run build`.
 */
const swaps = { 'secp256k1-libraries': 0, 'derive-worker-file': 0, wasm: 0, entry: 0 };
const bundlePlugin = {
  name: 'coldpool-offline',
  setup(build) {
    build.onResolve({ filter: /\/dist\/cli\/offline\/main\.js$/ }, () => {
      swaps.entry++;
      return { path: resolve(root, 'src/cli/offline/main.ts') };
    });
    build.onResolve({ filter: /\/(secp256k1-libraries|derive-worker-file)\.js$/ }, (args) => {
      if (!args.importer.startsWith(resolve(root, 'src') + '/')) return undefined; // a shim's own type import
      const name = args.path.slice(args.path.lastIndexOf('/') + 1, -'.js'.length);
      swaps[name]++;
      return { path: resolve(root, 'offline/shims', `${name}.ts`) };
    });
    build.onLoad({ filter: /[\\/]tiny-secp256k1[\\/]lib[\\/]wasm_loader\.js$/ }, (args) => {
      swaps.wasm++;
      return {
        resolveDir: dirname(args.path),
        loader: 'js',
        // tiny-secp256k1's own wasm_loader.js, with the file read replaced by embedded bytes.
        contents: [
          'import binary from "./secp256k1.wasm";',
          'import * as rand from "./rand.js";',
          'import * as validate_error from "./validate_error.js";',
          'const imports = { "./rand.js": rand, "./validate_error.js": validate_error };',
          'const instance = new WebAssembly.Instance(new WebAssembly.Module(binary), imports);',
          'export default instance.exports;',
        ].join('\n'),
      };
    });
  },
};

const { version } = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
/**
 * The CommonJS dependencies (commander, bitcoinjs-lib, bip39, …) call
 * `require` for Node built-ins, which an ES module lacks: give them one that
 * loads built-ins only, so nothing can ever be picked up from a node_modules
 * that happens to lie beside or above the bundle.
 */
const BANNER = [
  `// coldpool-offline ${version}: the air-gapped signer in one file, built by offline/build.mjs. Run: node ${BUNDLE} --help`,
  'import { createRequire as __coldpoolCreateRequire, isBuiltin as __coldpoolIsBuiltin } from "node:module";',
  'const require = ((load) => (id) => {',
  '  if (!__coldpoolIsBuiltin(id)) throw new Error(`coldpool-offline: ${id} is not in the bundle (a bug of offline/build.mjs)`);',
  '  return load(id);',
  '})(__coldpoolCreateRequire(import.meta.url));',
].join('\n');
const outfile = resolve(outDir, BUNDLE);
mkdirSync(outDir, { recursive: true });
const result = await esbuild.build({
  absWorkingDir: root, // the "// path" comments in the output are relative to it
  entryPoints: ['bin/coldpool-offline.js'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.17',
  loader: { '.wasm': 'binary' },
  plugins: [bundlePlugin],
  banner: { js: BANNER },
  legalComments: 'eof',
  charset: 'utf8',
  sourcemap: false,
  metafile: true,
  logLevel: 'warning',
});

const fail = (message) => {
  console.error(`build:offline: ${message}`);
  process.exit(1);
};
if (result.warnings.length > 0) fail(`esbuild warned (${result.warnings.length}); a warning here can mean a module left out`);
if (Object.values(swaps).includes(0) || swaps.entry !== 1 || swaps.wasm !== 1) {
  fail(`expected to swap each of ${Object.keys(swaps).join(', ')}, swapped ${JSON.stringify(swaps)}: did a module move or a dependency change shape?`);
}
const inputs = Object.keys(result.metafile.inputs);
const native = inputs.filter((p) => p.endsWith('.node') || p.includes('node_modules/secp256k1/') || p.endsWith('wasm_loader.cjs'));
if (native.length > 0) fail(`native or file-reading curve code reached the bundle: ${native.join(', ')}`);
const external = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
const notBuiltin = external.filter((p) => !p.startsWith('node:') && !isBuiltin(p));
if (notBuiltin.length > 0) fail(`the bundle would need modules from outside: ${notBuiltin.join(', ')}`);
const sockets = external.filter((p) => NETWORK_MODULES.includes(p.replace(/^node:/, '')));
if (sockets.length > 0) fail(`the signer must not import network modules: ${[...new Set(sockets)].join(', ')}`);

const bytes = readFileSync(outfile);
const sha256 = createHash('sha256').update(bytes).digest('hex');
// The format `sha256sum -c SHA256SUMS` reads: hash, two spaces, file name.
writeFileSync(resolve(outDir, 'SHA256SUMS'), `${sha256}  ${BUNDLE}\n`);
console.log(`${relative(process.cwd(), outfile) || outfile}  ${bytes.length} bytes\nsha256 ${sha256}`);
