/**
 * Two `payout build`s at once (in-process, each with its own connection) on
 * SQLite and on the MariaDB server of the machine: no withdrawal ends up in
 * two live payouts and no coin is spent by two; the loser gets STATE_CONFLICT
 * and leaves nothing behind. Builds of disjoint --ids both succeed, on
 * disjoint coins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitcoindRpc } from '../src/chain/bitcoind-rpc.js';
import { isCoded } from '../src/core/errors.js';
import { buildPayouts } from '../src/flows/payout.js';
import { openChainStore } from './support/open-repos.js';
import { openPayoutStore } from './support/open-repos.js';
import { approveWithdrawals } from './support/approved-withdrawals.js';
import type { FakeNode } from './support/fake-node.js';
import { fundedPool, startFundedNode } from './support/funded-pool.js';
import { externalAddress } from './support/psbt-fixtures.js';
import { approver, testTrust } from './support/approvers.js';

let node: FakeNode;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  node = await startFundedNode();
});

afterAll(async () => {
  await node.stop();
  for (const c of cleanups.splice(0)) await c();
});

const fundedPoolOf = (backend: 'sqlite' | 'mariadb'): Promise<string> => fundedPool(backend, node, cleanups);

function approved(url: string, n: number): Promise<bigint[]> {
  const requests = Array.from({ length: n }, (_, k) => ({ appId: `r-${k}`, user: `u${k}`, address: externalAddress(k), amountSat: 100_000n + BigInt(k) }));
  return approveWithdrawals(url, requests, [approver('op', testTrust('regtest'))]);
}

async function build(url: string, ids?: bigint[]) {
  const store = openPayoutStore(url);
  const chain = openChainStore(url);
  const source = new BitcoindRpc({ url: node.rpcUrl, retryDelayMs: 20 });
  try {
    return await buildPayouts(store, chain, source, { actor: 'op', trust: testTrust('regtest'), feeRateSatKvb: 2_000n, ...(ids ? { ids } : {}) });
  } finally {
    await source.close();
    await chain.close();
    await store.close();
  }
}

async function liveMembership(url: string): Promise<{ withdrawals: Map<string, number>; coins: Map<string, number>; status: Map<string, string> }> {
  const store = openPayoutStore(url);
  try {
    const withdrawals = new Map<string, number>();
    const coins = new Map<string, number>();
    for (const p of await store.list(['built', 'signed', 'broadcast'])) {
      for (const o of await store.outputs(p.id)) if (o.withdrawalId !== undefined) withdrawals.set(String(o.withdrawalId), (withdrawals.get(String(o.withdrawalId)) ?? 0) + 1);
      for (const i of await store.inputs(p.id)) coins.set(`${i.txid}:${i.vout}`, (coins.get(`${i.txid}:${i.vout}`) ?? 0) + 1);
    }
    const ws = await store.withdrawalStatus([...withdrawals.keys()].map(BigInt));
    return { withdrawals, coins, status: new Map([...ws].map(([k, v]) => [String(k), v.status])) };
  } finally {
    await store.close();
  }
}

describe.each(['sqlite', 'mariadb'] as const)('payout build race on %s', (backend) => {
  it('two builds at once: one wins, the other gets STATE_CONFLICT; no withdrawal or coin in two live payouts', async () => {
    const url = await fundedPoolOf(backend);
    const ids = await approved(url, 3);
    const results = await Promise.allSettled([build(url), build(url), build(url)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const l of lost) expect(isCoded(l.reason, 'STATE_CONFLICT'), String(l.reason)).toBe(true);
    const m = await liveMembership(url);
    expect([...m.withdrawals.values()].every((n) => n === 1)).toBe(true);
    expect([...m.coins.values()].every((n) => n === 1)).toBe(true);
    expect([...m.withdrawals.keys()].sort()).toEqual(ids.map(String).sort());
    expect([...m.status.values()].every((s) => s === 'in_payout')).toBe(true);
    expect(won.length).toBe(1);
    expect(lost.length).toBe(2);
  }, 30_000);

  it('builds of disjoint --ids at once both succeed, on disjoint coins', async () => {
    const url = await fundedPoolOf(backend);
    const ids = await approved(url, 2);
    const [a, b] = await Promise.allSettled([build(url, [ids[0]!]), build(url, [ids[1]!])]);
    // one may lose the coin race (STATE_CONFLICT) and then succeeds when run again
    const retry = async (r: PromiseSettledResult<unknown>, id: bigint) => {
      if (r.status === 'rejected') {
        expect(isCoded(r.reason, 'STATE_CONFLICT')).toBe(true);
        await build(url, [id]);
      }
    };
    await retry(a!, ids[0]!);
    await retry(b!, ids[1]!);
    const m = await liveMembership(url);
    expect([...m.withdrawals.keys()].sort()).toEqual(ids.map(String).sort());
    expect([...m.coins.values()].every((n) => n === 1)).toBe(true);
  }, 30_000);
});
