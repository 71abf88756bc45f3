import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitcoindRpc } from '../src/chain/bitcoind-rpc.js';
import { Esplora } from '../src/chain/esplora.js';
import { CodedError } from '../src/core/errors.js';
import rpcSamples from './vectors/bitcoind-rpc-samples.json' with { type: 'json' };
import esploraSamples from './vectors/esplora-samples.json' with { type: 'json' };
import { FakeNode, RPC_PASSWORD, RPC_USER } from './support/fake-node.js';
import { buildScenario, type Scenario } from './support/chain-scenario.js';
import { canonicalDump, preparePool, sourceFor, syncOnce, withChainStore, type Adapter } from './support/chain-fixtures.js';
import { tempSqliteUrl } from './support/pool-fixtures.js';
import { otherKey, poolKey, spend } from './support/regtest-chain.js';

/**
 * Nodes that misbehave: down, refusing connections, slow, answering garbage,
 * HTTP 500, warming up, a corrupted block in the middle of a sync, wrong
 * credentials. Errors are CodedErrors naming the node and the call, never the
 * password; transient faults are retried; the store is never left half-written.
 */
let scenario: Scenario;
let node: FakeNode;
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  scenario = buildScenario();
  node = await new FakeNode(scenario.chain).start();
});

afterAll(async () => {
  await node.stop();
  cleanups.splice(0).forEach((c) => c());
});

async function pool(): Promise<string> {
  const t = tempSqliteUrl();
  cleanups.push(t.cleanup);
  await preparePool(t.url);
  return t.url;
}

async function failure(p: Promise<unknown>): Promise<CodedError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e, 'expected a CodedError').toBeInstanceOf(CodedError);
  return e as CodedError;
}

function expectNoPassword(e: unknown): void {
  const everything = `${inspect(e, { depth: 10 })} ${JSON.stringify((e as CodedError).context)} ${(e as CodedError).hint ?? ''} ${String((e as Error).stack)}`;
  expect(everything).not.toContain(RPC_PASSWORD);
  expect(everything).not.toContain(Buffer.from(`${RPC_USER}:${RPC_PASSWORD}`).toString('base64'));
}

