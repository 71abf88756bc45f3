import { fileURLToPath } from 'node:url';

/**
 * The file a derivation worker thread runs: the compiled derive-worker.js
 * beside this module, or undefined where there is none to run.
 *
 * The offline bundle (offline/build.mjs) puts offline/shims/derive-worker-file.ts
 * in this module's place: the bundle derives on its own thread, so that it
 * never executes a file beside it that its SHA256SUMS does not cover.
 */
export const deriveWorkerFile: string | undefined = fileURLToPath(new URL('./derive-worker.js', import.meta.url));
