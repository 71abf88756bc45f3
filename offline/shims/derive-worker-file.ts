/**
 * The offline bundle's src/flows/derive-worker-file.ts (offline/build.mjs
 * puts it in its place): no worker file. The bundle is one file, checked by
 * its SHA256SUMS; a worker would run another file (a derive-worker.js lying
 * beside it, covered by no checksum), so the bundle derives on its own thread
 * (flows/derive-range.ts does that when workerCodeExists() is false), with
 * the same addresses in the same order, ~7,500 per second.
 */
export const deriveWorkerFile: string | undefined = undefined;