async function rawRpc(body: unknown, auth = true): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`http://127.0.0.1:${node.port}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Basic ${Buffer.from(`${RPC_USER}:${RPC_PASSWORD}`).toString('base64')}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

function shape(v: unknown): unknown {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, shape(x)]).sort());
  return typeof v;
}

describe('the fake node answers like the recorded real ones', () => {
  it('getblockchaininfo: the same envelope and the same fields with the same types as a real node', async () => {
    node.setChain(scenario.chain);
    const r = await rawRpc({ jsonrpc: '1.0', id: 1, method: 'getblockchaininfo', params: [] });
    expect(r.status).toBe(200);
    expect(shape(r.json)).toMatchObject(shape(rpcSamples.getblockchaininfo) as object);
    const { result } = r.json as { result: Record<string, unknown> };
    expect(Object.keys(result)).toEqual(expect.arrayContaining(Object.keys(rpcSamples.getblockchaininfo.result)));
  });

  it('getblockhash above the tip: error -8 "Block height out of range", as Core (HTTP 500, null result, the same id)', async () => {
    const r = await rawRpc({ jsonrpc: '1.0', id: 'x7', method: 'getblockhash', params: [9999] });
    expect(r.status).toBe(500);
    expect(r.json).toEqual({ result: null, error: rpcSamples.getblockhash_out_of_range_error, id: 'x7' });
    expect((await rawRpc({ jsonrpc: '1.0', id: 2, method: 'nosuch', params: [] })).status).toBe(404);
    expect((await rawRpc({ jsonrpc: '1.0', id: 3, method: 'getblockcount', params: [] }, false)).status).toBe(401);
  });

  it('fee estimates: Core estimatesmartfee (BTC/kvB) and Esplora /fee-estimates (sat/vB, the documented shape) both come out as sat/kvB', async () => {
    const rpc = sourceFor(node, 'rpc');
    const esplora = sourceFor(node, 'esplora');
    try {
      expect(await rpc.estimateFeeRateSatKvb(6)).toBe(12_345n);
      expect(await esplora.estimateFeeRateSatKvb(6)).toBe(5001n);
      expect(await esplora.estimateFeeRateSatKvb(1)).toBe(12_345n);
      const res = await fetch(`${node.esploraUrl}/fee-estimates`);
      const ours = (await res.json()) as Record<string, unknown>;
      for (const [k, v] of [...Object.entries(ours), ...Object.entries(esploraSamples['fee-estimates'])]) {
        expect(k).toMatch(/^\d+$/);
        expect(typeof v).toBe('number');
      }
    } finally {
      await rpc.close();
      await esplora.close();
    }
  });

  it('broadcast: sendrawtransaction and POST /tx return the txid; testmempoolaccept answers allowed; a spent input is refused as Core does', async () => {
    // a transaction of an unspent coinbase output (txA is mined already: Core refuses it, -27)
    const [cb] = node.chain.coinbaseUtxos(node.chain.height);
    const fresh = spend([cb!], [{ key: otherKey(5), valueSat: cb!.valueSat - 1_000n }]);
    const tx = fresh.toHex();
    const rpc = sourceFor(node, 'rpc');
    const esplora = sourceFor(node, 'esplora');
    try {
      expect(await rpc.testAccept(tx)).toEqual({ allowed: true, reason: undefined });
      expect(await rpc.broadcast(tx)).toBe(fresh.getId());
      expect(await esplora.broadcast(tx)).toBe(fresh.getId());
      expect((await failure(esplora.broadcast('00'))).code).toBe('REFUSED');
      // the same coin again, paying no more fee: txn-mempool-conflict; a mined transaction's coin: missing or spent
      const rival = spend([cb!], [{ key: otherKey(6), valueSat: cb!.valueSat - 1_000n }]);
      expect(await rpc.testAccept(rival.toHex())).toEqual({ allowed: false, reason: 'txn-mempool-conflict' });
      expect((await failure(rpc.broadcast(rival.toHex()))).message).toMatch(/-26.*txn-mempool-conflict|txn-mempool-conflict/);
      const spentTwice = spend([{ txid: scenario.txA.getId(), vout: 0, valueSat: 150_000_000n, key: poolKey(0, 0) }], [{ key: otherKey(6), valueSat: 149_000_000n }]);
      expect((await failure(rpc.broadcast(spentTwice.toHex()))).message).toMatch(/bad-txns-inputs-missingorspent/);
      expect(node.mempool.has(spentTwice.getId())).toBe(false);
    } finally {
      node.mempool.clear();
      await rpc.close();
      await esplora.close();
    }
  });
});

describe.each(['rpc', 'esplora'] as const)('a misbehaving node (%s)', (adapter: Adapter) => {
  it('down (connections reset): UNAVAILABLE after the retries, naming the node and the call, no password; nothing written', async () => {
    const url = await pool();
    const before = await canonicalDump(url);
    node.faults = { down: true };
    try {
      const e = await failure(syncOnce(url, node, adapter, {}, { retries: 2 }));
      expect(e.code).toBe('UNAVAILABLE');
      expect(e.message).toContain(adapter === 'rpc' ? `bitcoind http://${RPC_USER}@127.0.0.1:${node.port}` : `esplora http://127.0.0.1:${node.port}/api`);
      expect(e.message).toMatch(adapter === 'rpc' ? /getblockchaininfo|getblockcount/ : /GET \/blocks\/tip\/height/);
      expect(e.message).toMatch(/3 attempts/);
      expectNoPassword(e);
    } finally {
      node.faults = {};
    }
    expect(await canonicalDump(url)).toBe(before);
  });

  it('slow: answers later than the timeout are retried then UNAVAILABLE; within the timeout they are fine', async () => {
    const url = await pool();
    node.faults = { slowMs: 300 };
    try {
      const e = await failure(syncOnce(url, node, adapter, {}, { timeoutMs: 80, retries: 1 }));
      expect(e.code).toBe('UNAVAILABLE');
      expect(e.message).toMatch(/no answer within 80 ms/);
      node.faults = { slowMs: 5 };
      const r = await syncOnce(url, node, adapter, {}, { timeoutMs: 2000 });
      expect(r.tip?.height).toBe(scenario.chain.height);
    } finally {
      node.faults = {};
    }
  });

  it('garbage (an HTML page with HTTP 200): INVALID_INPUT naming the node and the call, not retried, nothing written', async () => {
    const url = await pool();
    node.faults = { garbage: true };
    const seen = node.log.length;
    try {
      const e = await failure(syncOnce(url, node, adapter));
      expect(e.code).toBe('INVALID_INPUT');
      expect(e.message).toMatch(adapter === 'rpc' ? /bitcoind .* answered getblockchaininfo\(\) with something that is not JSON-RPC/ : /esplora .* answered GET \/blocks\/tip\/height with "<html>/);
      expectNoPassword(e);
    } finally {
      node.faults = {};
    }
    expect(node.log.length - seen).toBeLessThanOrEqual(1);
    expect(await withChainStore(url, (s) => s.tip())).toBeUndefined();
  });

  it('HTTP 500 a few times: retried with backoff and the sync completes; HTTP 500 for good: UNAVAILABLE', async () => {
    const url = await pool();
    node.faults = { http500: 3 };
    const r = await syncOnce(url, node, adapter, {}, { retries: 4 });
    expect(r.tip?.height).toBe(scenario.chain.height);
    node.faults = { http500: 1000 };
    try {
      const other = await pool();
      const e = await failure(syncOnce(other, node, adapter, {}, { retries: 2 }));
      expect(e.code).toBe('UNAVAILABLE');
      expect(e.message).toMatch(/HTTP 500 \(3 attempts\)/);
    } finally {
      node.faults = {};
    }
  });

  it('a corrupted block in the middle of a sync: INVALID_INPUT, the blocks before it stay committed, and a resumed sync ends equal to a clean one', async () => {
    const url = await pool();
    node.faults = { corruptHeight: 5 };
    try {
      const e = await failure(syncOnce(url, node, adapter));
      expect(e.code).toBe('INVALID_INPUT');
      expect(e.message).toMatch(/does not parse|merkle root|when asked for/);
    } finally {
      node.faults = {};
    }
    expect((await withChainStore(url, (s) => s.tip()))?.height).toBe(4);
    await syncOnce(url, node, adapter);
    const clean = await pool();
    await syncOnce(clean, node, adapter);
    expect(await canonicalDump(url)).toBe(await canonicalDump(clean));
  });
});

