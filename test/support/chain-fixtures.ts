/**
 * Fixtures of the chain-follower tests: a pool loaded with the REAL receive
 * addresses of the regtest test account (the keys RegtestChain signs with),
 * and one-call syncs through either adapter.
 */
import { createHash } from 'node:crypto';
import { BitcoindRpc } from '../../src/chain/bitcoind-rpc.js';
import { Esplora } from '../../src/chain/esplora.js';
import type { ChainSource, ChainStore } from '../../src/core/ports.js';
import { chainNode, deriveAddresses } from '../../src/core/derive.js';
import { accountKeyId, parseAccountDescriptor } from '../../src/core/descriptor.js';
import { NETWORKS } from '../../src/core/network.js';
import type { VerifiedBatch } from '../../src/core/ports.js';
import { ChainFollower, type SyncOptions, type SyncResult } from '../../src/flows/chain-sync.js';
import { openChainStore } from './open-repos.js';
import { openStore } from './open-repos.js';
import { testAccount } from './accounts.js';
import type { FakeNode } from './fake-node.js';

export type Adapter = 'rpc' | 'esplora';

export function regtestBatch(first: number, count: number, created = '2026-01-01T00:00:00.000Z'): VerifiedBatch {
  const descriptor = testAccount('regtest').descriptor;
  const account = parseAccountDescriptor(descriptor, NETWORKS.regtest);
  const addresses = deriveAddresses(chainNode(account, 0), NETWORKS.regtest, first, count);
  return {
    keyId: accountKeyId(account), descriptor, network: 'regtest', chain: 0, first, count,
    digest: createHash('sha256').update(`${first}/${count}/${addresses.join(',')}`).digest('hex'), created, addresses,
  };
}

/** Migrate the database at `url` and load receive addresses 0..count-1; returns the user each claimed address went to. */
export async function preparePool(url: string, count = 40, claims = 5, created?: string): Promise<Map<string, string>> {
  const store = openStore(url);
  const users = new Map<string, string>();
  try {
    await store.migrate();
    await store.insertBatch(regtestBatch(0, count, created));
    for (let k = 0; k < claims; k++) users.set((await store.claim(`user-${k}`)).address, `user-${k}`);
    return users;
  } finally {
    await store.close();
  }
}

export function sourceFor(node: FakeNode, adapter: Adapter, policy: { timeoutMs?: number; retries?: number; retryDelayMs?: number } = {}): ChainSource {
  const p = { retryDelayMs: 20, ...policy };
  return adapter === 'rpc' ? new BitcoindRpc({ url: node.rpcUrl, ...p }) : new Esplora({ url: node.esploraUrl, ...p });
}

export async function syncOnce(url: string, node: FakeNode, adapter: Adapter, opts: SyncOptions = {}, policy = {}): Promise<SyncResult> {
  const source = sourceFor(node, adapter, policy);
  const store = openChainStore(url);
  try {
    const follower = await ChainFollower.open(source, store, { fromHeight: 1, ...opts });
    return await follower.sync();
  } finally {
    await source.close();
    await store.close();
  }
}

export async function withChainStore<T>(url: string, fn: (s: ChainStore) => Promise<T>): Promise<T> {
  const store = openChainStore(url);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** What must be equal between two syncs of the same chain: blocks, outputs, spends, deposits and coins. */
export async function canonicalDump(url: string): Promise<string> {
  return withChainStore(url, async (s) => {
    const deposits = await s.deposits();
    const coins = await s.coins(1);
    const j = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
    // The user is the pool's claim (random slot order), not chain data: left out.
    return [await s.dump(), ...deposits.map((d) => `deposit ${j({ ...d, user: undefined })}`), ...coins.map((c) => `coin ${j(c)}`)].join('\n');
  });
}
