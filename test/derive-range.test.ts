/**
 * flows/derive-range on worker threads. Worker code exists only compiled, so
 * this test imports the built module from dist/ (`npm test` builds first);
 * under the TypeScript runner the same function derives inline, which is the
 * reference here.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAccountDescriptor, type AccountDescriptor } from '../src/core/descriptor.js';
import { chainNode, deriveAddresses } from '../src/core/derive.js';
import { NETWORKS } from '../src/core/network.js';
import { ROOT } from './support/cli.js';

type DeriveRangeModule = typeof import('../src/flows/derive-range.js');

// BIP84's test account (abandon … about), mainnet.
const ZPUB = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';

let built: DeriveRangeModule;
let account: AccountDescriptor;

beforeAll(async () => {
  const url = pathToFileURL(join(ROOT, 'dist', 'flows', 'derive-range.js')).href;
  built = (await import(url)) as DeriveRangeModule;
  const parsed = parseAccountDescriptor(ZPUB, NETWORKS.mainnet);
  account = { network: parsed.network, key: parsed.key, origin: parsed.origin };
});

async function collect(gen: AsyncGenerator<{ first: number; addresses: string[] }>): Promise<{ firsts: number[]; addresses: string[] }> {
  const firsts: number[] = [];
  const addresses: string[] = [];
  for await (const c of gen) {
    firsts.push(c.first);
    addresses.push(...c.addresses);
  }
  return { firsts, addresses };
}

describe('deriveRange on worker threads (built)', () => {
  it('yields the inline kernel\'s addresses, contiguous and in index order, for a range that is no multiple of a chunk', async () => {
    const from = 123_457;
    const count = 9_999;
    const r = await collect(built.deriveRange(account, 0, from, count, { threads: 2 }));
    expect(r.addresses).toEqual(deriveAddresses(chainNode(account, 0), account.network, from, count));
    expect(r.firsts[0]).toBe(from);
    for (let k = 1; k < r.firsts.length; k++) expect(r.firsts[k]).toBeGreaterThan(r.firsts[k - 1]!);
  });

  it('workers passed in serve one derivation only, and closing them is left to their owner', async () => {
    const workers = built.DeriveWorkers.start(5_000, 2);
    expect(workers.size).toBe(1);
    try {
      const first = await collect(built.deriveRange(account, 1, 0, 5_000, { workers }));
      expect(first.addresses).toEqual(deriveAddresses(chainNode(account, 1), account.network, 0, 5_000));
      await expect(collect(built.deriveRange(account, 1, 0, 5_000, { workers }))).rejects.toThrow(/used for one derivation only/);
    } finally {
      await workers.close();
      await workers.close(); // the same promise: closing twice is harmless
    }
  });

  it('a derivation abandoned after its first chunk does not hang, and the workers still close', async () => {
    const workers = built.DeriveWorkers.start(50_000, 2);
    for await (const chunk of built.deriveRange(account, 0, 0, 50_000, { workers })) {
      expect(chunk.first).toBe(0);
      break;
    }
    await workers.close();
  });

  it('threads started ahead serve the next derivation that wants as many, and are dropped for one that wants none', async () => {
    built.DeriveWorkers.startAhead(2);
    const taken = built.DeriveWorkers.start(5_000, 2);
    expect(taken.size).toBe(1);
    try {
      const r = await collect(built.deriveRange(account, 0, 40_000, 5_000, { workers: taken }));
      expect(r.addresses).toEqual(deriveAddresses(chainNode(account, 0), account.network, 40_000, 5_000));
    } finally {
      await taken.close();
    }
    built.DeriveWorkers.startAhead(2);
    const none = built.DeriveWorkers.start(100, 2);
    expect(none.size).toBe(0);
    await none.close();
  });

  it('close() lets each thread end on its own: exit code 0 (terminate() gives 1)', async () => {
    const workers = built.DeriveWorkers.start(5_000, 2);
    const r = await collect(built.deriveRange(account, 0, 0, 5_000, { workers }));
    expect(r.addresses).toHaveLength(5_000);
    expect(await workers.close()).toEqual([0]);
  });

  it('threads started ahead and never taken end with dropAhead', async () => {
    built.DeriveWorkers.startAhead(2);
    await built.DeriveWorkers.dropAhead();
    const fresh = built.DeriveWorkers.start(5_000, 2);
    expect(fresh.size).toBe(1);
    await fresh.close();
  });

  it('starts threads - 1 workers for a batch worth it, none for a small batch or with threads 0', async () => {
    for (const [count, threads, size] of [[5_000, 2, 1], [5_000, 3, 2], [100, 2, 0], [50_000, 0, 0]] as const) {
      const workers = built.DeriveWorkers.start(count, threads);
      expect({ count, threads, size: workers.size }).toEqual({ count, threads, size });
      await workers.close();
    }
  });
});