describe('Bitcoin Core specifics', () => {
  it('-28 (warming up) is retried until the node is ready', async () => {
    const url = await pool();
    node.faults = { warmup: 3 };
    const r = await syncOnce(url, node, 'rpc', {}, { retries: 4 });
    expect(r.tip?.height).toBe(scenario.chain.height);
    expect(node.faults.warmup).toBe(0);
    node.faults = {};
  });

  it('wrong credentials: REFUSED with a hint, and neither the wrong nor the right password anywhere in the error', async () => {
    const wrong = new BitcoindRpc({ url: `http://${RPC_USER}:wr0ng-${RPC_PASSWORD}@127.0.0.1:${node.port}`, retryDelayMs: 10 });
    try {
      const e = await failure(wrong.tipHeight());
      expect(e.code).toBe('REFUSED');
      expect(e.message).toMatch(/HTTP 401/);
      expect(e.hint).toMatch(/rpc-cookie/);
      expectNoPassword(e);
      expect(wrong.label).toBe(`bitcoind http://${RPC_USER}@127.0.0.1:${node.port}`);
    } finally {
      await wrong.close();
    }
  });

  it('--rpc-cookie: the cookie file authenticates; a missing one is UNAVAILABLE naming the file', async () => {
    const dir = tempSqliteUrl();
    cleanups.push(dir.cleanup);
    const cookie = join(dirname(dir.path), '.cookie');
    writeFileSync(cookie, `${RPC_USER}:${RPC_PASSWORD}`);
    const rpc = new BitcoindRpc({ url: `http://127.0.0.1:${node.port}`, cookieFile: cookie, retryDelayMs: 10 });
    try {
      expect(await rpc.tipHeight()).toBe(scenario.chain.height);
      expect(rpc.label).toBe(`bitcoind http://127.0.0.1:${node.port}`);
    } finally {
      await rpc.close();
    }
    const e = await failure((async () => new BitcoindRpc({ url: `http://127.0.0.1:${node.port}`, cookieFile: `${cookie}.missing` }))());
    expect(e.code).toBe('UNAVAILABLE');
    expect(e.message).toContain(`${cookie}.missing`);
  });

  it('a refused connection (nothing listening): UNAVAILABLE for both adapters', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    for (const source of [new BitcoindRpc({ url: `http://u:${RPC_PASSWORD}@127.0.0.1:${port}`, retries: 1, retryDelayMs: 10 }), new Esplora({ url: `http://127.0.0.1:${port}/api`, retries: 1, retryDelayMs: 10 })]) {
      const e = await failure(source.tipHeight());
      expect(e.code).toBe('UNAVAILABLE');
      expect(e.message).toMatch(/ECONNREFUSED/);
      expectNoPassword(e);
      await source.close();
    }
  });

  it('a block or transaction the node does not know is undefined (Core -5, -8; Esplora 404), not an error', async () => {
    for (const adapter of ['rpc', 'esplora'] as const) {
      const s = sourceFor(node, adapter);
      try {
        expect(await s.blockHash(10_000)).toBeUndefined();
        expect(await s.rawBlock('00'.repeat(32))).toBeUndefined();
        expect(await s.rawTransaction('11'.repeat(32))).toBeUndefined();
        expect(await s.mempoolTxids()).toEqual([]);
      } finally {
        await s.close();
      }
    }
  });

  it('getrawtransaction "not found" with another code than -5 (e.g. -1 "Transaction not found", no txindex) is undefined too; other errors are not', async () => {
    const rpc = sourceFor(node, 'rpc');
    const confirmed = scenario.txA.getId();
    try {
      expect(await rpc.rawTransaction(confirmed)).toBeDefined();
      node.faults = { noTxIndex: { code: -1, message: 'Transaction not found' } };
      expect(await rpc.rawTransaction(confirmed)).toBeUndefined();
      node.faults = { noTxIndex: { code: -1, message: 'Database corrupted' } };
      const e = await failure(rpc.rawTransaction(confirmed));
      expect(e.message).toMatch(/Database corrupted \(RPC error -1\)/);
    } finally {
      node.faults = {};
      await rpc.close();
    }
  });

  it('no testmempoolaccept (-32601 Method not found): { untested } naming the node, not an error', async () => {
    const rpc = sourceFor(node, 'rpc');
    node.faults = { noTestAccept: true };
    try {
      expect(await rpc.testAccept(scenario.txA.toHex())).toEqual({ untested: `${rpc.label} has no testmempoolaccept (RPC error -32601 Method not found)` });
    } finally {
      node.faults = {};
      await rpc.close();
    }
  });
});
