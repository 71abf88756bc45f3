/**
 * Worker thread of flows/derive-range: derives one chunk of addresses and
 * posts them back as one newline-joined string (one copy instead of
 * thousands of small strings crossing the thread boundary).
 */
import { parentPort } from 'node:worker_threads';
import { deriveAddresses } from '../core/derive.js';
import { NETWORKS, type NetworkName } from '../core/network.js';
import { STOP } from './derive-workers.js';

export interface DeriveJob {
  readonly id: number;
  readonly publicKey: Uint8Array;
  readonly chainCode: Uint8Array;
  readonly network: NetworkName;
  readonly first: number;
  readonly count: number;
}

parentPort?.on('message', (job: DeriveJob | typeof STOP) => {
  if (job === STOP) {
    // Nothing else keeps this thread alive: closing the port lets it end on its own.
    parentPort!.close();
    return;
  }
  try {
    const node = { publicKey: new Uint8Array(job.publicKey), chainCode: new Uint8Array(job.chainCode) };
    const text = deriveAddresses(node, NETWORKS[job.network], job.first, job.count).join('\n');
    parentPort!.postMessage({ id: job.id, text });
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) });
  }
});
